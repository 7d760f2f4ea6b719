/*
 * tests/fault_tests.c: fault.h, the fault path of mapped areas, by kind of
 * page: a file page read from the file (major) or found in the page cache
 * (minor), anonymous memory (zero-filled, evictable to swap), copy-on-write of
 * private pages, and pages wholly past the end of the file; and the MMU's
 * counters each kind moves.
 */
#include "helpers.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

#define ANON_PRIVATE (VM_MAP_PRIVATE | VM_MAP_ANONYMOUS)
#define ANON_SHARED (VM_MAP_SHARED | VM_MAP_ANONYMOUS)

/* ------------------------------------------------------------------ */
/* Helpers of this suite                                               */
/* ------------------------------------------------------------------ */

/* The MMU's fault counters are these, and add up. */
#define expect_faults(m, faults, major, minor, cow, what)                      \
    check_faults(__FILE__, __LINE__, (m), (faults), (major), (minor), (cow),   \
                 (what))

static void check_faults(const char *file, int line, const mmu *m,
                         size_t faults, size_t major, size_t minor, size_t cow,
                         const char *what) {
    if (m->num_page_faults != faults || m->num_major_faults != major ||
        m->num_minor_faults != minor || m->num_cow_faults != cow)
        fail(file, line,
             "%s: expected %zu page faults (%zu major, %zu minor), %zu "
             "copy-on-write; got %zu (%zu major, %zu minor), %zu",
             what, faults, major, minor, cow, m->num_page_faults,
             m->num_major_faults, m->num_minor_faults, m->num_cow_faults);
}

/* ================================================================== */
/* File pages: major and minor                                         */
/* ================================================================== */

static void test_fault_first_read_of_a_file_page_is_major(void) {
    char path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt");
    int fd = open_fixture_copy("lorem.txt", O_RDONLY, path);
    mmu *m = new_mmu_with_process(1);
    addr32 at = map_or_fail(m, 1, 0, 10000, VM_PROT_READ, VM_MAP_SHARED, fd,
                            0);

    expect_faults(m, 0, 0, 0, 0, "after vm_mmap");
    expect_reads(m, 1, at + 5000, lorem + 5000, 16, "read page 1");
    expect_faults(m, 1, 1, 0, 0, "after the first read of page 1");
    expect_reads(m, 1, at + 6000, lorem + 6000, 16, "read page 1 again");
    expect_faults(m, 1, 1, 0, 0, "after a second read of page 1 (no fault)");
    mmu_delete(m);
    close(fd);
    free(lorem);
}

static void test_fault_a_page_another_process_read_is_minor_and_read_once(
    void) {
    char path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt");
    int fd = open_fixture_copy("lorem.txt", O_RDONLY, path);
    mmu *m = new_mmu_with_process(1), *other = new_mmu_with_process(1);
    addr32 a, b, c;

    expect_int(mmu_add_process(m, 2), 0, "mmu_add_process(2)");
    a = map_or_fail(m, 1, 0, 10000, VM_PROT_READ, VM_MAP_SHARED, fd, 0);
    b = map_or_fail(m, 2, 0, 10000, VM_PROT_READ, VM_MAP_PRIVATE, fd, 0);
    c = map_or_fail(other, 1, 0, 10000, VM_PROT_READ, VM_MAP_SHARED, fd, 0);
    trace_log_clear();
    trace_set_hook(record_event, NULL);
    expect_reads(m, 1, a + 2 * PAGE_SIZE, lorem + 2 * PAGE_SIZE, 32,
                 "process 1 reads page 2");
    expect_reads(m, 2, b + 2 * PAGE_SIZE, lorem + 2 * PAGE_SIZE, 32,
                 "process 2 reads page 2");
    trace_set_hook(NULL, NULL);
    expect_faults(m, 2, 1, 1, 0, "two processes read one page");
    expect_size(times_page_was_read(2), 1, "pager reads of page 2");
    expect_reads(other, 1, c + 2 * PAGE_SIZE, lorem + 2 * PAGE_SIZE, 32,
                 "another MMU reads page 2");
    expect_faults(other, 1, 0, 1, 0, "the other MMU, whose read was minor");
    mmu_delete(m);
    mmu_delete(other);
    close(fd);
    free(lorem);
}

