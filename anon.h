/*
 * anon.h: anonymous pages: zero-filled memory and private copies, and
 * their owner in the pool, which sends them to swap.
 *
 * An anonymous page has no file to go back to: the frames of demand-zero
 * memory (vm_mmap with VM_MAP_ANONYMOUS, and the segments without a
 * pager) and of the copies a private mapping makes on its first write to
 * a page. This module owns their frames (it is their frame_owner, as the
 * page cache owns the cache's): each frame has its mappers (the MMU,
 * process and address of each entry that maps it: one, or several after
 * vm_fork), kept in a table indexed by frame number. When the pool's
 * clock picks one, its page is written to one slot of swap (swap.h),
 * every entry that mapped it becomes swapped with the slot's number
 * (page_table.h), held once per entry, their translations leave the TLBs,
 * and the frame goes back; a fault (fault.h) reads it back.
 *
 * The swap cache, as Linux's: when a page comes back from a slot that
 * other entries still name (fork shared it), its frame is kept in a table
 * indexed by slot, and each of those entries that faults maps that frame
 * (a minor fault) and drops its share of the slot, until the last one
 * frees the slot and the frame leaves the cache. So a page shared before
 * eviction is one frame after: a private one read-only in each, copied on
 * the first write, a shared mapping's seen by all. A frame of the cache
 * that no entry maps any more (they wrote, or left) stays, evictable,
 * until its slot is freed; a frame of the cache evicted again is written
 * over its own slot, which every entry still naming it keeps.
 *
 * Left out: keeping the slot of a clean page that came back when no other
 * entry names it (it is written again when evicted again), clustering.
 */
#ifndef ANON_H
#define ANON_H

#include <stdbool.h>
#include <stddef.h>

#include "mmu.h"
#include "swap.h"
#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A frame taken for an anonymous page, pinned while the caller fills it,
 * or 0 with errno (see ask_kernel_for_frame; ENOMEM as well when the
 * table of mappers cannot be reserved). Taking it may evict a page, so
 * the caller looks up what it copies only afterwards. Hand it to the
 * pool's care with anon_page_map once its entry maps it.
 */
addr32 anon_page_take(void);

/* anon_page_take, the frame filled with zeros. */
addr32 anon_page_zeroed(void);

/*
 * Records that `address` of process `pid` of `mmu` maps the anonymous
 * frame `frame` (taken by anon_page_take, its entry now present), its
 * first mapper, and makes the frame evictable: from now on the pool may
 * send the page to swap.
 */
void anon_page_map(addr32 frame, mmu *mmu, size_t pid, addr32 address);

/*
 * Records one more mapper of the mapped frame `frame` (vm_fork copying an
 * entry). Returns 0, or -1 with errno ENOMEM, and then nothing changed.
 */
int anon_page_share(addr32 frame, mmu *mmu, size_t pid, addr32 address);

/* The frame of the swap cache that holds slot `slot`'s page, or 0. */
addr32 anon_swap_cache_find(swap_slot slot);

/*
 * Puts the frame `frame`, just read back from slot `slot` and mapped by
 * its one mapper (anon_page_map), in the swap cache if other entries
 * still name the slot; else does nothing. Call it before that mapper's
 * entry drops its share of the slot (anon_slot_release). When the cache
 * cannot be reserved the page simply stays out of it.
 */
void anon_swap_cache_add(addr32 frame, swap_slot slot);

/*
 * Hands the share of slot `slot` held by the entry that `frame` was just
 * read back for (and that now maps it, anon_page_map) to the frame: to
 * the swap cache if other entries still name the slot (the entry's share
 * dropped, anon_swap_cache_add), else to the frame itself as its copy in
 * swap, still valid, so that the page is not written again at its next
 * eviction unless it changes. While it has that copy, its entries must be
 * read-only (anon_page_has_swap_copy), and the first write drops it
 * (anon_page_drop_swap_copy). As Linux's swap cache, but for one mapper.
 */
void anon_page_swapped_in(addr32 frame, swap_slot slot);

/* Whether the frame `frame` has a copy in swap still valid. */
bool anon_page_has_swap_copy(addr32 frame);

/*
 * Frees the frame's copy in swap, before a write changes the page.
 * Returns whether it had one.
 */
bool anon_page_drop_swap_copy(addr32 frame);

/*
 * Records that the entry of `address` of process `pid` of `mmu`, which
 * named the slot of the swap cache's frame `frame`, now maps the frame
 * (its first mapper, or one more). The entry's share of the slot is the
 * caller's to drop next (anon_slot_release). Returns 0, or -1 with errno
 * ENOMEM, and then nothing changed.
 */
int anon_swap_cache_map(addr32 frame, mmu *mmu, size_t pid, addr32 address);

/*
 * Drops one entry's share of the held slot `slot` (swap_free); after the
 * last one the slot is free and its frame leaves the swap cache (given
 * back to the pool if no entry maps it).
 */
void anon_slot_release(swap_slot slot);

/*
 * Whether a private entry mapping the anonymous frame `frame` must copy
 * it before writing: other entries map it, or still name its slot (the
 * swap cache). False for a frame that is no anonymous page's.
 */
bool anon_page_copy_on_write(addr32 frame);

/*
 * Keeps the mapped frame `frame` from the pool (vm_fork, while it takes
 * frames for the child's tables) until anon_page_unpin.
 */
void anon_page_pin(addr32 frame);
void anon_page_unpin(addr32 frame);

/* How many entries map `frame`: 0 when it is no anonymous page's. */
size_t anon_page_mappers(addr32 frame);

/* Whether `frame` holds an anonymous page mapped by anon_page_map. */
bool anon_page_owns(addr32 frame);

/*
 * Forgets that mapper of `frame` (it must be one); the last one's going
 * gives the frame back to the pool. Its entry is the caller's to clear.
 */
void anon_page_unmap(addr32 frame, mmu *mmu, size_t pid, addr32 address);

/*
 * Gives an anonymous page's frame back to the pool (mapped once, or only
 * taken); its entry is the caller's to clear. A frame with several
 * mappers is a broken invariant (assert): use anon_page_unmap.
 */
void anon_page_free(addr32 frame);

/*
 * Drops what the entry of process `pid` of `mmu` at `address` (a page of
 * a segment, or an anonymous page) holds and clears it: its share of the
 * swap slot of a page in swap, its share of an anonymous page's frame
 * (anon_page_unmap: the last mapper frees it), or the frame a pager
 * filled (whose dirty bytes the caller has written back). An entry never
 * touched is left as it is.
 */
void anon_entry_release(page_table_entry *entry, mmu *mmu, size_t pid,
                        addr32 address);

#ifdef __cplusplus
}
#endif

#endif
