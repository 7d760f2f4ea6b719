/*
 * examples/private_read.c: lecture 30 (memory-mapped files), the first
 * example: f1.txt mapped private and read-only, and printed as a string.
 *
 * Shows: the size of a file from lseek, mapping it whole (vm_mmap picks
 * the address, as mmap does for NULL), reading it as memory, and that
 * unmapping does not close the descriptor. Where the lecture dereferences
 * `filedata`, the simulated process reads its memory through the MMU.
 *
 * Run it from anywhere: ./private_read works on a copy of the f1.txt
 * beside it, in a folder of its own (workspace.h).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "machine.h"
#include "workspace.h"

static const char *const fixtures[] = {"f1.txt", NULL};

int main(void) {
    workspace_enter(fixtures);
    machine_start();

    // open a file
    int fd = open("f1.txt", O_RDONLY);
    if (fd == -1) {
        perror("f1.txt");
        exit(1);
    }
    // get size of the file
    int fsize = lseek(fd, 0, SEEK_END);
    if (fsize == -1) {
        perror("lseek");
        exit(1);
    }
    // memory map the file
    addr32 filedata =
        vm_mmap(machine, PID, 0, fsize, VM_PROT_READ, VM_MAP_PRIVATE, fd, 0);
    if (filedata == VM_MAP_FAILED) {
        perror("vm_mmap");
        exit(1);
    }
    // the rest of the last page reads as zeros: they end the string
    printf("Data in the file is:\n");
    print_string(filedata);
    // Need to free the mapped memory
    if (vm_munmap(machine, PID, filedata, fsize) != 0) {
        perror("vm_munmap");
        exit(1);
    }
    // munmap does not close the file descriptor, so we need to do that
    close(fd);

    // what exit does for a real process
    mmu_remove_process(machine, PID);
    mmu_delete(machine);
    return 0;
}
