/*
 * tests/mmu_tests.c: mmu.h, every access through the segments, the TLB and
 * the page walk, page faults through a pager, write-back and eviction.
 */
#include "helpers.h"

#include "swap.h"

#include <stdlib.h>

/* Byte `i` of page `page` of pattern `salt`. */
static unsigned char want_pattern_byte(size_t page, unsigned salt, size_t i) {
    unsigned char bytes[PAGE_SIZE];

    fill_pattern(bytes, page, salt);
    return bytes[i];
}

/* A backing store the tests control, to watch the MMU's pager calls. */
#define FAKE_PAGER_PAGES 32

typedef struct {
    pager base; /* first: the MMU hands us &base */
    unsigned char store[FAKE_PAGER_PAGES][PAGE_SIZE];
    size_t page_ins[FAKE_PAGER_PAGES];  /* pages brought in, per page */
    size_t page_outs[FAKE_PAGER_PAGES]; /* saves, per page, failed or not */
    size_t total_page_ins;              /* pages, all calls together */
    size_t total_page_outs;
    size_t page_in_calls; /* calls, each for a run of pages */
    size_t page_out_calls;
    bool page_out_fails[FAKE_PAGER_PAGES];
} fake_pager;

static fake_pager the_pager; /* 128 KiB: static, not on the stack */

static void check_fake_run(size_t page, size_t count, const char *what) {
    if (count == 0 || page >= FAKE_PAGER_PAGES ||
        count > FAKE_PAGER_PAGES - page)
        fail(__FILE__, __LINE__, "%s called for %zu pages from %zu, of %d",
             what, count, page, FAKE_PAGER_PAGES);
}

static int fake_page_in(pager *base, size_t page, void *const frames[],
                        size_t count) {
    fake_pager *this = (fake_pager *)base;
    size_t i;

    check_fake_run(page, count, "page_in");
    this->page_in_calls++;
    for (i = 0; i < count; i++) {
        this->page_ins[page + i]++;
        this->total_page_ins++;
        memcpy(frames[i], this->store[page + i], PAGE_SIZE);
    }
    return 0;
}

/* A run with a failing page fails whole, and saves nothing. */
static int fake_page_out(pager *base, size_t page, const void *const frames[],
                         size_t count) {
    fake_pager *this = (fake_pager *)base;
    size_t i;

    check_fake_run(page, count, "page_out");
    this->page_out_calls++;
    for (i = 0; i < count; i++) {
        this->page_outs[page + i]++;
        this->total_page_outs++;
    }
    for (i = 0; i < count; i++) {
        if (this->page_out_fails[page + i]) {
            errno = EIO;
            return -1;
        }
    }
    for (i = 0; i < count; i++)
        memcpy(this->store[page + i], frames[i], PAGE_SIZE);
    return 0;
}

/* A store whose page p holds pattern (p, salt). */
static pager *fake_pager_init(unsigned salt) {
    size_t page;

    memset(&the_pager, 0, sizeof the_pager);
    the_pager.base.page_in = fake_page_in;
    the_pager.base.page_out = fake_page_out;
    for (page = 0; page < FAKE_PAGER_PAGES; page++)
        fill_pattern(the_pager.store[page], page, salt);
    return &the_pager.base;
}

static void test_mmu_add_process_gives_a_directory_and_remove_frees_it(void) {
    size_t total = kernel_frames_total(), free_before;
    mmu *m = mmu_create();

    expect_not_null(m, "mmu_create()");
    expect_not_null(m->tlb, "the MMU's TLB");
    expect_size(m->num_page_faults, 0, "page faults of a new MMU");
    expect_size(m->num_segmentation_faults, 0, "segfaults of a new MMU");
    expect_size(m->num_tlb_misses, 0, "TLB misses of a new MMU");
    expect_null(m->page_directories[7], "directory of pid 7 before adding");
    free_before = kernel_frames_free();

    expect_int(mmu_add_process(m, 7), 0, "mmu_add_process(m, 7)");
    expect_not_null(m->page_directories[7], "directory of pid 7");
    expect_not_null(m->segmentations[7], "segments of pid 7");
    expect_hex(m->segmentations[7]->segments[MMAP].start, MMAP_REGION_START,
               "MMAP start of pid 7");
    expect_size(free_before - kernel_frames_free(), 1,
                "frames taken by a new process (its directory)");

    expect_int(mmu_remove_process(m, 7), 0, "mmu_remove_process(m, 7)");
    expect_null(m->page_directories[7], "directory of pid 7 after removal");
    expect_null(m->segmentations[7], "segments of pid 7 after removal");
    expect_size(kernel_frames_free(), free_before, "free frames after removal");
    expect_int(mmu_remove_process(m, 7), 0, "removing a pid with no process");
    mmu_delete(m);
    mmu_delete(NULL);
    expect_size(kernel_frames_free(), total, "free frames after mmu_delete");
}

static void test_mmu_add_process_rejects_bad_pid_and_duplicate(void) {
    mmu *m = mmu_create();
    page_directory *directory;

    expect_not_null(m, "mmu_create()");
    errno = 0;
    expect_int(mmu_add_process(m, MAX_PROCESS_ID), -1,
               "mmu_add_process(MAX_PROCESS_ID)");
    expect_errno(errno, EINVAL, "mmu_add_process(MAX_PROCESS_ID)");
    errno = 0;
    expect_int(mmu_add_process(m, SIZE_MAX), -1, "mmu_add_process(SIZE_MAX)");
    expect_errno(errno, EINVAL, "mmu_add_process(SIZE_MAX)");

    expect_int(mmu_add_process(m, 0), 0, "mmu_add_process(0)");
    expect_int(mmu_add_process(m, MAX_PROCESS_ID - 1), 0,
               "mmu_add_process(MAX_PROCESS_ID - 1)");
    directory = m->page_directories[0];
    errno = 0;
    expect_int(mmu_add_process(m, 0), -1, "mmu_add_process(0) again");
    expect_errno(errno, EEXIST, "mmu_add_process(0) again");
    expect_ptr(m->page_directories[0], directory,
               "directory of pid 0 after the duplicate was refused");
    mmu_delete(m);
    expect_all_frames_free("after mmu_delete");
}

static void
test_mmu_access_fails_with_einval_for_no_process_or_null_buffer(void) {
    mmu *m = new_mmu_with_process(1);
    vm_segmentation *segment =
        grow_testing_segment(m, 1, 1, READ | WRITE, NULL);
    char buffer[4] = "abc";

    errno = 0;
    expect_size(read_virtual(m, 2, segment->start, buffer, 4), 0,
                "read by pid 2, which does not exist");
    expect_errno(errno, EINVAL, "read by pid 2");
    errno = 0;
    expect_size(write_virtual(m, MAX_PROCESS_ID, segment->start, buffer, 4), 0,
                "write by pid MAX_PROCESS_ID");
    expect_errno(errno, EINVAL, "write by pid MAX_PROCESS_ID");
    errno = 0;
    expect_size(read_virtual(m, 1, segment->start, NULL, 4), 0,
                "read into a NULL buffer");
    expect_errno(errno, EINVAL, "read into a NULL buffer");
    errno = 0;
    expect_size(write_virtual(m, 1, segment->start, NULL, 4), 0,
                "write from a NULL buffer");
    expect_errno(errno, EINVAL, "write from a NULL buffer");
    expect_size(m->num_page_faults, 0, "page faults");
    mmu_delete(m);
}

