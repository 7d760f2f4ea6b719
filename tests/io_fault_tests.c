/*
 * tests/io_fault_tests.c: io_fault.h, failures injected into the file I/O
 * under the page cache, and what the layers above promise when the disk
 * fails: a failed write-back reports its error from the call that tried
 * (vm_msync, vm_munmap, mmap_sync) and keeps the page dirty, even past
 * the file's last unmapping, so that a later write-back writes it, once;
 * eviction that cannot write a page takes another victim; a failed read
 * fails the access without mapping a half-filled page; a short read or
 * write is completed or reported, never taken as done. One test uses a
 * real limit (RLIMIT_FSIZE) instead of an injected fault.
 */
#include "helpers.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "io_fault.h"

/* ------------------------------------------------------------------ */
/* Helpers of this suite                                               */
/* ------------------------------------------------------------------ */

/* Every write from the next on fails with `error` until io_fault_clear. */
static void fail_every_write(int error) {
    io_fault_inject(&(io_fault){.write = true, .nth = 1, .error = error,
                                .times = IO_FAULT_UNTIL_CLEARED});
}

/* Every read from the next on fails with `error` until io_fault_clear. */
static void fail_every_read(int error) {
    io_fault_inject(&(io_fault){.write = false, .nth = 1, .error = error,
                                .times = IO_FAULT_UNTIL_CLEARED});
}

/* Pager writes so far, as the trace counted them (the hook must be set). */
static size_t pager_writes(void) {
    return trace_log.per_event[TRACE_PAGER_WRITE];
}

/* ================================================================== */
/* The hook itself                                                     */
/* ================================================================== */

static void test_io_fault_hits_the_nth_write_and_only_the_times_asked(void) {
    char path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt");
    int fd = open_fixture_copy("lorem.txt", O_RDWR, path);
    mmu *m = new_mmu_with_process(1);
    addr32 a = map_or_fail(m, 1, 0, 10000, RW, VM_MAP_SHARED, fd, 0);

    /* A failed run is tried again page by page: two writes for one page. */
    io_fault_inject(&(io_fault){.write = true, .nth = 2, .error = EIO,
                                .times = 2});
    expect_writes(m, 1, a, "ONE", 3, "write page 0");
    expect_int(vm_msync(m, 1, a, PAGE_SIZE, VM_MS_SYNC), 0,
               "the first write-back (the 1st write from now)");
    expect_writes(m, 1, a, "TWO", 3, "write page 0 again");
    expect_failure(vm_msync(m, 1, a, PAGE_SIZE, VM_MS_SYNC), -1, EIO,
                   "the second write-back (the 2nd and 3rd writes from now)");
    expect_int((int)io_fault_armed, 0, "armed faults once the one asked hit");
    expect_int(vm_msync(m, 1, a, PAGE_SIZE, VM_MS_SYNC), 0,
               "the third write-back, after the fault");
    memcpy(lorem, "TWO", 3);
    expect_file_contents(path, lorem, 10000, "the file after the third");
    mmu_delete(m);
    close(fd);
    free(lorem);
}

/* ================================================================== */
/* A failed write-back keeps the page dirty                            */
/* ================================================================== */

static void
test_io_fault_failed_msync_keeps_the_page_dirty_and_one_retry_writes_it(void) {
    char path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt");
    int fd = open_fixture_copy("lorem.txt", O_RDWR, path);
    mmu *m = new_mmu_with_process(1);
    addr32 a = map_or_fail(m, 1, 0, 10000, RW, VM_MAP_SHARED, fd, 0);
    size_t writes;

    expect_writes(m, 1, a + PAGE_SIZE + 7, "DIRTY", 5, "write page 1");
    fail_every_write(EIO);
    expect_failure(vm_msync(m, 1, a, 10000, VM_MS_SYNC), -1, EIO,
                   "vm_msync while every write fails");
    expect_file_contents(path, lorem, 10000, "the file after the failure");
    expect_true(page_dirty(m, 1, a + PAGE_SIZE), "page 1 is still dirty");
    io_fault_clear();
    trace_log_clear();
    trace_set_hook(record_event, NULL);
    expect_int(vm_msync(m, 1, a, 10000, VM_MS_SYNC), 0,
               "vm_msync once the disk works");
    writes = pager_writes();
    expect_int(vm_msync(m, 1, a, 10000, VM_MS_SYNC), 0, "vm_msync again");
    trace_set_hook(NULL, NULL);
    expect_size(writes, 1, "pager writes of the retry");
    expect_size(pager_writes(), 1, "pager writes after a second vm_msync");
    memcpy(lorem + PAGE_SIZE + 7, "DIRTY", 5);
    expect_file_contents(path, lorem, 10000, "the file after the retry");
    mmu_delete(m);
    expect_file_contents(path, lorem, 10000, "the file after mmu_delete");
    close(fd);
    free(lorem);
}

