/*
 * web/test/wasm_selftest.c: the library's own calls run inside the
 * WebAssembly build, with no playground engine: a file mapped shared,
 * written, forked and read back in the child; anonymous memory written
 * before a fork and copied at the child's write; a pool too small for a
 * process's pages, so that pages go to swap and come back. Built by
 * `make web` into web/build/wasm_selftest.js, run by
 * web/test/wasm_selftest.mjs under node.
 *
 * Left out: everything the native suite already checks; this only shows
 * that the host calls the library makes (files, /proc, temporary files,
 * anonymous host memory) hold up under Emscripten's MEMFS and libc.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../kernel.h"
#include "../../vm.h"

/* The line of the first failed check, printed; 0 when every check held. */
#define CHECK(condition)                                                      \
    do {                                                                      \
        if (!(condition)) {                                                   \
            printf("wasm_selftest: line %d: %s\n", __LINE__, #condition);     \
            return __LINE__;                                                  \
        }                                                                     \
    } while (0)

static int shared_file_across_fork(mmu *machine) {
    int fd = open("/tmp/selftest.txt", O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK(write(fd, "hello, world", 12) == 12);
    addr32 p = vm_mmap(machine, 0, 0, 12, VM_PROT_READ | VM_PROT_WRITE,
                       VM_MAP_SHARED, fd, 0);
    CHECK(p != VM_MAP_FAILED);
    CHECK(mmu_write_to_virtual_address(machine, p, 0, "HELLO", 5) == 5);
    int child = vm_fork(machine, 0);
    CHECK(child > 0);
    char seen[13] = {0};
    CHECK(mmu_read_from_virtual_address(machine, p, (size_t)child, seen, 12) ==
          12);
    CHECK(memcmp(seen, "HELLO, world", 12) == 0);
    CHECK(mmu_write_to_virtual_address(machine, p + 7, (size_t)child, "W", 1) ==
          1);
    CHECK(mmu_read_from_virtual_address(machine, p, 0, seen, 12) == 12);
    CHECK(memcmp(seen, "HELLO, World", 12) == 0);
    CHECK(vm_msync(machine, 0, p, 12, VM_MS_SYNC) == 0);
    char on_disk[13] = {0};
    CHECK(pread(fd, on_disk, 12, 0) == 12);
    CHECK(memcmp(on_disk, "HELLO, World", 12) == 0);
    CHECK(mmu_remove_process(machine, (size_t)child) == 0);
    CHECK(vm_munmap(machine, 0, p, 12) == 0);
    close(fd);
    return 0;
}

static int private_anonymous_copied_at_write(mmu *machine) {
    addr32 p = vm_mmap(machine, 0, 0, 4096, VM_PROT_READ | VM_PROT_WRITE,
                       VM_MAP_PRIVATE | VM_MAP_ANONYMOUS, -1, 0);
    CHECK(p != VM_MAP_FAILED);
    CHECK(mmu_write_to_virtual_address(machine, p, 0, "parent", 6) == 6);
    int child = vm_fork(machine, 0);
    CHECK(child > 0);
    CHECK(mmu_write_to_virtual_address(machine, p, (size_t)child, "child!", 6) ==
          6);
    char seen[7] = {0};
    CHECK(mmu_read_from_virtual_address(machine, p, 0, seen, 6) == 6);
    CHECK(memcmp(seen, "parent", 6) == 0);
    CHECK(mmu_read_from_virtual_address(machine, p, (size_t)child, seen, 6) ==
          6);
    CHECK(memcmp(seen, "child!", 6) == 0);
    CHECK(mmu_remove_process(machine, (size_t)child) == 0);
    CHECK(vm_munmap(machine, 0, p, 4096) == 0);
    return 0;
}

/* 64 pages in a 16-frame pool: most go to swap and come back intact. */
static int swapped_pages_come_back(mmu *machine) {
    enum { PAGES = 64 };
    addr32 p = vm_mmap(machine, 0, 0, PAGES * 4096, VM_PROT_READ | VM_PROT_WRITE,
                       VM_MAP_PRIVATE | VM_MAP_ANONYMOUS, -1, 0);
    CHECK(p != VM_MAP_FAILED);
    for (unsigned page = 0; page < PAGES; page++) {
        char tag[16];
        int n = snprintf(tag, sizeof tag, "page %u", page);
        CHECK(mmu_write_to_virtual_address(machine, p + page * 4096, 0, tag,
                                           (size_t)n + 1) == (size_t)n + 1);
    }
    for (unsigned page = 0; page < PAGES; page++) {
        char tag[16], seen[16];
        int n = snprintf(tag, sizeof tag, "page %u", page);
        CHECK(mmu_read_from_virtual_address(machine, p + page * 4096, 0, seen,
                                            (size_t)n + 1) == (size_t)n + 1);
        if (strcmp(seen, tag) != 0)
            printf("page %u reads \"%.15s\"\n", page, seen);
        CHECK(strcmp(seen, tag) == 0);
    }
    CHECK(machine->num_swap_outs > 0 && machine->num_swap_ins > 0);
    CHECK(vm_munmap(machine, 0, p, PAGES * 4096) == 0);
    return 0;
}

int wasm_selftest_run(void) {
    CHECK(kernel_set_frames(16) == 0);
    mmu *machine = mmu_create();
    CHECK(machine && mmu_add_process(machine, 0) == 0);
    int failed = shared_file_across_fork(machine);
    if (!failed)
        failed = private_anonymous_copied_at_write(machine);
    if (!failed)
        failed = swapped_pages_come_back(machine);
    mmu_delete(machine);
    if (!failed)
        printf("wasm_selftest: every check held\n");
    return failed;
}