static void test_mmu_demand_zero_page_reads_zeros_even_from_a_used_frame(void) {
    unsigned char buffer[2 * PAGE_SIZE];
    vm_segmentation *segment;
    mmu *m;

    setenv("MMAP_FRAMES", "16", 1);
    dirty_every_frame();
    m = new_mmu_with_process(1);
    segment = grow_testing_segment(m, 1, 2, READ | WRITE, NULL);
    memset(buffer, 0xAA, sizeof buffer);
    expect_size(read_virtual(m, 1, segment->start, buffer, sizeof buffer),
                sizeof buffer, "bytes read from two fresh pages");
    expect_all_bytes(buffer, 0, sizeof buffer, "two demand-zero pages");
    expect_size(m->num_page_faults, 2, "page faults");
    mmu_delete(m);
}

static void test_mmu_write_then_read_back_across_a_page_boundary(void) {
    mmu *m = new_mmu_with_process(1);
    vm_segmentation *segment =
        grow_testing_segment(m, 1, 2, READ | WRITE, NULL);
    unsigned char data[100], got[100], whole[2 * PAGE_SIZE];
    addr32 address = segment->start + PAGE_SIZE - 50;
    size_t i;

    for (i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i + 1);
    expect_size(write_virtual(m, 1, address, data, sizeof data), sizeof data,
                "bytes written across the page boundary");
    memset(got, 0, sizeof got);
    expect_size(read_virtual(m, 1, address, got, sizeof got), sizeof got,
                "bytes read back");
    expect_bytes(got, data, sizeof data, "bytes read back");

    expect_size(read_virtual(m, 1, segment->start, whole, sizeof whole),
                sizeof whole, "bytes read of both pages");
    expect_all_bytes(whole, 0, PAGE_SIZE - 50, "bytes before the write");
    expect_bytes(whole + PAGE_SIZE - 50, data, sizeof data,
                 "the write within both pages");
    expect_all_bytes(whole + PAGE_SIZE + 50, 0, PAGE_SIZE - 50,
                     "bytes after the write");
    mmu_delete(m);
}

static void test_mmu_counts_one_page_fault_per_page_brought_in(void) {
    mmu *m = new_mmu_with_process(1);
    vm_segmentation *segment =
        grow_testing_segment(m, 1, 3, READ | WRITE, NULL);
    static unsigned char buffer[3 * PAGE_SIZE];
    addr32 start = segment->start;

    expect_size(read_virtual(m, 1, start, buffer, 1), 1, "read page 0");
    expect_size(m->num_page_faults, 1, "page faults after touching page 0");
    expect_size(read_virtual(m, 1, start + 10, buffer, 1), 1, "reread page 0");
    expect_size(write_virtual(m, 1, start + 20, buffer, 1), 1, "write page 0");
    expect_size(m->num_page_faults, 1, "page faults after re-accessing page 0");
    expect_size(read_virtual(m, 1, start + PAGE_SIZE, buffer, 1), 1,
                "read page 1");
    expect_size(m->num_page_faults, 2, "page faults after touching page 1");
    expect_size(read_virtual(m, 1, start + PAGE_SIZE - 8, buffer, 16), 16,
                "read across pages 0 and 1");
    expect_size(m->num_page_faults, 2, "page faults after a span of 0 and 1");
    expect_size(read_virtual(m, 1, start, buffer, sizeof buffer), sizeof buffer,
                "read all three pages");
    expect_size(m->num_page_faults, 3, "page faults after reading page 2");
    expect_size(write_virtual(m, 1, start, buffer, sizeof buffer),
                sizeof buffer, "write all three pages");
    expect_size(m->num_page_faults, 3, "page faults after writing all three");
    mmu_delete(m);
}

static void test_mmu_counts_one_tlb_miss_per_translation_that_misses(void) {
    mmu *m = new_mmu_with_process(1);
    vm_segmentation *segment =
        grow_testing_segment(m, 1, TLB_SIZE + 4, READ | WRITE, NULL);
    addr32 start = segment->start;
    unsigned char byte[16];
    size_t page;

    expect_size(read_virtual(m, 1, start, byte, 1), 1, "read page 0");
    expect_size(m->num_tlb_misses, 1, "TLB misses after page 0");
    expect_size(read_virtual(m, 1, start + 1, byte, 1), 1, "reread page 0");
    expect_size(m->num_tlb_misses, 1, "TLB misses after rereading page 0");
    expect_size(read_virtual(m, 1, start + PAGE_SIZE, byte, 1), 1,
                "read page 1");
    expect_size(m->num_tlb_misses, 2, "TLB misses after page 1");
    expect_size(read_virtual(m, 1, start + PAGE_SIZE - 8, byte, 16), 16,
                "read across pages 0 and 1");
    expect_size(m->num_tlb_misses, 2, "TLB misses after a span of 0 and 1");

    /* Sixteen more pages push pages 0 and 1 out of the TLB. */
    for (page = 2; page < 2 + TLB_SIZE; page++)
        expect_size(
            read_virtual(m, 1, start + (addr32)page * PAGE_SIZE, byte, 1), 1,
            describe("read page %zu", page));
    expect_size(m->num_tlb_misses, 2 + TLB_SIZE, "TLB misses after 18 pages");
    expect_size(m->num_page_faults, 2 + TLB_SIZE, "page faults after 18 pages");
    expect_size(read_virtual(m, 1, start, byte, 1), 1, "read page 0 again");
    expect_size(m->num_tlb_misses, 3 + TLB_SIZE,
                "TLB misses after page 0 fell out of the TLB");
    expect_size(m->num_page_faults, 2 + TLB_SIZE,
                "page faults (page 0 is still present: a miss, no fault)");
    mmu_delete(m);
}

static void test_mmu_write_sets_dirty_and_every_access_sets_accessed(void) {
    mmu *m = new_mmu_with_process(1);
    vm_segmentation *segment =
        grow_testing_segment(m, 1, 2, READ | WRITE, NULL);
    addr32 page0 = segment->start, page1 = segment->start + PAGE_SIZE;
    page_table_entry *entry;
    unsigned char byte = 7;

    expect_size(read_virtual(m, 1, page0, &byte, 1), 1, "read page 0");
    expect_size(write_virtual(m, 1, page1, &byte, 1), 1, "write page 1");

    entry = entry_of(m, 1, page0);
    expect_not_null(entry, "entry of page 0");
    expect_int(entry->present, 1, "present bit of the read page");
    expect_int(entry->accessed, 1, "accessed bit of the read page");
    expect_int(entry->dirty, 0, "dirty bit of the read page");
    entry = entry_of(m, 1, page1);
    expect_not_null(entry, "entry of page 1");
    expect_int(entry->present, 1, "present bit of the written page");
    expect_int(entry->accessed, 1, "accessed bit of the written page");
    expect_int(entry->dirty, 1, "dirty bit of the written page");
    mmu_delete(m);
}

