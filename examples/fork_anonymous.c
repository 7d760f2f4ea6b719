/*
 * examples/fork_anonymous.c: "Using mmap()" (CS 3214), mmap() for
 * parent/child communication: one page of anonymous memory, written by a
 * child (the numbers 0 to 9) and read by its parent once the child has
 * ended.
 *
 *   ./fork_anonymous            VM_MAP_SHARED: prints 0 1 2 3 4 5 6 7 8 9
 *   ./fork_anonymous -private   VM_MAP_PRIVATE: prints ten zeros
 *
 * Shows: a shared anonymous mapping stays one page for both processes
 * after vm_fork, so the parent reads what the child wrote; a private one
 * becomes copy-on-write, so the child's first write gives the child a
 * page of its own and the parent's page stays zero-filled.
 *
 * What differs: there is no real fork(2). vm_fork makes the child as a
 * second process of the same simulated MMU and returns its pid; this one
 * program does first what the child does, writing the child's memory
 * (child_store_int), and then what the parent does, so wait(NULL) becomes
 * the order of the calls and the child's end is mmu_remove_process. The
 * address printed is the simulated process's, as a 32-bit number (the
 * lecture's %p). Its asserts are perror and exit here, so that they stay
 * with NDEBUG. It opens no file, so it needs no folder of its own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "machine.h"

/* ia[i] = value, for the int array at `ia` in the memory of process `pid`. */
static void child_store_int(size_t pid, addr32 ia, int i, int value) {
    addr32 address = ia + (addr32)i * sizeof value;

    if (mmu_write_to_virtual_address(machine, address, pid, &value,
                                     sizeof value) != sizeof value) {
        perror("segmentation fault");
        exit(1);
    }
}

/* ia[i], for the int array at `ia` in our process's memory. */
static int load_int(addr32 ia, int i) {
    int value;

    load_bytes(&value, ia + (addr32)i * sizeof value, sizeof value);
    return value;
}

int main(int ac, char *av[]) {
    machine_start();

    size_t sz = PAGE_SIZE; /* the simulated machine's getpagesize() */
    int sharedflag =
        ac < 2 || strcmp(av[1], "-private") ? VM_MAP_SHARED : VM_MAP_PRIVATE;
    addr32 addr = vm_mmap(machine, PID, 0, sz, VM_PROT_READ | VM_PROT_WRITE,
                          VM_MAP_ANONYMOUS | sharedflag, -1, 0);
    if (addr == VM_MAP_FAILED) {
        perror("vm_mmap");
        exit(1);
    }
    printf("Memory mapped at 0x%08x\n", (unsigned)addr);

    int i, child = vm_fork(machine, PID);
    if (child == -1) {
        perror("vm_fork");
        exit(1);
    }
    // the child: writes the numbers, then returns from main
    for (i = 0; i < 10; i++)
        child_store_int(child, addr, i, i);
    mmu_remove_process(machine, child);

    // the parent, once wait(NULL) has seen the child end
    for (i = 0; i < 10; i++)
        printf("%d ", load_int(addr, i));
    printf("\n");

    // what exit does for a real process
    mmu_remove_process(machine, PID);
    mmu_delete(machine);
    return 0;
}
