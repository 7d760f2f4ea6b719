/*
 * tests/vm_tests.c: vm.h, the POSIX calls: what vm_mmap, vm_munmap,
 * vm_mprotect and vm_msync do to a process's address space, the errors
 * each refuses with, the permissions every access is checked against,
 * and mmu_remove_process and mmu_sync over mapped areas.
 */
#define _GNU_SOURCE /* O_DIRECT, O_PATH */

#include "helpers.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* The process the tests map into (any pid but DEFAULT_PID would do). */
#define PID 1

#define SHARED VM_MAP_SHARED
#define PRIVATE VM_MAP_PRIVATE
#define ANON_PRIVATE (VM_MAP_PRIVATE | VM_MAP_ANONYMOUS)
#define ANON_SHARED (VM_MAP_SHARED | VM_MAP_ANONYMOUS)

/* An address well inside the MMAP region, where tests put mappings. */
#define SOMEWHERE ((addr32)0x50000000)

/* ------------------------------------------------------------------ */
/* Helpers of this suite                                               */
/* ------------------------------------------------------------------ */

/* Nothing is mapped: a mapping without a hint goes to the region's start. */
static void expect_nothing_mapped(mmu *m, size_t pid, const char *when) {
    addr32 at = map_or_fail(m, pid, 0, PAGE_SIZE, VM_PROT_READ, ANON_PRIVATE,
                            -1, 0);

    expect_hex(at, MMAP_REGION_START,
               describe("where a page goes %s (nothing else mapped)", when));
    expect_int(vm_munmap(m, pid, at, PAGE_SIZE), 0, "vm_munmap of that page");
}

/* An access at `address` is refused: nothing copied, errno, one segfault. */
static void expect_access_refused(mmu *m, addr32 address, size_t n, bool write,
                                  int want_errno, const char *what) {
    unsigned char buffer[2 * PAGE_SIZE];
    size_t segfaults = m->num_segmentation_faults, got;

    memset(buffer, 0x55, sizeof buffer);
    errno = 0;
    got = write ? write_virtual(m, PID, address, buffer, n)
                : read_virtual(m, PID, address, buffer, n);
    if (got != 0 || errno != want_errno)
        fail(__FILE__, __LINE__,
             "%s: expected 0 bytes with errno %s, got %zu with errno %s", what,
             errno_name(want_errno), got, errno_name(errno));
    expect_size(m->num_segmentation_faults, segfaults + 1,
                describe("%s: segmentation faults", what));
    if (!write)
        expect_all_bytes(buffer, 0x55, n, describe("%s: buffer", what));
}

/* ================================================================== */
/* vm_mmap: what is mapped, and where                                  */
/* ================================================================== */

static void test_vm_mmap_reads_nothing_until_a_page_is_touched(void) {
    char path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt");
    int fd = open_fixture_copy("lorem.txt", O_RDWR, path);
    mmu *m = new_mmu_with_process(PID);
    size_t free_before = kernel_frames_free();
    addr32 at;

    trace_log_clear();
    trace_set_hook(record_event, NULL);
    at = map_or_fail(m, PID, 0, 10000, RW, SHARED, fd, 0);
    trace_set_hook(NULL, NULL);
    expect_size(trace_log.per_event[TRACE_PAGER_READ], 0,
                "pager reads during vm_mmap");
    expect_size(m->num_page_faults, 0, "page faults after vm_mmap");
    expect_size(kernel_frames_free(), free_before,
                "free frames after vm_mmap (no frame taken)");
    expect_true(!page_present(m, PID, at), "page 0 not present after vm_mmap");

    trace_set_hook(record_event, NULL);
    expect_reads(m, PID, at + 5000, lorem + 5000, 10, "bytes 5000..5009");
    trace_set_hook(NULL, NULL);
    expect_size(trace_log.per_event[TRACE_PAGER_READ], 1,
                "pager reads after touching one page");
    mmu_delete(m);
    close(fd);
    free(lorem);
}

static void test_vm_mmap_maps_length_rounded_up_to_whole_pages(void) {
    char path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt");
    int fd = open_fixture_copy("lorem.txt", O_RDONLY, path);
    mmu *m = new_mmu_with_process(PID);
    addr32 at = map_or_fail(m, PID, 0, 5000, VM_PROT_READ, PRIVATE, fd, 0);
    addr32 next;

    expect_reads(m, PID, at + 8191, lorem + 8191, 1,
                 "the last byte of the second page (past `length`, inside the "
                 "rounded-up mapping)");
    expect_access_refused(m, at + 8192, 1, false, EFAULT,
                          "read of the first byte past two pages");
    next = map_or_fail(m, PID, 0, 1, VM_PROT_READ, ANON_PRIVATE, -1, 0);
    expect_hex(next, at + 2 * PAGE_SIZE,
               "the next mapping goes right after the two pages");
    mmu_delete(m);
    close(fd);
    free(lorem);
}

static void test_vm_mmap_maps_the_file_from_offset(void) {
    char path[PATH_MAX];
    unsigned char *pages = fixture_bytes("pages.txt");
    int fd = open_fixture_copy("pages.txt", O_RDONLY, path);
    mmu *m = new_mmu_with_process(PID);
    addr32 at = map_or_fail(m, PID, 0, 2 * PAGE_SIZE, VM_PROT_READ, PRIVATE,
                            fd, 3 * PAGE_SIZE);

    expect_reads(m, PID, at, pages + 3 * PAGE_SIZE, 64,
                 "the mapping's first bytes (the file's page 3)");
    expect_reads(m, PID, at + PAGE_SIZE + 100, pages + 4 * PAGE_SIZE + 100,
                 64, "the mapping's second page (the file's page 4)");
    mmu_delete(m);
    close(fd);
    free(pages);
}

static void test_vm_mmap_anonymous_is_zero_filled_and_ignores_fd(void) {
    static const unsigned char zeros[PAGE_SIZE];
    mmu *m;
    addr32 a, b, c;

    setenv("MMAP_FRAMES", "64", 1);
    dirty_every_frame(); /* a frame not cleared would show 0xFF */
    m = new_mmu_with_process(PID);
    a = map_or_fail(m, PID, 0, 3 * PAGE_SIZE, RW, ANON_PRIVATE, -1, 0);
    b = map_or_fail(m, PID, 0, PAGE_SIZE, RW, ANON_SHARED, 12345, 0);
    c = map_or_fail(m, PID, 0, PAGE_SIZE, VM_PROT_READ, ANON_PRIVATE,
                    STDIN_FILENO, 0);
    expect_reads(m, PID, a, zeros, PAGE_SIZE, "private page 0");
    expect_reads(m, PID, a + 2 * PAGE_SIZE, zeros, PAGE_SIZE,
                 "private page 2");
    expect_reads(m, PID, b, zeros, PAGE_SIZE,
                 "shared page (fd 12345, not open)");
    expect_reads(m, PID, c, zeros, PAGE_SIZE, "page mapped with fd 0");
    expect_writes(m, PID, a + PAGE_SIZE, "ANON", 4, "write to private page 1");
    expect_reads(m, PID, a + PAGE_SIZE, "ANON", 4, "private page 1 written");
    mmu_delete(m);
}

static void test_vm_mmap_holds_the_file_open_after_fd_is_closed(void) {
    char path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt");
    int fd = open_fixture_copy("lorem.txt", O_RDWR, path);
    mmu *m = new_mmu_with_process(PID);
    addr32 at = map_or_fail(m, PID, 0, 10000, RW, SHARED, fd, 0);

    expect_int(close(fd), 0, "close(fd) after vm_mmap");
    expect_reads(m, PID, at + 2 * PAGE_SIZE, lorem + 2 * PAGE_SIZE, 100,
                 "page 2, first touched after the close");
    expect_writes(m, PID, at, "CLOSED", 6, "write to page 0");
    expect_int(vm_munmap(m, PID, at, 10000), 0, "vm_munmap");
    memcpy(lorem, "CLOSED", 6);
    expect_file_contents(path, lorem, 10000,
                      "the file after vm_munmap (written through the "
                      "mapping's own descriptor)");
    mmu_delete(m);
    free(lorem);
}

static void test_vm_mmap_without_fixed_uses_a_free_hint_as_given(void) {
    mmu *m = new_mmu_with_process(PID);
    addr32 at = map_or_fail(m, PID, SOMEWHERE, 2 * PAGE_SIZE, RW, ANON_PRIVATE,
                            -1, 0);
    addr32 second = map_or_fail(m, PID, MMAP_REGION_START + 3 * PAGE_SIZE,
                                PAGE_SIZE, RW, ANON_PRIVATE, -1, 0);

    expect_hex(at, SOMEWHERE, "a free, page-aligned hint");
    expect_hex(second, MMAP_REGION_START + 3 * PAGE_SIZE,
               "a second free hint, below the first mapping");
    expect_writes(m, PID, SOMEWHERE + PAGE_SIZE, "HINT", 4,
                  "write at the hinted mapping");
    expect_reads(m, PID, SOMEWHERE + PAGE_SIZE, "HINT", 4, "read it back");
    mmu_delete(m);
}

static void
test_vm_mmap_without_fixed_takes_the_lowest_free_range_if_the_hint_is_taken(
    void) {
    mmu *m = new_mmu_with_process(PID);
    addr32 first = map_or_fail(m, PID, 0, 2 * PAGE_SIZE, RW, ANON_PRIVATE, -1,
                               0);
    addr32 second;

    expect_hex(first, MMAP_REGION_START, "the first mapping without a hint");
    expect_writes(m, PID, first + PAGE_SIZE, "KEEP", 4, "write to the first");
    second = map_or_fail(m, PID, first + PAGE_SIZE, 2 * PAGE_SIZE, RW,
                         ANON_PRIVATE, -1, 0);
    expect_hex(second, first + 2 * PAGE_SIZE,
               "a hint overlapping the first mapping: the lowest free range");
    expect_reads(m, PID, first + PAGE_SIZE, "KEEP", 4,
                 "the first mapping is untouched by the hint");
    mmu_delete(m);
}

static void
test_vm_mmap_without_fixed_ignores_a_hint_unaligned_or_outside_the_region(
    void) {
    static const struct {
        addr32 hint;
        size_t length;
        const char *what;
    } hints[] = {
        {SOMEWHERE + 0x123, PAGE_SIZE, "an unaligned hint"},
        {0x20000000, PAGE_SIZE, "a hint in the HEAP region"},
        {0xB0000000, PAGE_SIZE, "a hint at the region's end"},
        {0xAFFFF000, 2 * PAGE_SIZE, "a hint whose range leaves the region"},
    };
    mmu *m = new_mmu_with_process(PID);
    addr32 expected = MMAP_REGION_START, got;
    size_t i;

    for (i = 0; i < sizeof hints / sizeof hints[0]; i++) {
        got = map_or_fail(m, PID, hints[i].hint, hints[i].length, RW,
                          ANON_PRIVATE, -1, 0);
        expect_hex(got, expected,
                   describe("%s: the lowest free range", hints[i].what));
        expected += (addr32)hints[i].length;
    }
    mmu_delete(m);
}

