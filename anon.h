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
 * and the frame goes back; a fault (fault.h) reads it back. Left out: a
 * swap cache: a page in swap that several entries name comes back as one
 * frame per entry that touches it, which only private pages may do, so a
 * shared mapping's page stays resident while several entries map it (see
 * vm.h, vm_fork); keeping the slot
 * of a clean page that came back (it is written again when evicted
 * again), clustering.
 */
#ifndef ANON_H
#define ANON_H

#include <stdbool.h>
#include <stddef.h>

#include "mmu.h"
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
 * entry); `shared`: of a shared mapping, whose page the pool then leaves
 * resident while several entries map it. Returns 0, or -1 with errno
 * ENOMEM, and then nothing changed.
 */
int anon_page_share(addr32 frame, mmu *mmu, size_t pid, addr32 address,
                    bool shared);

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