static void
test_io_fault_failed_munmap_write_back_reports_and_keeps_the_page_dirty(void) {
    char path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt");
    int fd = open_fixture_copy("lorem.txt", O_RDWR, path);
    mmu *m = new_mmu_with_process(1);
    addr32 a, b;

    expect_int(mmu_add_process(m, 2), 0, "mmu_add_process(2)");
    a = map_or_fail(m, 1, 0, 10000, RW, VM_MAP_SHARED, fd, 0);
    b = map_or_fail(m, 2, 0, 10000, RW, VM_MAP_SHARED, fd, 0);
    expect_writes(m, 1, a + 2 * PAGE_SIZE, "GONE?", 5, "process 1 writes");
    fail_every_write(ENOSPC);
    expect_failure(vm_munmap(m, 1, a, 10000), -1, ENOSPC,
                   "process 1 unmaps while the disk is full");
    io_fault_clear();
    expect_file_contents(path, lorem, 10000, "the file after the failure");
    expect_reads(m, 2, b + 2 * PAGE_SIZE, "GONE?", 5,
                 "process 2 still reads process 1's write");
    expect_int(vm_msync(m, 2, b, 10000, VM_MS_SYNC), 0,
               "process 2's vm_msync");
    memcpy(lorem + 2 * PAGE_SIZE, "GONE?", 5);
    expect_file_contents(path, lorem, 10000, "the file after the retry");
    mmu_delete(m);
    close(fd);
    free(lorem);
}

/* The new contract: the page outlives the file's last mapping. */
static void test_io_fault_failed_write_back_on_the_last_munmap_keeps_the_page(
    void) {
    char path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt");
    int fd = open_fixture_copy("lorem.txt", O_RDWR, path);
    mmu *m = new_mmu_with_process(1);
    addr32 a = map_or_fail(m, 1, 0, 10000, RW, VM_MAP_SHARED, fd, 0);

    expect_writes(m, 1, a + 9000, "KEPT", 4, "write page 2");
    fail_every_write(EIO);
    expect_failure(vm_munmap(m, 1, a, 10000), -1, EIO,
                   "the file's last vm_munmap while every write fails");
    io_fault_clear();
    expect_file_contents(path, lorem, 10000, "the file after the failure");
    a = map_or_fail(m, 1, 0, 10000, RW, VM_MAP_SHARED, fd, 0);
    expect_reads(m, 1, a + 9000, "KEPT", 4,
                 "a new mapping reads the page kept dirty");
    expect_int(vm_msync(m, 1, a, 10000, VM_MS_SYNC), 0, "vm_msync");
    memcpy(lorem + 9000, "KEPT", 4);
    expect_file_contents(path, lorem, 10000, "the file after vm_msync");
    mmu_delete(m);
    close(fd);
    free(lorem);
}

static void test_io_fault_failed_mmap_sync_reports_and_a_later_sync_writes(
    void) {
    char path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt");
    mmap *map;

    copy_fixture("lorem.txt", path);
    map = mmap_create(path);
    expect_not_null(map, "mmap_create");
    expect_size(mmap_write(map, "BIG", 5000, 3), 3, "mmap_write");
    fail_every_write(EFBIG);
    expect_failure(mmap_sync(map), -1, EFBIG, "mmap_sync past the limit");
    expect_file_contents(path, lorem, 10000, "the file after the failure");
    io_fault_clear();
    expect_int(mmap_sync(map), 0, "mmap_sync once the fault is gone");
    memcpy(lorem + 5000, "BIG", 3);
    expect_file_contents(path, lorem, 10000, "the file after the retry");
    munmap(map);
    expect_file_contents(path, lorem, 10000, "the file after munmap");
    free(lorem);
}

