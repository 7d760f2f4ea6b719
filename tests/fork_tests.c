/*
 * tests/fork_tests.c: vm_fork: the child reads its parent's pages; shared
 * mappings (anonymous, of a file) share writes both ways; private pages
 * (anonymous, private copies of file pages, a demand-zero segment) are
 * copied on the first write by either process, and the last sharer writes
 * in place; a chain of three generations; the parent's exit; pages in
 * swap; ENOMEM part way leaving nothing; EAGAIN and EINVAL; the seed 003
 * example's shape.
 */
#include "helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "swap.h"

#define ANON_PRIVATE (VM_MAP_PRIVATE | VM_MAP_ANONYMOUS)
#define ANON_SHARED (VM_MAP_SHARED | VM_MAP_ANONYMOUS)

/* ------------------------------------------------------------------ */
/* Helpers of this suite                                               */
/* ------------------------------------------------------------------ */

/* Forks `parent`, which must succeed; returns the child's pid. */
static size_t fork_or_fail(mmu *m, size_t parent) {
    errno = 0;
    int child = vm_fork(m, parent);
    if (child < 0)
        fail(__FILE__, __LINE__, "vm_fork(m, %zu): expected a pid, got -1 "
             "with errno %s", parent, errno_name(errno));
    return (size_t)child;
}

static void write_text(mmu *m, size_t pid, addr32 at, const char *text) {
    expect_writes(m, pid, at, text, strlen(text),
                  describe("pid %zu writes \"%s\"", pid, text));
}

/* Ends every process: no frame and no swap slot may stay taken. */
static void delete_and_expect_nothing_held(mmu *m) {
    mmu_delete(m);
    expect_size(swap_slots_used(), 0, "swap slots held after mmu_delete");
    expect_all_frames_free("after mmu_delete");
}

static void expect_text(mmu *m, size_t pid, addr32 at, const char *text) {
    expect_reads(m, pid, at, text, strlen(text),
                 describe("pid %zu reads \"%s\"", pid, text));
}

static void expect_cow_faults(const mmu *m, size_t want, const char *when) {
    expect_size(m->num_cow_faults, want,
                describe("num_cow_faults %s", when));
}

/*
 * The private-page scenario on the page at `at` of process 1: after fork
 * neither sees the other's writes; the first write of each side that
 * shares counts one copy, the last sharer's none.
 */
static void expect_private_after_fork(mmu *m, addr32 at) {
    write_text(m, 1, at, "before");
    size_t child = fork_or_fail(m, 1);
    size_t copies = m->num_cow_faults;
    expect_text(m, child, at, "before");
    write_text(m, child, at, "child!");
    expect_cow_faults(m, copies + 1, "after the child's first write");
    expect_text(m, 1, at, "before");
    trace_log_clear();
    trace_set_hook(record_event, NULL);
    write_text(m, 1, at, "parent");
    trace_set_hook(NULL, NULL);
    expect_cow_faults(m, copies + 1, "after the last sharer's write");
    expect_size(trace_log.per_event[TRACE_WRITE_IN_PLACE], 1,
                "writes in place traced for the last sharer's write");
    expect_text(m, child, at, "child!");
    expect_text(m, 1, at, "parent");
    mmu_delete(m);
    expect_all_frames_free("after mmu_delete");
}

/* ------------------------------------------------------------------ */
/* Sharing and copying                                                 */
/* ------------------------------------------------------------------ */

static void test_fork_child_reads_the_parents_pages(void) {
    mmu *m = new_mmu_with_process(1);
    addr32 at = map_or_fail(m, 1, 0, 4 * PAGE_SIZE, RW, ANON_PRIVATE, -1, 0);
    vm_segmentation *segment = grow_testing_segment(m, 1, 2, READ | WRITE,
                                                    NULL);
    write_text(m, 1, at + PAGE_SIZE, "mapped");
    write_text(m, 1, segment->start, "segment");
    size_t child = fork_or_fail(m, 1);
    expect_size(child, 0, "the child's pid: the lowest free one");
    expect_text(m, child, at + PAGE_SIZE, "mapped");
    expect_text(m, child, segment->start, "segment");
    expect_cow_faults(m, 0, "after reads only");
    mmu_delete(m);
    expect_all_frames_free("after mmu_delete");
}

static void test_fork_shared_anonymous_writes_are_seen_both_ways(void) {
    mmu *m = new_mmu_with_process(1);
    addr32 at = map_or_fail(m, 1, 0, PAGE_SIZE, RW, ANON_SHARED, -1, 0);
    write_text(m, 1, at, "first");
    size_t child = fork_or_fail(m, 1);
    write_text(m, child, at, "child");
    expect_text(m, 1, at, "child");
    write_text(m, 1, at, "again");
    expect_text(m, child, at, "again");
    expect_cow_faults(m, 0, "in a shared mapping");
    mmu_delete(m);
    expect_all_frames_free("after mmu_delete");
}

static void test_fork_shared_file_writes_are_seen_both_ways(void) {
    char path[PATH_MAX];
    int fd = open_fixture_copy("lorem.txt", O_RDWR, path);
    mmu *m = new_mmu_with_process(1);
    addr32 at = map_or_fail(m, 1, 0, PAGE_SIZE, RW, VM_MAP_SHARED, fd, 0);
    write_text(m, 1, at, "AB");
    size_t child = fork_or_fail(m, 1);
    expect_text(m, child, at, "AB");
    write_text(m, child, at, "CD");
    expect_text(m, 1, at, "CD");
    write_text(m, 1, at + 2, "EF");
    expect_text(m, child, at, "CDEF");
    expect_int(mmu_remove_process(m, child), 0, "the child's exit");
    expect_int(vm_munmap(m, 1, at, PAGE_SIZE), 0, "the parent's munmap");
    unsigned char head[4];
    read_file_at(path, 0, head, 4);
    expect_bytes(head, "CDEF", 4, "the file's first bytes after munmap");
    close(fd);
    mmu_delete(m);
    expect_all_frames_free("after mmu_delete");
}

