/*
 * examples/file_read.c: "Using mmap()" (CS 3214), mmap() for file I/O: a
 * whole file mapped private and read-only, then printed byte by byte.
 *
 * Shows: a mapping's size rounded up to whole pages, and that the
 * descriptor can be closed as soon as the file is mapped (the mapping
 * keeps the file open itself). The lecture's *start++ is load(start++):
 * the simulated process reads its memory through the MMU. Its asserts
 * are perror and exit here, since assert(close(fd) == 0) would not close
 * anything when built with NDEBUG.
 *
 * Run it on any file: ./file_read f1.txt. It only reads the file, where
 * it is, so it needs no folder of its own (workspace.h).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

#include "machine.h"

int main(int ac, char *av[]) {
    if (ac != 2) {
        fprintf(stderr, "usage: %s FILE\n", av[0]);
        exit(2);
    }
    machine_start();

    int fd = open(av[1], O_RDONLY);
    if (fd == -1) {
        perror(av[1]);
        exit(1);
    }

    off_t filesize = lseek(fd, 0, SEEK_END);
    if (filesize == (off_t)-1) {
        perror("lseek");
        exit(1);
    }

    size_t pgsz = PAGE_SIZE; /* the simulated machine's getpagesize() */
    size_t mapsize = (filesize + pgsz - 1) & ~(pgsz - 1);

    addr32 addr =
        vm_mmap(machine, PID, 0, mapsize, VM_PROT_READ, VM_MAP_PRIVATE, fd, 0);
    if (addr == VM_MAP_FAILED) {
        perror("vm_mmap");
        exit(-1);
    }
    if (close(fd) != 0) {
        perror("close");
        exit(1);
    }

    // access file data like memory
    addr32 start = addr, end = addr + filesize;
    while (start < end)
        fputc(load(start++), stdout);

    // what exit does for a real process: unmaps everything
    mmu_remove_process(machine, PID);
    mmu_delete(machine);
    return 0;
}