static void test_fault_pages_read_ahead_are_minor_at_first_touch(void) {
    enum { PAGES = 8 };
    char path[PATH_MAX];
    unsigned char *pages = fixture_bytes("pages.txt");
    int fd = open_fixture_copy("pages.txt", O_RDONLY, path);
    mmu *m = new_mmu_with_process(1);
    addr32 at = map_or_fail(m, 1, 0, 48 * PAGE_SIZE, VM_PROT_READ,
                            VM_MAP_PRIVATE, fd, 0);
    size_t page;

    trace_log_clear();
    trace_set_hook(record_event, NULL);
    for (page = 0; page < PAGES; page++)
        expect_reads(m, 1, at + (addr32)(page * PAGE_SIZE),
                     pages + page * PAGE_SIZE, 64,
                     describe("read page %zu", page));
    trace_set_hook(NULL, NULL);
    expect_size(m->num_page_faults, PAGES, "page faults: one per page");
    expect_size(m->num_major_faults + m->num_minor_faults, PAGES,
                "major + minor faults");
    expect_size(m->num_major_faults, trace_log.per_event[TRACE_PAGER_READ],
                "major faults (one per pager read)");
    expect_at_least(m->num_minor_faults, 1,
                    "minor faults of pages read ahead of a sequential read");
    mmu_delete(m);
    close(fd);
    free(pages);
}

static void test_fault_write_through_a_shared_mapping_copies_nothing(void) {
    char path[PATH_MAX];
    int fd = open_fixture_copy("lorem.txt", O_RDWR, path);
    mmu *m = new_mmu_with_process(1);
    addr32 a, b;

    expect_int(mmu_add_process(m, 2), 0, "mmu_add_process(2)");
    a = map_or_fail(m, 1, 0, 10000, RW, VM_MAP_SHARED, fd, 0);
    b = map_or_fail(m, 2, 0, 10000, RW, VM_MAP_SHARED, fd, 0);
    expect_writes(m, 1, a, "ONE", 3, "process 1 writes page 0 first");
    expect_writes(m, 2, b, "TWO", 3, "process 2 writes page 0");
    expect_faults(m, 2, 1, 1, 0, "two shared writes of one page");
    expect_hex(frame_mapped_at(m, 2, b), frame_mapped_at(m, 1, a),
               "both processes map one frame");
    expect_reads(m, 1, a, "TWO", 3, "process 1 reads process 2's write");
    mmu_delete(m);
    close(fd);
}

/* ================================================================== */
/* Anonymous memory                                                    */
/* ================================================================== */

static void test_fault_anonymous_first_touch_is_a_minor_fault_of_zeros(void) {
    static const unsigned char zeros[PAGE_SIZE];
    mmu *m;
    addr32 private, shared;

    setenv("MMAP_FRAMES", "32", 1);
    dirty_every_frame(); /* a frame not cleared would show 0xFF */
    m = new_mmu_with_process(1);
    private = map_or_fail(m, 1, 0, 2 * PAGE_SIZE, RW, ANON_PRIVATE, -1, 0);
    shared = map_or_fail(m, 1, 0, 2 * PAGE_SIZE, RW, ANON_SHARED, -1, 0);
    trace_log_clear();
    trace_set_hook(record_event, NULL);
    expect_reads(m, 1, private, zeros, PAGE_SIZE, "private page 0");
    expect_writes(m, 1, private + PAGE_SIZE + 8, "X", 1,
                  "write to private page 1 first");
    expect_reads(m, 1, shared + PAGE_SIZE, zeros, PAGE_SIZE, "shared page 1");
    trace_set_hook(NULL, NULL);
    expect_faults(m, 3, 0, 3, 0, "three anonymous pages touched");
    expect_size(trace_log.per_event[TRACE_PAGER_READ], 0, "pager reads");
    expect_reads(m, 1, private + PAGE_SIZE, zeros, 8,
                 "private page 1 around the write: zeros");
    mmu_delete(m);
}

/*
 * Anonymous pages were pinned until swap came: this test specified that
 * they stayed present under pressure. They now go to swap like any other
 * page the clock finds unused, and come back with their bytes.
 */
