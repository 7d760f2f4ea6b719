/*
 * tests/page_cache_tests.c: page_cache.h, the one cache of file pages:
 * every mapping of a file, in any process of any MMU, through any
 * descriptor or name, reaches the same frame; each page is read once;
 * private mappings read the cache until they write; pages leave the
 * cache when the last mapping goes, on eviction (from every page table
 * that maps them) and on vm_msync with VM_MS_INVALIDATE; only bytes
 * inside the file are ever written.
 */
#include "helpers.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>


/* ------------------------------------------------------------------ */
/* Helpers of this suite                                               */
/* ------------------------------------------------------------------ */

/* Maps the whole of lorem.txt (10000 bytes) into `pid` of `m`. */
static addr32 map_lorem(mmu *m, size_t pid, int prot, int flags, int fd) {
    return map_or_fail(m, pid, 0, 10000, prot, flags, fd, 0);
}

/* ================================================================== */
/* One frame per page, whoever maps it                                 */
/* ================================================================== */

static void test_page_cache_two_processes_of_one_mmu_share_a_frame(void) {
    char path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt");
    int fd = open_fixture_copy("lorem.txt", O_RDWR, path);
    mmu *m = new_mmu_with_process(1);
    addr32 a, b;

    expect_int(mmu_add_process(m, 2), 0, "mmu_add_process(2)");
    a = map_lorem(m, 1, RW, VM_MAP_SHARED, fd);
    b = map_or_fail(m, 2, 0x60000000, 10000, RW, VM_MAP_SHARED, fd, 0);
    expect_reads(m, 1, a + PAGE_SIZE, lorem + PAGE_SIZE, 16,
                 "process 1 reads page 1");
    expect_reads(m, 2, b + PAGE_SIZE, lorem + PAGE_SIZE, 16,
                 "process 2 reads page 1");
    expect_hex(frame_mapped_at(m, 2, b + PAGE_SIZE),
               frame_mapped_at(m, 1, a + PAGE_SIZE),
               "the frame process 2 maps page 1 to (process 1's)");
    expect_true(frame_mapped_at(m, 1, a + PAGE_SIZE) != 0, "page 1 mapped");
    expect_writes(m, 1, a + PAGE_SIZE + 5, "SHARED", 6,
                  "process 1 writes page 1");
    expect_reads(m, 2, b + PAGE_SIZE + 5, "SHARED", 6,
                 "process 2 reads the write at once");
    expect_writes(m, 2, b + 2 * PAGE_SIZE, "BACK", 4,
                  "process 2 writes page 2, which process 1 never touched");
    expect_reads(m, 1, a + 2 * PAGE_SIZE, "BACK", 4,
                 "process 1 reads process 2's write");
    mmu_delete(m);
    memcpy(lorem + PAGE_SIZE + 5, "SHARED", 6);
    memcpy(lorem + 2 * PAGE_SIZE, "BACK", 4);
    expect_file_contents(path, lorem, 10000, "the file holds both writes");
    close(fd);
    free(lorem);
}

static void test_page_cache_two_mmus_share_a_frame(void) {
    char path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt");
    int fd = open_fixture_copy("lorem.txt", O_RDWR, path);
    mmu *first = new_mmu_with_process(1), *second = new_mmu_with_process(1);
    addr32 a = map_lorem(first, 1, RW, VM_MAP_SHARED, fd);
    addr32 b = map_lorem(second, 1, RW, VM_MAP_SHARED, fd);

    expect_writes(first, 1, a + 100, "OTHER MMU", 9, "the first MMU writes");
    expect_reads(second, 1, b + 100, "OTHER MMU", 9,
                 "the second MMU reads it at once");
    expect_hex(frame_mapped_at(second, 1, b), frame_mapped_at(first, 1, a),
               "the frame of page 0 in the second MMU (the first's)");
    mmu_delete(first);
    expect_reads(second, 1, b + 100, "OTHER MMU", 9,
                 "the second MMU after the first is deleted");
    mmu_delete(second);
    memcpy(lorem + 100, "OTHER MMU", 9);
    expect_file_contents(path, lorem, 10000, "the file");
    close(fd);
    free(lorem);
}

static void test_page_cache_two_descriptors_of_one_file_share_its_pages(void) {
    char path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt");
    int fd = open_fixture_copy("lorem.txt", O_RDWR, path);
    int again = open_file(path, O_RDWR);
    mmu *m = new_mmu_with_process(1);
    addr32 a = map_lorem(m, 1, RW, VM_MAP_SHARED, fd);
    addr32 b = map_lorem(m, 1, RW, VM_MAP_SHARED, again);

    expect_writes(m, 1, a + 2 * PAGE_SIZE, "FD ONE", 6,
                  "write through the first descriptor's mapping");
    expect_reads(m, 1, b + 2 * PAGE_SIZE, "FD ONE", 6,
                 "read through the second descriptor's mapping");
    expect_hex(frame_mapped_at(m, 1, b + 2 * PAGE_SIZE),
               frame_mapped_at(m, 1, a + 2 * PAGE_SIZE),
               "the frame of page 2 in both mappings");
    mmu_delete(m);
    close(fd);
    close(again);
    free(lorem);
}