static void test_fork_private_anonymous_pages_are_copied_on_write(void) {
    mmu *m = new_mmu_with_process(1);
    addr32 at = map_or_fail(m, 1, 0, PAGE_SIZE, RW, ANON_PRIVATE, -1, 0);
    expect_private_after_fork(m, at);
}

static void test_fork_private_file_copies_are_copied_on_write(void) {
    char path[PATH_MAX];
    int fd = open_fixture_copy("lorem.txt", O_RDONLY, path);
    mmu *m = new_mmu_with_process(1);
    addr32 at = map_or_fail(m, 1, 0, PAGE_SIZE, RW, VM_MAP_PRIVATE, fd, 0);
    close(fd);
    expect_private_after_fork(m, at);
}

static void test_fork_demand_zero_segment_is_copied_on_write(void) {
    mmu *m = new_mmu_with_process(1);
    vm_segmentation *segment = grow_testing_segment(m, 1, 1, READ | WRITE,
                                                    NULL);
    expect_private_after_fork(m, segment->start);
}

static void test_fork_private_file_page_not_copied_stays_the_caches(void) {
    char path[PATH_MAX];
    int fd = open_fixture_copy("lorem.txt", O_RDONLY, path);
    unsigned char *file = fixture_bytes("lorem.txt");
    mmu *m = new_mmu_with_process(1);
    addr32 at = map_or_fail(m, 1, 0, PAGE_SIZE, RW, VM_MAP_PRIVATE, fd, 0);
    close(fd);
    expect_reads(m, 1, at, file, 8, "the parent reads the file");
    size_t child = fork_or_fail(m, 1);
    expect_ptr((void *)(uintptr_t)frame_mapped_at(m, child, at),
               (void *)(uintptr_t)frame_mapped_at(m, 1, at),
               "the child's frame: the page cache's, as the parent's");
    write_text(m, child, at, "XY");
    expect_reads(m, 1, at, file, 8, "the parent still reads the file");
    expect_cow_faults(m, 1, "after the child's write");
    free(file);
    mmu_delete(m);
    expect_all_frames_free("after mmu_delete");
}

static void test_fork_chain_of_three_generations_writes_apart(void) {
    mmu *m = new_mmu_with_process(1);
    addr32 at = map_or_fail(m, 1, 0, PAGE_SIZE, RW, ANON_PRIVATE, -1, 0);
    write_text(m, 1, at, "gen-1");
    size_t second = fork_or_fail(m, 1);
    size_t third = fork_or_fail(m, second);
    write_text(m, third, at, "gen-3");
    write_text(m, second, at, "gen-2");
    expect_text(m, 1, at, "gen-1");
    expect_cow_faults(m, 2, "after two of three sharers wrote");
    write_text(m, 1, at, "GEN-1");
    expect_cow_faults(m, 2, "after the last sharer wrote");
    expect_text(m, second, at, "gen-2");
    expect_text(m, third, at, "gen-3");
    expect_text(m, 1, at, "GEN-1");
    mmu_delete(m);
    expect_all_frames_free("after mmu_delete");
}

static void test_fork_parent_exit_leaves_the_childs_bytes(void) {
    mmu *m = new_mmu_with_process(1);
    addr32 at = map_or_fail(m, 1, 0, 3 * PAGE_SIZE, RW, ANON_PRIVATE, -1, 0);
    for (int page = 0; page < 3; page++)
        write_text(m, 1, at + (addr32)(page * PAGE_SIZE), "kept");
    size_t child = fork_or_fail(m, 1);
    size_t free_before = kernel_frames_free();
    expect_int(mmu_remove_process(m, 1), 0, "the parent's exit");
    expect_true(kernel_frames_free() - free_before < 3,
                describe("the shared frames stay: %zu freed",
                         kernel_frames_free() - free_before));
    for (int page = 0; page < 3; page++)
        expect_text(m, child, at + (addr32)(page * PAGE_SIZE), "kept");
    write_text(m, child, at, "mine");
    expect_cow_faults(m, 0, "after the last sharer wrote");
    mmu_delete(m);
    expect_all_frames_free("after mmu_delete");
}

/* ------------------------------------------------------------------ */
/* Swap, failures                                                      */
/* ------------------------------------------------------------------ */

static void test_fork_after_swap_out_both_read_the_page(void) {
    if (setenv("MMAP_FRAMES", "16", 1) != 0)
        setup_failed("setenv");
    enum { PAGES = 40 };
    mmu *m = new_mmu_with_process(1);
    addr32 at = map_or_fail(m, 1, 0, PAGES * PAGE_SIZE, RW, ANON_PRIVATE, -1,
                            0);
    unsigned char bytes[PAGE_SIZE];
    for (size_t page = 0; page < PAGES; page++) {
        fill_pattern(bytes, page, 5);
        expect_writes(m, 1, at + (addr32)(page * PAGE_SIZE), bytes, PAGE_SIZE,
                      describe("write page %zu", page));
    }
    expect_true(page_table_entry_state(entry_of(m, 1, at)) == PAGE_SWAPPED,
                "the first page is in swap before fork");
    swap_slot slot = page_table_entry_slot(entry_of(m, 1, at));
    size_t child = fork_or_fail(m, 1);
    expect_size(swap_slot_references(slot), 2,
                "references to the first page's slot after fork");
    for (size_t pid = 0; pid < 2; pid++)
        for (size_t page = 0; page < PAGES; page++) {
            fill_pattern(bytes, page, 5);
            expect_reads(m, pid == 0 ? child : 1,
                         at + (addr32)(page * PAGE_SIZE), bytes, PAGE_SIZE,
                         describe("page %zu in process %zu", page, pid));
        }
    write_text(m, child, at, "child");
    fill_pattern(bytes, 0, 5);
    expect_reads(m, 1, at, bytes, PAGE_SIZE, "the parent's first page");
    delete_and_expect_nothing_held(m);
}

