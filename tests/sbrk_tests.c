/*
 * tests/sbrk_tests.c: vm_sbrk, the program break: growth returns the old
 * break and gives demand-zero pages; shrinking frees frames, swap slots
 * and translations; the break is page-rounded; the refusals (ENOMEM at
 * either end, EINVAL) change nothing; errno stays alone on success.
 */
#include "helpers.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "swap.h"

/* Where the layout of segments.h puts the heap, and how far it may grow. */
#define HEAP_START ((addr32)0x10000000)
#define HEAP_LIMIT ((addr32)0x40000000)

/* Heap pages for the swap test: four times the 16-frame pool. */
#define MANY_PAGES 64

/* ------------------------------------------------------------------ */
/* Helpers of this suite                                               */
/* ------------------------------------------------------------------ */

/* vm_sbrk, which must succeed: returns the old break. */
static addr32 sbrk_or_fail(mmu *m, size_t pid, long increment) {
    errno = 0;
    addr32 old = vm_sbrk(m, pid, increment);
    if (old == VM_MAP_FAILED)
        fail(__FILE__, __LINE__, "vm_sbrk(%ld): expected the old break, "
             "got VM_MAP_FAILED (errno %s)", increment, errno_name(errno));
    return old;
}

static addr32 current_break(mmu *m, size_t pid) {
    return sbrk_or_fail(m, pid, 0);
}

static void write_page_of(mmu *m, addr32 address, size_t page, unsigned salt) {
    unsigned char bytes[PAGE_SIZE];
    fill_pattern(bytes, page, salt);
    expect_writes(m, 1, address, bytes, PAGE_SIZE,
                  describe("write heap page %zu", page));
}

static void expect_page_of(mmu *m, addr32 address, size_t page,
                           unsigned salt) {
    unsigned char want[PAGE_SIZE];
    fill_pattern(want, page, salt);
    expect_reads(m, 1, address, want, PAGE_SIZE,
                 describe("heap page %zu read back", page));
}

static void expect_zero_page(mmu *m, addr32 address, const char *what) {
    static const unsigned char zeros[PAGE_SIZE];
    expect_reads(m, 1, address, zeros, PAGE_SIZE, what);
}

/* One byte at `address` is refused as a segmentation fault (EFAULT). */
static void expect_segfault_at(mmu *m, addr32 address, const char *what) {
    unsigned char byte;
    size_t faults = m->num_segmentation_faults;
    errno = 0;
    size_t got = read_virtual(m, 1, address, &byte, 1);
    int error = errno;
    expect_size(got, 0, describe("%s: bytes read", what));
    expect_errno(error, EFAULT, what);
    expect_size(m->num_segmentation_faults, faults + 1,
                describe("%s: segmentation faults counted", what));
}

/* ------------------------------------------------------------------ */
/* Growth                                                              */
/* ------------------------------------------------------------------ */

static void test_sbrk_zero_returns_the_break_and_changes_nothing(void) {
    mmu *m = new_mmu_with_process(1);
    expect_hex(vm_sbrk(m, 1, 0), HEAP_START, "the break of a new process");
    expect_hex(vm_sbrk(m, 1, 0), HEAP_START, "the break asked again");
    expect_hex(m->segmentations[1]->segments[HEAP].end, HEAP_START,
               "the HEAP segment's end");
    mmu_delete(m);
}

static void test_sbrk_growth_returns_the_old_break_and_zeroed_writable_pages(
    void) {
    mmu *m = new_mmu_with_process(1);
    size_t frames_before = kernel_frames_free();
    expect_hex(sbrk_or_fail(m, 1, 3 * PAGE_SIZE), HEAP_START,
               "vm_sbrk(3 pages) returns the old break");
    expect_hex(current_break(m, 1), HEAP_START + 3 * PAGE_SIZE,
               "the break after growing 3 pages");
    expect_size(kernel_frames_free(), frames_before,
                "frames free after growing (nothing taken before a touch)");
    for (size_t page = 0; page < 3; page++)
        expect_zero_page(m, HEAP_START + (addr32)(page * PAGE_SIZE),
                         describe("new heap page %zu reads as zeros", page));
    for (size_t page = 0; page < 3; page++)
        write_page_of(m, HEAP_START + (addr32)(page * PAGE_SIZE), page, 1);
    for (size_t page = 0; page < 3; page++)
        expect_page_of(m, HEAP_START + (addr32)(page * PAGE_SIZE), page, 1);
    expect_segfault_at(m, HEAP_START + 3 * PAGE_SIZE,
                       "the byte at the break");
    mmu_delete(m);
}

