/*
 * segments.h: the regions of a simulated process's address space.
 *
 * Each segment is a range [start, end) of whole pages with permissions,
 * growing up (end moves) or down (start moves) inside a fixed region of the
 * 32-bit space; an address outside every segment is a segmentation fault.
 * A segment may carry a backing store, its pager, which the MMU asks to
 * fill a page on a fault and to save a dirty page; a segment without one
 * is demand-zero memory. Left out: overlapping or movable regions, and
 * guard pages.
 *
 * The layout, from the top: TESTING (free for tests), STACK (grows down
 * from 0xC0000000), MMAP (grows up from 0x40000000, room for 1.75 GiB),
 * HEAP (grows up from 0x10000000), BSS, DATA, TEXT (from 0x08000000).
 */
#ifndef SEGMENTS_H
#define SEGMENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

enum permissions { READ = 0x1, WRITE = 0x2, EXEC = 0x4 };

enum segments { STACK, MMAP, HEAP, BSS, DATA, TEXT, TESTING, NUM_SEGMENTS };

typedef struct pager pager;

/*
 * A backing store, seen by the MMU: the way a kernel's fault handler calls
 * a mapping's operations without knowing what a file is. Pages are
 * numbered from 0 at the segment's start. Both operations take a run of
 * neighbouring pages, so a store can move it in one I/O call; the frames
 * of a run need not be neighbours. Embed this in the store's own record.
 */
struct pager {
    /*
     * Fills frames[0] .. frames[count - 1] (PAGE_SIZE bytes each, all of
     * them) with pages `page` .. `page + count - 1`; bytes the store does
     * not have read as zero. Returns 0, or -1 with errno.
     */
    int (*page_in)(pager *self, size_t page, void *const frames[],
                   size_t count);
    /*
     * Saves the PAGE_SIZE bytes of each of frames[0] .. frames[count - 1]
     * as pages `page` .. `page + count - 1`, all the way to the store, so
     * that a failure is reported here. Returns 0, or -1 with errno, and
     * then no page of the run counts as saved.
     */
    int (*page_out)(pager *self, size_t page, const void *const frames[],
                    size_t count);
    /*
     * true: one page at a time, as a textbook's model has it: a fault
     * reads its own page only (no run, no read-ahead) and an eviction
     * writes its victim only, without its dirty neighbours. A replay's
     * store asks for it (replay.h); false is the machine's usual way.
     */
    bool page_at_a_time;
};

typedef struct {
    addr32 start;         /* first address, page-aligned */
    addr32 end;           /* one past the last address, page-aligned */
    uint32_t permissions; /* enum permissions, or'ed */
    bool grows_down;
    addr32 limit;   /* how far it may grow: lowest start or highest end */
    pager *backing; /* NULL: demand-zero; not owned */
} vm_segmentation;

typedef struct {
    vm_segmentation segments[NUM_SEGMENTS];
    size_t last_found; /* find_segment looks here first */
} vm_segmentations;

/*
 * Returns a fresh address space with every segment empty, at its place in
 * the layout above, with no backing store; or NULL with errno ENOMEM.
 * Free it with free().
 */
vm_segmentations *segmentations_create(void);

/*
 * Grows `segment` by `num_pages` at its growing end. Returns 0, or -1 with
 * errno ENOMEM (and no change) when it would pass its limit.
 */
int grow_segment(vm_segmentation *segment, uint32_t num_pages);

/*
 * Shrinks `segment` by `num_pages` at its growing end, to no less than
 * empty. Pages left outside are no longer reachable; their frames are
 * reclaimed when the process is removed.
 */
void shrink_segment(vm_segmentation *segment, uint32_t num_pages);

/* Returns whether `address` lies in any segment of `segmentations`. */
bool address_in_segmentations(vm_segmentations *segmentations, addr32 address);

/*
 * Returns the segment holding `address`, or NULL. The segment found last
 * is tried first, so a run of accesses to one segment costs one check.
 */
vm_segmentation *find_segment(vm_segmentations *segmentations, addr32 address);

/* The segment's name as the layout above spells it, e.g. "MMAP". */
const char *segment_name(enum segments segment);

#ifdef __cplusplus
}
#endif

#endif