static void test_io_fault_eviction_that_cannot_write_takes_another_victim(
    void) {
    enum { FILE_PAGES = 48 };
    char path[PATH_MAX];
    unsigned char *pages = fixture_bytes("pages.txt"), *want;
    int fd;
    mmu *m;
    addr32 file;
    size_t page;

    setenv("MMAP_FRAMES", "16", 1);
    fd = open_fixture_copy("pages.txt", O_RDWR, path);
    m = new_mmu_with_process(1);
    file = map_or_fail(m, 1, 0, FILE_PAGES * PAGE_SIZE, RW, VM_MAP_SHARED, fd,
                       0);
    expect_writes(m, 1, file + 10, "PINNED?", 7, "write page 0");
    fail_every_write(EIO);
    for (page = 1; page < FILE_PAGES; page++)
        expect_reads(m, 1, file + (addr32)(page * PAGE_SIZE),
                     pages + page * PAGE_SIZE, 64,
                     describe("read page %zu while writes fail", page));
    expect_true(page_present(m, 1, file),
                "page 0, which could not be written, is still mapped");
    expect_reads(m, 1, file + 10, "PINNED?", 7, "page 0 keeps the write");
    io_fault_clear();
    expect_int(vm_msync(m, 1, file, FILE_PAGES * PAGE_SIZE, VM_MS_SYNC), 0,
               "vm_msync once the disk works");
    want = load_file(path, &page);
    expect_size(page, FILE_PAGES * PAGE_SIZE, "the file's size");
    memcpy(pages + 10, "PINNED?", 7);
    expect_bytes(want, pages, FILE_PAGES * PAGE_SIZE,
                 "the file after vm_msync");
    mmu_delete(m);
    close(fd);
    free(want);
    free(pages);
}

/*
 * The clock evicts a dirty page whose file another program truncated:
 * asking the file first, the cache drops the pages past the new end and
 * gives their frames back, then fails to write the victim. The pool takes
 * one of the frames given back instead of sweeping on over them.
 */
static void test_io_fault_eviction_that_frees_frames_and_fails_takes_a_freed_one(
    void) {
    setenv("MMAP_FRAMES", "8", 1);
    char path[PATH_MAX];
    int fd;
    mmu *m = new_mmu_with_process(1);
    addr32 file, anon;

    make_pattern_file("pattern", 6, 3, path);
    fd = open_file(path, O_RDWR);
    file = map_or_fail(m, 1, 0, 6 * PAGE_SIZE, RW, VM_MAP_SHARED, fd, 0);
    anon = map_or_fail(m, 1, 0, PAGE_SIZE, RW,
                       VM_MAP_PRIVATE | VM_MAP_ANONYMOUS, -1, 0);
    for (addr32 page = 0; page < 6; page++)
        expect_writes(m, 1, file + page * PAGE_SIZE, "D", 1,
                      describe("dirty page %u", (unsigned)page));
    expect_size(kernel_frames_free(), 0, "free frames: the pool is full");
    if (ftruncate(fd, PAGE_SIZE) != 0)
        setup_failed("ftruncate");
    io_fault_inject(&(io_fault){.write = true, .nth = 1, .error = EIO,
                                .times = IO_FAULT_UNTIL_CLEARED});
    expect_writes(m, 1, anon, "A", 1, "a write that needs a frame");
    io_fault_clear();
    mmu_delete(m);
    close(fd);
}

/* ================================================================== */
/* A failed or short read                                              */
/* ================================================================== */