static void test_fork_enomem_part_way_leaves_nothing_behind(void) {
    if (setenv("MMAP_FRAMES", "16", 1) != 0 ||
        setenv("MMAP_SWAP_PAGES", "1", 1) != 0)
        setup_failed("setenv");
    mmu *m = new_mmu_with_process(1);
    /* Four pages, each in a page table of its own. */
    addr32 at = map_or_fail(m, 1, 0, 4 * TABLE_SPAN, RW, ANON_PRIVATE, -1, 0);
    for (int i = 0; i < 4; i++)
        write_text(m, 1, at + (addr32)(i * TABLE_SPAN), "page");
    unsigned char full[PAGE_SIZE] = {0};
    swap_slot only = swap_out(full); /* swap is full: nothing can go out */
    expect_true(only != SWAP_NO_SLOT, "the one swap slot taken");
    addr32 pinned[16];
    size_t count = 0;
    while (kernel_frames_free() > 2) /* the child's directory and a table */
        pinned[count++] = ask_kernel_for_frame(NULL, 0);
    size_t free_before = kernel_frames_free();
    errno = 0;
    expect_int(vm_fork(m, 1), -1, "vm_fork with room for one table");
    expect_errno(errno, ENOMEM, "vm_fork's errno");
    expect_size(kernel_frames_free(), free_before, "free frames after");
    expect_null(m->page_directories[0], "the child's directory");
    write_text(m, 1, at, "mine");
    expect_cow_faults(m, 0, "the parent, only mapper again, writes in place");
    for (size_t i = 0; i < count; i++)
        return_frame_to_kernel(pinned[i]);
    swap_free(only);
    mmu_delete(m);
    expect_all_frames_free("after mmu_delete");
}

static void test_fork_eagain_when_no_pid_is_free(void) {
    mmu *m = mmu_create();
    expect_not_null(m, "mmu_create()");
    for (size_t pid = 0; pid < MAX_PROCESS_ID; pid++)
        expect_int(mmu_add_process(m, pid), 0, "mmu_add_process");
    errno = 0;
    expect_int(vm_fork(m, 3), -1, "vm_fork with every pid taken");
    expect_errno(errno, EAGAIN, "vm_fork's errno");
    mmu_delete(m);
    expect_all_frames_free("after mmu_delete");
}

static void test_fork_einval_without_parent_or_mmu(void) {
    mmu *m = new_mmu_with_process(1);
    errno = 0;
    expect_int(vm_fork(m, 2), -1, "vm_fork of no process");
    expect_errno(errno, EINVAL, "vm_fork's errno, no such parent");
    errno = 0;
    expect_int(vm_fork(NULL, 1), -1, "vm_fork(NULL, 1)");
    expect_errno(errno, EINVAL, "vm_fork's errno, NULL mmu");
    expect_null(m->page_directories[0], "no child made");
    mmu_delete(m);
    expect_all_frames_free("after mmu_delete");
}

static void small_pool(void) {
    if (setenv("MMAP_FRAMES", "16", 1) != 0)
        setup_failed("setenv");
}

/*
 * In a small pool, process 1 with a private anonymous page at `*at` and
 * 40 more at `*other`, whose writes push pages to swap.
 */
static mmu *page_and_pressure(addr32 *at, addr32 *other) {
    small_pool();
    mmu *m = new_mmu_with_process(1);
    *at = map_or_fail(m, 1, 0, PAGE_SIZE, RW, ANON_PRIVATE, -1, 0);
    *other = map_or_fail(m, 1, 0, 40 * PAGE_SIZE, RW, ANON_PRIVATE, -1, 0);
    return m;
}

/* Writes `pages` pages of pattern `salt` from `at` in `pid`. */
static void write_pages(mmu *m, size_t pid, addr32 at, size_t pages,
                        unsigned salt) {
    unsigned char bytes[PAGE_SIZE];
    for (size_t page = 0; page < pages; page++) {
        fill_pattern(bytes, page, salt);
        expect_writes(m, pid, at + (addr32)(page * PAGE_SIZE), bytes,
                      PAGE_SIZE,
                      describe("pid %zu writes page %zu", pid, page));
    }
}

static void expect_pages(mmu *m, size_t pid, addr32 at, size_t pages,
                         unsigned salt) {
    unsigned char bytes[PAGE_SIZE];
    for (size_t page = 0; page < pages; page++) {
        fill_pattern(bytes, page, salt);
        expect_reads(m, pid, at + (addr32)(page * PAGE_SIZE), bytes, PAGE_SIZE,
                     describe("pid %zu reads page %zu", pid, page));
    }
}