static void test_sbrk_rounds_the_break_up_to_a_page(void) {
    mmu *m = new_mmu_with_process(1);
    expect_hex(sbrk_or_fail(m, 1, 1), HEAP_START, "vm_sbrk(1)");
    expect_hex(current_break(m, 1), HEAP_START + PAGE_SIZE,
               "the break after vm_sbrk(1): a whole page");
    expect_hex(sbrk_or_fail(m, 1, PAGE_SIZE + 1), HEAP_START + PAGE_SIZE,
               "vm_sbrk(PAGE_SIZE + 1)");
    expect_hex(current_break(m, 1), HEAP_START + 3 * PAGE_SIZE,
               "the break after vm_sbrk(PAGE_SIZE + 1): two more pages");
    unsigned char byte = 7;
    expect_writes(m, 1, HEAP_START + 3 * PAGE_SIZE - 1, &byte, 1,
                  "write the last byte below the break");
    expect_hex(sbrk_or_fail(m, 1, -1), HEAP_START + 3 * PAGE_SIZE,
               "vm_sbrk(-1)");
    expect_hex(current_break(m, 1), HEAP_START + 3 * PAGE_SIZE,
               "the break after vm_sbrk(-1): the page it is in is kept");
    expect_reads(m, 1, HEAP_START + 3 * PAGE_SIZE - 1, &byte, 1,
                 "the last byte below the break after vm_sbrk(-1)");
    expect_hex(sbrk_or_fail(m, 1, -(long)PAGE_SIZE - 1),
               HEAP_START + 3 * PAGE_SIZE, "vm_sbrk(-PAGE_SIZE - 1)");
    expect_hex(current_break(m, 1), HEAP_START + 2 * PAGE_SIZE,
               "the break after vm_sbrk(-PAGE_SIZE - 1): one page less");
    mmu_delete(m);
}

/* ------------------------------------------------------------------ */
/* Shrinking                                                           */
/* ------------------------------------------------------------------ */

static void test_sbrk_shrinking_frees_frames_and_faults_past_the_break(void) {
    mmu *m = new_mmu_with_process(1);
    sbrk_or_fail(m, 1, 8 * PAGE_SIZE);
    for (size_t page = 0; page < 8; page++)
        write_page_of(m, HEAP_START + (addr32)(page * PAGE_SIZE), page, 2);
    size_t frames_written = kernel_frames_free();
    expect_hex(sbrk_or_fail(m, 1, -4 * (long)PAGE_SIZE),
               HEAP_START + 8 * PAGE_SIZE, "vm_sbrk(-4 pages)");
    expect_size(kernel_frames_free(), frames_written + 4,
                "frames free after giving 4 written pages back");
    for (size_t page = 4; page < 8; page++)
        expect_segfault_at(m, HEAP_START + (addr32)(page * PAGE_SIZE),
                           describe("heap page %zu past the break", page));
    for (size_t page = 0; page < 4; page++)
        expect_page_of(m, HEAP_START + (addr32)(page * PAGE_SIZE), page, 2);
    mmu_delete(m);
}

static void test_sbrk_shrinking_to_the_start_gives_every_frame_back(void) {
    mmu *m = new_mmu_with_process(1);
    size_t frames_before = kernel_frames_free();
    sbrk_or_fail(m, 1, 5 * PAGE_SIZE);
    for (size_t page = 0; page < 5; page++)
        write_page_of(m, HEAP_START + (addr32)(page * PAGE_SIZE), page, 3);
    expect_hex(sbrk_or_fail(m, 1, -5 * (long)PAGE_SIZE),
               HEAP_START + 5 * PAGE_SIZE, "vm_sbrk(-5 pages)");
    expect_size(kernel_frames_free(), frames_before,
                "frames free (pages and page table) after shrinking to 0");
    expect_hex(current_break(m, 1), HEAP_START, "the break");
    expect_segfault_at(m, HEAP_START, "the heap's first byte");
    mmu_delete(m);
}