static void
test_mmu_access_outside_every_segment_is_efault_copying_nothing(void) {
    mmu *m = new_mmu_with_process(1);
    unsigned char buffer[16];

    memset(buffer, 0x5A, sizeof buffer);
    errno = 0;
    expect_size(read_virtual(m, 1, 0x00001000u, buffer, sizeof buffer), 0,
                "bytes read at 0x1000, outside every segment");
    expect_errno(errno, EFAULT, "read outside every segment");
    expect_size(m->num_segmentation_faults, 1, "segfaults after the read");
    expect_all_bytes(buffer, 0x5A, sizeof buffer, "buffer after the read");

    errno = 0;
    expect_size(write_virtual(m, 1, MMAP_REGION_START, buffer, sizeof buffer),
                0, "bytes written in the empty MMAP segment");
    expect_errno(errno, EFAULT, "write outside every segment");
    expect_size(m->num_segmentation_faults, 2, "segfaults after the write");
    expect_size(m->num_page_faults, 0, "page faults");
    expect_size(m->num_tlb_misses, 0, "TLB misses (segments come first)");
    mmu_delete(m);
}

/* Where the layout of segments.h starts the HEAP segment. */
#define HEAP_REGION_START ((addr32)0x10000000)

/*
 * A length that runs past 2^32 (or wraps a 64-bit sum) must be refused
 * whole, however large: the range check may not add it to the address.
 */
static void
test_mmu_access_of_any_length_past_the_address_space_is_efault_copying_nothing(
    void) {
    static const size_t lengths[] = {
        SIZE_MAX,                         /* wraps a 64-bit sum */
        SIZE_MAX - HEAP_REGION_START + 1, /* address + length wraps to 0 */
        (size_t)1 << 32,                  /* the whole 32-bit space */
        0xF0000001u,                      /* address + length is 2^32 + 1 */
    };
    static unsigned char buffer[2 * PAGE_SIZE], page[PAGE_SIZE];
    mmu *m = new_mmu_with_process(1);
    vm_segmentation *heap = &m->segmentations[1]->segments[HEAP];
    size_t i, faults;

    expect_int(grow_segment(heap, 1), 0, "grow_segment(HEAP, 1)");
    expect_hex(heap->start, HEAP_REGION_START, "HEAP start");
    expect_hex(heap->end, HEAP_REGION_START + PAGE_SIZE, "HEAP end");
    for (i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
        faults = m->num_segmentation_faults;
        memset(buffer, 0x5A, sizeof buffer);
        errno = 0;
        expect_size(read_virtual(m, 1, HEAP_REGION_START, buffer, lengths[i]),
                    0, describe("bytes read of length 0x%zx", lengths[i]));
        expect_errno(errno, EFAULT,
                     describe("read of length 0x%zx", lengths[i]));
        expect_size(m->num_segmentation_faults, faults + 1,
                    describe("segfaults after a read of length 0x%zx (one "
                             "more)",
                             lengths[i]));
        expect_all_bytes(
            buffer, 0x5A, sizeof buffer,
            describe("buffer after a read of length 0x%zx", lengths[i]));

        memset(buffer, 0xA5, sizeof buffer);
        errno = 0;
        expect_size(write_virtual(m, 1, HEAP_REGION_START, buffer, lengths[i]),
                    0, describe("bytes written of length 0x%zx", lengths[i]));
        expect_errno(errno, EFAULT,
                     describe("write of length 0x%zx", lengths[i]));
        expect_size(m->num_segmentation_faults, faults + 2,
                    describe("segfaults after a write of length 0x%zx (one "
                             "more)",
                             lengths[i]));
        expect_size(m->num_page_faults, 0,
                    describe("page faults after the accesses of length 0x%zx",
                             lengths[i]));
    }
    expect_size(m->num_tlb_misses, 0, "TLB misses (segments come first)");
    expect_size(read_virtual(m, 1, HEAP_REGION_START, page, PAGE_SIZE),
                PAGE_SIZE, "bytes read of the HEAP page");
    expect_all_bytes(page, 0, PAGE_SIZE,
                     "the HEAP page (no refused write reached it)");
    mmu_delete(m);
}

static void
test_mmu_write_to_read_only_segment_is_eacces_copying_nothing(void) {
    mmu *m = new_mmu_with_process(1);
    vm_segmentation *segment = grow_testing_segment(m, 1, 1, READ, NULL);
    unsigned char buffer[3] = {1, 2, 3};

    errno = 0;
    expect_size(write_virtual(m, 1, segment->start, "XYZ", 3), 0,
                "bytes written to a READ-only segment");
    expect_errno(errno, EACCES, "write to a READ-only segment");
    expect_size(m->num_segmentation_faults, 1, "segfaults after the write");
    expect_size(m->num_page_faults, 0, "page faults after the refused write");

    expect_size(read_virtual(m, 1, segment->start, buffer, 3), 3,
                "bytes read from the READ-only segment");
    expect_all_bytes(buffer, 0, 3, "the page the refused write did not touch");
    expect_size(m->num_segmentation_faults, 1, "segfaults after the read");
    mmu_delete(m);
}

static void test_mmu_read_of_segment_without_read_is_eacces(void) {
    mmu *m = new_mmu_with_process(1);
    vm_segmentation *segment = grow_testing_segment(m, 1, 1, WRITE, NULL);
    unsigned char buffer[4];

    memset(buffer, 0x5A, sizeof buffer);
    errno = 0;
    expect_size(read_virtual(m, 1, segment->start, buffer, 4), 0,
                "bytes read from a segment without READ");
    expect_errno(errno, EACCES, "read from a segment without READ");
    expect_size(m->num_segmentation_faults, 1, "segfaults");
    expect_all_bytes(buffer, 0x5A, 4, "buffer after the refused read");
    expect_size(write_virtual(m, 1, segment->start, "abcd", 4), 4,
                "bytes written to the WRITE-only segment");
    mmu_delete(m);
}

static void test_mmu_range_crossing_out_of_its_segment_copies_nothing(void) {
    mmu *m = new_mmu_with_process(1);
    vm_segmentation *segment =
        grow_testing_segment(m, 1, 1, READ | WRITE, NULL);
    unsigned char data[200], page[PAGE_SIZE], buffer[200];

    memset(data, 0x77, sizeof data);
    errno = 0;
    expect_size(write_virtual(m, 1, segment->end - 100, data, sizeof data), 0,
                "bytes written by a write running 100 bytes past the segment");
    expect_errno(errno, EFAULT, "write running past the segment");
    expect_size(m->num_segmentation_faults, 1, "segfaults after the write");
    expect_size(read_virtual(m, 1, segment->start, page, PAGE_SIZE), PAGE_SIZE,
                "bytes read of the whole segment");
    expect_all_bytes(page, 0, PAGE_SIZE,
                     "the segment (not even its first 100 bytes were written)");

    memset(buffer, 0x5A, sizeof buffer);
    errno = 0;
    expect_size(read_virtual(m, 1, segment->end - 100, buffer, sizeof buffer),
                0, "bytes read by a read running past the segment");
    expect_errno(errno, EFAULT, "read running past the segment");
    expect_size(m->num_segmentation_faults, 2, "segfaults after the read");
    expect_all_bytes(buffer, 0x5A, sizeof buffer, "buffer after the read");
    mmu_delete(m);
}

