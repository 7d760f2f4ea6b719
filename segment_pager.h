/*
 * segment_pager.h: paging of segments that carry a pager (segments.h).
 *
 * This is how the lab's MMU backs a segment with a store: the MMU owns the
 * frames it faults in for such a segment, one fault has the pager fill a
 * run of pages (the rest of the access and, after a resident page,
 * read-ahead that waits in its entries marked cached), and dirty pages go
 * back through the pager, neighbours in one call, at eviction, mmu_sync
 * and process removal. A segment without a pager gets demand-zero pages,
 * pinned. Mapped areas (vm.h) are paged through the page cache instead.
 * Only mmu.c calls this module. Left out: sharing a segment's pages, swap.
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
 * What the pool asks of an MMU about the frames its segments hold: the
 * MMU's `owner` points here.
 */
extern const frame_owner_ops segment_pager_frame_ops;

/*
 * Serves a fault on the page of `address` of a segment (not a mapped
 * area): a page read ahead is only mapped (minor); otherwise the pager
 * fills a run of frames (major), or, with no pager, a zeroed frame is
 * mapped. Counts the page fault. Returns 0, or -1 with errno (ENOMEM, the
 * pager's).
 */
int segment_pager_fault(mmu *self, size_t pid, addr32 address,
                        page_table_entry *entry, const mmu_access *access);

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