static void test_fault_anonymous_pages_go_to_swap_under_pressure_and_come_back(
    void) {
    enum { ANON_PAGES = 4, FILE_PAGES = 48 };
    char path[PATH_MAX];
    unsigned char *pages, tag[8];
    int fd;
    mmu *m;
    addr32 anon, file;
    size_t page, swapped = 0;

    setenv("MMAP_FRAMES", "16", 1);
    pages = fixture_bytes("pages.txt");
    fd = open_fixture_copy("pages.txt", O_RDONLY, path);
    m = new_mmu_with_process(1);
    anon = map_or_fail(m, 1, 0, ANON_PAGES * PAGE_SIZE, RW, ANON_PRIVATE, -1,
                       0);
    file = map_or_fail(m, 1, 0, FILE_PAGES * PAGE_SIZE, VM_PROT_READ,
                       VM_MAP_SHARED, fd, 0);
    for (page = 0; page < ANON_PAGES; page++) {
        snprintf((char *)tag, sizeof tag, "ANON%zu", page);
        expect_writes(m, 1, anon + (addr32)(page * PAGE_SIZE), tag, 5,
                      describe("write anonymous page %zu", page));
    }
    for (page = 0; page < FILE_PAGES; page++)
        expect_reads(m, 1, file + (addr32)(page * PAGE_SIZE),
                     pages + page * PAGE_SIZE, 64,
                     describe("read file page %zu", page));
    for (page = 0; page < ANON_PAGES; page++)
        swapped += entry_of(m, 1, anon + (addr32)(page * PAGE_SIZE))->swapped;
    expect_true(swapped > 0, "some anonymous page went to swap");
    expect_size(m->num_swap_outs, swapped, "pages swapped out");
    for (page = 0; page < ANON_PAGES; page++) {
        snprintf((char *)tag, sizeof tag, "ANON%zu", page);
        expect_reads(m, 1, anon + (addr32)(page * PAGE_SIZE), tag, 5,
                     describe("anonymous page %zu keeps its bytes", page));
    }
    expect_size(m->num_swap_ins, swapped, "pages read back from swap");
    mmu_delete(m);
    close(fd);
    free(pages);
}

/* ================================================================== */
/* Copy-on-write                                                       */
/* ================================================================== */

static void test_fault_first_write_to_an_untouched_private_page_copies_it(
    void) {
    char path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt");
    int fd = open_fixture_copy("lorem.txt", O_RDWR, path);
    mmu *m = new_mmu_with_process(1);
    addr32 private = map_or_fail(m, 1, 0, 10000, RW, VM_MAP_PRIVATE, fd, 0);
    addr32 shared = map_or_fail(m, 1, 0, 10000, VM_PROT_READ, VM_MAP_SHARED,
                                fd, 0);

    expect_writes(m, 1, private + 4, "COW", 3, "first touch of page 0: write");
    expect_size(m->num_page_faults, 1, "page faults");
    expect_size(m->num_cow_faults, 1, "copy-on-write faults");
    expect_size(m->num_major_faults + m->num_minor_faults, 1,
                "major + minor faults");
    expect_reads(m, 1, private, lorem, 4, "the copy holds the file's bytes");
    expect_reads(m, 1, private + 4, "COW", 3, "and the write");
    expect_reads(m, 1, shared + 4, lorem + 4, 3,
                 "the page cache's page is untouched");
    expect_true(frame_mapped_at(m, 1, private) !=
                    frame_mapped_at(m, 1, shared),
                "the private page has a frame of its own");
    mmu_delete(m);
    expect_file_contents(path, lorem, 10000, "the file, never written");
    close(fd);
    free(lorem);
}

static void
test_fault_write_to_a_private_page_mapped_read_only_is_a_minor_cow_fault(
    void) {
    char path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt");
    int fd = open_fixture_copy("lorem.txt", O_RDONLY, path);
    mmu *m = new_mmu_with_process(1);
    addr32 at = map_or_fail(m, 1, 0, 10000, RW, VM_MAP_PRIVATE, fd, 0);
    addr32 cached;

    expect_reads(m, 1, at + PAGE_SIZE, lorem + PAGE_SIZE, 16, "read page 1");
    expect_faults(m, 1, 1, 0, 0, "after the read");
    cached = frame_mapped_at(m, 1, at + PAGE_SIZE);
    expect_writes(m, 1, at + PAGE_SIZE, "W", 1, "write page 1 (TLB holds it)");
    expect_faults(m, 2, 1, 1, 1, "after the write: one more, minor, a copy");
    expect_true(frame_mapped_at(m, 1, at + PAGE_SIZE) != cached,
                "page 1 now maps a frame of its own");
    expect_writes(m, 1, at + PAGE_SIZE + 1, "XYZ", 3, "write page 1 again");
    expect_faults(m, 2, 1, 1, 1, "after a second write (no fault)");
    expect_reads(m, 1, at + PAGE_SIZE, "WXYZ", 4, "the copy holds both");
    expect_reads(m, 1, at + PAGE_SIZE + 4, lorem + PAGE_SIZE + 4, 12,
                 "and the file's bytes around them");
    mmu_delete(m);
    close(fd);
    free(lorem);
}

