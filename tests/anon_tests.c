/*
 * tests/anon_tests.c: anon.h, anonymous pages and their eviction to swap:
 * anonymous mappings, demand-zero segments and private copies many times
 * the pool, written and read back byte for byte; the counters; a full
 * swap and a failed swap write; slots freed by unmapping and by the end
 * of a process; what the trace tells.
 */
#include "helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io_fault.h"
#include "swap.h"
#include "trace.h"

#define ANON_PRIVATE (VM_MAP_PRIVATE | VM_MAP_ANONYMOUS)

/* Pages of anonymous memory: four times the 16-frame pool. */
#define MANY_PAGES 64

/* ------------------------------------------------------------------ */
/* Helpers of this suite                                               */
/* ------------------------------------------------------------------ */

static void small_pool(const char *swap_pages) {
    if (setenv("MMAP_FRAMES", "16", 1) != 0 ||
        (swap_pages && setenv("MMAP_SWAP_PAGES", swap_pages, 1) != 0))
        setup_failed("setenv");
}

/* Writes page `page` of pattern `salt` whole at `address`. */
static void write_pattern(mmu *m, addr32 address, size_t page, unsigned salt) {
    unsigned char bytes[PAGE_SIZE];
    fill_pattern(bytes, page, salt);
    expect_writes(m, 1, address, bytes, PAGE_SIZE,
                  describe("write page %zu", page));
}

static void expect_pattern(mmu *m, addr32 address, size_t page,
                           unsigned salt) {
    unsigned char want[PAGE_SIZE];
    fill_pattern(want, page, salt);
    expect_reads(m, 1, address, want, PAGE_SIZE,
                 describe("page %zu read back", page));
}

/* Writes `pages` pages from `start`, then reads each back twice over. */
static void write_and_read_back(mmu *m, addr32 start, size_t pages,
                                unsigned salt) {
    for (size_t page = 0; page < pages; page++)
        write_pattern(m, start + (addr32)(page * PAGE_SIZE), page, salt);
    for (int round = 0; round < 2; round++)
        for (size_t page = 0; page < pages; page++)
            expect_pattern(m, start + (addr32)(page * PAGE_SIZE), page, salt);
}

/* The swap counters moved, and every swap-in was a major fault. */
static void expect_swapped_both_ways(const mmu *m) {
    expect_true(m->num_swap_outs >= MANY_PAGES - 16,
                describe("pages swapped out: at least %d, got %zu",
                         MANY_PAGES - 16, m->num_swap_outs));
    expect_true(m->num_swap_ins >= MANY_PAGES - 16,
                describe("pages swapped in: at least %d, got %zu",
                         MANY_PAGES - 16, m->num_swap_ins));
    expect_true(m->num_major_faults >= m->num_swap_ins,
                describe("major faults (%zu) count every swap-in (%zu)",
                         m->num_major_faults, m->num_swap_ins));
}

/* ------------------------------------------------------------------ */
/* Many times the pool                                                 */
/* ------------------------------------------------------------------ */

static void test_anon_private_mapping_four_times_the_pool_reads_back(void) {
    small_pool(NULL);
    mmu *m = new_mmu_with_process(1);
    addr32 at = map_or_fail(m, 1, 0, MANY_PAGES * PAGE_SIZE, RW, ANON_PRIVATE,
                            -1, 0);
    write_and_read_back(m, at, MANY_PAGES, 1);
    expect_swapped_both_ways(m);
    mmu_delete(m);
    expect_size(swap_slots_used(), 0, "swap slots held after mmu_delete");
    expect_all_frames_free("after mmu_delete");
}

static void test_anon_demand_zero_segment_four_times_the_pool_reads_back(
    void) {
    small_pool(NULL);
    mmu *m = new_mmu_with_process(1);
    vm_segmentation *segment =
        grow_testing_segment(m, 1, MANY_PAGES, READ | WRITE, NULL);
    write_and_read_back(m, segment->start, MANY_PAGES, 2);
    expect_swapped_both_ways(m);
    mmu_delete(m);
    expect_size(swap_slots_used(), 0, "swap slots held after mmu_delete");
    expect_all_frames_free("after mmu_delete");
}