static void test_mmu_pid_switch_flushes_the_tlb(void) {
    mmu *m = new_mmu_with_process(1);
    vm_segmentation *segment1, *segment2;
    unsigned char byte;

    expect_int(mmu_add_process(m, 2), 0, "mmu_add_process(m, 2)");
    segment1 = grow_testing_segment(m, 1, 1, READ | WRITE, NULL);
    segment2 = grow_testing_segment(m, 2, 1, READ | WRITE, NULL);

    expect_size(read_virtual(m, 1, segment1->start, &byte, 1), 1, "pid 1 read");
    expect_size(m->num_tlb_misses, 1, "TLB misses after pid 1's first read");
    expect_size(read_virtual(m, 1, segment1->start, &byte, 1), 1, "pid 1 read");
    expect_size(m->num_tlb_misses, 1, "TLB misses after pid 1 reread");
    expect_size(m->curr_pid, 1, "curr_pid after pid 1's reads");
    expect_size(read_virtual(m, 2, segment2->start, &byte, 1), 1, "pid 2 read");
    expect_size(m->num_tlb_misses, 2, "TLB misses after pid 2's read");
    expect_size(m->curr_pid, 2, "curr_pid after pid 2's read");
    expect_size(read_virtual(m, 1, segment1->start, &byte, 1), 1,
                "pid 1 read after pid 2");
    expect_size(m->num_tlb_misses, 3,
                "TLB misses after switching back to pid 1 (TLB flushed)");
    expect_size(m->num_page_faults, 2, "page faults (no page was lost)");
    mmu_delete(m);
}

static void test_mmu_processes_have_separate_address_spaces(void) {
    mmu *m = new_mmu_with_process(1);
    vm_segmentation *segment1, *segment2;
    char got[5] = "";
    page_table_entry *entry1, *entry2;

    expect_int(mmu_add_process(m, 2), 0, "mmu_add_process(m, 2)");
    segment1 = grow_testing_segment(m, 1, 1, READ | WRITE, NULL);
    segment2 = grow_testing_segment(m, 2, 1, READ | WRITE, NULL);
    expect_hex(segment1->start, segment2->start,
               "both TESTING segments start at the same address");

    expect_size(write_virtual(m, 1, segment1->start, "AAAA", 4), 4, "pid 1");
    expect_size(write_virtual(m, 2, segment2->start, "BBBB", 4), 4, "pid 2");
    expect_size(read_virtual(m, 1, segment1->start, got, 4), 4, "pid 1 read");
    expect_bytes(got, "AAAA", 4, "pid 1's bytes");
    expect_size(read_virtual(m, 2, segment2->start, got, 4), 4, "pid 2 read");
    expect_bytes(got, "BBBB", 4, "pid 2's bytes");

    entry1 = entry_of(m, 1, segment1->start);
    entry2 = entry_of(m, 2, segment2->start);
    expect_true(entry1 && entry2 && entry1 != entry2,
                "each process has its own page-table entry");
    expect_true(entry1->base_addr != entry2->base_addr,
                "each process has its own frame");
    mmu_delete(m);
}

static void test_mmu_remove_process_keeps_the_other_process_intact(void) {
    mmu *m = new_mmu_with_process(1);
    vm_segmentation *segment1, *segment2;
    size_t free_before;
    char got[4];

    expect_int(mmu_add_process(m, 2), 0, "mmu_add_process(m, 2)");
    segment1 = grow_testing_segment(m, 1, 1, READ | WRITE, NULL);
    segment2 = grow_testing_segment(m, 2, 1, READ | WRITE, NULL);
    expect_size(write_virtual(m, 1, segment1->start, "one", 4), 4, "pid 1");
    expect_size(write_virtual(m, 2, segment2->start, "two", 4), 4, "pid 2");
    free_before = kernel_frames_free();

    expect_int(mmu_remove_process(m, 1), 0, "mmu_remove_process(m, 1)");
    expect_size(kernel_frames_free() - free_before, 3,
                "frames pid 1 gave back (directory, table, page)");
    expect_size(read_virtual(m, 2, segment2->start, got, 4), 4, "pid 2 read");
    expect_bytes(got, "two", 4, "pid 2's bytes");
    errno = 0;
    expect_size(read_virtual(m, 1, MMAP_REGION_START, got, 4), 0,
                "read by the removed pid 1");
    expect_errno(errno, EINVAL, "read by the removed pid 1");
    mmu_delete(m);
}

static void test_mmu_delete_returns_every_frame_to_the_pool(void) {
    mmu *m = new_mmu_with_process(1);
    vm_segmentation *segment1, *segment2;
    static unsigned char data[4 * PAGE_SIZE];

    expect_int(mmu_add_process(m, 2), 0, "mmu_add_process(m, 2)");
    segment1 = grow_testing_segment(m, 1, 4, READ | WRITE, NULL);
    segment2 = grow_testing_segment(m, 2, 2, READ | WRITE, NULL);
    memset(data, 0x42, sizeof data);
    expect_size(write_virtual(m, 1, segment1->start, data, 4 * PAGE_SIZE),
                4 * PAGE_SIZE, "pid 1 writes 4 pages");
    expect_size(write_virtual(m, 2, segment2->start, data, 2 * PAGE_SIZE),
                2 * PAGE_SIZE, "pid 2 writes 2 pages");
    expect_true(kernel_frames_free() < kernel_frames_total(),
                "frames are in use before mmu_delete");
    mmu_delete(m);
    expect_all_frames_free("after mmu_delete");
}

/*
 * Demand-zero pages were pinned until swap came, and this test specified
 * that a pool full of them refused the next with ENOMEM. They now go to
 * swap; a pool full of them refuses the next only once swap is full too.
 */
static void
test_mmu_demand_zero_pages_go_to_swap_and_full_swap_is_enomem(void) {
    mmu *m;
    vm_segmentation *segment;
    size_t page, written, swapped = 0;
    unsigned char byte;

    setenv("MMAP_FRAMES", "8", 1);
    setenv("MMAP_SWAP_PAGES", "1", 1);
    m = new_mmu_with_process(1);
    segment = grow_testing_segment(m, 1, 16, READ | WRITE, NULL);

    for (page = 0; page < 16; page++) {
        byte = (unsigned char)page;
        errno = 0;
        written = write_virtual(m, 1,
                                segment->start + (addr32)page * PAGE_SIZE,
                                &byte, 1);
        if (written != 1)
            break;
    }
    expect_errno(errno, ENOMEM, "write with every frame taken, swap full");
    expect_size(m->num_swap_outs, 1, "pages sent to the one slot of swap");
    expect_size(page, kernel_frames_total() - 2 + 1,
                "pages written: every frame but directory and table, and "
                "one in swap");
    for (size_t i = 0; i < page; i++) {
        addr32 address = segment->start + (addr32)i * PAGE_SIZE;
        if (!page_present(m, 1, address)) {
            swapped++;
            continue;
        }
        expect_size(read_virtual(m, 1, address, &byte, 1), 1,
                    describe("reread page %zu", i));
        expect_size(byte, i & 0xFF, describe("byte of page %zu", i));
    }
    expect_size(swapped, 1, "pages not present (in swap)");
    mmu_delete(m);
    expect_all_frames_free("after mmu_delete");
    expect_size(swap_slots_used(), 0, "swap slots held after mmu_delete");
}