static void test_vm_mmap_fills_the_lowest_gap_that_fits(void) {
    mmu *m = new_mmu_with_process(PID);
    addr32 base = MMAP_REGION_START;

    expect_hex(map_or_fail(m, PID, 0, 2 * PAGE_SIZE, RW, ANON_PRIVATE, -1, 0),
               base, "A: pages 0-1");
    expect_hex(map_or_fail(m, PID, 0, 3 * PAGE_SIZE, RW, ANON_PRIVATE, -1, 0),
               base + 2 * PAGE_SIZE, "B: pages 2-4");
    expect_hex(map_or_fail(m, PID, 0, PAGE_SIZE, RW, ANON_PRIVATE, -1, 0),
               base + 5 * PAGE_SIZE, "C: page 5");
    expect_int(vm_munmap(m, PID, base + 2 * PAGE_SIZE, 3 * PAGE_SIZE), 0,
               "vm_munmap of B");
    expect_hex(map_or_fail(m, PID, 0, 2 * PAGE_SIZE, RW, ANON_PRIVATE, -1, 0),
               base + 2 * PAGE_SIZE, "two pages go into B's hole");
    expect_hex(map_or_fail(m, PID, 0, 4 * PAGE_SIZE, RW, ANON_PRIVATE, -1, 0),
               base + 6 * PAGE_SIZE,
               "four pages fit no hole: after C, the highest mapping");
    expect_hex(map_or_fail(m, PID, 0, PAGE_SIZE, RW, ANON_PRIVATE, -1, 0),
               base + 4 * PAGE_SIZE, "one page goes into what is left of B");
    mmu_delete(m);
}

static void test_vm_mmap_fixed_replaces_what_was_mapped_there(void) {
    char path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt");
    int fd = open_fixture_copy("lorem.txt", O_RDONLY, path);
    mmu *m = new_mmu_with_process(PID);
    addr32 at = map_or_fail(m, PID, SOMEWHERE, 4 * PAGE_SIZE, RW,
                            ANON_PRIVATE, -1, 0);
    addr32 fixed;
    size_t page;

    for (page = 0; page < 4; page++)
        expect_writes(m, PID, at + (addr32)(page * PAGE_SIZE), "ANON", 4,
                      describe("write to anonymous page %zu", page));
    fixed = map_or_fail(m, PID, at + PAGE_SIZE, 2 * PAGE_SIZE, VM_PROT_READ,
                        PRIVATE | VM_MAP_FIXED, fd, 0);
    expect_hex(fixed, at + PAGE_SIZE, "VM_MAP_FIXED: the address exactly");
    expect_reads(m, PID, at, "ANON", 4, "page 0, before the fixed range");
    expect_reads(m, PID, at + PAGE_SIZE, lorem, 64,
                 "page 1: the file's page 0");
    expect_reads(m, PID, at + 2 * PAGE_SIZE, lorem + PAGE_SIZE, 64,
                 "page 2: the file's page 1");
    expect_reads(m, PID, at + 3 * PAGE_SIZE, "ANON", 4,
                 "page 3, after the fixed range");
    expect_access_refused(m, at + PAGE_SIZE, 4, true, EACCES,
                          "write to the read-only fixed mapping");
    mmu_delete(m);
    close(fd);
    free(lorem);
}

static void test_vm_mmap_fixed_over_a_dirty_shared_page_writes_it_back(void) {
    static const unsigned char zeros[64];
    char path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt");
    int fd = open_fixture_copy("lorem.txt", O_RDWR, path);
    mmu *m = new_mmu_with_process(PID);
    addr32 at = map_or_fail(m, PID, 0, 10000, RW, SHARED, fd, 0);

    expect_writes(m, PID, at + 10, "FIXED!", 6, "write to page 0");
    expect_file_contents(path, lorem, 10000, "the file before VM_MAP_FIXED");
    map_or_fail(m, PID, at, PAGE_SIZE, RW, ANON_PRIVATE | VM_MAP_FIXED, -1, 0);
    memcpy(lorem + 10, "FIXED!", 6);
    expect_file_contents(path, lorem, 10000,
                      "the file right after VM_MAP_FIXED over the dirty page");
    expect_reads(m, PID, at, zeros, sizeof zeros,
                 "page 0, now anonymous memory");
    expect_reads(m, PID, at + PAGE_SIZE, lorem + PAGE_SIZE, 64,
                 "page 1, still the file's");
    mmu_delete(m);
    close(fd);
    free(lorem);
}

static void test_vm_private_mapping_may_be_writable_when_fd_is_read_only(void) {
    char path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt");
    int fd = open_fixture_copy("lorem.txt", O_RDONLY, path);
    mmu *m = new_mmu_with_process(PID);
    addr32 at = map_or_fail(m, PID, 0, 10000, RW, PRIVATE, fd, 0);

    expect_writes(m, PID, at, "MINE", 4, "write through the private mapping");
    expect_reads(m, PID, at, "MINE", 4, "read it back");
    mmu_delete(m);
    expect_file_contents(path, lorem, 10000, "the file, never written");
    close(fd);
    free(lorem);
}

/* ================================================================== */
/* vm_mmap: errors                                                     */
/* ================================================================== */

static void test_vm_mmap_with_no_such_process_is_einval(void) {
    mmu *m = new_mmu_with_process(PID);

    expect_failure(
        vm_mmap(m, PID + 1, 0, PAGE_SIZE, RW, ANON_PRIVATE, -1, 0),
        VM_MAP_FAILED, EINVAL, "a pid never added");
    expect_failure(vm_mmap(m, MAX_PROCESS_ID, 0, PAGE_SIZE, RW, ANON_PRIVATE,
                           -1, 0),
                   VM_MAP_FAILED, EINVAL, "pid MAX_PROCESS_ID");
    expect_failure(vm_mmap(NULL, PID, 0, PAGE_SIZE, RW, ANON_PRIVATE, -1, 0),
                   VM_MAP_FAILED, EINVAL, "a NULL MMU");
    expect_int(mmu_remove_process(m, PID), 0, "mmu_remove_process");
    expect_failure(vm_mmap(m, PID, 0, PAGE_SIZE, RW, ANON_PRIVATE, -1, 0),
                   VM_MAP_FAILED, EINVAL, "a pid removed");
    mmu_delete(m);
}

static void test_vm_mmap_where_the_mmap_segment_was_grown_by_hand_is_einval(
    void) {
    mmu *m = new_mmu_with_process(PID);
    vm_segmentation *segment = &m->segmentations[PID]->segments[MMAP];

    expect_int(grow_segment(segment, 2), 0, "grow the MMAP segment by hand");
    expect_failure(vm_mmap(m, PID, 0, PAGE_SIZE, RW, ANON_PRIVATE, -1, 0),
                   VM_MAP_FAILED, EINVAL, "vm_mmap beside a hand-grown MMAP");
    mmu_delete(m);
}

static void test_vm_mmap_with_length_0_is_einval(void) {
    char path[PATH_MAX];
    int fd = open_fixture_copy("lorem.txt", O_RDWR, path);
    mmu *m = new_mmu_with_process(PID);

    expect_failure(vm_mmap(m, PID, 0, 0, RW, SHARED, fd, 0), VM_MAP_FAILED,
                   EINVAL, "a file mapping of length 0");
    expect_failure(vm_mmap(m, PID, 0, 0, RW, ANON_PRIVATE, -1, 0),
                   VM_MAP_FAILED, EINVAL, "an anonymous mapping of length 0");
    expect_nothing_mapped(m, PID, "after the refusals");
    mmu_delete(m);
    close(fd);
}

static void test_vm_mmap_with_an_offset_unaligned_or_negative_is_einval(void) {
    char path[PATH_MAX];
    int fd = open_fixture_copy("lorem.txt", O_RDWR, path);
    mmu *m = new_mmu_with_process(PID);

    expect_failure(vm_mmap(m, PID, 0, PAGE_SIZE, RW, SHARED, fd, 100),
                   VM_MAP_FAILED, EINVAL, "offset 100");
    expect_failure(vm_mmap(m, PID, 0, PAGE_SIZE, RW, SHARED, fd, PAGE_SIZE - 1),
                   VM_MAP_FAILED, EINVAL, "offset 4095");
    expect_failure(vm_mmap(m, PID, 0, PAGE_SIZE, RW, SHARED, fd, -PAGE_SIZE),
                   VM_MAP_FAILED, EINVAL, "offset -4096");
    expect_nothing_mapped(m, PID, "after the refusals");
    mmu_delete(m);
    close(fd);
}

static void test_vm_mmap_anonymous_with_an_offset_is_einval(void) {
    mmu *m = new_mmu_with_process(PID);

    expect_failure(
        vm_mmap(m, PID, 0, PAGE_SIZE, RW, ANON_PRIVATE, -1, PAGE_SIZE),
        VM_MAP_FAILED, EINVAL, "anonymous, private, offset 4096");
    expect_failure(
        vm_mmap(m, PID, 0, PAGE_SIZE, RW, ANON_SHARED, -1, PAGE_SIZE),
        VM_MAP_FAILED, EINVAL, "anonymous, shared, offset 4096");
    expect_nothing_mapped(m, PID, "after the refusals");
    mmu_delete(m);
}

static void test_vm_mmap_needs_exactly_one_of_shared_and_private(void) {
    static const struct {
        int flags;
        const char *what;
    } cases[] = {
        {0, "flags 0"},
        {VM_MAP_ANONYMOUS, "ANONYMOUS alone"},
        {VM_MAP_FIXED | VM_MAP_ANONYMOUS, "FIXED | ANONYMOUS"},
        {VM_MAP_SHARED | VM_MAP_PRIVATE | VM_MAP_ANONYMOUS,
         "SHARED | PRIVATE | ANONYMOUS"},
    };
    char path[PATH_MAX];
    int fd = open_fixture_copy("lorem.txt", O_RDWR, path);
    mmu *m = new_mmu_with_process(PID);
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_failure(vm_mmap(m, PID, SOMEWHERE, PAGE_SIZE, RW,
                               cases[i].flags, -1, 0),
                       VM_MAP_FAILED, EINVAL, cases[i].what);
    expect_failure(vm_mmap(m, PID, 0, PAGE_SIZE, RW,
                           VM_MAP_SHARED | VM_MAP_PRIVATE, fd, 0),
                   VM_MAP_FAILED, EINVAL, "a file, SHARED | PRIVATE");
    expect_nothing_mapped(m, PID, "after the refusals");
    mmu_delete(m);
    close(fd);
}

static void test_vm_mmap_with_unknown_prot_or_flag_bits_is_einval(void) {
    mmu *m = new_mmu_with_process(PID);

    expect_failure(vm_mmap(m, PID, 0, PAGE_SIZE, RW | 0x8, ANON_PRIVATE, -1,
                           0),
                   VM_MAP_FAILED, EINVAL, "prot bit 0x8");
    expect_failure(vm_mmap(m, PID, 0, PAGE_SIZE, 0x100, ANON_PRIVATE, -1, 0),
                   VM_MAP_FAILED, EINVAL, "prot 0x100");
    expect_failure(vm_mmap(m, PID, 0, PAGE_SIZE, RW, ANON_PRIVATE | 0x40, -1,
                           0),
                   VM_MAP_FAILED, EINVAL, "flag bit 0x40");
    expect_failure(vm_mmap(m, PID, 0, PAGE_SIZE, RW, ANON_SHARED | 0x1000, -1,
                           0),
                   VM_MAP_FAILED, EINVAL, "flag bit 0x1000");
    expect_nothing_mapped(m, PID, "after the refusals");
    mmu_delete(m);
}