static void test_anon_private_copies_of_file_pages_swap_and_read_back(void) {
    small_pool(NULL);
    unsigned char *file = malloc(MANY_PAGES * PAGE_SIZE);
    char path[PATH_MAX];
    for (size_t page = 0; page < MANY_PAGES; page++)
        fill_pattern(file + page * PAGE_SIZE, page, 3);
    write_new_file("copies.bin", file, MANY_PAGES * PAGE_SIZE, path);
    int fd = open_file(path, O_RDONLY);
    mmu *m = new_mmu_with_process(1);
    addr32 at = map_or_fail(m, 1, 0, MANY_PAGES * PAGE_SIZE, RW,
                            VM_MAP_PRIVATE, fd, 0);
    for (size_t page = 0; page < MANY_PAGES; page++) /* copy each page */
        expect_writes(m, 1, at + (addr32)(page * PAGE_SIZE) + 7, "COPY", 4,
                      describe("write into page %zu", page));
    for (size_t page = 0; page < MANY_PAGES; page++) {
        memcpy(file + page * PAGE_SIZE + 7, "COPY", 4);
        expect_reads(m, 1, at + (addr32)(page * PAGE_SIZE),
                     file + page * PAGE_SIZE, PAGE_SIZE,
                     describe("copy of page %zu read back", page));
    }
    expect_size(m->num_cow_faults, MANY_PAGES, "copies made");
    expect_swapped_both_ways(m);
    mmu_delete(m);
    close(fd);
    free(file);
    expect_size(swap_slots_used(), 0, "swap slots held after mmu_delete");
    expect_all_frames_free("after mmu_delete");
}

/* ------------------------------------------------------------------ */
/* Failures                                                            */
/* ------------------------------------------------------------------ */

static void test_anon_full_swap_is_enomem_at_the_fault_and_loses_nothing(
    void) {
    small_pool("4");
    mmu *m = new_mmu_with_process(1);
    addr32 at = map_or_fail(m, 1, 0, MANY_PAGES * PAGE_SIZE, RW, ANON_PRIVATE,
                            -1, 0);
    unsigned char bytes[PAGE_SIZE];
    size_t written = 0;
    for (; written < MANY_PAGES; written++) {
        fill_pattern(bytes, written, 4);
        errno = 0;
        if (write_virtual(m, 1, at + (addr32)(written * PAGE_SIZE), bytes,
                          PAGE_SIZE) != PAGE_SIZE)
            break;
    }
    expect_errno(errno, ENOMEM, "the write that found nothing to evict");
    expect_true(written > 4 && written < 16 + 4,
                describe("pages written before swap filled: more than the "
                         "swap, fewer than pool and swap, got %zu",
                         written));
    expect_size(swap_slots_used(), 4, "swap slots held when full");
    /* Unmapping the resident pages makes room to read the swapped back. */
    for (size_t page = 0; page < written; page++) {
        addr32 address = at + (addr32)(page * PAGE_SIZE);
        if (page_present(m, 1, address)) {
            expect_pattern(m, address, page, 4);
            expect_int(vm_munmap(m, 1, address, PAGE_SIZE), 0,
                       describe("unmap resident page %zu", page));
        }
    }
    for (size_t page = 0; page < written; page++) {
        addr32 address = at + (addr32)(page * PAGE_SIZE);
        page_table_entry *entry = entry_of(m, 1, address);
        if (entry && entry->swapped)
            expect_pattern(m, address, page, 4);
    }
    expect_size(m->num_swap_ins, 4, "pages read back from swap");
    expect_size(swap_slots_used(), 4,
                "swap slots held once all came back: each clean page's copy");
    for (size_t page = 0; page < written; page++) {
        addr32 address = at + (addr32)(page * PAGE_SIZE);
        if (page_present(m, 1, address))
            write_pattern(m, address, page, 5);
    }
    expect_size(swap_slots_used(), 0, "swap slots held once each was written");
    mmu_delete(m);
    expect_all_frames_free("after mmu_delete");
}

/* Fills the pool with anonymous pages; how many were written. */
static size_t fill_pool_with_anonymous(mmu *m, addr32 at) {
    size_t page = 0;
    while (kernel_frames_free() > 1)
        write_pattern(m, at + (addr32)(page * PAGE_SIZE), page, 5), page++;
    return page;
}