static void test_fault_a_write_spanning_private_pages_copies_each(void) {
    char path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt");
    int fd = open_fixture_copy("lorem.txt", O_RDONLY, path);
    mmu *m = new_mmu_with_process(1);
    addr32 at = map_or_fail(m, 1, 0, 10000, RW, VM_MAP_PRIVATE, fd, 0);

    expect_reads(m, 1, at, lorem, 16, "read page 0");
    expect_writes(m, 1, at + PAGE_SIZE - 3, "SPANNING", 8,
                  "write across pages 0 and 1");
    expect_size(m->num_cow_faults, 2, "copy-on-write faults");
    expect_size(m->num_page_faults, 3,
                "page faults (page 0 read, then copied; page 1 copied)");
    expect_reads(m, 1, at + PAGE_SIZE - 3, "SPANNING", 8, "read it back");
    mmu_delete(m);
    expect_file_contents(path, lorem, 10000, "the file, never written");
    close(fd);
    free(lorem);
}

/* ================================================================== */
/* Past the end of the file, and refused accesses                      */
/* ================================================================== */

static void test_fault_read_reaching_a_page_past_eof_stops_there(void) {
    static const unsigned char zeros[PAGE_SIZE];
    char path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt"), got[PAGE_SIZE];
    int fd = open_fixture_copy("lorem.txt", O_RDONLY, path);
    mmu *m = new_mmu_with_process(1);
    addr32 at = map_or_fail(m, 1, 0, 5 * PAGE_SIZE, VM_PROT_READ,
                            VM_MAP_SHARED, fd, 0);
    size_t faults, bus_errors = m->num_bus_errors;

    expect_reads(m, 1, at + 2 * PAGE_SIZE, lorem + 2 * PAGE_SIZE,
                 10000 - 2 * PAGE_SIZE, "the file's last page");
    faults = m->num_page_faults;
    errno = 0;
    expect_size(read_virtual(m, 1, at + 2 * PAGE_SIZE + 1000, got, PAGE_SIZE),
                PAGE_SIZE - 1000,
                "bytes read from 1000 into the last page, a page long");
    expect_int(errno, ENXIO, "errno of the read that reached page 3");
    expect_size(m->num_bus_errors, bus_errors + 1, "bus errors");
    expect_size(m->num_page_faults, faults, "page faults (none counted)");
    expect_bytes(got, lorem + 2 * PAGE_SIZE + 1000, 10000 - 2 * PAGE_SIZE - 1000,
                 "the bytes copied: the file's last ones");
    expect_bytes(got + (10000 - 2 * PAGE_SIZE - 1000), zeros,
                 3 * PAGE_SIZE - 10000, "then zeros to the end of the page");
    errno = 0;
    expect_size(read_virtual(m, 1, at + 4 * PAGE_SIZE, got, 1), 0,
                "a read of page 4, past the end");
    expect_int(errno, ENXIO, "errno of that read");
    expect_size(m->num_bus_errors, bus_errors + 2, "bus errors after it");
    mmu_delete(m);
    close(fd);
    free(lorem);
}

static void test_fault_write_reaching_a_page_past_eof_stops_and_never_grows(
    void) {
    char path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt"), bytes[2 * PAGE_SIZE];
    int fd = open_fixture_copy("lorem.txt", O_RDWR, path);
    mmu *m = new_mmu_with_process(1);
    addr32 at = map_or_fail(m, 1, 0, 4 * PAGE_SIZE, RW, VM_MAP_SHARED, fd, 0);
    size_t bus_errors = m->num_bus_errors;

    memset(bytes, 'Z', sizeof bytes);
    errno = 0;
    expect_size(write_virtual(m, 1, at + 3 * PAGE_SIZE - 10, bytes, 20), 10,
                "bytes written up to the page past the end");
    expect_int(errno, ENXIO, "errno of the write");
    expect_size(m->num_bus_errors, bus_errors + 1, "bus errors");
    mmu_delete(m);
    expect_file_contents(path, lorem, 10000,
                      "the file: the write ended past its end, it never grew");
    close(fd);
    free(lorem);
}