static void test_vm_mmap_fixed_with_an_unaligned_addr_is_einval(void) {
    mmu *m = new_mmu_with_process(PID);

    expect_failure(vm_mmap(m, PID, SOMEWHERE + 1, PAGE_SIZE, RW,
                           ANON_PRIVATE | VM_MAP_FIXED, -1, 0),
                   VM_MAP_FAILED, EINVAL, "FIXED at SOMEWHERE + 1");
    expect_failure(vm_mmap(m, PID, SOMEWHERE + PAGE_SIZE / 2, PAGE_SIZE, RW,
                           ANON_SHARED | VM_MAP_FIXED, -1, 0),
                   VM_MAP_FAILED, EINVAL, "FIXED at SOMEWHERE + 2048");
    expect_nothing_mapped(m, PID, "after the refusals");
    mmu_delete(m);
}

static void test_vm_mmap_of_a_descriptor_not_open_is_ebadf(void) {
    char path[PATH_MAX];
    int fd = open_fixture_copy("lorem.txt", O_RDWR, path);
    mmu *m = new_mmu_with_process(PID);

    close(fd);
    expect_failure(vm_mmap(m, PID, 0, PAGE_SIZE, VM_PROT_READ, PRIVATE, fd, 0),
                   VM_MAP_FAILED, EBADF, "a descriptor just closed");
    expect_failure(vm_mmap(m, PID, 0, PAGE_SIZE, VM_PROT_READ, SHARED, -1, 0),
                   VM_MAP_FAILED, EBADF, "fd -1 without ANONYMOUS");
    expect_failure(
        vm_mmap(m, PID, 0, PAGE_SIZE, VM_PROT_READ, SHARED, 100000, 0),
        VM_MAP_FAILED, EBADF, "fd 100000");
    expect_nothing_mapped(m, PID, "after the refusals");
    mmu_delete(m);
}

static void test_vm_mmap_of_a_write_only_descriptor_is_eacces(void) {
    char path[PATH_MAX];
    int fd = open_fixture_copy("lorem.txt", O_WRONLY, path);
    mmu *m = new_mmu_with_process(PID);

    expect_failure(vm_mmap(m, PID, 0, PAGE_SIZE, VM_PROT_READ, PRIVATE, fd, 0),
                   VM_MAP_FAILED, EACCES, "O_WRONLY, private, read");
    expect_failure(vm_mmap(m, PID, 0, PAGE_SIZE, RW, SHARED, fd, 0),
                   VM_MAP_FAILED, EACCES, "O_WRONLY, shared, read-write");
    expect_failure(vm_mmap(m, PID, 0, PAGE_SIZE, VM_PROT_WRITE, SHARED, fd, 0),
                   VM_MAP_FAILED, EACCES, "O_WRONLY, shared, write only");
    expect_nothing_mapped(m, PID, "after the refusals");
    mmu_delete(m);
    close(fd);
}

static void
test_vm_mmap_shared_writable_of_a_read_only_descriptor_is_eacces(void) {
    char path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt");
    int fd = open_fixture_copy("lorem.txt", O_RDONLY, path);
    mmu *m = new_mmu_with_process(PID);
    addr32 at;

    expect_failure(vm_mmap(m, PID, 0, PAGE_SIZE, RW, SHARED, fd, 0),
                   VM_MAP_FAILED, EACCES, "O_RDONLY, shared, read-write");
    expect_failure(vm_mmap(m, PID, 0, PAGE_SIZE, VM_PROT_WRITE, SHARED, fd, 0),
                   VM_MAP_FAILED, EACCES, "O_RDONLY, shared, write only");
    expect_nothing_mapped(m, PID, "after the refusals");
    at = map_or_fail(m, PID, 0, 10000, VM_PROT_READ, SHARED, fd, 0);
    expect_reads(m, PID, at, lorem, 64,
                 "the same descriptor mapped shared, read-only");
    mmu_delete(m);
    close(fd);
    free(lorem);
}

static void test_vm_mmap_of_something_not_a_regular_file_is_enodev(void) {
    char fifo[PATH_MAX];
    mmu *m = new_mmu_with_process(PID);
    int directory = open_file(work_dir, O_RDONLY), pipe_fd, null_fd;

    path_in_work_dir("fifo", fifo);
    if (mkfifo(fifo, 0600) != 0)
        setup_failed("mkfifo");
    pipe_fd = open_file(fifo, O_RDWR | O_NONBLOCK);
    null_fd = open_file("/dev/null", O_RDWR);
    expect_failure(vm_mmap(m, PID, 0, PAGE_SIZE, VM_PROT_READ, PRIVATE,
                           directory, 0),
                   VM_MAP_FAILED, ENODEV, "a directory opened O_RDONLY");
    expect_failure(
        vm_mmap(m, PID, 0, PAGE_SIZE, VM_PROT_READ, SHARED, pipe_fd, 0),
        VM_MAP_FAILED, ENODEV, "a FIFO opened O_RDWR | O_NONBLOCK");
    expect_failure(vm_mmap(m, PID, 0, PAGE_SIZE, RW, SHARED, null_fd, 0),
                   VM_MAP_FAILED, ENODEV, "/dev/null");
    expect_nothing_mapped(m, PID, "after the refusals");
    mmu_delete(m);
    close(directory);
    close(pipe_fd);
    close(null_fd);
}

static void test_vm_mmap_with_no_room_in_the_mmap_region_is_enomem(void) {
    mmu *m = new_mmu_with_process(PID);
    addr32 whole;

    expect_failure(vm_mmap(m, PID, 0, MMAP_REGION_SIZE + PAGE_SIZE, RW,
                           ANON_PRIVATE, -1, 0),
                   VM_MAP_FAILED, ENOMEM, "one page more than the region");
    expect_failure(vm_mmap(m, PID, 0, (size_t)1 << 33, RW, ANON_PRIVATE, -1, 0),
                   VM_MAP_FAILED, ENOMEM, "8 GiB");
    whole = map_or_fail(m, PID, 0, MMAP_REGION_SIZE - PAGE_SIZE, RW,
                        ANON_PRIVATE, -1, 0);
    expect_hex(whole, MMAP_REGION_START, "all of the region but one page");
    expect_failure(vm_mmap(m, PID, 0, 2 * PAGE_SIZE, RW, ANON_PRIVATE, -1, 0),
                   VM_MAP_FAILED, ENOMEM, "two pages where one is free");
    expect_hex(map_or_fail(m, PID, 0, PAGE_SIZE, RW, ANON_PRIVATE, -1, 0),
               MMAP_REGION_START + MMAP_REGION_SIZE - PAGE_SIZE,
               "the last free page");
    expect_failure(vm_mmap(m, PID, 0, PAGE_SIZE, RW, ANON_PRIVATE, -1, 0),
                   VM_MAP_FAILED, ENOMEM, "one page in a full region");
    mmu_delete(m);
}

static void test_vm_mmap_fixed_outside_the_mmap_region_is_enomem(void) {
    static const struct {
        addr32 addr;
        size_t length;
        const char *what;
    } cases[] = {
        {0x30000000, PAGE_SIZE, "FIXED in the HEAP region"},
        {MMAP_REGION_START - PAGE_SIZE, 2 * PAGE_SIZE,
         "FIXED starting a page below the region"},
        {0xAFFFF000, 2 * PAGE_SIZE, "FIXED running past the region's end"},
        {0xB0000000, PAGE_SIZE, "FIXED at the region's end"},
        {0xD0000000, PAGE_SIZE, "FIXED in the TESTING region"},
    };
    mmu *m = new_mmu_with_process(PID);
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_failure(vm_mmap(m, PID, cases[i].addr, cases[i].length, RW,
                               ANON_PRIVATE | VM_MAP_FIXED, -1, 0),
                       VM_MAP_FAILED, ENOMEM, cases[i].what);
    expect_nothing_mapped(m, PID, "after the refusals");
    mmu_delete(m);
}

static void test_vm_mmap_with_offset_plus_length_past_off_t_is_eoverflow(void) {
    char path[PATH_MAX];
    int fd = open_fixture_copy("lorem.txt", O_RDWR, path);
    mmu *m = new_mmu_with_process(PID);
    off_t last_page = (off_t)(INT64_MAX / PAGE_SIZE * PAGE_SIZE);

    expect_failure(vm_mmap(m, PID, 0, 2 * PAGE_SIZE, VM_PROT_READ, PRIVATE, fd,
                           last_page),
                   VM_MAP_FAILED, EOVERFLOW,
                   "two pages from the last page-aligned off_t");
    expect_failure(vm_mmap(m, PID, 0, 1 << 20, VM_PROT_READ, SHARED, fd,
                           last_page - PAGE_SIZE),
                   VM_MAP_FAILED, EOVERFLOW,
                   "1 MiB from the last page-aligned off_t but one");
    expect_nothing_mapped(m, PID, "after the refusals");
    mmu_delete(m);
    close(fd);
}

/*
 * The mapping's write-back goes to each page's offset, whatever status
 * flags the descriptor it came through has: a descriptor opened O_APPEND
 * (whose duplicate would share the flag) leaves the file its length.
 */
static void test_vm_mmap_through_an_o_append_descriptor_writes_back_in_place(
    void) {
    char path[PATH_MAX];
    int fd;
    mmu *m = new_mmu_with_process(PID);
    addr32 at;

    write_new_file("digits", "0123456789", 10, path);
    fd = open_file(path, O_RDWR | O_APPEND);
    at = map_or_fail(m, PID, 0, 10, RW, SHARED, fd, 0);
    expect_writes(m, PID, at, "AB", 2, "write at offset 0");
    expect_int(vm_msync(m, PID, at, PAGE_SIZE, VM_MS_SYNC), 0, "vm_msync");
    expect_file_contents(path, "AB23456789", 10, "the file after vm_msync");
    close(fd);
    mmu_delete(m);
}

/*
 * Nor do flags set on the caller's descriptor later: O_APPEND set with
 * fcntl after the mapping, and O_DIRECT, whose transfers must be aligned
 * (a read of the file's last, partial page would be EINVAL).
 */
static void test_vm_mmap_io_ignores_the_callers_flags_set_later_or_o_direct(
    void) {
    char path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt");
    int fd = open_fixture_copy("lorem.txt", O_RDWR | O_DIRECT, path);
    mmu *m = new_mmu_with_process(PID);
    addr32 at = map_or_fail(m, PID, 0, 10000, RW, SHARED, fd, 0);

    expect_reads(m, PID, at + 2 * PAGE_SIZE, lorem + 2 * PAGE_SIZE,
                 10000 - 2 * PAGE_SIZE, "the last, partial page, O_DIRECT");
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_APPEND) != 0)
        setup_failed("fcntl F_SETFL O_APPEND");
    expect_writes(m, PID, at + 9990, "END", 3, "write in the last page");
    expect_int(vm_msync(m, PID, at, 10000, VM_MS_SYNC), 0, "vm_msync");
    memcpy(lorem + 9990, "END", 3);
    expect_file_contents(path, lorem, 10000, "the file, written in place");
    close(fd);
    mmu_delete(m);
    free(lorem);
}