static void test_io_fault_failed_read_fails_the_access_and_maps_nothing(void) {
    char path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt"), buffer[200];
    int fd = open_fixture_copy("lorem.txt", O_RDONLY, path);
    mmu *m = new_mmu_with_process(1);
    addr32 a = map_or_fail(m, 1, 0, 10000, VM_PROT_READ, VM_MAP_SHARED, fd, 0);

    expect_reads(m, 1, a, lorem, 16, "read page 0 before the fault");
    fail_every_read(EIO);
    errno = 0;
    expect_size(read_virtual(m, 1, a + PAGE_SIZE - 96, buffer, 200), 96,
                "bytes read across into page 1 while reads fail");
    expect_errno(errno, EIO, "errno of the short read");
    expect_bytes(buffer, lorem + PAGE_SIZE - 96, 96, "the bytes of page 0");
    expect_true(!page_present(m, 1, a + PAGE_SIZE), "page 1 is not mapped");
    io_fault_clear();
    expect_reads(m, 1, a + PAGE_SIZE - 96, lorem + PAGE_SIZE - 96, 200,
                 "the same read once the disk works");
    mmu_delete(m);
    close(fd);
    free(lorem);
}

static void test_io_fault_short_read_is_completed(void) {
    char path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt");
    int fd = open_fixture_copy("lorem.txt", O_RDONLY, path);
    mmu *m = new_mmu_with_process(1);
    addr32 a = map_or_fail(m, 1, 0, 10000, VM_PROT_READ, VM_MAP_SHARED, fd, 0);

    io_fault_inject(&(io_fault){.write = false, .nth = 1, .bytes = 100});
    expect_reads(m, 1, a + 50, lorem + 50, 200, "a read whose preadv is short");
    expect_reads(m, 1, a + 5000, lorem + 5000, 200, "page 1 too");
    mmu_delete(m);
    close(fd);
    free(lorem);
}

/*
 * When the read-ahead run fails and the page alone is then read, the
 * access succeeds whole, and the run's failure is not left in errno.
 */
static void test_io_fault_failed_read_ahead_retried_leaves_errno_alone(void) {
    char path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt"), got[10000];
    int fd = open_fixture_copy("lorem.txt", O_RDONLY, path);
    mmu *m = new_mmu_with_process(1);
    addr32 a = map_or_fail(m, 1, 0, 10000, VM_PROT_READ, VM_MAP_SHARED, fd, 0);

    io_fault_inject(&(io_fault){.write = false, .nth = 1, .error = EIO});
    errno = EDOM;
    expect_size(read_virtual(m, 1, a, got, sizeof got), sizeof got,
                "a read of 3 pages whose first preadv (of the run) fails");
    expect_errno(errno, EDOM, "errno after the read, which succeeded");
    expect_bytes(got, lorem, sizeof got, "the bytes read");
    mmu_delete(m);
    close(fd);
    free(lorem);
}

/* ================================================================== */
/* A short write                                                       */
/* ================================================================== */

static void test_io_fault_short_write_is_retried_and_the_file_holds_every_byte(
    void) {
    char path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt");
    int fd = open_fixture_copy("lorem.txt", O_RDWR, path);
    mmu *m = new_mmu_with_process(1);
    addr32 a = map_or_fail(m, 1, 0, 10000, RW, VM_MAP_SHARED, fd, 0);

    expect_writes(m, 1, a + 4000, "ACROSS TWO PAGES", 16, "write pages 0, 1");
    io_fault_inject(&(io_fault){.write = true, .nth = 1, .bytes = 100});
    expect_int(vm_msync(m, 1, a, 10000, VM_MS_SYNC), 0,
               "vm_msync whose pwritev is short");
    memcpy(lorem + 4000, "ACROSS TWO PAGES", 16);
    expect_file_contents(path, lorem, 10000, "the file after vm_msync");
    expect_true(!page_dirty(m, 1, a) && !page_dirty(m, 1, a + PAGE_SIZE),
                "both pages clean");
    mmu_delete(m);
    close(fd);
    free(lorem);
}