static void test_anon_failed_swap_write_keeps_the_page_and_evicts_another(
    void) {
    small_pool(NULL);
    char path[PATH_MAX];
    int fd = open_fixture_copy("pages.txt", O_RDONLY, path);
    unsigned char *pages = fixture_bytes("pages.txt");
    mmu *m = new_mmu_with_process(1);
    addr32 at = map_or_fail(m, 1, 0, 32 * PAGE_SIZE, RW, ANON_PRIVATE, -1, 0);
    addr32 file = map_or_fail(m, 1, 0, PAGE_SIZE, VM_PROT_READ, VM_MAP_SHARED,
                              fd, 0);
    size_t written = fill_pool_with_anonymous(m, at);
    expect_reads(m, 1, file, pages, 64, "read the file's page");
    expect_size(kernel_frames_free(), 0, "frames free with the pool full");
    io_fault_inject(&(io_fault){.write = true, .nth = 1, .error = EIO,
                                .times = IO_FAULT_UNTIL_CLEARED});
    write_pattern(m, at + (addr32)(written * PAGE_SIZE), written, 5);
    io_fault_clear();
    expect_size(m->num_swap_outs, 0, "pages swapped out with writes failing");
    expect_size(swap_slots_used(), 0, "swap slots held");
    expect_true(!page_present(m, 1, file),
                "the file's clean page was evicted instead");
    for (size_t page = 0; page <= written; page++) {
        addr32 address = at + (addr32)(page * PAGE_SIZE);
        expect_true(page_present(m, 1, address),
                    describe("anonymous page %zu stays resident", page));
        expect_pattern(m, address, page, 5);
    }
    write_pattern(m, at + (addr32)((written + 1) * PAGE_SIZE), written + 1, 5);
    expect_size(m->num_swap_outs, 1, "pages swapped out once writes work");
    mmu_delete(m);
    close(fd);
    free(pages);
    expect_all_frames_free("after mmu_delete");
}

/* ------------------------------------------------------------------ */
/* Slots freed                                                         */
/* ------------------------------------------------------------------ */

static void test_anon_unmapping_swapped_pages_frees_their_slots(void) {
    small_pool(NULL);
    mmu *m = new_mmu_with_process(1);
    addr32 at = map_or_fail(m, 1, 0, MANY_PAGES * PAGE_SIZE, RW, ANON_PRIVATE,
                            -1, 0);
    for (size_t page = 0; page < MANY_PAGES; page++)
        write_pattern(m, at + (addr32)(page * PAGE_SIZE), page, 6);
    expect_true(swap_slots_used() >= MANY_PAGES - 16,
                describe("slots held: at least %d, got %zu", MANY_PAGES - 16,
                         swap_slots_used()));
    expect_int(vm_munmap(m, 1, at, MANY_PAGES * PAGE_SIZE), 0, "vm_munmap");
    expect_size(swap_slots_used(), 0, "swap slots held after vm_munmap");
    mmu_delete(m);
    expect_all_frames_free("after mmu_delete");
}

static void test_anon_process_removal_frees_every_slot(void) {
    small_pool(NULL);
    mmu *m = new_mmu_with_process(1);
    vm_segmentation *segment =
        grow_testing_segment(m, 1, MANY_PAGES / 2, READ | WRITE, NULL);
    addr32 at = map_or_fail(m, 1, 0, MANY_PAGES / 2 * PAGE_SIZE, RW,
                            ANON_PRIVATE, -1, 0);
    for (size_t page = 0; page < MANY_PAGES / 2; page++) {
        write_pattern(m, segment->start + (addr32)(page * PAGE_SIZE), page, 7);
        write_pattern(m, at + (addr32)(page * PAGE_SIZE), page, 8);
    }
    expect_true(swap_slots_used() >= MANY_PAGES - 16,
                describe("slots held: at least %d, got %zu", MANY_PAGES - 16,
                         swap_slots_used()));
    expect_int(mmu_remove_process(m, 1), 0, "mmu_remove_process");
    expect_size(swap_slots_used(), 0, "swap slots held after the process");
    expect_all_frames_free("after mmu_remove_process");
    mmu_delete(m);
}

/*
 * A page read back from swap and not written since keeps its slot as its
 * copy: evicted again, it goes back to that slot with no write.
 */