static void test_mmu_pager_fills_a_page_once_per_fault_with_its_index(void) {
    mmu *m = new_mmu_with_process(1);
    vm_segmentation *segment =
        grow_testing_segment(m, 1, 4, READ | WRITE, fake_pager_init(1));
    unsigned char got[PAGE_SIZE], want[PAGE_SIZE];

    expect_size(
        read_virtual(m, 1, segment->start + 2 * PAGE_SIZE, got, PAGE_SIZE),
        PAGE_SIZE, "read page 2");
    expect_size(the_pager.page_ins[2], 1, "page_in calls for page 2");
    expect_size(the_pager.total_page_ins, 1, "page_in calls in all");
    expect_bytes(got, the_pager.store[2], PAGE_SIZE, "page 2 as paged in");

    expect_size(read_virtual(m, 1, segment->start + 2 * PAGE_SIZE + 5, got, 9),
                9, "reread page 2");
    expect_size(the_pager.total_page_ins, 1, "page_in calls after a reread");

    expect_size(read_virtual(m, 1, segment->start, got, 1), 1, "read page 0");
    expect_size(the_pager.page_ins[0], 1, "page_in calls for page 0");

    /* A write to a page not yet present pages it in first. */
    expect_size(
        write_virtual(m, 1, segment->start + 3 * PAGE_SIZE + 10, "new", 3), 3,
        "write into page 3");
    expect_size(the_pager.page_ins[3], 1, "page_in calls for page 3");
    expect_size(
        read_virtual(m, 1, segment->start + 3 * PAGE_SIZE, got, PAGE_SIZE),
        PAGE_SIZE, "read page 3");
    memcpy(want, the_pager.store[3], PAGE_SIZE);
    memcpy(want + 10, "new", 3);
    expect_bytes(got, want, PAGE_SIZE, "page 3: its store bytes and the write");
    expect_size(the_pager.page_ins[1], 0, "page_in calls for untouched page 1");
    expect_size(the_pager.total_page_ins, 3, "page_in calls in all");
    expect_size(m->num_page_faults, 3, "page faults");
    expect_size(the_pager.total_page_outs, 0, "page_out calls (no sync yet)");
    mmu_delete(m);
}

static void test_mmu_sync_pages_out_only_dirty_pages_and_clears_dirty(void) {
    mmu *m = new_mmu_with_process(1);
    vm_segmentation *segment =
        grow_testing_segment(m, 1, 4, READ | WRITE, fake_pager_init(1));
    static unsigned char all[4 * PAGE_SIZE];
    unsigned char want[PAGE_SIZE];
    addr32 start = segment->start;

    expect_size(read_virtual(m, 1, start, all, sizeof all), sizeof all,
                "read all 4 pages");
    expect_size(write_virtual(m, 1, start + PAGE_SIZE + 100, "0123456789", 10),
                10, "write into page 1");
    expect_size(write_virtual(m, 1, start + 3 * PAGE_SIZE, "3", 1), 1,
                "write into page 3");

    /* A range holding only page 1 writes only page 1. */
    expect_int(mmu_sync(m, 1, start + PAGE_SIZE, start + 2 * PAGE_SIZE), 0,
               "mmu_sync of page 1 only");
    expect_size(the_pager.page_outs[1], 1, "page_out calls for page 1");
    expect_size(the_pager.page_outs[3], 0,
                "page_out calls for page 3 (outside the range)");
    expect_true(!page_dirty(m, 1, start + PAGE_SIZE), "page 1 clean");
    expect_true(page_dirty(m, 1, start + 3 * PAGE_SIZE), "page 3 still dirty");

    expect_int(mmu_sync(m, 1, segment->start, segment->end), 0,
               "mmu_sync of the segment");
    expect_size(the_pager.page_outs[0], 0, "page_out calls for clean page 0");
    expect_size(the_pager.page_outs[1], 1, "page_out calls for page 1");
    expect_size(the_pager.page_outs[2], 0, "page_out calls for clean page 2");
    expect_size(the_pager.page_outs[3], 1, "page_out calls for page 3");
    expect_true(!page_dirty(m, 1, start + 3 * PAGE_SIZE), "page 3 clean");
    expect_true(page_present(m, 1, start + 3 * PAGE_SIZE),
                "page 3 still present after the sync");

    fill_pattern(want, 1, 1);
    memcpy(want + 100, "0123456789", 10);
    expect_bytes(the_pager.store[1], want, PAGE_SIZE, "page 1 in the store");

    expect_int(mmu_sync(m, 1, segment->start, segment->end), 0,
               "mmu_sync with nothing dirty");
    expect_size(the_pager.total_page_outs, 2,
                "page_out calls after a sync with nothing dirty");
    expect_size(m->num_page_faults, 4, "page faults (pages stayed resident)");
    mmu_delete(m);
}

static void test_mmu_sync_failing_page_out_keeps_page_dirty_and_is_eio(void) {
    mmu *m = new_mmu_with_process(1);
    vm_segmentation *segment =
        grow_testing_segment(m, 1, 4, READ | WRITE, fake_pager_init(1));
    addr32 start = segment->start;
    unsigned char want[PAGE_SIZE];

    expect_size(write_virtual(m, 1, start, "zero", 4), 4, "write page 0");
    expect_size(write_virtual(m, 1, start + 2 * PAGE_SIZE, "two", 3), 3,
                "write page 2");
    the_pager.page_out_fails[0] = true;

    errno = 0;
    expect_int(mmu_sync(m, 1, segment->start, segment->end), -1,
               "mmu_sync with a failing page_out");
    expect_errno(errno, EIO, "mmu_sync with a failing page_out");
    expect_true(page_dirty(m, 1, start), "page 0 (failed) still dirty");
    expect_true(!page_dirty(m, 1, start + 2 * PAGE_SIZE),
                "page 2 (written all the same) clean");
    fill_pattern(want, 2, 1);
    memcpy(want, "two", 3);
    expect_bytes(the_pager.store[2], want, PAGE_SIZE, "page 2 in the store");

    the_pager.page_out_fails[0] = false;
    expect_int(mmu_sync(m, 1, segment->start, segment->end), 0,
               "mmu_sync once page_out works");
    expect_true(!page_dirty(m, 1, start), "page 0 clean");
    expect_size(the_pager.page_outs[0], 2, "page_out calls for page 0");
    expect_size(the_pager.page_outs[2], 1,
                "page_out calls for page 2 (not written again)");
    fill_pattern(want, 0, 1);
    memcpy(want, "zero", 4);
    expect_bytes(the_pager.store[0], want, PAGE_SIZE, "page 0 in the store");
    mmu_delete(m);
}

static void
test_mmu_sequential_fault_reads_ahead_but_counts_each_page_at_its_touch(void) {
    mmu *m = new_mmu_with_process(1);
    vm_segmentation *segment =
        grow_testing_segment(m, 1, 32, READ | WRITE, fake_pager_init(3));
    unsigned char got[PAGE_SIZE], byte;
    size_t misses;

    /* A first fault with nothing resident before it reads one page. */
    expect_size(read_virtual(m, 1, segment->start, &byte, 1), 1, "read page 0");
    expect_size(the_pager.page_in_calls, 1, "page_in calls after page 0");
    expect_size(the_pager.total_page_ins, 1, "pages in after page 0");

    /* The next page follows a resident one: the rest comes in one call. */
    expect_size(read_virtual(m, 1, segment->start + PAGE_SIZE, &byte, 1), 1,
                "read page 1");
    expect_size(the_pager.page_in_calls, 2, "page_in calls after page 1");
    expect_size(the_pager.total_page_ins, 32, "pages in after page 1");
    expect_size(m->num_page_faults, 2, "faults: only the pages touched");
    expect_true(!page_present(m, 1, segment->start + 2 * PAGE_SIZE),
                "page 2, read ahead, is not mapped before its touch");
    expect_true(entry_of(m, 1, segment->start + 2 * PAGE_SIZE)->cached,
                "page 2 is cached");

    /* Its first touch is a fault that reads nothing and takes no frame. */
    trace_log_clear();
    trace_set_hook(record_event, NULL);
    misses = m->num_tlb_misses;
    expect_size(
        read_virtual(m, 1, segment->start + 2 * PAGE_SIZE, got, PAGE_SIZE),
        PAGE_SIZE, "read page 2");
    trace_set_hook(NULL, NULL);
    expect_size(m->num_page_faults, 3, "faults after touching page 2");
    expect_size(m->num_tlb_misses, misses + 1, "TLB misses for page 2");
    expect_size(trace_log.per_event[TRACE_PAGE_FAULT], 1,
                "fault events for page 2");
    expect_size(trace_log.per_event[TRACE_FRAME_GIVEN], 0,
                "frames given for page 2");
    expect_size(the_pager.page_in_calls, 2, "page_in calls after page 2");
    expect_bytes(got, the_pager.store[2], PAGE_SIZE, "page 2 as read ahead");
    expect_true(page_present(m, 1, segment->start + 2 * PAGE_SIZE),
                "page 2 mapped after its touch");
    expect_size(kernel_frames_total() - kernel_frames_free(), 2 + 32,
                "frames in use: directory, table and the 32 pages");
    expect_int(mmu_remove_process(m, 1), 0, "mmu_remove_process");
    expect_all_frames_free("after removing a process with cached pages");
    mmu_delete(m);
}