static void test_fork_shared_anonymous_page_stays_shared_under_pressure(
    void) {
    small_pool();
    mmu *m = new_mmu_with_process(1);
    addr32 shared = map_or_fail(m, 1, 0, 2 * PAGE_SIZE, RW, ANON_SHARED, -1,
                                0);
    addr32 other = map_or_fail(m, 1, 0, 40 * PAGE_SIZE, RW, ANON_PRIVATE, -1,
                               0);
    write_pages(m, 1, other, 40, 1); /* the shared pages still untouched */
    size_t child = fork_or_fail(m, 1);
    write_pages(m, 1, other, 40, 2); /* pressure: evict what can go */
    write_text(m, child, shared + PAGE_SIZE, "from the child");
    expect_text(m, 1, shared + PAGE_SIZE, "from the child");
    write_pages(m, child, other, 40, 3);
    write_text(m, 1, shared, "from the parent");
    expect_text(m, child, shared, "from the parent");
    expect_pages(m, 1, other, 40, 2);
    expect_pages(m, child, other, 40, 3);
    delete_and_expect_nothing_held(m);
}

static void test_fork_private_page_evicted_after_fork_names_one_slot(void) {
    small_pool();
    mmu *m = new_mmu_with_process(1);
    addr32 at = map_or_fail(m, 1, 0, 4 * PAGE_SIZE, RW, ANON_PRIVATE, -1, 0);
    addr32 other = map_or_fail(m, 1, 0, 40 * PAGE_SIZE, RW, ANON_PRIVATE, -1,
                               0);
    write_pages(m, 1, at, 4, 7);
    size_t child = fork_or_fail(m, 1);
    write_pages(m, 1, other, 40, 8); /* evicts the pages both map */
    page_table_entry *mine = entry_of(m, 1, at), *its = entry_of(m, child, at);
    expect_true(mine && its && page_table_entry_state(mine) == PAGE_SWAPPED &&
                    page_table_entry_state(its) == PAGE_SWAPPED,
                "the first page, in swap for both processes");
    expect_size(page_table_entry_slot(its), page_table_entry_slot(mine),
                "the child's slot: the parent's");
    expect_size(swap_slot_references(page_table_entry_slot(mine)), 2,
                "references to the slot");
    expect_pages(m, child, at, 4, 7);
    write_text(m, child, at, "child");
    expect_pages(m, 1, at, 4, 7);
    delete_and_expect_nothing_held(m);
}

/* ------------------------------------------------------------------ */
/* The swap cache                                                      */
/* ------------------------------------------------------------------ */

/*
 * A private page of pattern `salt` at `at` in process 1, forked, then
 * sent to swap by 40 pages written at `other`: both entries name one
 * slot, which is returned. The child's pid goes to `*child`.
 */
static swap_slot private_page_in_swap_after_fork(mmu *m, addr32 at,
                                                 addr32 other, unsigned salt,
                                                 size_t *child) {
    write_pages(m, 1, at, 1, salt);
    *child = fork_or_fail(m, 1);
    write_pages(m, 1, other, 40, salt + 1);
    page_table_entry *mine = entry_of(m, 1, at);
    page_table_entry *its = entry_of(m, *child, at);
    expect_true(mine && its && page_table_entry_state(mine) == PAGE_SWAPPED &&
                    page_table_entry_state(its) == PAGE_SWAPPED,
                "the page, in swap for both processes");
    swap_slot slot = page_table_entry_slot(mine);
    expect_size(swap_slot_references(slot), 2, "references to the slot");
    return slot;
}

static void test_fork_private_page_back_from_swap_is_one_frame_for_both(
    void) {
    addr32 at, other;
    mmu *m = page_and_pressure(&at, &other);
    size_t child;
    swap_slot slot = private_page_in_swap_after_fork(m, at, other, 4, &child);
    size_t swap_ins = m->num_swap_ins, major = m->num_major_faults;
    expect_pages(m, 1, at, 1, 4);
    expect_size(m->num_swap_ins, swap_ins + 1, "swap-ins after one read");
    expect_size(m->num_major_faults, major + 1, "major faults, first read");
    expect_size(swap_slot_references(slot), 1, "references after one read");
    size_t minor = m->num_minor_faults;
    expect_pages(m, child, at, 1, 4);
    expect_size(m->num_swap_ins, swap_ins + 1, "swap-ins after the second");
    expect_size(m->num_major_faults, major + 1, "major faults, second read");
    expect_size(m->num_minor_faults, minor + 1, "minor faults, second read");
    expect_size(frame_mapped_at(m, child, at), frame_mapped_at(m, 1, at),
                "the child's frame: the parent's");
    expect_size(swap_slot_references(slot), 0, "references once both map it");
    size_t copies = m->num_cow_faults;
    write_text(m, child, at, "child");
    expect_cow_faults(m, copies + 1, "after the child's write");
    expect_true(frame_mapped_at(m, child, at) != frame_mapped_at(m, 1, at),
                "the child's frame after its write differs from the parent's");
    expect_pages(m, 1, at, 1, 4);
    expect_text(m, child, at, "child");
    delete_and_expect_nothing_held(m);
}

static void test_fork_shared_anonymous_page_is_one_frame_through_swap(void) {
    small_pool();
    mmu *m = new_mmu_with_process(1);
    addr32 at = map_or_fail(m, 1, 0, PAGE_SIZE, RW, ANON_SHARED, -1, 0);
    addr32 other = map_or_fail(m, 1, 0, 40 * PAGE_SIZE, RW, ANON_PRIVATE, -1,
                               0);
    write_text(m, 1, at, "round 0");
    size_t child = fork_or_fail(m, 1);
    size_t swap_outs = m->num_swap_outs;
    char text[32];
    for (unsigned round = 1; round <= 4; round++) {
        size_t writer = round % 2 ? child : 1, reader = round % 2 ? 1 : child;
        write_pages(m, writer, other, 40, round); /* pressure */
        expect_true(!page_present(m, reader, at),
                    describe("round %u: the page left the reader", round));
        snprintf(text, sizeof text, "round %u", round);
        write_text(m, writer, at, text);
        /* the frame the writer has is evicted again before the reader */
        write_pages(m, writer, other, 40, round + 10);
        expect_text(m, reader, at, text);
        expect_text(m, writer, at, text);
        expect_size(frame_mapped_at(m, writer, at),
                    frame_mapped_at(m, reader, at),
                    describe("round %u: the writer's frame: the reader's",
                             round));
    }
    expect_true(m->num_swap_outs > swap_outs, "pages went to swap");
    delete_and_expect_nothing_held(m);
}