static void test_anon_clean_page_back_from_swap_is_not_written_again(void) {
    small_pool(NULL);
    mmu *m = new_mmu_with_process(1);
    addr32 at = map_or_fail(m, 1, 0, MANY_PAGES * PAGE_SIZE, RW, ANON_PRIVATE,
                            -1, 0);
    write_and_read_back(m, at, MANY_PAGES, 2);
    size_t outs = m->num_swap_outs, ins = m->num_swap_ins;
    for (size_t page = 0; page < MANY_PAGES; page++)
        expect_pattern(m, at + (addr32)(page * PAGE_SIZE), page, 2);
    expect_true(m->num_swap_ins > ins,
                describe("pages read back again: %zu", m->num_swap_ins - ins));
    expect_size(m->num_swap_outs, outs,
                "swap-outs while only reading pages whose copies are valid");
    mmu_delete(m);
    expect_size(swap_slots_used(), 0, "swap slots held after mmu_delete");
    expect_all_frames_free("after mmu_delete");
}

/*
 * A write to a page back from swap drops its copy (its entry was
 * read-only for that), so the next eviction writes the new bytes.
 */
static void test_anon_write_to_a_page_back_from_swap_is_written_again(void) {
    small_pool(NULL);
    mmu *m = new_mmu_with_process(1);
    addr32 at = map_or_fail(m, 1, 0, MANY_PAGES * PAGE_SIZE, RW, ANON_PRIVATE,
                            -1, 0);
    write_and_read_back(m, at, MANY_PAGES, 3);
    for (size_t page = 0; page < MANY_PAGES; page++)
        write_pattern(m, at + (addr32)(page * PAGE_SIZE), page, 4);
    for (int round = 0; round < 2; round++)
        for (size_t page = 0; page < MANY_PAGES; page++)
            expect_pattern(m, at + (addr32)(page * PAGE_SIZE), page, 4);
    mmu_delete(m);
    expect_size(swap_slots_used(), 0, "swap slots held after mmu_delete");
    expect_all_frames_free("after mmu_delete");
}

/* ------------------------------------------------------------------ */
/* Trace                                                               */
/* ------------------------------------------------------------------ */

typedef struct {
    size_t evictions, written_evictions, swap_faults, swap_outs, swap_ins;
} swap_events;

static void count_swap_events(const trace_record *r, void *context) {
    swap_events *seen = context;
    seen->evictions += r->event == TRACE_EVICTION;
    seen->written_evictions += r->event == TRACE_EVICTION && r->dirty;
    seen->swap_faults +=
        r->event == TRACE_PAGE_FAULT && r->fault == TRACE_FAULT_SWAP;
    seen->swap_outs += r->event == TRACE_SWAP_OUT;
    seen->swap_ins += r->event == TRACE_SWAP_IN;
}

static void test_anon_trace_tells_evictions_and_swap_in_faults(void) {
    small_pool(NULL);
    swap_events seen = {0};
    mmu *m = new_mmu_with_process(1);
    addr32 at = map_or_fail(m, 1, 0, MANY_PAGES * PAGE_SIZE, RW, ANON_PRIVATE,
                            -1, 0);
    trace_set_hook(count_swap_events, &seen);
    write_and_read_back(m, at, MANY_PAGES, 9);
    trace_set_hook(NULL, NULL);
    expect_size(seen.swap_outs, m->num_swap_outs, "swap-outs traced");
    expect_size(seen.written_evictions, m->num_swap_outs,
                "evictions traced as written (every one a swap-out)");
    expect_true(seen.evictions > seen.written_evictions,
                describe("evictions of clean pages back from swap traced "
                         "as not written: %zu of %zu evictions",
                         seen.evictions - seen.written_evictions,
                         seen.evictions));
    expect_size(seen.swap_ins, m->num_swap_ins, "swap-ins traced");
    expect_size(seen.swap_faults, m->num_swap_ins, "swap-in faults traced");
    mmu_delete(m);
    expect_all_frames_free("after mmu_delete");
}

static const test_case anon_tests[] = {
    TEST(anon_private_mapping_four_times_the_pool_reads_back),
    TEST(anon_demand_zero_segment_four_times_the_pool_reads_back),
    TEST(anon_private_copies_of_file_pages_swap_and_read_back),
    TEST(anon_full_swap_is_enomem_at_the_fault_and_loses_nothing),
    TEST(anon_clean_page_back_from_swap_is_not_written_again),
    TEST(anon_write_to_a_page_back_from_swap_is_written_again),
    TEST(anon_failed_swap_write_keeps_the_page_and_evicts_another),
    TEST(anon_unmapping_swapped_pages_frees_their_slots),
    TEST(anon_process_removal_frees_every_slot),
    TEST(anon_trace_tells_evictions_and_swap_in_faults),
};

const test_suite anon_suite = {"anon", anon_tests,
                               sizeof anon_tests / sizeof anon_tests[0]};
