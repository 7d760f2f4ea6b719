/*
 * anon.h: anonymous pages: zero-filled memory and private copies, and
 * their owner in the pool, which sends them to swap.
 *
 * An anonymous page has no file to go back to: the frames of demand-zero
 * memory (vm_mmap with VM_MAP_ANONYMOUS, and the segments without a
 * pager) and of the copies a private mapping makes on its first write to
 * a page. This module owns their frames (it is their frame_owner, as the
 * page cache owns the cache's): each frame has exactly one mapper (the
 * MMU, process and address whose entry maps it), kept in a table indexed
 * by frame number. When the pool's clock picks one, its page is written
 * to swap (swap.h), its entry becomes swapped with the slot's number
 * (page_table.h), its translation leaves the TLB, and the frame goes
 * back; a fault (fault.h) reads it back. Left out: sharing anonymous
 * pages between processes (fork), keeping the slot of a clean page that
 * came back (it is written again when evicted again), clustering.
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
 * frame `frame` (taken by anon_page_take, its entry now present), and
 * makes the frame evictable: from now on the pool may send the page to
 * swap. One mapper per frame.
 */
void anon_page_map(addr32 frame, mmu *mmu, size_t pid, addr32 address);

/* Whether `frame` holds an anonymous page mapped by anon_page_map. */
bool anon_page_owns(addr32 frame);

/*
 * Gives an anonymous page's frame back to the pool (mapped or only
 * taken); its entry is the caller's to clear.
 */
void anon_page_free(addr32 frame);

/*
 * Frees what the entry of a segment's page holds and clears it: the swap
 * slot of a page in swap, the frame of an anonymous page, or the frame a
 * pager filled (whose dirty bytes the caller has written back). An entry
 * never touched is left as it is.
 */
void anon_entry_release(page_table_entry *entry);

#ifdef __cplusplus
}
#endif

#endif