static void test_sbrk_regrown_pages_read_as_zeros(void) {
    mmu *m = new_mmu_with_process(1);
    sbrk_or_fail(m, 1, 2 * PAGE_SIZE);
    write_page_of(m, HEAP_START + PAGE_SIZE, 1, 4);
    sbrk_or_fail(m, 1, -(long)PAGE_SIZE);
    sbrk_or_fail(m, 1, PAGE_SIZE);
    expect_zero_page(m, HEAP_START + PAGE_SIZE,
                     "a page freed and grown again reads as zeros");
    mmu_delete(m);
}

static void test_sbrk_growing_over_pages_a_hand_shrink_left_reads_zeros(
    void) {
    mmu *m = new_mmu_with_process(1);
    size_t frames_before = kernel_frames_free();
    sbrk_or_fail(m, 1, 2 * PAGE_SIZE);
    write_page_of(m, HEAP_START + PAGE_SIZE, 1, 4);
    shrink_segment(&m->segmentations[1]->segments[HEAP], 1); /* the lab's */
    sbrk_or_fail(m, 1, PAGE_SIZE);
    expect_zero_page(m, HEAP_START + PAGE_SIZE,
                     "a page left by shrink_segment, grown over by vm_sbrk");
    sbrk_or_fail(m, 1, -2 * (long)PAGE_SIZE);
    expect_size(kernel_frames_free(), frames_before,
                "frames free after the heap shrank to nothing");
    mmu_delete(m);
}

static void test_sbrk_freeing_swapped_pages_frees_their_slots(void) {
    if (setenv("MMAP_FRAMES", "16", 1) != 0)
        setup_failed("setenv");
    mmu *m = new_mmu_with_process(1);
    size_t slots_before = swap_slots_used();
    sbrk_or_fail(m, 1, MANY_PAGES * PAGE_SIZE);
    for (size_t page = 0; page < MANY_PAGES; page++)
        write_page_of(m, HEAP_START + (addr32)(page * PAGE_SIZE), page, 5);
    expect_at_least(swap_slots_used(), slots_before + MANY_PAGES - 16,
                    "swap slots held by the written heap");
    expect_page_of(m, HEAP_START, 0, 5); /* swapped out, then back in */
    expect_hex(sbrk_or_fail(m, 1, -MANY_PAGES * (long)PAGE_SIZE),
               HEAP_START + MANY_PAGES * PAGE_SIZE, "vm_sbrk(-64 pages)");
    expect_size(swap_slots_used(), slots_before,
                "swap slots held after the heap shrank to nothing");
    mmu_delete(m);
    expect_all_frames_free("after mmu_delete");
}

static void test_sbrk_shrinking_another_process_leaves_the_running_ones_pages(
    void) {
    mmu *m = new_mmu_with_process(1);
    expect_int(mmu_add_process(m, 2), 0, "mmu_add_process(m, 2)");
    sbrk_or_fail(m, 1, PAGE_SIZE);
    sbrk_or_fail(m, 2, PAGE_SIZE);
    unsigned char two = 2;
    expect_size(write_virtual(m, 2, HEAP_START, &two, 1), 1,
                "process 2 writes its heap");
    write_page_of(m, HEAP_START, 0, 6); /* process 1 runs last */
    expect_hex(vm_sbrk(m, 2, -(long)PAGE_SIZE), HEAP_START + PAGE_SIZE,
               "vm_sbrk(process 2, -1 page)");
    expect_page_of(m, HEAP_START, 0, 6);
    unsigned char byte;
    errno = 0;
    expect_size(read_virtual(m, 2, HEAP_START, &byte, 1), 0,
                "bytes process 2 reads past its break");
    expect_errno(errno, EFAULT, "process 2 reading past its break");
    mmu_delete(m);
}

/* ------------------------------------------------------------------ */
/* A heap with a pager                                                 */
/* ------------------------------------------------------------------ */

typedef struct {
    pager base;
    unsigned char store[2][PAGE_SIZE];
    bool fails;
} small_pager;

