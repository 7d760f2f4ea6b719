/*
 * fork.c: fork_process (vm_fork), a process copied in its MMU: its
 * segments, its areas and its page tables, sharing every page and copying
 * none (vm.h).
 *
 * The flow, as xv6's uvmcopy: one loop over the parent's entries, every
 * failure to one place that ends the child.
 *   1. Check the parent; take the lowest free pid (EAGAIN when none).
 *   2. Write the parent's dirty pages of segments with a pager back
 *      through it: those pages are not copied, and the child reads them
 *      from the store at its first touch (they have one owner each,
 *      segment_pager.h), read-ahead ones included.
 *   3. Make the child: a page directory, the parent's segments.
 *   4. Copy the areas, each file area taking a reference on its file.
 *   5. Give each untouched page of the parent's shared anonymous areas
 *      its frame of zeros (a fault of the parent's), since there is no
 *      object behind such an area (Linux's shmem) through which a page
 *      touched first after fork could reach the other process. Pages in
 *      swap stay there: the swap cache (anon.h) brings one back as one
 *      frame for every entry that names its slot.
 *   6. Copy each entry that holds a page (page_table_for_each): the
 *      child's walk may take a frame for its table, and so evict the very
 *      page; the entry is looked at again after it. Then:
 *        - in swap: the child's entry names the same slot (swap_hold);
 *        - a page of the page cache: the child's entry maps the same
 *          frame with the parent's rights, added to the reverse map;
 *        - an anonymous page: one more mapper (anon.h), with the
 *          parent's rights for a shared anonymous area; of a private
 *          area or a demand-zero segment, read-only in both entries, so
 *          that the first write copies it (fault.c).
 *   7. If the parent runs, its TLB entries go: some became read-only.
 *   8. On a failure in 3-6, the child ends (mmu_remove_process): each
 *      share taken is dropped again, each frame it took given back (its
 *      end writes back the dirty pages of the shared file mappings it
 *      copied, as any end does; the pages stay in the parent, clean).
 */
#include "fork.h"

#include <errno.h>
#include <stdint.h>

#include "anon.h"
#include "fault.h"
#include "page_cache.h"
#include "rmap.h"
#include "segment_pager.h"
#include "swap.h"
#include "vma.h"

/* How a page of the parent goes to the child. */
typedef enum {
    FORK_NOT_COPIED, /* a pager's page: the child reads it from the store */
    FORK_SHARED,     /* a shared mapping's: the same frame, same rights */
    FORK_PRIVATE,    /* private: the same frame, read-only in both */
} fork_kind;

typedef struct {
    mmu *mmu;
    size_t parent, child;
    int failure; /* the errno of the first failure, or 0 */
} fork_copy;

static bool process_exists(const mmu *this, size_t pid) {
    return this && pid < MAX_PROCESS_ID && this->page_directories[pid];
}

/* The lowest pid with no process, or MAX_PROCESS_ID when none is free. */
static size_t free_pid(const mmu *this) {
    size_t pid = 0;
    while (pid < MAX_PROCESS_ID && this->page_directories[pid])
        pid++;
    return pid;
}

/* Step 4: the child's areas, copies of the parent's. 0, or -1: errno. */
static int copy_areas(mmu *this, size_t parent, size_t child) {
    vm_areas *from = this->areas[parent];
    if (!from)
        return 0;
    vm_areas *to = vma_create();
    if (!to)
        return -1;
    this->areas[child] = to;
    size_t count = 0;
    for (vm_area *a = vma_first_ending_after(from, 0); a; a = vma_next(from, a))
        count++;
    if (vma_reserve(to, count) != 0)
        return -1;
    for (vm_area *a = vma_first_ending_after(from, 0); a;
         a = vma_next(from, a)) {
        vma_insert(to, a);
        if (a->file)
            page_cache_hold(a->file);
    }
    return 0;
}

/* How the parent's page at `address` goes to the child. */
static fork_kind kind_of(const fork_copy *copy, addr32 address) {
    mmu *m = copy->mmu;
    if (mmu_in_areas(m, copy->parent, address)) {
        const vm_area *area = vma_find(m->areas[copy->parent], address);
        if (area && area->shared)
            return FORK_SHARED;
        return FORK_PRIVATE;
    }
    const vm_segmentation *segment =
        find_segment(m->segmentations[copy->parent], address);
    return segment && !segment->backing ? FORK_PRIVATE : FORK_NOT_COPIED;
}