static void test_page_cache_a_hard_link_shares_the_pages_of_its_file(void) {
    char path[PATH_MAX], link_path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt");
    int fd = open_fixture_copy("lorem.txt", O_RDWR, path), linked;
    mmu *first = new_mmu_with_process(1), *second = new_mmu_with_process(7);
    addr32 a, b;

    path_in_work_dir("hard_link.txt", link_path);
    if (link(path, link_path) != 0)
        setup_failed("link");
    linked = open_file(link_path, O_RDWR);
    a = map_lorem(first, 1, RW, VM_MAP_SHARED, fd);
    b = map_lorem(second, 7, VM_PROT_READ, VM_MAP_SHARED, linked);
    expect_reads(second, 7, b, lorem, 32, "read through the link first");
    expect_writes(first, 1, a + 3, "LINKED", 6, "write through the name");
    expect_reads(second, 7, b + 3, "LINKED", 6,
                 "read through the hard link at once");
    mmu_delete(first);
    mmu_delete(second);
    close(fd);
    close(linked);
    free(lorem);
}

static void
test_page_cache_a_writable_mapping_after_a_read_only_one_writes_back(void) {
    char path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt");
    int read_only = open_fixture_copy("lorem.txt", O_RDONLY, path);
    int writable = open_file(path, O_RDWR);
    mmu *m = new_mmu_with_process(1);
    addr32 a, b;

    expect_int(mmu_add_process(m, 2), 0, "mmu_add_process(2)");
    a = map_lorem(m, 1, VM_PROT_READ, VM_MAP_SHARED, read_only);
    expect_reads(m, 1, a, lorem, 16, "the read-only mapping reads page 0");
    b = map_lorem(m, 2, RW, VM_MAP_SHARED, writable);
    close(writable);
    expect_writes(m, 2, b + 100, "WRITABLE", 8, "the writable mapping writes");
    expect_reads(m, 1, a + 100, "WRITABLE", 8, "the read-only one sees it");
    expect_int(vm_msync(m, 2, b, 10000, VM_MS_SYNC), 0, "vm_msync");
    memcpy(lorem + 100, "WRITABLE", 8);
    expect_file_contents(path, lorem, 10000, "the file after vm_msync");
    mmu_delete(m);
    close(read_only);
    free(lorem);
}

static void test_page_cache_a_file_grown_between_two_mappings_shows_new_pages(
    void) {
    char path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt"), page[PAGE_SIZE];
    int fd = open_fixture_copy("lorem.txt", O_RDWR, path);
    mmu *m = new_mmu_with_process(1);
    addr32 old_map = map_or_fail(m, 1, 0, 5 * PAGE_SIZE, RW, VM_MAP_SHARED, fd,
                                 0);
    addr32 new_map;

    expect_reads(m, 1, old_map, lorem, 16, "the first mapping reads page 0");
    memset(page, 'G', sizeof page);
    write_file_at(path, 3 * PAGE_SIZE, page, PAGE_SIZE); /* 4 pages now */
    new_map = map_or_fail(m, 1, 0, 5 * PAGE_SIZE, RW, VM_MAP_SHARED, fd, 0);
    expect_reads(m, 1, new_map + 3 * PAGE_SIZE, page, PAGE_SIZE,
                 "the second mapping reads page 3, which the file grew");
    expect_reads(m, 1, old_map + 3 * PAGE_SIZE, page, PAGE_SIZE,
                 "the first mapping reads page 3 too, as on Linux: the file "
                 "is as long as it is now, not as when mapped");
    expect_writes(m, 1, new_map + 3 * PAGE_SIZE + 10, "NEWPAGE", 7,
                  "the second mapping writes page 3");
    mmu_delete(m);
    memcpy(page + 10, "NEWPAGE", 7);
    read_file_at(path, 3 * PAGE_SIZE, page, PAGE_SIZE);
    expect_bytes(page + 10, "NEWPAGE", 7, "page 3 of the file");
    expect_size(file_size(path), 4 * PAGE_SIZE, "the file's size");
    close(fd);
    free(lorem);
}

