/*
 * examples/fork_shared_file.c: lecture 30 (memory-mapped files), the
 * example that shows mmap files are inherited by the child: f1.txt mapped
 * shared and read-only, then read by a child and by its parent.
 *
 * Shows: vm_fork gives the child the parent's mappings, so the child
 * reads the file through the address the parent mapped it at, and the
 * parent still reads it after the child has unmapped it and ended.
 *
 * What differs: there is no real fork(2). vm_fork makes the child as a
 * second process of the same simulated MMU and returns its pid; this one
 * program then does first what the child does, reading the child's memory
 * (child_print_string), and then what the parent does, so waitpid becomes
 * the order of the calls. The child's exit is mmu_remove_process. The
 * descriptor is the host's and only one: the child's close(fd) would close
 * the parent's too, so only the parent closes it. The lecture's fstat is
 * kept; a refused access ends the program as a segmentation fault would.
 *
 * Run it from anywhere: ./fork_shared_file works on a copy of the f1.txt
 * beside it, in a folder of its own (workspace.h).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "machine.h"
#include "workspace.h"

static const char *const fixtures[] = {"f1.txt", NULL};

/* printf("%s", s) for a string in the memory of process `pid`. */
static void child_print_string(size_t pid, addr32 s) {
    char c;

    for (;;) {
        if (mmu_read_from_virtual_address(machine, s++, pid, &c, 1) != 1) {
            perror("segmentation fault");
            exit(1);
        }
        if (c == '\0')
            return;
        putchar(c);
    }
}

int main(void) {
    workspace_enter(fixtures);
    machine_start();

    // open a file
    int fd = open("f1.txt", O_RDONLY);
    if (fd == -1) {
        perror("f1.txt");
        exit(1);
    }
    // get attributes of the file
    struct stat sbuff;
    if (fstat(fd, &sbuff) != 0) {
        perror("fstat");
        exit(1);
    }
    int fsize = sbuff.st_size;
    // memory map the file
    addr32 filedata =
        vm_mmap(machine, PID, 0, fsize, VM_PROT_READ, VM_MAP_SHARED, fd, 0);
    if (filedata == VM_MAP_FAILED) {
        perror("vm_mmap");
        exit(1);
    }
    // create a child process
    int cpid = vm_fork(machine, PID);
    if (cpid == -1) {
        perror("vm_fork");
        exit(1);
    }
    // the child: the rest of the last page reads as zeros, ending the string
    printf("Child access memory mapped file:\n");
    child_print_string(cpid, filedata);
    if (vm_munmap(machine, cpid, filedata, fsize) != 0) {
        perror("vm_munmap (child)");
        exit(1);
    }
    // the child's exit(0); the parent's waitpid returns after it
    mmu_remove_process(machine, cpid);

    // the parent
    printf("Parent access memory mapped file:\n");
    print_string(filedata);
    if (vm_munmap(machine, PID, filedata, fsize) != 0) {
        perror("vm_munmap");
        exit(1);
    }
    close(fd);

    // what exit does for a real process
    mmu_remove_process(machine, PID);
    mmu_delete(machine);
    return 0;
}