static void test_io_fault_write_that_moves_nothing_is_reported(void) {
    char path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt");
    int fd = open_fixture_copy("lorem.txt", O_RDWR, path);
    mmu *m = new_mmu_with_process(1);
    addr32 a = map_or_fail(m, 1, 0, 10000, RW, VM_MAP_SHARED, fd, 0);

    expect_writes(m, 1, a + 5, "NOTHING", 7, "write page 0");
    io_fault_inject(&(io_fault){.write = true, .nth = 1, .bytes = 0,
                                .times = IO_FAULT_UNTIL_CLEARED});
    expect_failure(vm_msync(m, 1, a, 10000, VM_MS_SYNC), -1, EIO,
                   "vm_msync whose every pwritev moves nothing");
    expect_true(page_dirty(m, 1, a), "page 0 still dirty");
    io_fault_clear();
    expect_int(vm_msync(m, 1, a, 10000, VM_MS_SYNC), 0, "vm_msync again");
    memcpy(lorem + 5, "NOTHING", 7);
    expect_file_contents(path, lorem, 10000, "the file after the retry");
    mmu_delete(m);
    close(fd);
    free(lorem);
}

/* ================================================================== */
/* A real limit: RLIMIT_FSIZE                                          */
/* ================================================================== */

/* In a grandchild: the limit is the process's. */
static void write_back_past_the_file_size_limit(const void *argument) {
    const char *path = argument;
    unsigned char *lorem = fixture_bytes("lorem.txt");
    struct rlimit old_limit;
    int fd = open_file(path, O_RDWR);
    mmu *m = new_mmu_with_process(1);
    addr32 a = map_or_fail(m, 1, 0, 10000, RW, VM_MAP_SHARED, fd, 0);

    limit_file_size(2 * PAGE_SIZE, &old_limit);
    expect_writes(m, 1, a + 9000, "LIMIT", 5, "write page 2, past the limit");
    expect_failure(vm_msync(m, 1, a, 10000, VM_MS_SYNC), -1, EFBIG,
                   "vm_msync of a page past RLIMIT_FSIZE");
    expect_true(page_dirty(m, 1, a + 2 * PAGE_SIZE), "page 2 is still dirty");
    expect_file_contents(path, lorem, 10000, "the file after the failure");
    restore_file_size_limit(&old_limit);
    expect_int(vm_msync(m, 1, a, 10000, VM_MS_SYNC), 0,
               "vm_msync once the limit is raised");
    memcpy(lorem + 9000, "LIMIT", 5);
    expect_file_contents(path, lorem, 10000, "the file after the retry");
    mmu_delete(m);
    close(fd);
    free(lorem);
}

static void test_io_fault_write_back_past_rlimit_fsize_is_efbig_and_kept_dirty(
    void) {
    char path[PATH_MAX];
    grandchild result;

    copy_fixture("lorem.txt", path);
    run_in_grandchild(write_back_past_the_file_size_limit, path, false,
                      &result);
    expect_grandchild_passed(&result, "write-back under RLIMIT_FSIZE");
}

static const test_case io_fault_tests[] = {
    /* the hook itself */
    TEST(io_fault_hits_the_nth_write_and_only_the_times_asked),
    /* a failed write-back keeps the page dirty */
    TEST(io_fault_failed_msync_keeps_the_page_dirty_and_one_retry_writes_it),
    TEST(io_fault_failed_munmap_write_back_reports_and_keeps_the_page_dirty),
    TEST(io_fault_failed_write_back_on_the_last_munmap_keeps_the_page),
    TEST(io_fault_failed_mmap_sync_reports_and_a_later_sync_writes),
    TEST(io_fault_eviction_that_cannot_write_takes_another_victim),
    TEST(io_fault_eviction_that_frees_frames_and_fails_takes_a_freed_one),
    /* a failed or short read */
    TEST(io_fault_failed_read_fails_the_access_and_maps_nothing),
    TEST(io_fault_short_read_is_completed),
    TEST(io_fault_failed_read_ahead_retried_leaves_errno_alone),
    /* a short write */
    TEST(io_fault_short_write_is_retried_and_the_file_holds_every_byte),
    TEST(io_fault_write_that_moves_nothing_is_reported),
    /* a real limit */
    TEST(io_fault_write_back_past_rlimit_fsize_is_efbig_and_kept_dirty),
};

const test_suite io_fault_suite = {
    "io_fault", io_fault_tests,
    sizeof io_fault_tests / sizeof io_fault_tests[0]};