/* Step 6 for a present entry: the child shares its frame. 0, or -1. */
static int share_frame(const fork_copy *copy, addr32 address,
                       page_table_entry *from, page_table_entry *to,
                       fork_kind kind) {
    addr32 frame = page_table_entry_frame(from);
    if (page_cache_owns(frame)) {
        if (rmap_add(frame, copy->mmu, copy->child, address) != 0)
            return -1;
    } else {
        if (anon_page_share(frame, copy->mmu, copy->child, address) != 0)
            return -1;
        if (kind == FORK_PRIVATE)
            from->read_write = 0;
    }
    *to = *from;
    to->accessed = 0;
    to->dirty = 0; /* the parent's entry keeps the page's dirty bit */
    return 0;
}

/* Step 5 for the page at `at` of a shared anonymous area. 0, or -1. */
static int make_anonymous_page(const fork_copy *copy, addr32 at) {
    mmu *m = copy->mmu;
    page_directory *directory = m->page_directories[copy->parent];
    page_table_entry *from = page_table_walk(directory, at, true);
    if (!from)
        return -1;
    if (page_table_entry_state(from) != PAGE_UNTOUCHED)
        return 0;
    mmu_access read = {at, (uint64_t)at + PAGE_SIZE, false};
    page_table_hold(directory, at);
    int result = fault_handle(m, copy->parent, at, from, &read);
    page_table_unhold();
    return result;
}

/* Step 5: every shared anonymous area's pages. 0, or -1 with errno. */
static int make_anonymous_areas(const fork_copy *copy) {
    vm_areas *areas = copy->mmu->areas[copy->parent];
    for (vm_area *a = areas ? vma_first_ending_after(areas, 0) : NULL; a;
         a = vma_next(areas, a)) {
        if (!a->shared || a->file)
            continue;
        for (addr32 at = a->start; at < a->end; at += PAGE_SIZE)
            if (make_anonymous_page(copy, at) != 0)
                return -1;
    }
    return 0;
}

/* Step 6: one entry of the parent, copied to the child (see above). */
static void copy_entry(addr32 address, page_table_entry *from,
                       void *context) {
    fork_copy *copy = context;
    page_table_state state = page_table_entry_state(from);
    if (copy->failure || state == PAGE_UNTOUCHED || state == PAGE_READ_AHEAD)
        return;
    fork_kind kind = kind_of(copy, address);
    if (kind == FORK_NOT_COPIED)
        return;
    page_table_entry *to = page_table_walk(
        copy->mmu->page_directories[copy->child], address, true);
    if (!to) {
        copy->failure = errno;
        return;
    }
    /* The walk may have evicted the page: to swap, or out of the cache. */
    state = page_table_entry_state(from);
    if (state == PAGE_SWAPPED) {
        swap_hold(page_table_entry_slot(from));
        *to = *from;
    } else if (state == PAGE_RESIDENT &&
               share_frame(copy, address, from, to, kind) != 0) {
        copy->failure = errno;
    }
}

/* Steps 3 to 6: the child made whole. 0, or -1 with errno. */
static int copy_process(mmu *this, size_t parent, size_t child) {
    if (mmu_add_process(this, child) != 0)
        return -1;
    *this->segmentations[child] = *this->segmentations[parent];
    if (copy_areas(this, parent, child) != 0)
        return -1;
    fork_copy copy = {this, parent, child, 0};
    if (make_anonymous_areas(&copy) != 0)
        return -1;
    page_table_for_each(this->page_directories[parent], 0, ADDRESS_SPACE_END,
                        copy_entry, &copy);
    if (copy.failure) {
        errno = copy.failure;
        return -1;
    }
    return 0;
}

int fork_process(mmu *this, size_t parent) {
    if (!process_exists(this, parent)) {
        errno = EINVAL;
        return -1;
    }
    size_t child = free_pid(this);
    if (child == MAX_PROCESS_ID) {
        errno = EAGAIN;
        return -1;
    }
    if (segment_pager_sync(this, parent, 0, UINT32_MAX) != 0)
        return -1;
    int result = copy_process(this, parent, child);
    if (this->curr_pid == parent)
        tlb_flush(this->tlb);
    if (result != 0) {
        int failure = errno;
        mmu_remove_process(this, child);
        errno = failure;
        return -1;
    }
    return (int)child;
}