/* Linux refuses an O_PATH descriptor at the call: it allows no I/O. */
static void test_vm_mmap_of_an_o_path_descriptor_is_ebadf(void) {
    char path[PATH_MAX];
    int fd = open_fixture_copy("lorem.txt", O_RDWR, path), path_fd;
    mmu *m = new_mmu_with_process(PID);

    close(fd);
    path_fd = open_file(path, O_PATH);
    expect_failure(
        vm_mmap(m, PID, 0, PAGE_SIZE, VM_PROT_READ, PRIVATE, path_fd, 0),
        VM_MAP_FAILED, EBADF, "an O_PATH descriptor, private");
    expect_failure(
        vm_mmap(m, PID, 0, PAGE_SIZE, VM_PROT_READ, SHARED, path_fd, 0),
        VM_MAP_FAILED, EBADF, "an O_PATH descriptor, shared");
    expect_nothing_mapped(m, PID, "after the refusals");
    close(path_fd);
    mmu_delete(m);
}

/*
 * The regular files of pseudo file systems (/proc) have no pages: Linux
 * refuses to map them with ENODEV, rather than map them as empty.
 */
static void test_vm_mmap_of_a_proc_file_is_enodev(void) {
    int fd = open_file("/proc/self/status", O_RDONLY);
    mmu *m = new_mmu_with_process(PID);

    expect_failure(vm_mmap(m, PID, 0, PAGE_SIZE, VM_PROT_READ, PRIVATE, fd, 0),
                   VM_MAP_FAILED, ENODEV, "/proc/self/status");
    expect_nothing_mapped(m, PID, "after the refusal");
    close(fd);
    mmu_delete(m);
}

/* A call that succeeds leaves errno as it found it, as libc's calls do. */
#define expect_errno_kept(call, what)                                          \
    do {                                                                       \
        errno = EDOM;                                                          \
        long long result_ = (long long)(call);                                 \
        expect_true(result_ != -1, describe("%s succeeds", (what)));           \
        expect_errno(errno, EDOM, describe("errno after %s", (what)));         \
    } while (0)

static void test_vm_calls_that_succeed_leave_errno_alone(void) {
    char path[PATH_MAX];
    int fd = open_fixture_copy("lorem.txt", O_RDWR, path);
    char byte = 'x';
    mmu *m;
    addr32 at = 0;

    expect_errno_kept(m = mmu_create(), "mmu_create, the pool's first use");
    expect_errno_kept(mmu_add_process(m, PID), "mmu_add_process");
    expect_errno_kept(at = vm_mmap(m, PID, 0, 10000, RW, SHARED, fd, 0),
                      "vm_mmap");
    expect_errno_kept(write_virtual(m, PID, at, &byte, 1), "a write");
    expect_errno_kept(read_virtual(m, PID, at + 1, &byte, 1), "a read");
    expect_errno_kept(vm_msync(m, PID, at, 10000, VM_MS_SYNC), "vm_msync");
    expect_errno_kept(mmu_sync(m, PID, 0, UINT32_MAX), "mmu_sync");
    expect_errno_kept(vm_mprotect(m, PID, at, PAGE_SIZE, VM_PROT_READ),
                      "vm_mprotect");
    expect_errno_kept(vm_munmap(m, PID, at, PAGE_SIZE), "vm_munmap");
    expect_errno_kept(mmu_remove_process(m, PID), "mmu_remove_process");
    close(fd);
    mmu_delete(m);
}

/* ================================================================== */
/* vm_munmap                                                           */
/* ================================================================== */

static void test_vm_munmap_of_the_middle_leaves_two_mappings_that_work(void) {
    char path[PATH_MAX];
    unsigned char *pages = fixture_bytes("pages.txt");
    int fd = open_fixture_copy("pages.txt", O_RDWR, path);
    mmu *m = new_mmu_with_process(PID);
    addr32 at = map_or_fail(m, PID, 0, 5 * PAGE_SIZE, RW, SHARED, fd, 0);

    expect_int(vm_munmap(m, PID, at + PAGE_SIZE, 3 * PAGE_SIZE), 0,
               "vm_munmap of pages 1-3");
    expect_access_refused(m, at + PAGE_SIZE, 1, false, EFAULT, "read page 1");
    expect_access_refused(m, at + 3 * PAGE_SIZE, 1, true, EFAULT,
                          "write page 3");
    expect_reads(m, PID, at, pages, 64, "page 0, the first half");
    expect_reads(m, PID, at + 4 * PAGE_SIZE, pages + 4 * PAGE_SIZE, 64,
                 "page 4, the second half (still the file's page 4)");
    expect_writes(m, PID, at, "HEAD", 4, "write to page 0");
    expect_writes(m, PID, at + 4 * PAGE_SIZE, "TAIL", 4, "write to page 4");
    mmu_delete(m);
    memcpy(pages, "HEAD", 4);
    memcpy(pages + 4 * PAGE_SIZE, "TAIL", 4);
    expect_file_contents(path, pages, 48 * PAGE_SIZE,
                      "the file: both halves wrote to it");
    close(fd);
    free(pages);
}

static void test_vm_munmap_of_pages_not_mapped_is_ignored(void) {
    mmu *m = new_mmu_with_process(PID);
    addr32 at;

    expect_int(vm_munmap(m, PID, SOMEWHERE, PAGE_SIZE), 0,
               "vm_munmap before any mapping");
    at = map_or_fail(m, PID, SOMEWHERE, 2 * PAGE_SIZE, RW, ANON_PRIVATE, -1,
                     0);
    expect_int(vm_munmap(m, PID, at + 16 * PAGE_SIZE, 4 * PAGE_SIZE), 0,
               "vm_munmap of pages above the mapping");
    expect_writes(m, PID, at, "STAY", 4, "the mapping is still there");
    expect_int(vm_munmap(m, PID, at - 4 * PAGE_SIZE, 10 * PAGE_SIZE), 0,
               "vm_munmap of a range holding the mapping and holes around");
    expect_access_refused(m, at, 1, false, EFAULT, "read the unmapped page");
    mmu_delete(m);
}

static void test_vm_munmap_rounds_length_up_to_whole_pages(void) {
    mmu *m = new_mmu_with_process(PID);
    addr32 at = map_or_fail(m, PID, 0, 3 * PAGE_SIZE, RW, ANON_PRIVATE, -1, 0);

    expect_writes(m, PID, at + PAGE_SIZE, "PAGE1", 5, "write to page 1");
    expect_int(vm_munmap(m, PID, at, 1), 0, "vm_munmap of 1 byte");
    expect_access_refused(m, at + PAGE_SIZE - 1, 1, false, EFAULT,
                          "the last byte of page 0");
    expect_reads(m, PID, at + PAGE_SIZE, "PAGE1", 5, "page 1 stays");
    expect_int(vm_munmap(m, PID, at + PAGE_SIZE, PAGE_SIZE + 1), 0,
               "vm_munmap of a page and a byte");
    expect_access_refused(m, at + 2 * PAGE_SIZE, 1, false, EFAULT,
                          "page 2, reached by the byte");
    mmu_delete(m);
}

/*
 * Linux refuses a range that leaves the address space with EINVAL and
 * unmaps nothing: a length computed as start - end, SIZE_MAX, or a range
 * from the top page that runs past 2^32.
 */
static void test_vm_munmap_of_a_range_past_the_address_space_is_einval(void) {
    mmu *m = new_mmu_with_process(PID);
    addr32 low = map_or_fail(m, PID, 0, PAGE_SIZE, RW, ANON_PRIVATE, -1, 0);
    addr32 high = map_or_fail(m, PID, 0xAFFF0000, 4 * PAGE_SIZE, RW,
                              ANON_SHARED, -1, 0);

    expect_writes(m, PID, high + 3 * PAGE_SIZE, "TOP", 3, "write near the top");
    expect_failure(vm_munmap(m, PID, low + PAGE_SIZE, SIZE_MAX), -1, EINVAL,
                   "vm_munmap of SIZE_MAX bytes above the low page");
    expect_failure(vm_munmap(m, PID, high, (size_t)low - high), -1, EINVAL,
                   "vm_munmap of a length computed as start - end");
    expect_failure(vm_munmap(m, PID, 0xFFFFF000, 0x2000), -1, EINVAL,
                   "vm_munmap of two pages from the top page");
    expect_failure(vm_munmap(m, PID, low, (size_t)1 << 32), -1, EINVAL,
                   "vm_munmap of 4 GiB from the low page");
    expect_reads(m, PID, high + 3 * PAGE_SIZE, "TOP", 3,
                 "the high mapping stays");
    expect_writes(m, PID, low, "LOW", 3, "the low page stays");
    expect_int(vm_munmap(m, PID, high, 0xFFFFFFFFu - high + 1), 0,
               "vm_munmap up to the very top of the space");
    expect_access_refused(m, high + 3 * PAGE_SIZE, 1, false, EFAULT,
                          "read of the high mapping once unmapped");
    expect_failure(vm_mmap(m, PID, 0, SIZE_MAX, RW, ANON_PRIVATE, -1, 0),
                   VM_MAP_FAILED, ENOMEM, "vm_mmap of SIZE_MAX bytes");
    mmu_delete(m);
}

/*
 * vm_mprotect and vm_msync answer such ranges as Linux does: a range
 * reaching past the space holds unmapped pages (ENOMEM, nothing changed),
 * and msync of a length whose rounding wraps to 0 is empty (0).
 */
static void test_vm_mprotect_and_msync_of_ranges_past_the_space_answer_as_linux(
    void) {
    mmu *m = new_mmu_with_process(PID);
    addr32 at = map_or_fail(m, PID, 0, 2 * PAGE_SIZE, RW, ANON_PRIVATE, -1, 0);

    expect_failure(vm_mprotect(m, PID, at, SIZE_MAX, VM_PROT_READ), -1, ENOMEM,
                   "vm_mprotect of SIZE_MAX bytes");
    expect_failure(vm_mprotect(m, PID, at, SIZE_MAX - 2 * PAGE_SIZE,
                               VM_PROT_READ),
                   -1, ENOMEM, "vm_mprotect of nearly SIZE_MAX bytes");
    expect_failure(vm_mprotect(m, PID, 0xFFFFF000, 0x2000, VM_PROT_READ), -1,
                   ENOMEM, "vm_mprotect of two pages from the top page");
    expect_writes(m, PID, at, "RW", 2, "the mapping is still writable");
    expect_int(vm_msync(m, PID, at, SIZE_MAX, VM_MS_SYNC), 0,
               "vm_msync of SIZE_MAX bytes (rounds to 0)");
    expect_failure(vm_msync(m, PID, at, SIZE_MAX - 2 * PAGE_SIZE, VM_MS_SYNC),
                   -1, ENOMEM, "vm_msync of nearly SIZE_MAX bytes");
    expect_failure(vm_msync(m, PID, 0xFFFFF000, 0x2000, 0), -1, ENOMEM,
                   "vm_msync of two pages from the top page");
    mmu_delete(m);
}

/*
 * A page table whose last resident entry is unmapped goes back to the
 * pool: a process mapping, touching and unmapping one page at a time in
 * a new 4 MiB window each time never pins the pool, and unmapping the
 * last page of a window gives its table back at once.
 */