static int small_page_in(pager *base, size_t page, void *const frames[],
                         size_t count) {
    small_pager *store = (small_pager *)base;
    for (size_t i = 0; i < count; i++)
        memcpy(frames[i], store->store[page + i], PAGE_SIZE);
    return 0;
}

static int small_page_out(pager *base, size_t page, const void *const frames[],
                          size_t count) {
    small_pager *store = (small_pager *)base;
    if (store->fails) {
        errno = EIO;
        return -1;
    }
    for (size_t i = 0; i < count; i++)
        memcpy(store->store[page + i], frames[i], PAGE_SIZE);
    return 0;
}

static void test_sbrk_writes_a_pagers_dirty_pages_back_before_freeing(void) {
    static small_pager store = {{small_page_in, small_page_out, false}, {{0}}, false};
    mmu *m = new_mmu_with_process(1);
    m->segmentations[1]->segments[HEAP].backing = &store.base;
    sbrk_or_fail(m, 1, 2 * PAGE_SIZE);
    write_page_of(m, HEAP_START + PAGE_SIZE, 1, 7);
    store.fails = true;
    expect_failure(vm_sbrk(m, 1, -(long)PAGE_SIZE), VM_MAP_FAILED, EIO,
                   "vm_sbrk(-1 page) when the write-back fails");
    expect_hex(current_break(m, 1), HEAP_START + 2 * PAGE_SIZE,
               "the break after the failed write-back");
    expect_page_of(m, HEAP_START + PAGE_SIZE, 1, 7);
    store.fails = false;
    sbrk_or_fail(m, 1, -(long)PAGE_SIZE);
    unsigned char want[PAGE_SIZE];
    fill_pattern(want, 1, 7);
    expect_bytes(store.store[1], want, PAGE_SIZE,
                 "the pager's page 1 after the heap shrank past it");
    mmu_delete(m);
}

/* ------------------------------------------------------------------ */
/* Refusals                                                            */
/* ------------------------------------------------------------------ */

static void test_sbrk_growing_past_the_heap_region_is_enomem(void) {
    mmu *m = new_mmu_with_process(1);
    long room = (long)(HEAP_LIMIT - HEAP_START);
    expect_failure(vm_sbrk(m, 1, room + 1), VM_MAP_FAILED, ENOMEM,
                   "vm_sbrk(one byte more than the region)");
    expect_failure(vm_sbrk(m, 1, LONG_MAX), VM_MAP_FAILED, ENOMEM,
                   "vm_sbrk(LONG_MAX)");
    expect_hex(current_break(m, 1), HEAP_START, "the break after ENOMEM");
    expect_hex(sbrk_or_fail(m, 1, room - (long)PAGE_SIZE), HEAP_START,
               "vm_sbrk(up to a page below MMAP)");
    unsigned char byte = 9;
    expect_writes(m, 1, HEAP_LIMIT - 2 * PAGE_SIZE, &byte, 1,
                  "write the heap's last page");
    expect_failure(vm_sbrk(m, 1, 2 * PAGE_SIZE), VM_MAP_FAILED, ENOMEM,
                   "vm_sbrk(2 pages) into MMAP");
    expect_hex(current_break(m, 1), HEAP_LIMIT - PAGE_SIZE,
               "the break after ENOMEM at the limit");
    expect_reads(m, 1, HEAP_LIMIT - 2 * PAGE_SIZE, &byte, 1,
                 "the heap's last page after ENOMEM");
    expect_hex(sbrk_or_fail(m, 1, PAGE_SIZE), HEAP_LIMIT - PAGE_SIZE,
               "vm_sbrk(the last page below MMAP)");
    expect_failure(vm_sbrk(m, 1, 1), VM_MAP_FAILED, ENOMEM,
                   "vm_sbrk(1) with the heap at MMAP's start");
    addr32 mapped = map_or_fail(m, 1, 0, PAGE_SIZE, RW,
                                VM_MAP_PRIVATE | VM_MAP_ANONYMOUS, -1, 0);
    expect_hex(mapped, MMAP_REGION_START, "a mapping just above the heap");
    sbrk_or_fail(m, 1, -(room)); /* gives the page tables back */
    mmu_delete(m);
}