static void test_mmu_random_faults_read_only_the_pages_they_touch(void) {
    mmu *m = new_mmu_with_process(1);
    vm_segmentation *segment =
        grow_testing_segment(m, 1, 32, READ | WRITE, fake_pager_init(3));
    unsigned char byte;
    size_t page, i;

    /* Downwards, every fourth page: no page follows a resident one. */
    for (i = 0; i < 8; i++) {
        page = 30 - 4 * i;
        expect_size(
            read_virtual(m, 1, segment->start + page * PAGE_SIZE, &byte, 1), 1,
            describe("read page %zu", page));
    }
    expect_size(the_pager.total_page_ins, 8, "pages in: the 8 touched");
    expect_size(m->num_page_faults, 8, "faults");
    mmu_delete(m);
}

static void
test_mmu_write_covering_whole_pages_reads_only_the_partial_ends(void) {
    mmu *m = new_mmu_with_process(1);
    vm_segmentation *segment =
        grow_testing_segment(m, 1, 8, READ | WRITE, fake_pager_init(5));
    static unsigned char bytes[3 * PAGE_SIZE], got[5 * PAGE_SIZE];
    unsigned char want[PAGE_SIZE];
    addr32 from = segment->start + PAGE_SIZE + 100; /* inside page 1 */
    size_t page;

    memset(bytes, 0xA5, sizeof bytes); /* to inside page 4 */
    expect_size(write_virtual(m, 1, from, bytes, sizeof bytes), sizeof bytes,
                "write from page 1 into page 4");
    expect_size(the_pager.page_ins[1], 1, "page 1 (partly written) read");
    expect_size(the_pager.page_ins[2], 0, "page 2 (written whole) not read");
    expect_size(the_pager.page_ins[3], 0, "page 3 (written whole) not read");
    expect_size(the_pager.page_ins[4], 1, "page 4 (partly written) read");
    expect_size(the_pager.page_ins[5], 0, "page 5 (past the write) not read");
    expect_size(m->num_page_faults, 4, "faults: pages 1 to 4");

    expect_size(read_virtual(m, 1, segment->start, got, sizeof got), sizeof got,
                "read pages 0 to 4");
    for (page = 0; page < 5; page++) {
        fill_pattern(want, page, 5);
        if (page >= 1) {
            size_t lo = page == 1 ? 100 : 0;
            size_t hi = page == 4 ? 100 : PAGE_SIZE;
            memset(want + lo, 0xA5, hi - lo);
        }
        expect_bytes(got + page * PAGE_SIZE, want, PAGE_SIZE,
                     describe("page %zu after the write", page));
    }
    mmu_delete(m);
}

static void test_mmu_sync_writes_neighbouring_dirty_pages_in_one_call(void) {
    mmu *m = new_mmu_with_process(1);
    vm_segmentation *segment =
        grow_testing_segment(m, 1, 8, READ | WRITE, fake_pager_init(1));
    addr32 start = segment->start;
    size_t page;

    for (page = 0; page < 8; page++) {
        if (page == 3 || page == 4)
            continue;
        expect_size(write_virtual(m, 1, start + page * PAGE_SIZE + 7, "x", 1),
                    1, describe("write page %zu", page));
    }
    expect_int(mmu_sync(m, 1, segment->start, segment->end), 0, "mmu_sync");
    expect_size(the_pager.page_out_calls, 2,
                "page_out calls: pages 0-2, then 5-7");
    for (page = 0; page < 8; page++) {
        expect_size(the_pager.page_outs[page], page == 3 || page == 4 ? 0 : 1,
                    describe("saves of page %zu", page));
        expect_true(!page_dirty(m, 1, start + page * PAGE_SIZE),
                    describe("page %zu clean", page));
        expect_true(
            the_pager.store[page][7] ==
                (page == 3 || page == 4 ? want_pattern_byte(page, 1, 7) : 'x'),
            describe("byte 7 of page %zu in the store", page));
    }
    mmu_delete(m);
}

static void test_mmu_sync_retries_a_failed_run_page_by_page(void) {
    mmu *m = new_mmu_with_process(1);
    vm_segmentation *segment =
        grow_testing_segment(m, 1, 4, READ | WRITE, fake_pager_init(1));
    addr32 start = segment->start;

    expect_size(write_virtual(m, 1, start + 10, "abc", 3), 3, "write page 0");
    expect_size(write_virtual(m, 1, start + PAGE_SIZE + 10, "def", 3), 3,
                "write page 1");
    expect_size(write_virtual(m, 1, start + 2 * PAGE_SIZE + 10, "ghi", 3), 3,
                "write page 2");
    the_pager.page_out_fails[1] = true;
    errno = 0;
    expect_int(mmu_sync(m, 1, segment->start, segment->end), -1,
               "mmu_sync with page 1 failing");
    expect_errno(errno, EIO, "mmu_sync with page 1 failing");
    expect_true(!page_dirty(m, 1, start), "page 0 clean");
    expect_true(page_dirty(m, 1, start + PAGE_SIZE), "page 1 still dirty");
    expect_true(!page_dirty(m, 1, start + 2 * PAGE_SIZE), "page 2 clean");
    expect_bytes(the_pager.store[0] + 10, "abc", 3, "page 0 in the store");
    expect_bytes(the_pager.store[2] + 10, "ghi", 3, "page 2 in the store");
    expect_true(memcmp(the_pager.store[1] + 10, "def", 3) != 0,
                "page 1 not in the store");
    the_pager.page_out_fails[1] = false;
    mmu_delete(m);
}