static void test_fork_exit_while_the_other_names_the_slot(void) {
    addr32 at, other;
    mmu *m = page_and_pressure(&at, &other);
    size_t child;
    swap_slot slot = private_page_in_swap_after_fork(m, at, other, 6, &child);
    expect_pages(m, child, at, 1, 6);
    addr32 frame = frame_mapped_at(m, child, at);
    expect_int(mmu_remove_process(m, child), 0, "the child's exit");
    expect_size(swap_slot_references(slot), 1, "references after the exit");
    size_t swap_ins = m->num_swap_ins, copies = m->num_cow_faults;
    expect_pages(m, 1, at, 1, 6);
    expect_size(m->num_swap_ins, swap_ins, "swap-ins of the parent's read");
    expect_size(frame_mapped_at(m, 1, at), frame, "the parent's frame");
    expect_size(swap_slot_references(slot), 0, "references after its read");
    write_text(m, 1, at, "mine");
    expect_cow_faults(m, copies, "the only sharer writes in place");
    expect_text(m, 1, at, "mine");
    delete_and_expect_nothing_held(m);
}

static void test_fork_exit_of_the_only_mapper_of_a_cached_page(void) {
    addr32 at, other;
    mmu *m = page_and_pressure(&at, &other);
    size_t child;
    swap_slot slot = private_page_in_swap_after_fork(m, at, other, 9, &child);
    expect_pages(m, 1, at, 1, 9);
    expect_int(mmu_remove_process(m, 1), 0, "the parent's exit");
    expect_size(swap_slot_references(slot), 1, "references after the exit");
    expect_pages(m, child, at, 1, 9);
    write_text(m, child, at, "mine");
    expect_text(m, child, at, "mine");
    delete_and_expect_nothing_held(m);
}

static void test_fork_exit_frees_a_cached_page_no_entry_maps(void) {
    addr32 at, other;
    mmu *m = page_and_pressure(&at, &other);
    size_t child;
    swap_slot slot = private_page_in_swap_after_fork(m, at, other, 3, &child);
    expect_pages(m, child, at, 1, 3);
    write_text(m, child, at, "copy"); /* the cached frame: no entry maps it */
    expect_int(mmu_remove_process(m, child), 0, "the child's exit");
    expect_size(swap_slot_references(slot), 1, "references after the exit");
    expect_int(mmu_remove_process(m, 1), 0, "the parent's exit");
    expect_size(swap_slot_references(slot), 0, "references after both");
    delete_and_expect_nothing_held(m);
}

/*
 * Takes every frame the pool can give (evicting what it must), so that
 * no frame but those handed back later can be evicted; the count goes to
 * `*count`, the frames to `frames`.
 */
static void take_every_frame(addr32 *frames, size_t *count) {
    *count = 0;
    addr32 frame;
    while ((frame = ask_kernel_for_frame(NULL, 0)) != 0)
        frames[(*count)++] = frame;
}

/*
 * Seed 131 of vm_fork_kernel: the write fault of a page back from swap
 * into the swap cache (another entry names its slot) takes a frame for
 * the copy, which evicts the very page; the page read back must then be
 * the writer's own, not the cache's frame, or the other process reads
 * the write.
 */
static void test_fork_write_evicting_its_own_cached_page_copies_it(void) {
    addr32 at, other;
    mmu *m = page_and_pressure(&at, &other);
    size_t child;
    swap_slot slot = private_page_in_swap_after_fork(m, at, other, 5, &child);
    addr32 frames[16];
    size_t count;
    take_every_frame(frames, &count);
    expect_true(count > 0, "frames taken from the pool");
    /* one frame: the page comes back into it, the copy evicts it again */
    return_frame_to_kernel(frames[--count]);
    write_text(m, 1, at, "parent");
    for (size_t i = 0; i < count; i++)
        return_frame_to_kernel(frames[i]);
    expect_text(m, 1, at, "parent");
    expect_pages(m, child, at, 1, 5);
    expect_true(frame_mapped_at(m, child, at) != frame_mapped_at(m, 1, at),
                "the child's frame differs from the parent's");
    expect_size(swap_slot_references(slot), 1,
                "references after both read: the child's clean page keeps "
                "the slot as its copy");
    delete_and_expect_nothing_held(m);
}

static void test_fork_mprotect_keeps_shared_private_pages_read_only(void) {
    mmu *m = new_mmu_with_process(1);
    addr32 at = map_or_fail(m, 1, 0, PAGE_SIZE, RW, ANON_PRIVATE, -1, 0);
    write_text(m, 1, at, "before");
    size_t child = fork_or_fail(m, 1);
    expect_int(vm_mprotect(m, 1, at, PAGE_SIZE, RW), 0, "mprotect RW");
    write_text(m, 1, at, "parent");
    expect_text(m, child, at, "before");
    expect_cow_faults(m, 1, "after the parent's write");
    mmu_delete(m);
    expect_all_frames_free("after mmu_delete");
}

