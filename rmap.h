/*
 * rmap.h: the reverse map, from a frame of the page cache to every
 * page-table entry that maps it.
 *
 * A page of a file may be mapped by many processes of many MMUs at once.
 * To evict it, write it back or drop it, the page cache must reach all of
 * their entries: this module records, for each frame, who maps it (the
 * MMU, the process and the virtual address), and acts on all of those
 * entries at once: it gathers and clears their accessed and dirty bits,
 * and unmaps the frame everywhere, dropping the translations that each
 * MMU's TLB holds. The first mapper of a frame is kept in the frame's own
 * record, so the usual page, mapped once, costs no allocation.
 *
 * Calls go one way: vm and fault add and remove mappers as they map and
 * unmap pages; the page cache asks the questions. Left out: anonymous
 * pages (anon.c keeps their mappers), locking.
 */
#ifndef RMAP_H
#define RMAP_H

#include <stdbool.h>
#include <stddef.h>

#include "mmu.h"
#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Records that `address` of process `pid` of `mmu` maps the frame at
 * `frame`. Returns 0, or -1 with errno ENOMEM (the pool's records cannot
 * be reserved, or no memory for a second mapper of the frame).
 */
int rmap_add(addr32 frame, mmu *mmu, size_t pid, addr32 address);

/* Forgets that mapping; it must have been added. */
void rmap_remove(addr32 frame, mmu *mmu, size_t pid, addr32 address);

/*
 * The first entry that maps the frame, for the trace: sets `*pid` and
 * `*address` and returns true, or returns false when none does.
 */
bool rmap_first(addr32 frame, size_t *pid, addr32 *address);

/* How many entries map the frame. */
size_t rmap_count(addr32 frame);

/* Whether any entry mapping the frame was accessed; clears every one. */
bool rmap_clear_accessed(addr32 frame);

/* Whether any entry mapping the frame is dirty. */
bool rmap_dirty(addr32 frame);

/* Clears the dirty bit of every entry mapping the frame. */
void rmap_clear_dirty(addr32 frame);

/*
 * Unmaps the frame everywhere: clears every entry that maps it, drops
 * their translations from the TLBs that hold them, and forgets them all.
 * Returns whether any of them was dirty.
 */
bool rmap_unmap_all(addr32 frame);

#ifdef __cplusplus
}
#endif

#endif