static void test_mmu_eviction_writes_dirty_neighbours_with_the_victim(void) {
    mmu *m;
    vm_segmentation *segment;
    addr32 start;
    unsigned char byte;
    size_t page;

    setenv("MMAP_FRAMES", "8", 1); /* directory, table and 6 pages */
    m = new_mmu_with_process(1);
    segment = grow_testing_segment(m, 1, 8, READ | WRITE, fake_pager_init(1));
    start = segment->start;
    for (page = 0; page < 6; page++)
        expect_size(write_virtual(m, 1, start + page * PAGE_SIZE, "w", 1), 1,
                    describe("write page %zu", page));
    expect_size(read_virtual(m, 1, start + 6 * PAGE_SIZE, &byte, 1), 1,
                "read page 6, which evicts page 0");
    expect_true(!page_present(m, 1, start), "page 0 evicted");
    expect_size(the_pager.page_out_calls, 1,
                "page_out calls: the victim and its dirty neighbours at once");
    expect_size(the_pager.total_page_outs, 6, "pages saved");
    for (page = 1; page < 6; page++) {
        expect_true(page_present(m, 1, start + page * PAGE_SIZE),
                    describe("page %zu still mapped", page));
        expect_true(!page_dirty(m, 1, start + page * PAGE_SIZE),
                    describe("page %zu clean", page));
        expect_true(the_pager.store[page][0] == 'w',
                    describe("page %zu in the store", page));
    }
    mmu_delete(m);
}

static void test_mmu_remove_process_writes_dirty_pages_through_the_pager(void) {
    mmu *m = new_mmu_with_process(1);
    vm_segmentation *segment =
        grow_testing_segment(m, 1, 4, READ | WRITE, fake_pager_init(1));
    unsigned char want[PAGE_SIZE], byte;

    expect_size(write_virtual(m, 1, segment->start + PAGE_SIZE, "dirty", 5), 5,
                "write page 1");
    expect_size(read_virtual(m, 1, segment->start + 2 * PAGE_SIZE, &byte, 1), 1,
                "read page 2");
    expect_int(mmu_remove_process(m, 1), 0, "mmu_remove_process(m, 1)");
    expect_size(the_pager.page_outs[1], 1, "page_out calls for dirty page 1");
    expect_size(the_pager.page_outs[2], 0, "page_out calls for clean page 2");
    expect_size(the_pager.total_page_outs, 1, "page_out calls in all");
    fill_pattern(want, 1, 1);
    memcpy(want, "dirty", 5);
    expect_bytes(the_pager.store[1], want, PAGE_SIZE, "page 1 in the store");
    expect_all_frames_free("after mmu_remove_process");
    mmu_delete(m);
}

/*
 * One process with a mapped area and a segment with a pager: the area
 * does not take the segment's pages from the fault path, mmu_sync or the
 * process's end.
 */
static void
test_mmu_segment_pages_are_paged_alike_beside_a_mapped_area(void) {
    mmu *m = new_mmu_with_process(1);
    addr32 area = map_or_fail(m, 1, 0, PAGE_SIZE, RW,
                              VM_MAP_PRIVATE | VM_MAP_ANONYMOUS, -1, 0);
    vm_segmentation *segment =
        grow_testing_segment(m, 1, 4, READ | WRITE, fake_pager_init(1));
    unsigned char want[PAGE_SIZE];

    fill_pattern(want, 0, 1);
    expect_reads(m, 1, segment->start, want, PAGE_SIZE,
                 "page 0 of the segment, from its pager");
    expect_size(write_virtual(m, 1, area, "area", 4), 4, "write the area");
    expect_size(write_virtual(m, 1, segment->start + PAGE_SIZE, "seg", 3), 3,
                "write page 1 of the segment");
    expect_size(m->num_page_faults, 3, "page faults");
    expect_size(m->num_major_faults, 2, "major faults (the pager's pages)");
    expect_size(m->num_minor_faults, 1, "minor faults (the area's zeros)");
    expect_int(mmu_sync(m, 1, 0, UINT32_MAX), 0, "mmu_sync of everything");
    expect_size(the_pager.page_outs[1], 1, "page_out calls for dirty page 1");
    expect_size(the_pager.total_page_outs, 1, "page_out calls in all");
    expect_int(mmu_remove_process(m, 1), 0, "mmu_remove_process(m, 1)");
    expect_all_frames_free("after mmu_remove_process");
    mmu_delete(m);
}

static void
test_mmu_remove_process_reports_failed_write_back_and_frees_all(void) {
    mmu *m = new_mmu_with_process(1);
    vm_segmentation *segment =
        grow_testing_segment(m, 1, 4, READ | WRITE, fake_pager_init(1));

    expect_size(write_virtual(m, 1, segment->start, "lost", 4), 4,
                "write page 0");
    the_pager.page_out_fails[0] = true;
    errno = 0;
    expect_int(mmu_remove_process(m, 1), -1,
               "mmu_remove_process with a failing page_out");
    expect_errno(errno, EIO, "mmu_remove_process with a failing page_out");
    expect_null(m->page_directories[1], "directory of the removed process");
    expect_all_frames_free("after the failed removal");
    mmu_delete(m);
}

static void
test_mmu_evicts_backed_pages_under_pressure_and_faults_them_in(void) {
    enum { PAGES = 24 };
    mmu *m;
    vm_segmentation *segment;
    unsigned char want[PAGE_SIZE], got[PAGE_SIZE];
    size_t page;

    setenv("MMAP_FRAMES", "8", 1);
    m = new_mmu_with_process(1);
    segment =
        grow_testing_segment(m, 1, PAGES, READ | WRITE, fake_pager_init(1));
    for (page = 0; page < PAGES; page++) {
        fill_pattern(want, page, 2);
        expect_size(write_virtual(m, 1,
                                  segment->start + (addr32)page * PAGE_SIZE,
                                  want, PAGE_SIZE),
                    PAGE_SIZE, describe("write page %zu", page));
    }
    expect_size(m->num_page_faults, PAGES, "page faults after writing");
    expect_at_least(the_pager.total_page_outs, PAGES - 8,
                    "page_out calls (dirty victims saved)");
    for (page = 0; page < PAGES; page++) {
        fill_pattern(want, page, 2);
        expect_size(read_virtual(m, 1,
                                 segment->start + (addr32)page * PAGE_SIZE, got,
                                 PAGE_SIZE),
                    PAGE_SIZE, describe("read page %zu", page));
        expect_bytes(got, want, PAGE_SIZE,
                     describe("page %zu read back", page));
    }
    expect_at_least(m->num_page_faults, 2 * PAGES - 8,
                    "page faults after reading back (evicted pages return)");
    expect_int(mmu_remove_process(m, 1), 0, "mmu_remove_process");
    for (page = 0; page < PAGES; page++) {
        fill_pattern(want, page, 2);
        expect_bytes(the_pager.store[page], want, PAGE_SIZE,
                     describe("page %zu in the store", page));
    }
    mmu_delete(m);
    expect_all_frames_free("after mmu_delete");
}

/* A trace hook that only counts, so that every access takes the general path. */
static void count_event(const trace_record *record, void *context) {
    (void)record;
    ++*(size_t *)context;
}

/*
 * One random run of reads and writes of every size (most of them a word),
 * by two processes in turn, some of them reaching out of their segment,
 * on a fresh MMU; returns the MMU with the counters it ended with.
 */