static void test_fork_child_unmapping_part_leaves_the_parents_whole(void) {
    mmu *m = new_mmu_with_process(1);
    addr32 at = map_or_fail(m, 1, 0, 3 * PAGE_SIZE, RW, ANON_PRIVATE, -1, 0);
    write_pages(m, 1, at, 3, 9);
    size_t child = fork_or_fail(m, 1);
    expect_int(vm_munmap(m, child, at + PAGE_SIZE, PAGE_SIZE), 0,
               "the child's munmap of the middle page");
    expect_pages(m, 1, at, 3, 9);
    unsigned char byte;
    errno = 0;
    expect_size(read_virtual(m, child, at + PAGE_SIZE, &byte, 1), 0,
                "bytes the child reads from the page it unmapped");
    expect_errno(errno, EFAULT, "the child's read of its unmapped page");
    mmu_delete(m);
    expect_all_frames_free("after mmu_delete");
}

static void test_fork_of_a_process_using_most_of_the_pool_copies_nothing(
    void) {
    if (setenv("MMAP_FRAMES", "64", 1) != 0)
        setup_failed("setenv");
    mmu *m = new_mmu_with_process(1);
    addr32 at = map_or_fail(m, 1, 0, 40 * PAGE_SIZE, RW, ANON_PRIVATE, -1, 0);
    write_pages(m, 1, at, 40, 4);
    size_t free_before = kernel_frames_free();
    size_t child = fork_or_fail(m, 1);
    expect_at_most(free_before - kernel_frames_free(), 4,
                   "frames vm_fork took (a directory and tables)");
    expect_size(m->num_swap_outs, 0, "pages swapped out by vm_fork");
    for (size_t pid = 1; pid <= 2; pid++) /* three writers in turn */
        write_pages(m, pid == 1 ? child : 1, at, 1, (unsigned)(10 + pid));
    expect_pages(m, child, at, 1, 11);
    expect_pages(m, 1, at, 1, 12);
    unsigned char bytes[PAGE_SIZE];
    for (size_t page = 1; page < 40; page++) {
        fill_pattern(bytes, page, 4);
        expect_reads(m, child, at + (addr32)(page * PAGE_SIZE), bytes,
                     PAGE_SIZE, describe("the child's page %zu", page));
    }
    mmu_delete(m);
    expect_all_frames_free("after mmu_delete");
}

/*
 * A file eight times a 16-frame pool, mapped shared and private by a
 * parent and its child, written in turn by both: shared writes (byte 8 of
 * a page) go back to the file, private ones (byte 16) are copies that go
 * to swap. Each process then reads its own private bytes, the family's
 * shared ones, and the file ends with the shared writes alone.
 */
enum { BIG_PAGES = 128, SHARED_BYTE = 8, PRIVATE_BYTE = 16 };

typedef struct {
    unsigned char file[BIG_PAGES][2]; /* bytes 8 and 16 of each page */
    bool copied[2][BIG_PAGES];        /* private copy made, per process */
    unsigned char copy[2][BIG_PAGES][2];
} big_file_model;

static void big_file_write(mmu *m, big_file_model *model, size_t who,
                           size_t pid, addr32 base, size_t page, bool shared,
                           unsigned char value) {
    addr32 at = base + (addr32)(page * PAGE_SIZE) +
                (shared ? SHARED_BYTE : PRIVATE_BYTE);
    expect_writes(m, pid, at, &value, 1,
                  describe("pid %zu writes page %zu of its %s mapping", pid,
                           page, shared ? "shared" : "private"));
    if (shared) {
        model->file[page][0] = value;
        return;
    }
    if (!model->copied[who][page]) { /* the copy takes the page as it is */
        model->copied[who][page] = true;
        memcpy(model->copy[who][page], model->file[page], 2);
    }
    model->copy[who][page][1] = value;
}

static void big_file_expect(mmu *m, const big_file_model *model, size_t who,
                            size_t pid, addr32 shared, addr32 private_) {
    for (size_t page = 0; page < BIG_PAGES; page++) {
        addr32 offset = (addr32)(page * PAGE_SIZE);
        const unsigned char *seen = model->copied[who][page]
                                        ? model->copy[who][page]
                                        : model->file[page];
        unsigned char want[2] = {model->file[page][0], model->file[page][1]};
        expect_reads(m, pid, shared + offset + SHARED_BYTE, &want[0], 1,
                     describe("pid %zu's shared page %zu", pid, page));
        expect_reads(m, pid, private_ + offset + SHARED_BYTE, &seen[0], 1,
                     describe("pid %zu's private page %zu, byte 8", pid, page));
        expect_reads(m, pid, private_ + offset + PRIVATE_BYTE, &seen[1], 1,
                     describe("pid %zu's private page %zu, byte 16", pid,
                              page));
    }
}