static void test_vm_munmap_gives_page_tables_with_nothing_mapped_back(void) {
    setenv("MMAP_FRAMES", "64", 1);
    mmu *m = new_mmu_with_process(PID);
    size_t before = kernel_frames_free();

    for (addr32 window = 0; window < 200; window++) {
        addr32 at = map_or_fail(m, PID, SOMEWHERE + window * (addr32)TABLE_SPAN,
                                2 * PAGE_SIZE, RW, ANON_PRIVATE, -1, 0);
        expect_writes(m, PID, at, "x", 1,
                      describe("write into window %u", (unsigned)window));
        expect_writes(m, PID, at + PAGE_SIZE, "y", 1, "its second page");
        expect_int(vm_munmap(m, PID, at, PAGE_SIZE), 0, "unmap of one page");
        expect_size(kernel_frames_free(), before - 2,
                    "frames in use with one page mapped: the page, its table");
        expect_int(vm_munmap(m, PID, at + PAGE_SIZE, PAGE_SIZE), 0,
                   "unmap of the last page of the window");
        expect_size(kernel_frames_free(), before,
                    describe("free frames after window %u", (unsigned)window));
    }
    mmu_delete(m);
}

/*
 * The pool takes back a page table once no entry of it holds a frame: 16
 * processes that each read a 1 GiB mapping sparsely, a byte every 4 MiB,
 * need 4096 tables and 4096 pages in all, as many as the whole default
 * pool; the pages are evicted, and then their tables, and every read is
 * served.
 */
static void test_vm_page_tables_whose_pages_were_evicted_go_back_to_the_pool(
    void) {
    char path[PATH_MAX];
    const size_t processes = 16, gib = (size_t)1 << 30;
    int fd;
    mmu *m = mmu_create();
    addr32 at[16];
    unsigned char byte;

    make_sparse_file("sparse", (off_t)gib, path);
    fd = open_file(path, O_RDONLY);
    expect_not_null(m, "mmu_create");
    for (size_t pid = 0; pid < processes; pid++) {
        expect_int(mmu_add_process(m, pid), 0, "mmu_add_process");
        at[pid] = map_or_fail(m, pid, 0, gib, VM_PROT_READ, SHARED, fd, 0);
    }
    for (size_t pid = 0; pid < processes; pid++)
        for (size_t window = 0; window < gib / TABLE_SPAN; window++)
            expect_size(read_virtual(m, pid,
                                     at[pid] + (addr32)(window * TABLE_SPAN),
                                     &byte, 1),
                        1,
                        describe("process %zu reads window %zu (errno %s)",
                                 pid, window, errno_name(errno)));
    mmu_delete(m);
    close(fd);
}

static void test_vm_munmap_with_bad_arguments_is_einval(void) {
    mmu *m = new_mmu_with_process(PID);
    addr32 at = map_or_fail(m, PID, 0, 2 * PAGE_SIZE, RW, ANON_PRIVATE, -1, 0);

    expect_failure(vm_munmap(m, PID, at + 1, PAGE_SIZE), -1, EINVAL,
                   "unaligned addr");
    expect_failure(vm_munmap(m, PID, at, 0), -1, EINVAL, "length 0");
    expect_failure(vm_munmap(m, PID + 1, at, PAGE_SIZE), -1, EINVAL,
                   "no such process");
    expect_failure(vm_munmap(NULL, PID, at, PAGE_SIZE), -1, EINVAL,
                   "a NULL MMU");
    expect_writes(m, PID, at, "STILL", 5, "the mapping after the refusals");
    mmu_delete(m);
}

static void
test_vm_munmap_makes_an_access_a_segfault_even_for_a_page_the_tlb_held(void) {
    char path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt");
    int fd = open_fixture_copy("lorem.txt", O_RDWR, path);
    mmu *m = new_mmu_with_process(PID);
    addr32 file = map_or_fail(m, PID, 0, 10000, RW, SHARED, fd, 0);
    addr32 anon = map_or_fail(m, PID, 0, PAGE_SIZE, RW, ANON_PRIVATE, -1, 0);
    size_t misses;

    expect_reads(m, PID, file, lorem, 8, "file page 0 (the TLB holds it)");
    expect_writes(m, PID, anon, "ANON", 4, "anonymous page (the TLB holds it)");
    expect_reads(m, PID, file, lorem, 8, "file page 0 again (a TLB hit)");
    expect_int(vm_munmap(m, PID, file, PAGE_SIZE), 0, "vm_munmap file page 0");
    expect_int(vm_munmap(m, PID, anon, PAGE_SIZE), 0, "vm_munmap anon page");
    expect_access_refused(m, file, 8, false, EFAULT, "read of file page 0");
    expect_access_refused(m, file, 8, true, EFAULT, "write of file page 0");
    expect_access_refused(m, anon, 4, false, EFAULT, "read of the anon page");
    map_or_fail(m, PID, file, PAGE_SIZE, RW, ANON_PRIVATE | VM_MAP_FIXED, -1,
                0);
    misses = m->num_tlb_misses;
    expect_reads(m, PID, file, "\0\0\0\0", 4,
                 "a new mapping at the address: zeros, not the old page");
    expect_size(m->num_tlb_misses, misses + 1,
                "TLB misses: vm_munmap dropped the translation");
    mmu_delete(m);
    close(fd);
    free(lorem);
}

static void test_vm_munmap_writes_dirty_shared_pages_back(void) {
    char path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt");
    int fd = open_fixture_copy("lorem.txt", O_RDWR, path);
    mmu *m = new_mmu_with_process(PID);
    addr32 at = map_or_fail(m, PID, 0, 10000, RW, SHARED, fd, 0);

    expect_writes(m, PID, at + PAGE_SIZE + 7, "UNMAPPED", 8,
                  "write to page 1");
    expect_file_contents(path, lorem, 10000, "the file before vm_munmap");
    expect_int(vm_munmap(m, PID, at + PAGE_SIZE, PAGE_SIZE), 0,
               "vm_munmap of page 1");
    memcpy(lorem + PAGE_SIZE + 7, "UNMAPPED", 8);
    expect_file_contents(path, lorem, 10000, "the file right after vm_munmap");
    mmu_delete(m);
    close(fd);
    free(lorem);
}

/*
 * A write-back that fails: the file may not grow past 4096 bytes
 * (RLIMIT_FSIZE), so writing page 2 of lorem.txt back fails with EFBIG.
 */
static void
test_vm_munmap_whose_write_back_fails_still_unmaps_and_reports_its_errno(
    void) {
    char path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt");
    int fd = open_fixture_copy("lorem.txt", O_RDWR, path);
    mmu *m = new_mmu_with_process(PID);
    addr32 at = map_or_fail(m, PID, 0, 10000, RW, SHARED, fd, 0);
    addr32 other;
    struct rlimit old_limit;

    expect_int(mmu_add_process(m, PID + 1), 0, "a second process");
    other = map_or_fail(m, PID + 1, 0, 10000, VM_PROT_READ, SHARED, fd, 0);
    expect_writes(m, PID, at + 2 * PAGE_SIZE, "FAILED", 6, "write page 2");
    limit_file_size(PAGE_SIZE, &old_limit);
    expect_failure(vm_munmap(m, PID, at, 10000), -1, EFBIG,
                   "vm_munmap whose write-back is refused");
    restore_file_size_limit(&old_limit);
    expect_access_refused(m, at + 2 * PAGE_SIZE, 1, false, EFAULT,
                          "read of the range after the failed vm_munmap");
    expect_file_contents(path, lorem, 10000, "the file after the failure");
    expect_reads(m, PID + 1, other + 2 * PAGE_SIZE, "FAILED", 6,
                 "the other process still sees the dirty page");
    expect_int(vm_munmap(m, PID + 1, other, 10000), 0,
               "the last vm_munmap, with the limit lifted");
    memcpy(lorem + 2 * PAGE_SIZE, "FAILED", 6);
    expect_file_contents(path, lorem, 10000,
                      "the file: the page stayed dirty and was written later");
    mmu_delete(m);
    close(fd);
    free(lorem);
}

/*
 * The file's last vm_munmap whose write-back fails says so, and the dirty
 * page stays in the page cache: a new mapping reads what was written, and
 * its vm_msync writes it once the write can succeed.
 */
static void test_vm_last_munmap_whose_write_back_fails_keeps_the_page_dirty(
    void) {
    char path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt");
    int fd = open_fixture_copy("lorem.txt", O_RDWR, path);
    mmu *m = new_mmu_with_process(PID);
    addr32 at = map_or_fail(m, PID, 0, 10000, RW, SHARED, fd, 0);
    struct rlimit old_limit;

    expect_writes(m, PID, at + 2 * PAGE_SIZE, "KEPT", 4, "write page 2");
    limit_file_size(PAGE_SIZE, &old_limit);
    expect_failure(vm_munmap(m, PID, at, 10000), -1, EFBIG,
                   "the file's last vm_munmap, its write-back refused");
    restore_file_size_limit(&old_limit);
    expect_file_contents(path, lorem, 10000, "the file after the failure");
    at = map_or_fail(m, PID, 0, 10000, RW, SHARED, fd, 0);
    expect_reads(m, PID, at + 2 * PAGE_SIZE, "KEPT", 4,
                 "a new mapping reads the page that could not be written");
    expect_int(vm_msync(m, PID, at, 10000, VM_MS_SYNC), 0,
               "the new mapping's vm_msync, the limit lifted");
    memcpy(lorem + 2 * PAGE_SIZE, "KEPT", 4);
    expect_file_contents(path, lorem, 10000, "the file: written, once");
    mmu_delete(m);
    close(fd);
    free(lorem);
}

/*
 * VM_MAP_FIXED over a file's only mapping while its write-back fails
 * loses none of its five dirty pages: they wait in the page cache, and
 * the file's next mapping writes them when it goes.
 */
static void test_vm_mmap_fixed_over_a_mapping_whose_write_back_fails_loses_nothing(
    void) {
    char path[PATH_MAX];
    int fd;
    mmu *m = new_mmu_with_process(PID);
    addr32 at;
    struct rlimit old_limit;
    unsigned char want[5 * PAGE_SIZE];

    make_pattern_file("pattern", 5, 7, path);
    fd = open_file(path, O_RDWR);
    at = map_or_fail(m, PID, 0, 5 * PAGE_SIZE, RW, SHARED, fd, 0);
    for (size_t page = 0; page < 5; page++)
        expect_writes(m, PID, at + (addr32)(page * PAGE_SIZE) + 100, "NEW", 3,
                      describe("write of page %zu", page));
    limit_file_size(2 * PAGE_SIZE, &old_limit);
    expect_hex(vm_mmap(m, PID, at, 5 * PAGE_SIZE, RW,
                       VM_MAP_FIXED | ANON_PRIVATE, -1, 0),
               at, "VM_MAP_FIXED anonymous memory over the mapping");
    restore_file_size_limit(&old_limit);
    expect_int(mmu_add_process(m, PID + 1), 0, "a second process");
    addr32 again = map_or_fail(m, PID + 1, 0, 5 * PAGE_SIZE, VM_PROT_READ,
                               SHARED, fd, 0);
    expect_int(vm_munmap(m, PID + 1, again, 5 * PAGE_SIZE), 0,
               "the next mapping's vm_munmap writes what waited");
    for (size_t page = 0; page < 5; page++) {
        fill_pattern(want + page * PAGE_SIZE, page, 7);
        memcpy(want + page * PAGE_SIZE + 100, "NEW", 3);
    }
    expect_file_contents(path, want, sizeof want, "the file: all 5 writes");
    mmu_delete(m);
    close(fd);
}

