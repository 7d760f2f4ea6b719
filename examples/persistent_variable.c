/*
 * examples/persistent_variable.c: "Using mmap()" (CS 3214), mmap() and
 * persistent variables: a page-sized variable whose value outlives the
 * program, because it is a shared mapping of .persistent_data placed at
 * the variable's own address with MAP_FIXED.
 *
 * Shows: VM_MAP_FIXED | VM_MAP_SHARED at a chosen address, ftruncate to
 * give the file its page, and that stores to the variable reach the file:
 * each run is a new simulated machine (its own MMU and process), and the
 * only thing two runs share is the file. Ending the process writes the
 * dirty page back, as exit does on Linux.
 *
 *   echo hello | ./persistent_variable -write   stores stdin in the variable
 *   ./persistent_variable                       prints it (also with -read)
 *
 * The file lives in the example's folder (workspace.h): a new one, removed
 * at the end, unless EXAMPLES_DIR names one for the runs to share, as the
 * two lines above need: export EXAMPLES_DIR=$(mktemp -d) first.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "machine.h"
#include "workspace.h"

#define PGSIZE PAGE_SIZE

/*
 * The lecture's
 *     char persistent_data[PGSIZE] __attribute__((aligned(PGSIZE)));
 * is a page of .bss at an address the linker picks. Our process has no
 * program loaded, and mappings live in the MMAP region (0x40000000 to
 * 0xB0000000), so the variable's address is one we pick there, aligned
 * to a page as the attribute makes it.
 */
static const addr32 persistent_data = 0x50000000;

/* memset(s, 0, n) in the simulated process's memory. */
static void zero(addr32 s, size_t n) {
    static const char zeros[PGSIZE];

    store_bytes(s, zeros, n);
}

/*
 * Make variable 'variableaddr' of size 'size' persistent
 * in file 'filename'
 */
static void persist(const char *filename, addr32 variableaddr, size_t size) {
    if (size % PGSIZE != 0) {
        fprintf(stderr, "persist: %zu bytes is not whole pages\n", size);
        exit(1);
    }
    int fd = open(filename, O_RDWR | O_CREAT, 0666);
    if (fd == -1) {
        perror(filename);
        exit(1);
    }
    if (ftruncate(fd, size) != 0) {
        perror("ftruncate");
        exit(1);
    }

    addr32 addr =
        vm_mmap(machine, PID, variableaddr, size, VM_PROT_READ | VM_PROT_WRITE,
                VM_MAP_FIXED | VM_MAP_SHARED, fd, 0);
    if (addr != variableaddr) {
        perror("vm_mmap");
        exit(1);
    }
    if (close(fd) != 0) {
        perror("close");
        exit(1);
    }
}

int main(int ac, char *av[]) {
    workspace_enter(NULL);
    machine_start();

    int i, do_read = ac < 2 || strcmp(av[1], "-read") == 0;
    persist(".persistent_data", persistent_data, PGSIZE);

    if (do_read) {
        /* i < PGSIZE first: the lecture reads one byte past the page when
           it holds no NUL, a segmentation fault here */
        for (i = 0; i < PGSIZE && load(persistent_data + i) != 0; i++)
            fputc(load(persistent_data + i), stdout);
    } else {
        int c;
        for (i = 0; i < PGSIZE && (c = fgetc(stdin)) != -1; i++)
            store(persistent_data + i, c);
        zero(persistent_data + i, PGSIZE - i); // zero rest
    }

    // what exit does for a real process: the dirty page goes to the file
    if (mmu_remove_process(machine, PID) != 0) {
        perror("mmu_remove_process");
        exit(1);
    }
    mmu_delete(machine);
    return 0;
}