static void test_fault_pages_past_eof_stay_untouchable_in_both_halves_of_a_split(
    void) {
    char path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt");
    int fd = open_fixture_copy("lorem.txt", O_RDWR, path);
    mmu *m = new_mmu_with_process(1);
    addr32 at = map_or_fail(m, 1, 0, 6 * PAGE_SIZE, RW, VM_MAP_SHARED, fd, 0);
    unsigned char byte;

    expect_int(vm_munmap(m, 1, at + PAGE_SIZE, PAGE_SIZE), 0,
               "vm_munmap of page 1");
    expect_int(vm_mprotect(m, 1, at + 4 * PAGE_SIZE, PAGE_SIZE, VM_PROT_READ),
               0, "vm_mprotect of page 4 (past the end): another split");
    expect_reads(m, 1, at + 2 * PAGE_SIZE, lorem + 2 * PAGE_SIZE, 16,
                 "page 2, the file's last, in the second half");
    expect_failure(read_virtual(m, 1, at + 3 * PAGE_SIZE, &byte, 1), 0, ENXIO,
                   "page 3, past the end, in the second half");
    expect_failure(read_virtual(m, 1, at + 4 * PAGE_SIZE, &byte, 1), 0, ENXIO,
                   "page 4, past the end, in the third part");
    expect_failure(write_virtual(m, 1, at + 5 * PAGE_SIZE, "x", 1), 0, ENXIO,
                   "page 5, past the end, in the last part");
    mmu_delete(m);
    expect_file_contents(path, lorem, 10000, "the file, never grown");
    close(fd);
    free(lorem);
}

static void test_fault_a_mapping_from_an_offset_past_eof_cannot_be_touched(
    void) {
    char path[PATH_MAX];
    unsigned char byte;
    int fd = open_fixture_copy("lorem.txt", O_RDWR, path);
    mmu *m = new_mmu_with_process(1);
    addr32 at = map_or_fail(m, 1, 0, 2 * PAGE_SIZE, RW, VM_MAP_PRIVATE, fd,
                            (off_t)1 << 40);

    expect_failure(read_virtual(m, 1, at, &byte, 1), 0, ENXIO,
                   "read of a page a TiB past the end");
    expect_failure(write_virtual(m, 1, at + PAGE_SIZE, "x", 1), 0, ENXIO,
                   "write of a page a TiB past the end");
    expect_size(m->num_bus_errors, 2, "bus errors");
    expect_size(m->num_segmentation_faults, 0, "segmentation faults");
    expect_size(m->num_page_faults, 0, "page faults");
    mmu_delete(m);
    expect_size(file_size(path), 10000, "the file's size");
    close(fd);
}

static void test_fault_refused_access_counts_a_segfault_and_no_page_fault(
    void) {
    char path[PATH_MAX];
    unsigned char byte = 0;
    int fd = open_fixture_copy("lorem.txt", O_RDONLY, path);
    mmu *m = new_mmu_with_process(1);
    addr32 at = map_or_fail(m, 1, 0, 10000, VM_PROT_READ, VM_MAP_SHARED, fd, 0);

    expect_failure(write_virtual(m, 1, at, &byte, 1), 0, EACCES,
                   "write to a read-only mapping");
    expect_failure(read_virtual(m, 1, at + 3 * PAGE_SIZE, &byte, 1), 0, EFAULT,
                   "read past the mapping");
    expect_faults(m, 0, 0, 0, 0, "after two refused accesses");
    expect_size(m->num_segmentation_faults, 2, "segmentation faults");
    mmu_delete(m);
    close(fd);
}

static void test_fault_page_faults_are_always_major_plus_minor(void) {
    char path[PATH_MAX];
    unsigned char buffer[3 * PAGE_SIZE];
    int fd = open_fixture_copy("pages.txt", O_RDWR, path);
    mmu *m = new_mmu_with_process(1), *other = new_mmu_with_process(2);
    addr32 shared, private, anon, there;
    size_t step;

    expect_int(mmu_add_process(m, 3), 0, "mmu_add_process(3)");
    shared = map_or_fail(m, 1, 0, 48 * PAGE_SIZE, RW, VM_MAP_SHARED, fd, 0);
    private = map_or_fail(m, 3, 0, 48 * PAGE_SIZE, RW, VM_MAP_PRIVATE, fd, 0);
    anon = map_or_fail(m, 1, 0, 8 * PAGE_SIZE, RW, ANON_PRIVATE, -1, 0);
    there = map_or_fail(other, 2, 0, 48 * PAGE_SIZE, RW, VM_MAP_SHARED, fd, 0);
    memset(buffer, 'q', sizeof buffer);
    for (step = 0; step < 24; step++) {
        addr32 offset = (addr32)((step * 7 % 40) * PAGE_SIZE + step * 100);
        switch (step % 4) {
        case 0:
            read_virtual(m, 1, shared + offset, buffer, sizeof buffer);
            break;
        case 1:
            write_virtual(m, 3, private + offset, buffer, 2 * PAGE_SIZE);
            break;
        case 2:
            write_virtual(m, 1, anon + (addr32)(step % 8) * PAGE_SIZE, buffer,
                          10);
            break;
        default:
            read_virtual(other, 2, there + offset, buffer, PAGE_SIZE);
            read_virtual(m, 3, private + offset, buffer, PAGE_SIZE);
            break;
        }
        expect_size(m->num_major_faults + m->num_minor_faults,
                    m->num_page_faults,
                    describe("major + minor faults after step %zu", step));
        expect_size(other->num_major_faults + other->num_minor_faults,
                    other->num_page_faults,
                    describe("the other MMU's, after step %zu", step));
    }
    expect_at_least(m->num_cow_faults, 1, "copy-on-write faults");
    expect_at_least(m->num_major_faults, 1, "major faults");
    expect_at_least(m->num_minor_faults, 1, "minor faults");
    mmu_delete(m);
    mmu_delete(other);
    close(fd);
}

