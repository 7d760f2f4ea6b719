/*
 * examples/grow_and_msync.c: lecture 30 (memory-mapped files), the last
 * example: f1.txt stretched by 100 bytes, mapped shared and read-write, a
 * line appended to its text in memory, and msync to put it in the file.
 *
 * Shows: growing a file before mapping it (a mapping never grows its
 * file: the bytes written must already be inside it), a shared mapping
 * whose writes reach the file, and msync. Afterwards f1.txt holds its old
 * text, "This is GR8\n", and zero bytes up to its new size. The lecture's
 * strcat on `filedata` is string_cat here: find the terminating NUL in
 * the simulated process's memory and write after it.
 *
 * Run it from anywhere: ./grow_and_msync changes a copy of the f1.txt
 * beside it, in a folder of its own (workspace.h; set EXAMPLES_DIR to keep
 * the folder and look at the file afterwards).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "machine.h"
#include "workspace.h"

static const char *const fixtures[] = {"f1.txt", NULL};

/* strcat(dest, src) for a `dest` in the simulated process's memory. */
static void string_cat(addr32 dest, const char *src) {
    size_t n = strlen(src) + 1; /* its NUL too */

    while (load(dest) != '\0')
        dest++;
    store_bytes(dest, src, n);
}

int main(void) {
    workspace_enter(fixtures);
    machine_start();

    int fd = open("f1.txt", O_RDWR);
    if (fd == -1) {
        perror("f1.txt");
        exit(1);
    }
    // Stretch the file size to the new size
    if (lseek(fd, 100, SEEK_END) == -1 || write(fd, "", 1) != 1) {
        perror("stretch f1.txt");
        exit(1);
    }

    // get attributes of the file
    struct stat sbuff;
    if (fstat(fd, &sbuff) == -1) {
        perror("fstat");
        exit(1);
    }
    int fsize = sbuff.st_size;

    // memory map the file
    addr32 filedata =
        vm_mmap(machine, PID, 0, fsize, VM_PROT_READ | VM_PROT_WRITE,
                VM_MAP_SHARED, fd, 0);
    if (filedata == VM_MAP_FAILED) {
        perror("vm_mmap");
        exit(1);
    }
    printf("Data of f1.txt that is mapped in memory is:\n");
    print_string(filedata);

    // now write something in the file (remember the cfo is at the end)
    char *newdata = "This is GR8\n";
    string_cat(filedata, newdata);
    printf("New data in the memory mapped region is:\n");
    print_string(filedata);
    // sync it
    if (vm_msync(machine, PID, filedata, fsize, VM_MS_SYNC) != 0) {
        perror("vm_msync");
        exit(1);
    }
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