static void test_page_cache_reads_a_page_once_for_every_mapping_of_it(void) {
    char path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt");
    int fd = open_fixture_copy("lorem.txt", O_RDONLY, path);
    mmu *first = new_mmu_with_process(1), *second = new_mmu_with_process(1);
    addr32 a, b, c, d;

    expect_int(mmu_add_process(first, 2), 0, "mmu_add_process(2)");
    a = map_lorem(first, 1, VM_PROT_READ, VM_MAP_SHARED, fd);
    b = map_lorem(first, 2, VM_PROT_READ, VM_MAP_PRIVATE, fd);
    c = map_lorem(second, 1, VM_PROT_READ, VM_MAP_SHARED, fd);
    d = map_or_fail(second, 1, 0, PAGE_SIZE, VM_PROT_READ, VM_MAP_SHARED, fd,
                    PAGE_SIZE);
    trace_log_clear();
    trace_set_hook(record_event, NULL);
    expect_reads(first, 1, a + PAGE_SIZE, lorem + PAGE_SIZE, 64,
                 "MMU 1, process 1, shared");
    expect_reads(first, 2, b + PAGE_SIZE, lorem + PAGE_SIZE, 64,
                 "MMU 1, process 2, private");
    expect_reads(second, 1, c + PAGE_SIZE, lorem + PAGE_SIZE, 64,
                 "MMU 2, shared");
    expect_reads(second, 1, d, lorem + PAGE_SIZE, 64,
                 "MMU 2, a mapping from offset 4096");
    trace_set_hook(NULL, NULL);
    expect_size(times_page_was_read(1), 1,
                "pager reads that brought in page 1 (four mappings read it)");
    mmu_delete(first);
    mmu_delete(second);
    close(fd);
    free(lorem);
}

/* ================================================================== */
/* Private mappings                                                    */
/* ================================================================== */

static void
test_page_cache_private_mapping_sees_shared_writes_until_it_writes_the_page(
    void) {
    char path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt");
    int fd = open_fixture_copy("lorem.txt", O_RDWR, path);
    mmu *m = new_mmu_with_process(1);
    addr32 shared, private;

    expect_int(mmu_add_process(m, 2), 0, "mmu_add_process(2)");
    shared = map_lorem(m, 1, RW, VM_MAP_SHARED, fd);
    private = map_lorem(m, 2, RW, VM_MAP_PRIVATE, fd);
    expect_writes(m, 1, shared + PAGE_SIZE, "EARLY", 5,
                  "shared write to page 1 before the private map reads it");
    expect_reads(m, 2, private + PAGE_SIZE, "EARLY", 5,
                 "the private map's first read of page 1");
    expect_reads(m, 2, private, lorem, 16, "the private map reads page 0");
    expect_writes(m, 1, shared, "FIRST", 5, "shared write to page 0");
    expect_reads(m, 2, private, "FIRST", 5,
                 "the private map sees it at once (not written yet)");
    expect_writes(m, 2, private + 10, "MINE", 4, "private write to page 0");
    expect_reads(m, 2, private, "FIRST", 5,
                 "the private copy keeps what it copied");
    expect_writes(m, 1, shared, "AFTER", 5, "shared write after the copy");
    expect_reads(m, 2, private, "FIRST", 5,
                 "the private copy does not see later writers");
    expect_reads(m, 1, shared + 10, lorem + 10, 4,
                 "the shared map does not see the private write");
    expect_writes(m, 1, shared + PAGE_SIZE, "LATER", 5,
                  "shared write to page 1, which the private map only read");
    expect_reads(m, 2, private + PAGE_SIZE, "LATER", 5,
                 "the private map still sees page 1's writers");
    mmu_delete(m);
    memcpy(lorem, "AFTER", 5);
    memcpy(lorem + PAGE_SIZE, "LATER", 5);
    expect_file_contents(path, lorem, 10000,
                      "the file: the shared writes, never the private one");
    close(fd);
    free(lorem);
}

/* ================================================================== */
/* Pages leaving the cache                                             */
/* ================================================================== */