static void
test_fork_file_many_times_the_pool_private_and_shared_writes_interleave(
    void) {
    small_pool();
    char path[PATH_MAX];
    make_pattern_file("big.bin", BIG_PAGES, 7, path);
    big_file_model model = {0};
    unsigned char bytes[PAGE_SIZE];
    for (size_t page = 0; page < BIG_PAGES; page++) {
        fill_pattern(bytes, page, 7);
        model.file[page][0] = bytes[SHARED_BYTE];
        model.file[page][1] = bytes[PRIVATE_BYTE];
    }
    int fd = open_file(path, O_RDWR);
    mmu *m = new_mmu_with_process(1);
    size_t length = BIG_PAGES * PAGE_SIZE;
    addr32 shared = map_or_fail(m, 1, 0, length, RW, VM_MAP_SHARED, fd, 0);
    addr32 private_ = map_or_fail(m, 1, 0, length, RW, VM_MAP_PRIVATE, fd, 0);
    close(fd);
    size_t pids[2] = {1, fork_or_fail(m, 1)};
    for (size_t i = 0; i < 4 * BIG_PAGES; i++) {
        size_t who = i % 2, page = (i * 37) % BIG_PAGES;
        bool is_shared = i % 3 == 0;
        big_file_write(m, &model, who, pids[who],
                       is_shared ? shared : private_, page, is_shared,
                       (unsigned char)(i * 7 + 1));
    }
    for (size_t who = 0; who < 2; who++)
        big_file_expect(m, &model, who, pids[who], shared, private_);
    expect_true(m->num_swap_outs > 0 && m->num_swap_ins > 0,
                describe("private copies went to swap and came back: %zu "
                         "out, %zu in", m->num_swap_outs, m->num_swap_ins));
    delete_and_expect_nothing_held(m);
    for (size_t page = 0; page < BIG_PAGES; page++) {
        unsigned char got[PRIVATE_BYTE + 1];
        fill_pattern(bytes, page, 7);
        read_file_at(path, (off_t)(page * PAGE_SIZE), got, sizeof got);
        expect_int(got[SHARED_BYTE], model.file[page][0],
                   describe("the file's page %zu: the last shared write",
                            page));
        expect_int(got[PRIVATE_BYTE], bytes[PRIVATE_BYTE],
                   describe("the file's page %zu: no private write", page));
    }
}

/*
 * xv6's cowtest "three": a process using most of the pool forks a child,
 * which forks a grandchild; the grandchild, then the child write every
 * page and end, each seeing only its own bytes; the parent, the last
 * sharer, then writes its pages in place, copying none.
 */
static void test_fork_three_generations_write_every_page_in_turn(void) {
    if (setenv("MMAP_FRAMES", "64", 1) != 0)
        setup_failed("setenv");
    enum { PAGES = 40 };
    mmu *m = new_mmu_with_process(1);
    addr32 at = map_or_fail(m, 1, 0, PAGES * PAGE_SIZE, RW, ANON_PRIVATE, -1,
                            0);
    write_pages(m, 1, at, PAGES, 1);
    size_t child = fork_or_fail(m, 1);
    size_t grandchild = fork_or_fail(m, child);
    write_pages(m, grandchild, at, PAGES, 3);
    expect_pages(m, grandchild, at, PAGES, 3);
    expect_pages(m, child, at, PAGES, 1);
    expect_int(mmu_remove_process(m, grandchild), 0, "the grandchild's end");
    write_pages(m, child, at, PAGES, 2);
    expect_pages(m, child, at, PAGES, 2);
    expect_int(mmu_remove_process(m, child), 0, "the child's end");
    expect_pages(m, 1, at, PAGES, 1);
    size_t copies = m->num_cow_faults;
    expect_true(copies >= PAGES,
                describe("copies made by the two children: %zu", copies));
    write_pages(m, 1, at, PAGES, 4);
    expect_cow_faults(m, copies, "after the last sharer wrote every page");
    expect_pages(m, 1, at, PAGES, 4);
    delete_and_expect_nothing_held(m);
}

/*
 * xv6's cowtest "file": bytes copied out of a copy-on-write page copy
 * nothing; one write into two such pages copies both, and the other
 * process keeps its bytes.
 */
static void test_fork_copies_out_of_and_into_copy_on_write_pages(void) {
    mmu *m = new_mmu_with_process(1);
    addr32 at = map_or_fail(m, 1, 0, 2 * PAGE_SIZE, RW, ANON_PRIVATE, -1, 0);
    write_pages(m, 1, at, 2, 5);
    size_t child = fork_or_fail(m, 1);
    expect_pages(m, child, at, 2, 5);
    expect_cow_faults(m, 0, "after the child copied both pages out");
    addr32 across = at + PAGE_SIZE - 3;
    write_text(m, child, across, "spans!");
    expect_cow_faults(m, 2, "after one write into both pages");
    expect_text(m, child, across, "spans!");
    expect_pages(m, 1, at, 2, 5);
    delete_and_expect_nothing_held(m);
}

/*
 * A model of a fork family in a small pool: every process has a private
 * and a shared anonymous area; private bytes are each process's own
 * (copied at fork), shared bytes the family's. Random writes, reads,
 * forks and exits must agree with the model byte for byte.
 */
enum { MODEL_PROCESSES = 4, MODEL_PRIVATE = 8, MODEL_SHARED = 3 };

typedef struct {
    bool live[MAX_PROCESS_ID];
    size_t pids[MODEL_PROCESSES];
    unsigned char own[MODEL_PROCESSES][MODEL_PRIVATE];
    unsigned char shared[MODEL_SHARED];
    size_t count;
    uint32_t seed;
} fork_model;

static uint32_t model_next(fork_model *model, uint32_t below) {
    model->seed = model->seed * 1103515245u + 12345u;
    return (model->seed >> 8) % below;
}

