/*
 * segment_pager.h: the store behind segments that carry a pager.
 *
 * The one fault path (fault.h) serves every page; for a page of a segment
 * with a pager (segments.h) it calls here, as it calls the page cache for
 * a page of a file. The MMU owns these frames (its `owner` is registered
 * here at the first one), one fault has the pager fill a run of pages (the
 * rest of the access and, after a resident page, read-ahead that waits in
 * its entries marked cached), and dirty pages go back through the pager,
 * neighbours in one call, at eviction, mmu_sync and process removal.
 * A segment without a pager is anonymous memory (anon.h), not this
 * module's. Calls go down: fault.c and vm.c call this module; it calls the
 * pagers, the page tables, the TLB and the pool. Left out: sharing a
 * segment's pages, swap.
 */
#ifndef SEGMENT_PAGER_H
#define SEGMENT_PAGER_H

#include <stddef.h>

#include "kernel.h"
#include "mmu.h"
#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * What the pool asks of an MMU about the frames its segments' pagers
 * filled: the MMU's `owner` points here from its first such frame.
 */
extern const frame_owner_ops segment_pager_frame_ops;

/*
 * The major fault on the page of `address` in `segment`, which has a
 * pager, for fault.c: takes frames for a run (the rest of the access and,
 * for a read after a resident page, read-ahead; pinned while filled), has
 * the pager fill them, maps the page (writable if the segment is) and
 * leaves the others cached in their entries for their own first touch.
 * When the run cannot be read whole, the page is tried alone. Counts
 * nothing: the caller counts and reports the fault. Returns 0, or -1 with
 * errno (ENOMEM, the pager's), and then no frame is kept.
 */
int segment_pager_page_in(mmu *self, size_t pid, vm_segmentation *segment,
                          addr32 address, page_table_entry *entry,
                          const mmu_access *access);

/*
 * Writes the dirty pages of process `pid`'s segments in [start, end) back
 * through their pagers and marks them clean; pages of mapped areas are
 * left alone. Returns 0, or -1 with the errno of the first failure (those
 * pages stay dirty).
 */
int segment_pager_sync(mmu *self, size_t pid, addr32 start, addr32 end);

#ifdef __cplusplus
}
#endif

#endif