static void test_page_cache_pages_leave_the_cache_when_the_last_mapping_goes(
    void) {
    char path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt");
    int fd = open_fixture_copy("lorem.txt", O_RDWR, path);
    mmu *first = new_mmu_with_process(1), *second = new_mmu_with_process(1);
    size_t baseline;
    addr32 a, b;

    /* The page tables of the region, which stay, made before counting. */
    a = map_or_fail(first, 1, 0, PAGE_SIZE, RW, VM_MAP_PRIVATE |
                    VM_MAP_ANONYMOUS, -1, 0);
    b = map_or_fail(second, 1, 0, PAGE_SIZE, RW, VM_MAP_PRIVATE |
                    VM_MAP_ANONYMOUS, -1, 0);
    expect_writes(first, 1, a, "T", 1, "touch in the first MMU");
    expect_writes(second, 1, b, "T", 1, "touch in the second MMU");
    expect_int(vm_munmap(first, 1, a, PAGE_SIZE), 0, "vm_munmap");
    expect_int(vm_munmap(second, 1, b, PAGE_SIZE), 0, "vm_munmap");
    baseline = kernel_frames_free();

    a = map_lorem(first, 1, RW, VM_MAP_SHARED, fd);
    b = map_lorem(second, 1, RW, VM_MAP_SHARED, fd);
    expect_writes(first, 1, a, "ONE", 3, "the first MMU writes page 0");
    expect_writes(second, 1, b + 2 * PAGE_SIZE, "TWO", 3,
                  "the second MMU writes page 2");
    expect_reads(second, 1, b, "ONE", 3, "the second MMU reads page 0");
    expect_int(vm_munmap(first, 1, a, 10000), 0, "the first vm_munmap");
    expect_reads(second, 1, b, "ONE", 3,
                 "page 0 through the second MMU after the first unmapped");
    expect_true(kernel_frames_free() < baseline,
                "the pages stay cached while a mapping remains");
    expect_int(vm_munmap(second, 1, b, 10000), 0, "the last vm_munmap");
    expect_size(kernel_frames_free(), baseline,
                "free frames after the last vm_munmap (every page left)");
    memcpy(lorem, "ONE", 3);
    memcpy(lorem + 2 * PAGE_SIZE, "TWO", 3);
    expect_file_contents(path, lorem, 10000,
                      "the file: every dirty page written back");

    write_file_at(path, 0, "NEW", 3);
    a = map_lorem(first, 1, VM_PROT_READ, VM_MAP_SHARED, fd);
    expect_reads(first, 1, a, "NEW", 3,
                 "a new mapping reads the file again, not a stale page");
    mmu_delete(first);
    mmu_delete(second);
    close(fd);
    free(lorem);
}

/*
 * Two mappers of one page, in `mmu_w` (process `pid_w`) and `mmu_r`
 * (`pid_r`): one writes, a third mapping of a larger file read whole
 * through a pool of 16 frames evicts the page, and then the other reads.
 */
static void evict_a_shared_page_between(mmu *mmu_w, size_t pid_w, mmu *mmu_r,
                                        size_t pid_r, const char *path,
                                        int fd) {
    enum { OTHER_PAGES = 64 };
    char other_path[PATH_MAX];
    unsigned char want[PAGE_SIZE];
    addr32 w = map_lorem(mmu_w, pid_w, RW, VM_MAP_SHARED, fd);
    addr32 r = map_or_fail(mmu_r, pid_r, 0x60000000, 10000, VM_PROT_READ,
                           VM_MAP_SHARED, fd, 0);
    addr32 other;
    size_t page, reader_faults, reader_misses;
    int other_fd;

    expect_reads(mmu_r, pid_r, r, "0000:", 5, "the reader maps page 0 first");
    expect_writes(mmu_w, pid_w, w + 6, "EVICTED", 7, "the writer writes");
    expect_reads(mmu_r, pid_r, r + 6, "EVICTED", 7, "the reader sees it");

    make_pattern_file("other.bin", OTHER_PAGES, 3, other_path);
    other_fd = open_file(other_path, O_RDONLY);
    other = map_or_fail(mmu_w, pid_w, 0, OTHER_PAGES * PAGE_SIZE, VM_PROT_READ,
                        VM_MAP_SHARED, other_fd, 0);
    trace_log_clear();
    trace_set_hook(record_event, NULL);
    for (page = 0; page < OTHER_PAGES; page++) {
        fill_pattern(want, page, 3);
        expect_reads(mmu_w, pid_w, other + (addr32)(page * PAGE_SIZE), want,
                     PAGE_SIZE, describe("page %zu of the other file", page));
    }
    trace_set_hook(NULL, NULL);
    expect_at_least(trace_log.per_event[TRACE_EVICTION], OTHER_PAGES - 16,
                    "evictions while reading the other file");
    expect_true(!page_present(mmu_w, pid_w, w),
                "page 0 is gone from the writer's page table");
    expect_true(!page_present(mmu_r, pid_r, r),
                "page 0 is gone from the reader's page table");
    read_file_at(path, 6, want, 7);
    expect_bytes(want, "EVICTED", 7,
                 "the file while still mapped (written back at eviction)");
    reader_faults = mmu_r->num_page_faults;
    reader_misses = mmu_r->num_tlb_misses;

    expect_reads(mmu_r, pid_r, r + 6, "EVICTED", 7,
                 "the reader reads page 0 again");
    expect_size(mmu_r->num_tlb_misses, reader_misses + 1,
                "the reader's TLB misses (eviction dropped its translation)");
    expect_size(mmu_r->num_page_faults, reader_faults + 1,
                "the reader's page faults (page 0 came back: its TLB entry "
                "was dropped)");
    expect_reads(mmu_w, pid_w, w + 6, "EVICTED", 7,
                 "the writer reads page 0 again");
    close(other_fd);
}

static void test_page_cache_eviction_takes_a_page_shared_by_two_mmus(void) {
    char path[PATH_MAX];
    int fd;
    mmu *writer, *reader;

    setenv("MMAP_FRAMES", "16", 1);
    fd = open_fixture_copy("lorem.txt", O_RDWR, path);
    writer = new_mmu_with_process(1);
    reader = new_mmu_with_process(1);
    evict_a_shared_page_between(writer, 1, reader, 1, path, fd);
    mmu_delete(writer);
    mmu_delete(reader);
    close(fd);
}