/*
 * A page kept dirty after its file's last vm_munmap failed is written by
 * a later mmu_delete, even of an MMU that maps nothing of the file.
 */
static void test_vm_page_kept_after_a_failed_last_munmap_is_written_at_mmu_delete(
    void) {
    char path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt");
    int fd = open_fixture_copy("lorem.txt", O_RDWR, path);
    mmu *m = new_mmu_with_process(PID), *other = new_mmu_with_process(PID);
    addr32 at = map_or_fail(m, PID, 0, 10000, RW, SHARED, fd, 0);
    struct rlimit old_limit;

    expect_writes(m, PID, at + 2 * PAGE_SIZE, "LATER", 5, "write page 2");
    limit_file_size(PAGE_SIZE, &old_limit);
    expect_failure(vm_munmap(m, PID, at, 10000), -1, EFBIG,
                   "the file's last vm_munmap, its write-back refused");
    restore_file_size_limit(&old_limit);
    close(fd);
    mmu_delete(other);
    memcpy(lorem + 2 * PAGE_SIZE, "LATER", 5);
    expect_file_contents(path, lorem, 10000,
                         "the file after another MMU's mmu_delete");
    mmu_delete(m);
    free(lorem);
}

static void test_vm_munmap_gives_anonymous_and_copied_frames_back(void) {
    char path[PATH_MAX];
    int fd = open_fixture_copy("lorem.txt", O_RDONLY, path);
    mmu *m = new_mmu_with_process(PID);
    addr32 first = map_or_fail(m, PID, 0, PAGE_SIZE, RW, ANON_PRIVATE, -1, 0);
    addr32 anon, file;
    size_t free_before, page;

    /* Touch a page first, so that the page table of the region exists. */
    expect_writes(m, PID, first, "T", 1, "write that makes the page table");
    free_before = kernel_frames_free();
    anon = map_or_fail(m, PID, 0, 3 * PAGE_SIZE, RW, ANON_PRIVATE, -1, 0);
    file = map_or_fail(m, PID, 0, 10000, RW, PRIVATE, fd, 0);
    for (page = 0; page < 3; page++) {
        expect_writes(m, PID, anon + (addr32)(page * PAGE_SIZE), "A", 1,
                      describe("write to anonymous page %zu", page));
        expect_writes(m, PID, file + (addr32)(page * PAGE_SIZE), "F", 1,
                      describe("write to private file page %zu", page));
    }
    expect_at_least(free_before - kernel_frames_free(), 6,
                    "frames taken by three zero pages and three copies");
    expect_int(vm_munmap(m, PID, anon, 3 * PAGE_SIZE), 0, "vm_munmap anon");
    expect_int(vm_munmap(m, PID, file, 10000), 0, "vm_munmap file");
    expect_size(kernel_frames_free(), free_before,
                "free frames after both vm_munmaps");
    mmu_delete(m);
    close(fd);
}

/* ================================================================== */
/* vm_mprotect                                                         */
/* ================================================================== */

static void test_vm_mprotect_read_only_refuses_a_write_the_tlb_allowed(void) {
    char path[PATH_MAX];
    int fd = open_fixture_copy("lorem.txt", O_RDWR, path);
    mmu *m = new_mmu_with_process(PID);
    addr32 anon = map_or_fail(m, PID, 0, PAGE_SIZE, RW, ANON_PRIVATE, -1, 0);
    addr32 file = map_or_fail(m, PID, 0, 10000, RW, SHARED, fd, 0);
    size_t misses;

    /* A mapping that stays writable, so the process can still write. */
    map_or_fail(m, PID, 0, PAGE_SIZE, RW, ANON_PRIVATE, -1, 0);
    expect_writes(m, PID, anon, "FIRST", 5, "write to the anonymous page");
    expect_writes(m, PID, file, "FIRST", 5, "write to the file page");
    expect_reads(m, PID, file, "FIRST", 5, "read the file page (a TLB hit)");
    expect_int(vm_mprotect(m, PID, anon, PAGE_SIZE, VM_PROT_READ), 0,
               "vm_mprotect anon READ");
    expect_int(vm_mprotect(m, PID, file, 10000, VM_PROT_READ), 0,
               "vm_mprotect file READ");
    misses = m->num_tlb_misses;
    expect_reads(m, PID, file, "FIRST", 5, "read the file page");
    expect_size(m->num_tlb_misses, misses + 1,
                "TLB misses: vm_mprotect dropped the page's translation");
    expect_access_refused(m, anon, 5, true, EACCES,
                          "write to the anonymous page made read-only");
    expect_access_refused(m, file, 5, true, EACCES,
                          "write to the file page made read-only");
    expect_reads(m, PID, anon, "FIRST", 5, "the anonymous page, unchanged");
    expect_reads(m, PID, file, "FIRST", 5, "the file page, unchanged");
    mmu_delete(m);
    close(fd);
}

static void test_vm_mprotect_of_one_page_splits_the_mapping(void) {
    mmu *m = new_mmu_with_process(PID);
    addr32 at = map_or_fail(m, PID, 0, 3 * PAGE_SIZE, RW, ANON_PRIVATE, -1, 0);

    expect_int(vm_mprotect(m, PID, at + PAGE_SIZE, PAGE_SIZE, VM_PROT_READ), 0,
               "vm_mprotect of the middle page");
    expect_writes(m, PID, at, "ZERO", 4, "write to page 0");
    expect_access_refused(m, at + PAGE_SIZE, 4, true, EACCES,
                          "write to page 1");
    expect_writes(m, PID, at + 2 * PAGE_SIZE, "TWO", 3, "write to page 2");
    expect_reads(m, PID, at + PAGE_SIZE, "\0\0\0\0", 4, "read page 1");
    expect_access_refused(m, at + PAGE_SIZE - 2, 4, true, EACCES,
                          "write spanning pages 0 and 1");
    expect_reads(m, PID, at + PAGE_SIZE - 2, "\0\0", 2,
                 "the end of page 0, not written by the refused write");
    mmu_delete(m);
}

static void test_vm_mprotect_none_refuses_reads_and_writes(void) {
    char path[PATH_MAX];
    int fd = open_fixture_copy("lorem.txt", O_RDWR, path);
    mmu *m = new_mmu_with_process(PID);
    addr32 file = map_or_fail(m, PID, 0, 10000, RW, SHARED, fd, 0);
    addr32 anon = map_or_fail(m, PID, 0, PAGE_SIZE, VM_PROT_NONE, ANON_PRIVATE,
                              -1, 0);

    expect_writes(m, PID, file, "BEFORE", 6, "write before VM_PROT_NONE");
    expect_int(vm_mprotect(m, PID, file, PAGE_SIZE, VM_PROT_NONE), 0,
               "vm_mprotect NONE");
    expect_access_refused(m, file, 6, false, EACCES, "read of a NONE page");
    expect_access_refused(m, file, 6, true, EACCES, "write of a NONE page");
    expect_access_refused(m, anon, 1, false, EACCES,
                          "read of a page mapped NONE");
    expect_access_refused(m, anon, 1, true, EACCES,
                          "write of a page mapped NONE");
    mmu_delete(m);
    close(fd);
}

static void test_vm_mprotect_with_bad_arguments_is_einval(void) {
    mmu *m = new_mmu_with_process(PID);
    addr32 at = map_or_fail(m, PID, 0, 2 * PAGE_SIZE, RW, ANON_PRIVATE, -1, 0);

    expect_failure(vm_mprotect(m, PID, at + 1, PAGE_SIZE, VM_PROT_READ), -1,
                   EINVAL, "unaligned addr");
    expect_failure(vm_mprotect(m, PID, at, PAGE_SIZE, VM_PROT_READ | 0x8), -1,
                   EINVAL, "prot bit 0x8");
    expect_failure(vm_mprotect(m, PID + 1, at, PAGE_SIZE, VM_PROT_READ), -1,
                   EINVAL, "no such process");
    expect_failure(vm_mprotect(NULL, PID, at, PAGE_SIZE, VM_PROT_READ), -1,
                   EINVAL, "a NULL MMU");
    expect_writes(m, PID, at, "RW", 2, "the mapping is still writable");
    mmu_delete(m);
}

static void test_vm_mprotect_of_a_range_with_an_unmapped_page_is_enomem(void) {
    mmu *m = new_mmu_with_process(PID);
    addr32 at = map_or_fail(m, PID, SOMEWHERE, 2 * PAGE_SIZE, RW, ANON_PRIVATE,
                            -1, 0);

    expect_failure(vm_mprotect(m, PID, at, 3 * PAGE_SIZE, VM_PROT_READ), -1,
                   ENOMEM, "a range one page past the mapping");
    expect_failure(vm_mprotect(m, PID, at - PAGE_SIZE, 2 * PAGE_SIZE,
                               VM_PROT_READ),
                   -1, ENOMEM, "a range one page before the mapping");
    expect_failure(vm_mprotect(m, PID, MMAP_REGION_START, PAGE_SIZE,
                               VM_PROT_READ),
                   -1, ENOMEM, "a page never mapped");
    expect_writes(m, PID, at, "RW", 2, "page 0 is still writable");
    expect_writes(m, PID, at + PAGE_SIZE, "RW", 2, "page 1 is still writable");
    expect_int(vm_mprotect(m, PID, at, 0, VM_PROT_NONE), 0,
               "vm_mprotect of length 0");
    expect_writes(m, PID, at, "RW", 2, "page 0 after a length of 0");
    mmu_delete(m);
}

static void
test_vm_mprotect_write_on_a_shared_map_of_a_read_only_descriptor_is_eacces(
    void) {
    char path[PATH_MAX];
    int fd = open_fixture_copy("lorem.txt", O_RDONLY, path);
    mmu *m = new_mmu_with_process(PID);
    addr32 shared = map_or_fail(m, PID, 0, 10000, VM_PROT_READ, SHARED, fd, 0);
    addr32 private = map_or_fail(m, PID, 0, 10000, VM_PROT_READ, PRIVATE, fd,
                                 0);

    expect_failure(vm_mprotect(m, PID, shared, PAGE_SIZE, RW), -1, EACCES,
                   "READ | WRITE on the shared mapping");
    expect_access_refused(m, shared, 4, true, EACCES,
                          "write to the shared mapping after the refusal");
    expect_int(vm_mprotect(m, PID, private, PAGE_SIZE, RW), 0,
               "READ | WRITE on the private mapping of the same descriptor");
    expect_writes(m, PID, private, "OWN", 3, "write to the private mapping");
    mmu_delete(m);
    close(fd);
}

