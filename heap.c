/*
 * heap.c: the program break behind vm_sbrk: the end of a process's HEAP
 * segment (segments.h), moved by whole pages as sbrk(2) moves Linux's.
 *
 * A module of its own because it works on a segment, not on the mapped
 * areas vm.c keeps; vm.c only checks vm_sbrk's arguments and calls here.
 */
#include "heap.h"

#include <errno.h>
#include <stdint.h>

#include "anon.h"
#include "page_table.h"
#include "segment_pager.h"
#include "tlb.h"

typedef struct {
    mmu *mmu;
    size_t pid;
} heap_visit;

/*
 * Frees one page past the new break: a demand-zero page's frame or swap
 * slot, or the frame a pager filled (written back already). The TLB may
 * hold its translation only when the process is the running one.
 */
static void free_heap_page(addr32 address, page_table_entry *entry,
                           void *context) {
    heap_visit *visit = context;
    if (page_table_entry_state(entry) == PAGE_UNTOUCHED)
        return;
    anon_entry_release(entry, visit->mmu, visit->pid, address);
    if (visit->mmu->curr_pid == visit->pid)
        tlb_invalidate(visit->mmu->tlb, address);
}

/* Frees every page of [start, end), and the page tables left empty. */
static void free_heap_pages(mmu *this, size_t pid, addr32 start, addr32 end) {
    heap_visit visit = {this, pid};
    page_directory *directory = this->page_directories[pid];
    page_table_for_each(directory, start, end, free_heap_page, &visit);
    page_table_release_unused(directory, start, end);
}

/*
 * Moves the break down to `end` (page-aligned, not below the start):
 * dirty pages of a heap with a pager go back through it first, so that a
 * failed write changes nothing; then the pages past `end` are freed and
 * page tables left empty go back to the pool. Returns 0, or -1 with the
 * pager's errno.
 */
static int shrink_heap(mmu *this, size_t pid, vm_segmentation *heap,
                       addr32 end) {
    addr32 old_end = heap->end;
    if (heap->backing && segment_pager_sync(this, pid, end, old_end) != 0)
        return -1;
    free_heap_pages(this, pid, end, old_end);
    shrink_segment(heap, (old_end - end) / PAGE_SIZE);
    return 0;
}

/*
 * Moves the break up to `end`. Pages a hand-made shrink_segment left past
 * the old end are freed first: a page the heap gains reads as zeros.
 */
static int grow_heap(mmu *this, size_t pid, vm_segmentation *heap,
                     addr32 end) {
    addr32 old_end = heap->end;
    if (grow_segment(heap, (end - old_end) / PAGE_SIZE) != 0)
        return -1;
    free_heap_pages(this, pid, old_end, end);
    return 0;
}

/*
 * The break `increment` bytes from `heap`'s end, rounded up to a page, or
 * 0 when it would leave [start, limit]. The limit is where the next
 * region (MMAP, where every mapping lives) begins, so no other segment or
 * mapping can lie between the heap and it.
 */
static addr32 new_break(const vm_segmentation *heap, long increment) {
    int64_t room_above = (int64_t)heap->limit - heap->end;
    int64_t room_below = (int64_t)heap->end - heap->start;
    if (increment > room_above || increment < -room_below)
        return 0;
    int64_t end = (int64_t)heap->end + increment;
    return (addr32)((end + PAGE_SIZE - 1) / PAGE_SIZE * PAGE_SIZE);
}

int heap_move_break(mmu *this, size_t pid, long increment,
                    addr32 *old_break) {
    vm_segmentation *heap = &this->segmentations[pid]->segments[HEAP];
    addr32 old_end = heap->end;
    addr32 end = new_break(heap, increment);
    if (end == 0) {
        errno = ENOMEM;
        return -1;
    }
    if (end > old_end && grow_heap(this, pid, heap, end) != 0)
        return -1;
    if (end < old_end && shrink_heap(this, pid, heap, end) != 0)
        return -1;
    *old_break = old_end;
    return 0;
}