static void test_page_cache_eviction_takes_a_page_shared_by_two_processes(
    void) {
    char path[PATH_MAX];
    int fd;
    mmu *m;

    setenv("MMAP_FRAMES", "16", 1);
    fd = open_fixture_copy("lorem.txt", O_RDWR, path);
    m = new_mmu_with_process(1);
    expect_int(mmu_add_process(m, 2), 0, "mmu_add_process(2)");
    evict_a_shared_page_between(m, 1, m, 2, path, fd);
    mmu_delete(m);
    close(fd);
}

static void test_page_cache_msync_invalidate_rereads_a_file_changed_behind(
    void) {
    char path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt");
    int fd = open_fixture_copy("lorem.txt", O_RDWR, path);
    mmu *m = new_mmu_with_process(1);
    addr32 at = map_lorem(m, 1, VM_PROT_READ, VM_MAP_SHARED, fd);

    expect_reads(m, 1, at + PAGE_SIZE, lorem + PAGE_SIZE, 8, "read page 1");
    write_file_at(path, PAGE_SIZE, "BEHIND!!", 8);
    expect_reads(m, 1, at + PAGE_SIZE, lorem + PAGE_SIZE, 8,
                 "page 1 after another program wrote the file (old bytes)");
    expect_int(vm_msync(m, 1, at + PAGE_SIZE, PAGE_SIZE, VM_MS_SYNC), 0,
               "vm_msync without INVALIDATE");
    expect_reads(m, 1, at + PAGE_SIZE, lorem + PAGE_SIZE, 8,
                 "page 1 after vm_msync without INVALIDATE (old bytes)");
    expect_int(vm_msync(m, 1, at, 10000, VM_MS_INVALIDATE), 0,
               "vm_msync INVALIDATE");
    expect_true(!page_present(m, 1, at + PAGE_SIZE),
                "page 1 is unmapped by the invalidation");
    expect_reads(m, 1, at + PAGE_SIZE, "BEHIND!!", 8,
                 "page 1 after INVALIDATE (the new bytes)");
    mmu_delete(m);
    close(fd);
    free(lorem);
}

static void test_page_cache_msync_invalidate_unmaps_the_page_everywhere(void) {
    char path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt");
    int fd = open_fixture_copy("lorem.txt", O_RDWR, path);
    mmu *first = new_mmu_with_process(1), *second = new_mmu_with_process(1);
    addr32 a, b, c;

    expect_int(mmu_add_process(first, 2), 0, "mmu_add_process(2)");
    a = map_lorem(first, 1, RW, VM_MAP_SHARED, fd);
    b = map_lorem(first, 2, VM_PROT_READ, VM_MAP_PRIVATE, fd);
    c = map_lorem(second, 1, VM_PROT_READ, VM_MAP_SHARED, fd);
    expect_writes(first, 1, a, "DIRTY", 5, "process 1 writes page 0");
    expect_reads(first, 2, b, "DIRTY", 5, "process 2 (private) reads it");
    expect_reads(second, 1, c, "DIRTY", 5, "the second MMU reads it");
    expect_int(vm_msync(first, 1, a, PAGE_SIZE,
                        VM_MS_SYNC | VM_MS_INVALIDATE),
               0, "vm_msync SYNC | INVALIDATE");
    expect_true(!page_present(first, 2, b), "process 2's entry is cleared");
    expect_true(!page_present(second, 1, c), "the second MMU's is cleared");
    write_file_at(path, 0, "OUTSIDE", 7);
    expect_reads(first, 2, b, "OUTSIDE", 7,
                 "process 2 reads the file again");
    expect_reads(second, 1, c, "OUTSIDE", 7,
                 "the second MMU reads the same new bytes");
    expect_reads(first, 1, a + 7, lorem + 7, 8,
                 "process 1: the rest of page 0 as the file has it");
    mmu_delete(first);
    mmu_delete(second);
    close(fd);
    free(lorem);
}

static void test_page_cache_msync_invalidate_keeps_private_copies(void) {
    char path[PATH_MAX];
    unsigned char *lorem = fixture_bytes("lorem.txt");
    int fd = open_fixture_copy("lorem.txt", O_RDWR, path);
    mmu *m = new_mmu_with_process(1);
    addr32 at = map_lorem(m, 1, RW, VM_MAP_PRIVATE, fd);

    expect_writes(m, 1, at, "COPIED", 6, "private write to page 0");
    write_file_at(path, 0, "ANOTHER PROGRAM", 15);
    expect_int(vm_msync(m, 1, at, 10000, VM_MS_INVALIDATE), 0,
               "vm_msync INVALIDATE");
    expect_reads(m, 1, at, "COPIED", 6, "the private copy is kept");
    expect_reads(m, 1, at + 6, lorem + 6, 9,
                 "the rest of the copy, as it was copied");
    mmu_delete(m);
    close(fd);
    free(lorem);
}