static void test_vm_mprotect_back_to_read_write_lets_a_private_copy_be_written(
    void) {
    char path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt");
    int fd = open_fixture_copy("lorem.txt", O_RDONLY, path);
    mmu *m = new_mmu_with_process(PID);
    addr32 at = map_or_fail(m, PID, 0, 10000, RW, PRIVATE, fd, 0);

    expect_writes(m, PID, at, "COPY", 4, "first write (a copy)");
    expect_size(m->num_cow_faults, 1, "copy-on-write faults after it");
    expect_int(vm_mprotect(m, PID, at, PAGE_SIZE, VM_PROT_READ), 0,
               "vm_mprotect READ");
    expect_access_refused(m, at, 4, true, EACCES, "write while read-only");
    expect_reads(m, PID, at, "COPY", 4, "the copy, read while read-only");
    expect_int(vm_mprotect(m, PID, at, PAGE_SIZE, RW), 0,
               "vm_mprotect READ | WRITE");
    expect_writes(m, PID, at + 4, "MORE", 4, "write after it");
    expect_reads(m, PID, at, "COPYMORE", 8, "the copy holds both writes");
    expect_size(m->num_cow_faults, 1,
                "copy-on-write faults (the copy is the process's own)");
    mmu_delete(m);
    expect_file_contents(path, lorem, 10000, "the file, never written");
    close(fd);
    free(lorem);
}

static void
test_vm_mprotect_read_write_on_an_unwritten_private_page_copies_on_write(
    void) {
    char path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt");
    int fd = open_fixture_copy("lorem.txt", O_RDWR, path);
    mmu *m = new_mmu_with_process(PID);
    addr32 private = map_or_fail(m, PID, 0, 10000, VM_PROT_READ, PRIVATE, fd,
                                 0);
    addr32 shared = map_or_fail(m, PID, 0, 10000, VM_PROT_READ, SHARED, fd, 0);

    expect_reads(m, PID, private, lorem, 16, "read the private page");
    expect_int(vm_mprotect(m, PID, private, PAGE_SIZE, RW), 0,
               "vm_mprotect READ | WRITE");
    expect_size(m->num_cow_faults, 0, "copy-on-write faults before a write");
    expect_writes(m, PID, private, "PRIVATE", 7, "write to it");
    expect_size(m->num_cow_faults, 1, "copy-on-write faults after the write");
    expect_reads(m, PID, shared, lorem, 16,
                 "the shared mapping of the page does not see the write");
    mmu_delete(m);
    expect_file_contents(path, lorem, 10000, "the file, never written");
    close(fd);
    free(lorem);
}

/* ================================================================== */
/* vm_msync                                                            */
/* ================================================================== */

static void test_vm_msync_writes_dirty_pages_back_and_leaves_them_clean(void) {
    char path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt");
    int fd = open_fixture_copy("lorem.txt", O_RDWR, path);
    mmu *m = new_mmu_with_process(PID);
    addr32 at = map_or_fail(m, PID, 0, 10000, RW, SHARED, fd, 0);

    expect_writes(m, PID, at + 2 * PAGE_SIZE, "SYNCED", 6, "write page 2");
    expect_file_contents(path, lorem, 10000, "the file before vm_msync");
    expect_int(vm_msync(m, PID, at, 10000, VM_MS_SYNC), 0, "vm_msync SYNC");
    memcpy(lorem + 2 * PAGE_SIZE, "SYNCED", 6);
    expect_file_contents(path, lorem, 10000, "the file right after vm_msync");

    trace_log_clear();
    trace_set_hook(record_event, NULL);
    expect_int(vm_msync(m, PID, at, 10000, VM_MS_SYNC), 0,
               "a second vm_msync");
    expect_int(vm_munmap(m, PID, at, 10000), 0, "vm_munmap");
    trace_set_hook(NULL, NULL);
    expect_size(trace_log.per_event[TRACE_PAGER_WRITE], 0,
                "pager writes after the page was synced (it is clean)");
    mmu_delete(m);
    close(fd);
    free(lorem);
}

static void test_vm_msync_a_page_written_again_after_a_sync_is_written_again(
    void) {
    char path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt");
    int fd = open_fixture_copy("lorem.txt", O_RDWR, path);
    mmu *m = new_mmu_with_process(PID);
    addr32 at = map_or_fail(m, PID, 0, 10000, RW, SHARED, fd, 0);

    expect_writes(m, PID, at + 1, "ONCE", 4, "first write to page 0");
    expect_int(vm_msync(m, PID, at, PAGE_SIZE, VM_MS_SYNC), 0, "vm_msync");
    expect_writes(m, PID, at + 1, "TWICE", 5,
                  "second write to page 0 (the TLB holds it)");
    expect_int(vm_msync(m, PID, at, PAGE_SIZE, VM_MS_SYNC), 0,
               "vm_msync again");
    memcpy(lorem + 1, "TWICE", 5);
    expect_file_contents(path, lorem, 10000,
                      "the file right after the second vm_msync");
    mmu_delete(m);
    close(fd);
    free(lorem);
}

static void test_vm_msync_async_or_no_flag_writes_at_once_too(void) {
    char path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt");
    int fd = open_fixture_copy("lorem.txt", O_RDWR, path);
    mmu *m = new_mmu_with_process(PID);
    addr32 at = map_or_fail(m, PID, 0, 10000, RW, SHARED, fd, 0);

    expect_writes(m, PID, at, "ASYNC", 5, "write page 0");
    expect_int(vm_msync(m, PID, at, PAGE_SIZE, VM_MS_ASYNC), 0,
               "vm_msync ASYNC");
    memcpy(lorem, "ASYNC", 5);
    expect_file_contents(path, lorem, 10000, "the file right after MS_ASYNC");
    expect_writes(m, PID, at + PAGE_SIZE, "NOFLAG", 6, "write page 1");
    expect_int(vm_msync(m, PID, at + PAGE_SIZE, PAGE_SIZE, 0), 0,
               "vm_msync with flags 0");
    memcpy(lorem + PAGE_SIZE, "NOFLAG", 6);
    expect_file_contents(path, lorem, 10000, "the file right after flags 0");
    mmu_delete(m);
    close(fd);
    free(lorem);
}

static void test_vm_msync_writes_only_the_pages_of_its_range(void) {
    char path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt"), *want;
    int fd = open_fixture_copy("lorem.txt", O_RDWR, path);
    mmu *m = new_mmu_with_process(PID);
    addr32 at = map_or_fail(m, PID, 0, 10000, RW, SHARED, fd, 0);

    want = malloc(10000);
    if (!want)
        setup_failed("malloc");
    memcpy(want, lorem, 10000);
    expect_writes(m, PID, at + 1, "ZERO", 4, "write page 0");
    expect_writes(m, PID, at + 2 * PAGE_SIZE + 1, "TWO", 3, "write page 2");
    expect_int(vm_msync(m, PID, at + 2 * PAGE_SIZE, 1, VM_MS_SYNC), 0,
               "vm_msync of page 2");
    memcpy(want + 2 * PAGE_SIZE + 1, "TWO", 3);
    expect_file_contents(path, want, 10000, "the file: page 2 only");
    mmu_delete(m);
    memcpy(want + 1, "ZERO", 4);
    expect_file_contents(path, want, 10000, "the file after the process ended");
    close(fd);
    free(want);
    free(lorem);
}

static void test_vm_msync_never_writes_a_private_copy(void) {
    char path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt");
    int fd = open_fixture_copy("lorem.txt", O_RDWR, path);
    mmu *m = new_mmu_with_process(PID);
    addr32 at = map_or_fail(m, PID, 0, 10000, RW, PRIVATE, fd, 0);

    expect_writes(m, PID, at, "PRIVATE", 7, "write through the private map");
    expect_int(vm_msync(m, PID, at, 10000, VM_MS_SYNC), 0, "vm_msync");
    expect_file_contents(path, lorem, 10000, "the file after vm_msync");
    expect_int(vm_munmap(m, PID, at, 10000), 0, "vm_munmap");
    expect_file_contents(path, lorem, 10000, "the file after vm_munmap");
    mmu_delete(m);
    close(fd);
    free(lorem);
}

static void test_vm_msync_with_bad_arguments_is_einval(void) {
    mmu *m = new_mmu_with_process(PID);
    addr32 at = map_or_fail(m, PID, 0, 2 * PAGE_SIZE, RW, ANON_SHARED, -1, 0);

    expect_failure(vm_msync(m, PID, at + 1, PAGE_SIZE, VM_MS_SYNC), -1, EINVAL,
                   "unaligned addr");
    expect_failure(vm_msync(m, PID, at, PAGE_SIZE, VM_MS_SYNC | VM_MS_ASYNC),
                   -1, EINVAL, "both SYNC and ASYNC");
    expect_failure(vm_msync(m, PID, at, PAGE_SIZE, VM_MS_SYNC | 8), -1, EINVAL,
                   "flag bit 8");
    expect_failure(vm_msync(m, PID + 1, at, PAGE_SIZE, VM_MS_SYNC), -1, EINVAL,
                   "no such process");
    expect_failure(vm_msync(NULL, PID, at, PAGE_SIZE, VM_MS_SYNC), -1, EINVAL,
                   "a NULL MMU");
    expect_int(vm_msync(m, PID, at, 2 * PAGE_SIZE, VM_MS_SYNC), 0,
               "vm_msync of an anonymous mapping (nothing to write)");
    mmu_delete(m);
}

static void test_vm_msync_of_a_range_with_an_unmapped_page_is_enomem(void) {
    char path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt");
    int fd = open_fixture_copy("lorem.txt", O_RDWR, path);
    mmu *m = new_mmu_with_process(PID);
    addr32 at = map_or_fail(m, PID, SOMEWHERE, 10000, RW, SHARED, fd, 0);

    expect_failure(vm_msync(m, PID, MMAP_REGION_START, PAGE_SIZE, VM_MS_SYNC),
                   -1, ENOMEM, "a page never mapped");
    expect_failure(vm_msync(m, PID, at, 4 * PAGE_SIZE, VM_MS_SYNC), -1, ENOMEM,
                   "a range one page past the mapping");
    expect_int(vm_msync(m, PID, at, 0, VM_MS_SYNC), 0, "length 0");
    mmu_delete(m);
    close(fd);
    free(lorem);
}

/* ================================================================== */
/* Permissions of an access                                            */
/* ================================================================== */

static void test_vm_read_needs_prot_read_even_when_write_is_allowed(void) {
    mmu *m = new_mmu_with_process(PID);
    addr32 at = map_or_fail(m, PID, 0, PAGE_SIZE, VM_PROT_WRITE, ANON_PRIVATE,
                            -1, 0);
    addr32 exec = map_or_fail(m, PID, 0, PAGE_SIZE, VM_PROT_EXEC, ANON_PRIVATE,
                              -1, 0);

    expect_writes(m, PID, at, "W", 1, "write to a write-only page");
    expect_access_refused(m, at, 1, false, EACCES,
                          "read of a write-only page");
    expect_access_refused(m, exec, 1, false, EACCES,
                          "read of an exec-only page");
    mmu_delete(m);
}

static void test_vm_access_to_an_address_in_no_mapping_is_efault(void) {
    mmu *m = new_mmu_with_process(PID);
    addr32 at = map_or_fail(m, PID, SOMEWHERE, PAGE_SIZE, RW, ANON_PRIVATE, -1,
                            0);

    expect_access_refused(m, at - PAGE_SIZE, 1, false, EFAULT,
                          "read of the page below a mapping");
    expect_access_refused(m, MMAP_REGION_START, 1, true, EFAULT,
                          "write to the region's first page, never mapped");
    expect_access_refused(m, at + PAGE_SIZE - 2, 4, true, EFAULT,
                          "write running past the mapping's end");
    expect_reads(m, PID, at + PAGE_SIZE - 2, "\0\0", 2,
                 "the mapping's last bytes, not written by the refused write");
    mmu_delete(m);
}

