/*
 * examples/exchange.c: the notes on memory-mapped files, the shared-file
 * example: a currency exchange whose four currencies live in
 * exchange.dat, mapped shared by every trader, while each trader's
 * balance is its own.
 *
 * Shows: a file mapped shared and read-write as an array of records,
 * closing the descriptor right after mapping, and that what one run
 * writes is what the next one reads: the exchange's holdings carry over
 * from run to run (and would between traders running at once), the
 * balance starts at 1000 every time. Where the notes use
 * curshared[c].held, the simulated process reads and writes the record
 * through the MMU (get and put).
 *
 * Two bugs of the notes are fixed, each where it was:
 * - mmap is checked against VM_MAP_FAILED, as mmap must be against
 *   MAP_FAILED: it never returns 0 (NULL) on failure;
 * - exchange.dat is made long enough before it is mapped (below).
 *
 * Each line of stdin is a trade, "buy C N" or "sell C N": N units of
 * currency C (0 to 3). The exchange sells what it holds, at its rate, to
 * a trader who can pay, and buys any amount.
 *
 *   ./exchange < trades.txt
 *
 * exchange.dat lives in the example's folder (workspace.h): a new one,
 * removed at the end, unless EXAMPLES_DIR names one for the runs to share,
 * as the holdings carrying over need: export EXAMPLES_DIR=$(mktemp -d).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "exchange.h"
#include "machine.h"
#include "workspace.h"

/* What a new exchange.dat (all zeros) starts with. */
static const struct Currency new_exchange[NUM_CURRENCIES] = {
    {"USD", 1.0, 1000},
    {"EUR", 1.25, 1000},
    {"GBP", 1.5, 1000},
    {"CHF", 1.125, 1000},
};

addr32 curshared;      /* the notes' struct Currency *curshared */
double balance = 1000; // initial balance

/* *currency, for a record in the simulated process's memory */
static struct Currency get(addr32 currency) {
    struct Currency value;

    load_bytes(&value, currency, sizeof value);
    return value;
}

/* *currency = *value */
static void put(addr32 currency, const struct Currency *value) {
    store_bytes(currency, value, sizeof *value);
}

static void buy(addr32 currency, long amount, double *balance) {
    struct Currency c = get(currency);
    double cost = amount * c.rate;

    if (amount > c.held) {
        printf("cannot buy %ld %s: the exchange holds %ld\n", amount, c.name,
               c.held);
    } else if (cost > *balance) {
        printf("cannot buy %ld %s for %.2f: balance %.2f\n", amount, c.name,
               cost, *balance);
    } else {
        c.held -= amount;
        *balance -= cost;
        put(currency, &c);
        printf("bought %ld %s for %.2f: balance %.2f\n", amount, c.name, cost,
               *balance);
    }
}

static void sell(addr32 currency, long amount, double *balance) {
    struct Currency c = get(currency);
    double price = amount * c.rate;

    c.held += amount;
    *balance += price;
    put(currency, &c);
    printf("sold %ld %s for %.2f: balance %.2f\n", amount, c.name, price,
           *balance);
}

int main(void) {
    workspace_enter(NULL);
    machine_start();

    int fd = open("exchange.dat", O_RDWR | O_CREAT, 0600);
    if (fd < 0) {
        perror("exchange.dat");
        return 1;
    }
    // The notes map 4 currencies of a file that O_CREAT may just have
    // made empty. A page wholly past the end of the file cannot be
    // touched (SIGBUS on Linux, EFAULT here), and bytes past the end are
    // never written to the file, so the file gets its size first.
    struct stat sbuff;
    if (fstat(fd, &sbuff) != 0) {
        perror("fstat");
        return 1;
    }
    if (sbuff.st_size < (off_t)(4 * sizeof(struct Currency)) &&
        ftruncate(fd, 4 * sizeof(struct Currency)) != 0) {
        perror("ftruncate");
        return 1;
    }
    // map file as part of memory as a shared segment
    curshared = vm_mmap(machine, PID, 0, 4 * sizeof(struct Currency),
                        VM_PROT_READ | VM_PROT_WRITE, VM_MAP_SHARED, fd, 0);
    if (curshared == VM_MAP_FAILED) {
        perror("vm_mmap");
        return -1;
    }
    close(fd); // you can close the file afterwards

    // a new exchange.dat is all zeros: open the exchange
    for (int c = 0; c < NUM_CURRENCIES; c++)
        if (get(curshared + c * sizeof(struct Currency)).name[0] == '\0')
            put(curshared + c * sizeof(struct Currency), &new_exchange[c]);

    char line[80];
    while (fgets(line, 80, stdin)) { // trade loop
        char what[8];
        int c;
        long amount;
        if (sscanf(line, "%7s %d %ld", what, &c, &amount) != 3 || c < 0 ||
            c >= NUM_CURRENCIES || amount < 0) {
            fprintf(stderr, "not a trade: %s", line);
            continue;
        }
        // an addr32 counts bytes, where curshared+c counted records
        if (strcmp(what, "buy") == 0)
            buy(curshared + c * sizeof(struct Currency), amount, &balance);
        else if (strcmp(what, "sell") == 0)
            sell(curshared + c * sizeof(struct Currency), amount, &balance);
        else
            fprintf(stderr, "not a trade: %s", line);
    }

    printf("the exchange holds:");
    for (int c = 0; c < NUM_CURRENCIES; c++) {
        struct Currency held = get(curshared + c * sizeof(struct Currency));
        printf(" %ld %s", held.held, held.name);
    }
    printf("\nbalance %.2f\n", balance);

    // delete the mapping
    if (vm_munmap(machine, PID, curshared, 4 * sizeof(struct Currency)) != 0) {
        perror("vm_munmap");
        return 1;
    }

    mmu_remove_process(machine, PID);
    mmu_delete(machine);
    return 0;
}