/* ================================================================== */
/* What reaches the file                                               */
/* ================================================================== */

static void test_page_cache_bytes_past_eof_in_the_last_page_read_as_zeros(
    void) {
    static const unsigned char zeros[PAGE_SIZE];
    char path[PATH_MAX];
    unsigned char *hello = fixture_bytes("hello.txt");
    int fd;
    mmu *m;
    addr32 at;

    setenv("MMAP_FRAMES", "32", 1);
    dirty_every_frame(); /* a frame not cleared would show 0xFF */
    fd = open_fixture_copy("hello.txt", O_RDWR, path);
    m = new_mmu_with_process(1);
    at = map_or_fail(m, 1, 0, 21, RW, VM_MAP_SHARED, fd, 0);
    expect_reads(m, 1, at, hello, 21, "the file's 21 bytes");
    expect_reads(m, 1, at + 21, zeros, PAGE_SIZE - 21,
                 "the rest of the page, past the end of the file");
    mmu_delete(m);
    close(fd);
    free(hello);
}

static void test_page_cache_writes_past_eof_in_the_last_page_never_reach_the_file(
    void) {
    char path[PATH_MAX];
    unsigned char *hello = fixture_bytes("hello.txt");
    int fd = open_fixture_copy("hello.txt", O_RDWR, path);
    mmu *m = new_mmu_with_process(1);
    addr32 at = map_or_fail(m, 1, 0, PAGE_SIZE, RW, VM_MAP_SHARED, fd, 0);

    expect_writes(m, 1, at + 16, "12345678", 8,
                  "write across the end of the file");
    expect_writes(m, 1, at + 1000, "PAST", 4, "write past the end");
    expect_int(vm_msync(m, 1, at, PAGE_SIZE, VM_MS_SYNC), 0, "vm_msync");
    memcpy(hello + 16, "12345", 5);
    expect_file_contents(path, hello, 21,
                      "the file after vm_msync: 21 bytes, the write clipped");
    expect_reads(m, 1, at + 1000, "PAST", 4,
                 "the bytes past the end, still in memory");
    mmu_delete(m);
    expect_file_contents(path, hello, 21, "the file after the process ended");
    close(fd);
    free(hello);
}

static void test_page_cache_whole_page_write_through_a_shared_map_reads_nothing(
    void) {
    char path[PATH_MAX];
    unsigned char page[PAGE_SIZE];
    int fd = open_fixture_copy("pages.txt", O_RDWR, path);
    mmu *m = new_mmu_with_process(1);
    addr32 at = map_or_fail(m, 1, 0, 4 * PAGE_SIZE, RW, VM_MAP_SHARED, fd, 0);

    memset(page, 'W', sizeof page);
    trace_log_clear();
    trace_set_hook(record_event, NULL);
    expect_writes(m, 1, at + PAGE_SIZE, page, PAGE_SIZE,
                  "write of the whole of page 1");
    trace_set_hook(NULL, NULL);
    expect_size(times_page_was_read(1), 0,
                "pager reads of page 1 (overwritten whole)");
    expect_reads(m, 1, at + PAGE_SIZE, page, PAGE_SIZE, "page 1 read back");
    expect_int(vm_munmap(m, 1, at, 4 * PAGE_SIZE), 0, "vm_munmap");
    read_file_at(path, PAGE_SIZE, page, PAGE_SIZE);
    expect_all_bytes(page, 'W', PAGE_SIZE, "page 1 of the file");
    mmu_delete(m);
    close(fd);
}

/*
 * Random reads and writes through two shared and two private mappings of
 * one file, in two MMUs, through a pool far smaller than the file, with
 * now and then a vm_msync: checked against a model of the page cache
 * (what every shared mapping sees) and of each private mapping's copies.
 */