/* One random step of the family; `priv` and `shared` are the areas. */
static void model_step(mmu *m, fork_model *model, addr32 priv, addr32 shared) {
    size_t who = model_next(model, (uint32_t)model->count);
    size_t pid = model->pids[who];
    uint32_t op = model_next(model, 10);
    bool in_shared = model_next(model, 3) == 0;
    uint32_t page = model_next(model, in_shared ? MODEL_SHARED : MODEL_PRIVATE);
    addr32 at = (in_shared ? shared : priv) + page * PAGE_SIZE +
                model_next(model, PAGE_SIZE);
    unsigned char *want =
        in_shared ? &model->shared[page] : &model->own[who][page];
    if (op < 4) {
        unsigned char byte = (unsigned char)model_next(model, 256);
        expect_writes(m, pid, at, &byte, 1, "a write of the model");
        *want = byte; /* every byte of a page holds the last value written */
        unsigned char fill[PAGE_SIZE];
        memset(fill, byte, PAGE_SIZE);
        expect_writes(m, pid, at & ~(addr32)(PAGE_SIZE - 1), fill, PAGE_SIZE,
                      "a page of the model");
    } else if (op < 8) {
        unsigned char page_bytes[PAGE_SIZE];
        memset(page_bytes, *want, PAGE_SIZE);
        expect_reads(m, pid, at & ~(addr32)(PAGE_SIZE - 1), page_bytes,
                     PAGE_SIZE, describe("pid %zu's %s page %u", pid,
                                         in_shared ? "shared" : "private",
                                         page));
    } else if (op == 8 && model->count < MODEL_PROCESSES) {
        size_t child = fork_or_fail(m, pid);
        model->pids[model->count] = child;
        memcpy(model->own[model->count], model->own[who], MODEL_PRIVATE);
        model->count++;
    } else if (op == 9 && model->count > 1) {
        expect_int(mmu_remove_process(m, pid), 0, "an exit of the model");
        model->count--;
        model->pids[who] = model->pids[model->count];
        memcpy(model->own[who], model->own[model->count], MODEL_PRIVATE);
    }
}

static void test_fork_random_family_agrees_with_a_model_in_a_small_pool(
    void) {
    if (setenv("MMAP_FRAMES", "24", 1) != 0)
        setup_failed("setenv");
    mmu *m = new_mmu_with_process(1);
    addr32 priv = map_or_fail(m, 1, 0, MODEL_PRIVATE * PAGE_SIZE, RW,
                              ANON_PRIVATE, -1, 0);
    addr32 shared = map_or_fail(m, 1, 0, MODEL_SHARED * PAGE_SIZE, RW,
                                ANON_SHARED, -1, 0);
    static fork_model model;
    memset(&model, 0, sizeof model);
    model.pids[0] = 1;
    model.count = 1;
    model.seed = 2026;
    for (int step = 0; step < 3000; step++)
        model_step(m, &model, priv, shared);
    expect_true(m->num_swap_outs > 0 && m->num_cow_faults > 0,
                describe("swap-outs (%zu) and copies (%zu) both happened",
                         m->num_swap_outs, m->num_cow_faults));
    delete_and_expect_nothing_held(m);
}

/* Seed 003: the child writes 0..9 and ends; what does the parent read? */
static void seed_003(int flags, bool shared) {
    mmu *m = new_mmu_with_process(1);
    addr32 at = map_or_fail(m, 1, 0, 10 * sizeof(int), RW,
                            flags | VM_MAP_ANONYMOUS, -1, 0);
    size_t child = fork_or_fail(m, 1);
    for (int i = 0; i < 10; i++)
        expect_writes(m, child, at + (addr32)(i * sizeof i), &i, sizeof i,
                      "the child's write");
    expect_int(mmu_remove_process(m, child), 0, "the child's exit");
    for (int i = 0; i < 10; i++) {
        int want = shared ? i : 0;
        expect_reads(m, 1, at + (addr32)(i * sizeof i), &want, sizeof want,
                     describe("the parent's a[%d]", i));
    }
    mmu_delete(m);
    expect_all_frames_free("after mmu_delete");
}

static void test_fork_seed_003_shared_parent_reads_0_to_9(void) {
    seed_003(VM_MAP_SHARED, true);
}

static void test_fork_seed_003_private_parent_reads_zeros(void) {
    seed_003(VM_MAP_PRIVATE, false);
}

static const test_case fork_tests[] = {
    TEST(fork_child_reads_the_parents_pages),
    TEST(fork_shared_anonymous_writes_are_seen_both_ways),
    TEST(fork_shared_file_writes_are_seen_both_ways),
    TEST(fork_private_anonymous_pages_are_copied_on_write),
    TEST(fork_private_file_copies_are_copied_on_write),
    TEST(fork_demand_zero_segment_is_copied_on_write),
    TEST(fork_private_file_page_not_copied_stays_the_caches),
    TEST(fork_chain_of_three_generations_writes_apart),
    TEST(fork_three_generations_write_every_page_in_turn),
    TEST(fork_copies_out_of_and_into_copy_on_write_pages),
    TEST(fork_file_many_times_the_pool_private_and_shared_writes_interleave),
    TEST(fork_parent_exit_leaves_the_childs_bytes),
    TEST(fork_after_swap_out_both_read_the_page),
    TEST(fork_enomem_part_way_leaves_nothing_behind),
    TEST(fork_eagain_when_no_pid_is_free),
    TEST(fork_einval_without_parent_or_mmu),
    TEST(fork_seed_003_shared_parent_reads_0_to_9),
    TEST(fork_seed_003_private_parent_reads_zeros),
    TEST(fork_shared_anonymous_page_stays_shared_under_pressure),
    TEST(fork_private_page_evicted_after_fork_names_one_slot),
    TEST(fork_private_page_back_from_swap_is_one_frame_for_both),
    TEST(fork_shared_anonymous_page_is_one_frame_through_swap),
    TEST(fork_exit_while_the_other_names_the_slot),
    TEST(fork_exit_of_the_only_mapper_of_a_cached_page),
    TEST(fork_exit_frees_a_cached_page_no_entry_maps),
    TEST(fork_write_evicting_its_own_cached_page_copies_it),
    TEST(fork_mprotect_keeps_shared_private_pages_read_only),
    TEST(fork_child_unmapping_part_leaves_the_parents_whole),
    TEST(fork_of_a_process_using_most_of_the_pool_copies_nothing),
    TEST(fork_random_family_agrees_with_a_model_in_a_small_pool),
};

const test_suite fork_suite = {"fork", fork_tests,
                               sizeof fork_tests / sizeof fork_tests[0]};