static void
test_vm_access_spanning_two_mappings_where_one_refuses_copies_nothing(void) {
    mmu *m = new_mmu_with_process(PID);
    addr32 writable = map_or_fail(m, PID, SOMEWHERE, PAGE_SIZE, RW,
                                  ANON_PRIVATE, -1, 0);
    addr32 read_only = map_or_fail(m, PID, SOMEWHERE + PAGE_SIZE, PAGE_SIZE,
                                   VM_PROT_READ, ANON_PRIVATE, -1, 0);
    addr32 none = map_or_fail(m, PID, SOMEWHERE + 2 * PAGE_SIZE, PAGE_SIZE,
                              VM_PROT_NONE, ANON_PRIVATE, -1, 0);

    expect_hex(read_only, writable + PAGE_SIZE, "the two mappings touch");
    expect_hex(none, read_only + PAGE_SIZE, "the third mapping touches too");
    expect_access_refused(m, writable + PAGE_SIZE - 4, 8, true, EACCES,
                          "write spanning a writable and a read-only mapping");
    expect_reads(m, PID, writable + PAGE_SIZE - 4, "\0\0\0\0", 4,
                 "the writable mapping's last bytes, not written");
    expect_access_refused(m, read_only + PAGE_SIZE - 4, 8, false, EACCES,
                          "read spanning a readable and a NONE mapping");
    mmu_delete(m);
}

/* ================================================================== */
/* mmu_remove_process and mmu_sync over mapped areas                   */
/* ================================================================== */

static void
test_mmu_remove_process_unmaps_everything_and_writes_shared_pages_back(void) {
    char path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt");
    int fd = open_fixture_copy("lorem.txt", O_RDWR, path);
    mmu *m = new_mmu_with_process(PID);
    addr32 shared = map_or_fail(m, PID, 0, 10000, RW, SHARED, fd, 0);
    addr32 private = map_or_fail(m, PID, 0, 10000, RW, PRIVATE, fd, 0);
    addr32 anon = map_or_fail(m, PID, 0, 4 * PAGE_SIZE, RW, ANON_PRIVATE, -1,
                              0);

    expect_writes(m, PID, shared + PAGE_SIZE, "ENDED", 5, "shared write");
    expect_writes(m, PID, private + 2 * PAGE_SIZE, "NEVER", 5,
                  "private write");
    expect_writes(m, PID, anon + 3 * PAGE_SIZE, "GONE", 4, "anonymous write");
    expect_int(mmu_remove_process(m, PID), 0, "mmu_remove_process");
    expect_all_frames_free("after mmu_remove_process");
    memcpy(lorem + PAGE_SIZE, "ENDED", 5);
    expect_file_contents(path, lorem, 10000,
                      "the file: the shared write, not the private one");
    expect_int(mmu_add_process(m, PID), 0, "mmu_add_process again");
    expect_access_refused(m, shared, 1, false, EFAULT,
                          "read at the old address in the new process");
    expect_nothing_mapped(m, PID, "in the new process");
    mmu_delete(m);
    close(fd);
    free(lorem);
}

static void test_mmu_sync_writes_back_dirty_shared_pages_of_mapped_areas(void) {
    char path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt");
    int fd = open_fixture_copy("lorem.txt", O_RDWR, path);
    mmu *m = new_mmu_with_process(PID);
    addr32 at = map_or_fail(m, PID, 0, 10000, RW, SHARED, fd, 0);

    expect_writes(m, PID, at + 2 * PAGE_SIZE, "MMUSYNC", 7, "write page 2");
    expect_int(mmu_sync(m, PID, at, at + 3 * PAGE_SIZE), 0, "mmu_sync");
    memcpy(lorem + 2 * PAGE_SIZE, "MMUSYNC", 7);
    expect_file_contents(path, lorem, 10000, "the file right after mmu_sync");
    expect_true(!page_dirty(m, PID, at + 2 * PAGE_SIZE),
                "page 2 is clean after mmu_sync");
    mmu_delete(m);
    close(fd);
    free(lorem);
}

static void test_mmu_delete_ends_every_mapping_and_returns_every_frame(void) {
    char path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt");
    int fd = open_fixture_copy("lorem.txt", O_RDWR, path);
    mmu *m = new_mmu_with_process(PID);
    addr32 a, b;

    expect_int(mmu_add_process(m, PID + 1), 0, "a second process");
    a = map_or_fail(m, PID, 0, 10000, RW, SHARED, fd, 0);
    b = map_or_fail(m, PID + 1, 0, 10000, RW, SHARED, fd, 0);
    expect_writes(m, PID, a, "AAAA", 4, "process 1 writes page 0");
    expect_writes(m, PID + 1, b + PAGE_SIZE, "BBBB", 4,
                  "process 2 writes page 1");
    mmu_delete(m);
    expect_all_frames_free("after mmu_delete");
    memcpy(lorem, "AAAA", 4);
    memcpy(lorem + PAGE_SIZE, "BBBB", 4);
    expect_file_contents(path, lorem, 10000, "the file after mmu_delete");
    close(fd);
    free(lorem);
}

static const test_case vm_tests[] = {
    /* vm_mmap: what is mapped, and where */
    TEST(vm_mmap_reads_nothing_until_a_page_is_touched),
    TEST(vm_mmap_maps_length_rounded_up_to_whole_pages),
    TEST(vm_mmap_maps_the_file_from_offset),
    TEST(vm_mmap_anonymous_is_zero_filled_and_ignores_fd),
    TEST(vm_mmap_holds_the_file_open_after_fd_is_closed),
    TEST(vm_mmap_without_fixed_uses_a_free_hint_as_given),
    TEST(vm_mmap_without_fixed_takes_the_lowest_free_range_if_the_hint_is_taken),
    TEST(vm_mmap_without_fixed_ignores_a_hint_unaligned_or_outside_the_region),
    TEST(vm_mmap_fills_the_lowest_gap_that_fits),
    TEST(vm_mmap_fixed_replaces_what_was_mapped_there),
    TEST(vm_mmap_fixed_over_a_dirty_shared_page_writes_it_back),
    TEST(vm_private_mapping_may_be_writable_when_fd_is_read_only),
    /* vm_mmap: errors */
    TEST(vm_mmap_with_no_such_process_is_einval),
    TEST(vm_mmap_where_the_mmap_segment_was_grown_by_hand_is_einval),
    TEST(vm_mmap_with_length_0_is_einval),
    TEST(vm_mmap_with_an_offset_unaligned_or_negative_is_einval),
    TEST(vm_mmap_anonymous_with_an_offset_is_einval),
    TEST(vm_mmap_needs_exactly_one_of_shared_and_private),
    TEST(vm_mmap_with_unknown_prot_or_flag_bits_is_einval),
    TEST(vm_mmap_fixed_with_an_unaligned_addr_is_einval),
    TEST(vm_mmap_of_a_descriptor_not_open_is_ebadf),
    TEST(vm_mmap_of_a_write_only_descriptor_is_eacces),
    TEST(vm_mmap_shared_writable_of_a_read_only_descriptor_is_eacces),
    TEST(vm_mmap_of_something_not_a_regular_file_is_enodev),
    TEST(vm_mmap_with_no_room_in_the_mmap_region_is_enomem),
    TEST(vm_mmap_fixed_outside_the_mmap_region_is_enomem),
    TEST(vm_mmap_with_offset_plus_length_past_off_t_is_eoverflow),
    TEST(vm_mmap_through_an_o_append_descriptor_writes_back_in_place),
    TEST(vm_mmap_io_ignores_the_callers_flags_set_later_or_o_direct),
    TEST(vm_mmap_of_an_o_path_descriptor_is_ebadf),
    TEST(vm_mmap_of_a_proc_file_is_enodev),
    TEST(vm_calls_that_succeed_leave_errno_alone),
    /* vm_munmap */
    TEST(vm_munmap_of_the_middle_leaves_two_mappings_that_work),
    TEST(vm_munmap_of_pages_not_mapped_is_ignored),
    TEST(vm_munmap_rounds_length_up_to_whole_pages),
    TEST(vm_munmap_with_bad_arguments_is_einval),
    TEST(vm_munmap_gives_page_tables_with_nothing_mapped_back),
    TEST(vm_page_tables_whose_pages_were_evicted_go_back_to_the_pool),
    TEST(vm_last_munmap_whose_write_back_fails_keeps_the_page_dirty),
    TEST(vm_mmap_fixed_over_a_mapping_whose_write_back_fails_loses_nothing),
    TEST(vm_page_kept_after_a_failed_last_munmap_is_written_at_mmu_delete),
    TEST(vm_munmap_makes_an_access_a_segfault_even_for_a_page_the_tlb_held),
    TEST(vm_munmap_writes_dirty_shared_pages_back),
    TEST(vm_munmap_whose_write_back_fails_still_unmaps_and_reports_its_errno),
    TEST(vm_munmap_of_a_range_past_the_address_space_is_einval),
    TEST(vm_mprotect_and_msync_of_ranges_past_the_space_answer_as_linux),
    TEST(vm_munmap_gives_anonymous_and_copied_frames_back),
    /* vm_mprotect */
    TEST(vm_mprotect_read_only_refuses_a_write_the_tlb_allowed),
    TEST(vm_mprotect_of_one_page_splits_the_mapping),
    TEST(vm_mprotect_none_refuses_reads_and_writes),
    TEST(vm_mprotect_with_bad_arguments_is_einval),
    TEST(vm_mprotect_of_a_range_with_an_unmapped_page_is_enomem),
    TEST(vm_mprotect_write_on_a_shared_map_of_a_read_only_descriptor_is_eacces),
    TEST(vm_mprotect_back_to_read_write_lets_a_private_copy_be_written),
    TEST(vm_mprotect_read_write_on_an_unwritten_private_page_copies_on_write),
    /* vm_msync */
    TEST(vm_msync_writes_dirty_pages_back_and_leaves_them_clean),
    TEST(vm_msync_a_page_written_again_after_a_sync_is_written_again),
    TEST(vm_msync_async_or_no_flag_writes_at_once_too),
    TEST(vm_msync_writes_only_the_pages_of_its_range),
    TEST(vm_msync_never_writes_a_private_copy),
    TEST(vm_msync_with_bad_arguments_is_einval),
    TEST(vm_msync_of_a_range_with_an_unmapped_page_is_enomem),
    /* permissions of an access */
    TEST(vm_read_needs_prot_read_even_when_write_is_allowed),
    TEST(vm_access_to_an_address_in_no_mapping_is_efault),
    TEST(vm_access_spanning_two_mappings_where_one_refuses_copies_nothing),
    /* mmu_remove_process, mmu_sync, mmu_delete over mapped areas */
    TEST(mmu_remove_process_unmaps_everything_and_writes_shared_pages_back),
    TEST(mmu_sync_writes_back_dirty_shared_pages_of_mapped_areas),
    TEST(mmu_delete_ends_every_mapping_and_returns_every_frame),
};

const test_suite vm_suite = {"vm", vm_tests,
                             sizeof vm_tests / sizeof vm_tests[0]};