static mmu *random_accesses(unsigned char image[2][24 * PAGE_SIZE]) {
    enum { PAGES = 24, STEPS = 4000 };
    unsigned char bytes[3 * PAGE_SIZE];
    uint64_t state = 0x9E3779B97F4A7C15u;
    mmu *m = new_mmu_with_process(1);
    size_t step, i;

    expect_int(mmu_add_process(m, 2), 0, "mmu_add_process(m, 2)");
    grow_testing_segment(m, 1, PAGES, READ | WRITE, NULL);
    grow_testing_segment(m, 2, PAGES, READ | WRITE, NULL);
    for (step = 0; step < STEPS; step++) {
        state ^= state << 13, state ^= state >> 7, state ^= state << 17;
        size_t pid = 1 + (state >> 60) % 8 / 7; /* mostly 1, sometimes 2 */
        size_t length = (state >> 8) % 4 ? 1 + (state >> 12) % 16
                                         : 1 + (state >> 12) % sizeof bytes;
        size_t offset = (size_t)(state >> 32) % (PAGES * PAGE_SIZE + 64);
        addr32 address = 0xD0000000u + (addr32)offset;
        if ((state >> 20) % 2) {
            for (i = 0; i < length; i++)
                bytes[i] = (unsigned char)(step + i);
            write_virtual(m, pid, address, bytes, length);
        } else {
            read_virtual(m, pid, address, bytes, length);
        }
    }
    for (i = 0; i < 2; i++)
        expect_size(read_virtual(m, 1 + i, 0xD0000000u, image[i],
                                 PAGES * PAGE_SIZE),
                    PAGES * PAGE_SIZE, "reading the image back");
    return m;
}

/*
 * A trace hook sends every access the general way; without one, most take
 * the fast path for a single page. Both must count and copy alike.
 */
static void test_mmu_counts_and_copies_alike_with_or_without_a_trace_hook(void) {
    static unsigned char plain[2][24 * PAGE_SIZE], traced[2][24 * PAGE_SIZE];
    size_t events = 0;
    mmu *a = random_accesses(plain);
    size_t faults = a->num_page_faults, misses = a->num_tlb_misses,
           segfaults = a->num_segmentation_faults;

    mmu_delete(a);
    trace_set_hook(count_event, &events);
    mmu *b = random_accesses(traced);
    trace_set_hook(NULL, NULL);
    expect_at_least(events, 4000, "events seen by the hook");
    expect_size(b->num_page_faults, faults, "page faults, traced vs not");
    expect_size(b->num_tlb_misses, misses, "TLB misses, traced vs not");
    expect_size(b->num_segmentation_faults, segfaults,
                "segmentation faults, traced vs not");
    expect_at_least(segfaults, 1, "segmentation faults in the run");
    expect_bytes(traced, plain, sizeof plain, "memory, traced vs not");
    mmu_delete(b);
}

/*
 * The TLB caches translations, not permissions: a segment that shrinks or
 * loses WRITE refuses the next access at once, however warm the TLB.
 */
static void test_mmu_warm_tlb_does_not_outlive_a_segment_change(void) {
    mmu *m = new_mmu_with_process(1);
    vm_segmentation *segment = grow_testing_segment(m, 1, 2, READ | WRITE, NULL);
    addr32 last_page = segment->start + PAGE_SIZE;
    uint64_t word = 7;

    expect_size(write_virtual(m, 1, last_page, &word, 8), 8, "warm-up write");
    expect_size(read_virtual(m, 1, last_page, &word, 8), 8, "warm-up read");
    segment->permissions = READ;
    errno = 0;
    expect_size(write_virtual(m, 1, last_page, &word, 8), 0,
                "write after WRITE was taken away");
    expect_errno(errno, EACCES, "write after WRITE was taken away");
    expect_size(read_virtual(m, 1, last_page, &word, 8), 8, "read still allowed");
    shrink_segment(segment, 1);
    errno = 0;
    expect_size(read_virtual(m, 1, last_page, &word, 8), 0,
                "read of the page the segment left");
    expect_errno(errno, EFAULT, "read of the page the segment left");
    expect_size(m->num_segmentation_faults, 2, "segmentation faults");
    mmu_delete(m);
}

/* A process that is gone cannot be accessed, even the one that ran last. */
static void test_mmu_access_by_a_removed_process_is_einval(void) {
    mmu *m = new_mmu_with_process(1);
    vm_segmentation *segment = grow_testing_segment(m, 1, 1, READ | WRITE, NULL);
    addr32 start = segment->start;
    uint64_t word = 0;

    expect_size(read_virtual(m, 1, start, &word, 8), 8, "read before removal");
    expect_int(mmu_remove_process(m, 1), 0, "mmu_remove_process");
    errno = 0;
    expect_size(read_virtual(m, 1, start, &word, 8), 0, "read after removal");
    expect_errno(errno, EINVAL, "read after removal");
    errno = 0;
    expect_size(write_virtual(m, 1, start, &word, 8), 0, "write after removal");
    expect_errno(errno, EINVAL, "write after removal");
    mmu_delete(m);
}

static const test_case mmu_tests[] = {
    TEST(mmu_add_process_gives_a_directory_and_remove_frees_it),
    TEST(mmu_add_process_rejects_bad_pid_and_duplicate),
    TEST(mmu_access_fails_with_einval_for_no_process_or_null_buffer),
    TEST(mmu_demand_zero_page_reads_zeros_even_from_a_used_frame),
    TEST(mmu_write_then_read_back_across_a_page_boundary),
    TEST(mmu_counts_one_page_fault_per_page_brought_in),
    TEST(mmu_counts_one_tlb_miss_per_translation_that_misses),
    TEST(mmu_write_sets_dirty_and_every_access_sets_accessed),
    TEST(mmu_access_outside_every_segment_is_efault_copying_nothing),
    TEST(
        mmu_access_of_any_length_past_the_address_space_is_efault_copying_nothing),
    TEST(mmu_write_to_read_only_segment_is_eacces_copying_nothing),
    TEST(mmu_read_of_segment_without_read_is_eacces),
    TEST(mmu_range_crossing_out_of_its_segment_copies_nothing),
    TEST(mmu_pid_switch_flushes_the_tlb),
    TEST(mmu_processes_have_separate_address_spaces),
    TEST(mmu_remove_process_keeps_the_other_process_intact),
    TEST(mmu_delete_returns_every_frame_to_the_pool),
    TEST(mmu_demand_zero_pages_go_to_swap_and_full_swap_is_enomem),
    TEST(mmu_pager_fills_a_page_once_per_fault_with_its_index),
    TEST(mmu_sync_pages_out_only_dirty_pages_and_clears_dirty),
    TEST(mmu_sync_failing_page_out_keeps_page_dirty_and_is_eio),
    TEST(mmu_sequential_fault_reads_ahead_but_counts_each_page_at_its_touch),
    TEST(mmu_random_faults_read_only_the_pages_they_touch),
    TEST(mmu_write_covering_whole_pages_reads_only_the_partial_ends),
    TEST(mmu_sync_writes_neighbouring_dirty_pages_in_one_call),
    TEST(mmu_sync_retries_a_failed_run_page_by_page),
    TEST(mmu_eviction_writes_dirty_neighbours_with_the_victim),
    TEST(mmu_remove_process_writes_dirty_pages_through_the_pager),
    TEST(mmu_remove_process_reports_failed_write_back_and_frees_all),
    TEST(mmu_segment_pages_are_paged_alike_beside_a_mapped_area),
    TEST(mmu_evicts_backed_pages_under_pressure_and_faults_them_in),
    TEST(mmu_counts_and_copies_alike_with_or_without_a_trace_hook),
    TEST(mmu_warm_tlb_does_not_outlive_a_segment_change),
    TEST(mmu_access_by_a_removed_process_is_einval),
};

const test_suite mmu_suite = {"mmu", mmu_tests,
                              sizeof mmu_tests / sizeof mmu_tests[0]};