static void test_sbrk_shrinking_below_the_start_is_enomem(void) {
    mmu *m = new_mmu_with_process(1);
    expect_failure(vm_sbrk(m, 1, -1), VM_MAP_FAILED, ENOMEM,
                   "vm_sbrk(-1) on an empty heap");
    sbrk_or_fail(m, 1, 2 * PAGE_SIZE);
    write_page_of(m, HEAP_START, 0, 8);
    expect_failure(vm_sbrk(m, 1, -3 * (long)PAGE_SIZE), VM_MAP_FAILED, ENOMEM,
                   "vm_sbrk(-3 pages) on a heap of 2");
    expect_failure(vm_sbrk(m, 1, LONG_MIN), VM_MAP_FAILED, ENOMEM,
                   "vm_sbrk(LONG_MIN)");
    expect_hex(current_break(m, 1), HEAP_START + 2 * PAGE_SIZE,
               "the break after the refusals");
    expect_page_of(m, HEAP_START, 0, 8);
    mmu_delete(m);
}

static void test_sbrk_without_a_process_or_mmu_is_einval(void) {
    mmu *m = new_mmu_with_process(1);
    expect_failure(vm_sbrk(NULL, 1, PAGE_SIZE), VM_MAP_FAILED, EINVAL,
                   "vm_sbrk(NULL mmu)");
    expect_failure(vm_sbrk(m, 2, PAGE_SIZE), VM_MAP_FAILED, EINVAL,
                   "vm_sbrk(a pid with no process)");
    expect_failure(vm_sbrk(m, MAX_PROCESS_ID, 0), VM_MAP_FAILED, EINVAL,
                   "vm_sbrk(MAX_PROCESS_ID)");
    expect_failure(vm_sbrk(m, (size_t)-1, 0), VM_MAP_FAILED, EINVAL,
                   "vm_sbrk(SIZE_MAX)");
    expect_hex(current_break(m, 1), HEAP_START, "process 1's break");
    mmu_delete(m);
}

static void test_sbrk_leaves_errno_alone_on_success(void) {
    mmu *m = new_mmu_with_process(1);
    long increments[] = {0, 3 * PAGE_SIZE, 1, -1, -2 * (long)PAGE_SIZE};
    sbrk_or_fail(m, 1, 2 * PAGE_SIZE);
    write_page_of(m, HEAP_START + PAGE_SIZE, 1, 9);
    for (size_t i = 0; i < sizeof increments / sizeof increments[0]; i++) {
        errno = ERANGE;
        expect_true(vm_sbrk(m, 1, increments[i]) != VM_MAP_FAILED,
                    describe("vm_sbrk(%ld) succeeds", increments[i]));
        expect_errno(errno, ERANGE,
                     describe("errno after vm_sbrk(%ld)", increments[i]));
    }
    mmu_delete(m);
}

static const test_case sbrk_tests[] = {
    TEST(sbrk_zero_returns_the_break_and_changes_nothing),
    TEST(sbrk_growth_returns_the_old_break_and_zeroed_writable_pages),
    TEST(sbrk_rounds_the_break_up_to_a_page),
    TEST(sbrk_shrinking_frees_frames_and_faults_past_the_break),
    TEST(sbrk_shrinking_to_the_start_gives_every_frame_back),
    TEST(sbrk_regrown_pages_read_as_zeros),
    TEST(sbrk_growing_over_pages_a_hand_shrink_left_reads_zeros),
    TEST(sbrk_freeing_swapped_pages_frees_their_slots),
    TEST(sbrk_shrinking_another_process_leaves_the_running_ones_pages),
    TEST(sbrk_writes_a_pagers_dirty_pages_back_before_freeing),
    TEST(sbrk_growing_past_the_heap_region_is_enomem),
    TEST(sbrk_shrinking_below_the_start_is_enomem),
    TEST(sbrk_without_a_process_or_mmu_is_einval),
    TEST(sbrk_leaves_errno_alone_on_success),
};

const test_suite sbrk_suite = {"sbrk", sbrk_tests,
                               sizeof sbrk_tests / sizeof sbrk_tests[0]};