/*
 * Linux tells the two apart: a page of the file wholly past its end is a
 * SIGBUS, an address outside every mapping a SIGSEGV. So do the counters,
 * the errno and the trace.
 */
static void test_fault_past_eof_is_a_bus_error_and_outside_a_segfault(void) {
    char path[PATH_MAX];
    unsigned char byte = 0;
    int fd = open_fixture_copy("lorem.txt", O_RDONLY, path);
    mmu *m = new_mmu_with_process(1);
    addr32 at = map_or_fail(m, 1, 0, 4 * PAGE_SIZE, VM_PROT_READ,
                            VM_MAP_SHARED, fd, 0);

    trace_set_hook(record_event, NULL);
    expect_failure(read_virtual(m, 1, at + 3 * PAGE_SIZE, &byte, 1), 0, ENXIO,
                   "read of page 3, wholly past the end of the file");
    expect_size(trace_log.per_event[TRACE_BUS_ERROR], 1, "bus errors traced");
    expect_size(trace_log.per_event[TRACE_SEGFAULT], 0,
                "segmentation faults traced after the bus error");
    expect_failure(read_virtual(m, 1, at + 4 * PAGE_SIZE, &byte, 1), 0, EFAULT,
                   "read of page 4, past the mapping");
    trace_set_hook(NULL, NULL);
    expect_size(trace_log.per_event[TRACE_SEGFAULT], 1, "segfaults traced");
    expect_size(m->num_bus_errors, 1, "bus errors counted");
    expect_size(m->num_segmentation_faults, 1, "segmentation faults counted");
    expect_true(strcmp(trace_event_name(TRACE_BUS_ERROR), "bus error") == 0,
                "the event's name");
    mmu_delete(m);
    close(fd);
}

static const test_case fault_tests[] = {
    /* file pages: major and minor */
    TEST(fault_first_read_of_a_file_page_is_major),
    TEST(fault_a_page_another_process_read_is_minor_and_read_once),
    TEST(fault_pages_read_ahead_are_minor_at_first_touch),
    TEST(fault_write_through_a_shared_mapping_copies_nothing),
    /* anonymous memory */
    TEST(fault_anonymous_first_touch_is_a_minor_fault_of_zeros),
    TEST(fault_anonymous_pages_go_to_swap_under_pressure_and_come_back),
    /* copy-on-write */
    TEST(fault_first_write_to_an_untouched_private_page_copies_it),
    TEST(fault_write_to_a_private_page_mapped_read_only_is_a_minor_cow_fault),
    TEST(fault_a_write_spanning_private_pages_copies_each),
    /* past the end of the file, and refused accesses */
    TEST(fault_read_reaching_a_page_past_eof_stops_there),
    TEST(fault_write_reaching_a_page_past_eof_stops_and_never_grows),
    TEST(fault_pages_past_eof_stay_untouchable_in_both_halves_of_a_split),
    TEST(fault_a_mapping_from_an_offset_past_eof_cannot_be_touched),
    TEST(fault_refused_access_counts_a_segfault_and_no_page_fault),
    TEST(fault_past_eof_is_a_bus_error_and_outside_a_segfault),
    TEST(fault_page_faults_are_always_major_plus_minor),
};

const test_suite fault_suite = {"fault", fault_tests,
                                sizeof fault_tests / sizeof fault_tests[0]};