static void
test_page_cache_random_shared_and_private_accesses_under_pressure_match_a_model(
    void) {
    enum {
        PAGES = 96,
        PRIVATE_PAGES = 8, /* private writes stay here: copies are pinned */
        STEPS = 4000,
        MAX_ACCESS = 2 * PAGE_SIZE + 100,
        MAPS = 4
    };
    static unsigned char cache_model[PAGES * PAGE_SIZE],
        copies[MAPS][PRIVATE_PAGES * PAGE_SIZE], got[MAX_ACCESS],
        bytes[MAX_ACCESS], disk[PAGE_SIZE];
    static bool copied[MAPS][PRIVATE_PAGES];
    char path[PATH_MAX];
    uint64_t state = 0x9E3779B97F4A7C15u;
    size_t step, page, i;
    struct {
        mmu *m;
        size_t pid;
        bool shared;
        addr32 at;
    } maps[MAPS];
    mmu *first, *second;
    int fd;

    setenv("MMAP_FRAMES", "64", 1);
    make_pattern_file("model.bin", PAGES, 11, path);
    for (page = 0; page < PAGES; page++)
        fill_pattern(cache_model + page * PAGE_SIZE, page, 11);
    fd = open_file(path, O_RDWR);
    first = new_mmu_with_process(1);
    second = new_mmu_with_process(1);
    expect_int(mmu_add_process(first, 2), 0, "mmu_add_process(first, 2)");
    expect_int(mmu_add_process(second, 3), 0, "mmu_add_process(second, 3)");
    maps[0].m = first, maps[0].pid = 1, maps[0].shared = true;
    maps[1].m = first, maps[1].pid = 2, maps[1].shared = false;
    maps[2].m = second, maps[2].pid = 1, maps[2].shared = true;
    maps[3].m = second, maps[3].pid = 3, maps[3].shared = false;
    for (i = 0; i < MAPS; i++)
        maps[i].at = map_or_fail(maps[i].m, maps[i].pid, 0, PAGES * PAGE_SIZE,
                                 RW,
                                 maps[i].shared ? VM_MAP_SHARED
                                                : VM_MAP_PRIVATE,
                                 fd, 0);

    /* The first half traced (to count evictions), the second not (the
     * MMU's fast path, which a trace hook turns off). */
    trace_log_clear();
    trace_set_hook(record_event, NULL);
    for (step = 0; step < STEPS; step++) {
        if (step == STEPS / 2) {
            trace_set_hook(NULL, NULL);
            expect_at_least(trace_log.per_event[TRACE_EVICTION], PAGES,
                            "evictions in the first half (the pool is "
                            "smaller than the file)");
        }
        state ^= state << 13, state ^= state >> 7, state ^= state << 17;
        size_t which = (size_t)(state % MAPS);
        bool write = (state >> 8) % 3 == 0;
        size_t length = 1 + (size_t)(state >> 16) % MAX_ACCESS;
        size_t limit = write && !maps[which].shared
                           ? PRIVATE_PAGES * PAGE_SIZE
                           : PAGES * PAGE_SIZE;
        size_t offset = (size_t)(state >> 32) % limit;
        if (length > limit - offset)
            length = limit - offset;
        addr32 at = maps[which].at + (addr32)offset;

        if ((state >> 12) % 64 == 0) {
            expect_int(vm_msync(maps[0].m, maps[0].pid, maps[0].at,
                                PAGES * PAGE_SIZE, VM_MS_SYNC),
                       0, describe("step %zu: vm_msync", step));
            page = (size_t)(state >> 40) % PAGES;
            read_file_at(path, (off_t)(page * PAGE_SIZE), disk, PAGE_SIZE);
            expect_bytes(disk, cache_model + page * PAGE_SIZE, PAGE_SIZE,
                         describe("step %zu: page %zu on disk after msync",
                                  step, page));
        }
        if (write) {
            for (i = 0; i < length; i++)
                bytes[i] = (unsigned char)(step * 3 + i * 5);
            expect_writes(maps[which].m, maps[which].pid, at, bytes, length,
                          describe("step %zu: map %zu writes %zu at %zu",
                                   step, which, length, offset));
        } else {
            errno = 0;
            expect_size(read_virtual(maps[which].m, maps[which].pid, at, got,
                                     length),
                        length,
                        describe("step %zu: map %zu reads %zu at %zu (errno "
                                 "%s)",
                                 step, which, length, offset,
                                 errno_name(errno)));
        }
        for (i = 0; i < length; i++) {
            size_t byte = offset + i, p = byte / PAGE_SIZE;
            unsigned char *model = &cache_model[byte];
            if (!maps[which].shared && p < PRIVATE_PAGES) {
                if (write && !copied[which][p]) {
                    memcpy(copies[which] + p * PAGE_SIZE,
                           cache_model + p * PAGE_SIZE, PAGE_SIZE);
                    copied[which][p] = true;
                }
                if (copied[which][p])
                    model = &copies[which][byte];
            }
            if (write)
                *model = bytes[i];
            else if (got[i] != *model)
                fail(__FILE__, __LINE__,
                     "step %zu: map %zu (%s) read byte %zu: expected 0x%02x, "
                     "got 0x%02x",
                     step, which, maps[which].shared ? "shared" : "private",
                     byte, *model, got[i]);
        }
    }
    expect_at_least(first->num_cow_faults + second->num_cow_faults,
                    PRIVATE_PAGES, "copy-on-write faults");
    mmu_delete(first);
    mmu_delete(second);
    expect_all_frames_free("after both MMUs are deleted");
    for (page = 0; page < PAGES; page++) {
        read_file_at(path, (off_t)(page * PAGE_SIZE), disk, PAGE_SIZE);
        expect_bytes(disk, cache_model + page * PAGE_SIZE, PAGE_SIZE,
                     describe("page %zu of the file at the end", page));
    }
    close(fd);
}

/*
 * Each mapping's write-back follows its own API's rule, whatever another
 * mapping of the file does: the lab's mapping keeps the length its file
 * had (mmap.h), so a later mapping of the file that another program
 * shrank does not make its dirty page vanish; it grows the file again.
 */
static void test_page_cache_a_later_mapping_of_a_shrunk_file_keeps_the_labs_page(
    void) {
    char path[PATH_MAX];
    unsigned char want[3 * PAGE_SIZE];
    mmap *first, *later;

    make_pattern_file("pattern", 3, 5, path);
    first = mmap_create(path);
    expect_not_null(first, "mmap_create of a 3-page file");
    expect_size(mmap_write(first, "KEEP", 2 * PAGE_SIZE + 10, 4), 4,
                "the lab's write to page 2");
    if (truncate(path, PAGE_SIZE) != 0)
        setup_failed("truncate");
    later = mmap_create(path);
    expect_not_null(later, "mmap_create of the shrunk file");
    munmap(first);
    fill_pattern(want, 0, 5);
    memset(want + PAGE_SIZE, 0, PAGE_SIZE);
    fill_pattern(want + 2 * PAGE_SIZE, 2, 5);
    memcpy(want + 2 * PAGE_SIZE + 10, "KEEP", 4);
    expect_file_contents(path, want, sizeof want,
                         "the file, grown again by the first mapping's page");
    munmap(later);
}

/*
 * A mapping of vm.h writes back only bytes inside the file: bytes written
 * past its end in its last page never reach it, even once the file grows
 * and is mapped again (the host kernel leaves zeros there).
 */
static void test_page_cache_bytes_past_the_end_never_reach_a_file_that_grows(
    void) {
    char path[PATH_MAX];
    unsigned char want[300];
    int fd;
    mmu *m = new_mmu_with_process(1);
    addr32 first, later;

    memset(want, 'f', 100);
    write_new_file("file", want, 100, path);
    fd = open_file(path, O_RDWR);
    first = map_or_fail(m, 1, 0, 300, RW, VM_MAP_SHARED, fd, 0);
    expect_writes(m, 1, first + 200, "PAST", 4, "a write past the end");
    if (ftruncate(fd, 300) != 0)
        setup_failed("ftruncate");
    later = map_or_fail(m, 1, 0, 300, RW, VM_MAP_SHARED, fd, 0);
    expect_reads(m, 1, later + 200, "\0\0\0\0", 4,
                 "the grown file's bytes, through a new mapping");
    expect_int(vm_msync(m, 1, first, 300, VM_MS_SYNC), 0, "vm_msync");
    memset(want + 100, 0, 200);
    expect_file_contents(path, want, 300, "the file: zeros where it grew");
    mmu_delete(m);
    close(fd);
}

static const test_case page_cache_tests[] = {
    /* one frame per page, whoever maps it */
    TEST(page_cache_two_processes_of_one_mmu_share_a_frame),
    TEST(page_cache_two_mmus_share_a_frame),
    TEST(page_cache_a_later_mapping_of_a_shrunk_file_keeps_the_labs_page),
    TEST(page_cache_bytes_past_the_end_never_reach_a_file_that_grows),
    TEST(page_cache_two_descriptors_of_one_file_share_its_pages),
    TEST(page_cache_a_hard_link_shares_the_pages_of_its_file),
    TEST(page_cache_a_writable_mapping_after_a_read_only_one_writes_back),
    TEST(page_cache_a_file_grown_between_two_mappings_shows_new_pages),
    TEST(page_cache_reads_a_page_once_for_every_mapping_of_it),
    /* private mappings */
    TEST(page_cache_private_mapping_sees_shared_writes_until_it_writes_the_page),
    /* pages leaving the cache */
    TEST(page_cache_pages_leave_the_cache_when_the_last_mapping_goes),
    TEST(page_cache_eviction_takes_a_page_shared_by_two_mmus),
    TEST(page_cache_eviction_takes_a_page_shared_by_two_processes),
    TEST(page_cache_msync_invalidate_rereads_a_file_changed_behind),
    TEST(page_cache_msync_invalidate_unmaps_the_page_everywhere),
    TEST(page_cache_msync_invalidate_keeps_private_copies),
    TEST(page_cache_random_shared_and_private_accesses_under_pressure_match_a_model),
    /* what reaches the file */
    TEST(page_cache_bytes_past_eof_in_the_last_page_read_as_zeros),
    TEST(page_cache_writes_past_eof_in_the_last_page_never_reach_the_file),
    TEST(page_cache_whole_page_write_through_a_shared_map_reads_nothing),
};

const test_suite page_cache_suite = {
    "page_cache", page_cache_tests,
    sizeof page_cache_tests / sizeof page_cache_tests[0]};
