/*
 * swap.h: the swap store, a disk of page-sized slots where anonymous
 * pages go when their frames are taken, as Pintos's swap and Linux's swap
 * area keep them.
 *
 * It owns the slots and their I/O and nothing else: which page goes out,
 * which entries remember the slot and when it comes back are the caller's
 * decisions (the owner of anonymous pages). The store is an unlinked
 * temporary file, made at the first swap_out (never before), of at most
 * swap_slots_total() pages: the environment variable MMAP_SWAP_PAGES, a
 * whole number in decimal digits clamped to [SWAP_MIN_PAGES,
 * SWAP_MAX_PAGES], SWAP_DEFAULT_PAGES when unset or empty, parsed and
 * refused as MMAP_FRAMES is (settings.h). The slots are a bitmap reserved
 * like the pool's tables, address space backed only as it is used. Every
 * read and write goes through io_fault.h, so tests can make it fail or
 * come back short. Not thread-safe.
 *
 * Sharing: a slot carries a count of references, and this module keeps
 * it (swap_hold), as Linux's swap_map does: after fork, a page in swap is
 * one slot that the entries of several processes name, and an entry not
 * present has room for the slot's number but not for a count, so there is
 * nothing else to keep it in. Whoever copies such an entry holds the slot
 * once more; whoever drops one calls swap_free; the last one frees it.
 *
 * The swap cache, which maps a slot to the frame its page came back to,
 * is the caller's (anon.h). Left out: several swap areas and priorities,
 * clustering neighbouring pages into one write, giving the file's space
 * back when slots are freed, threads.
 */
#ifndef SWAP_H
#define SWAP_H

#include <stddef.h>
#include <stdint.h>

#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A slot's number. Slots are numbered from 1, as frames are, and fit a
 * page-table entry's 20-bit base_addr, so an entry that is not present
 * can name its page's slot the way Linux keeps a swap entry in a PTE.
 */
typedef uint32_t swap_slot;

/* No slot: what swap_out returns when it fails; never a slot's number. */
#define SWAP_NO_SLOT ((swap_slot)0)

#define SWAP_DEFAULT_PAGES 65536
#define SWAP_MIN_PAGES 1
/* Slot numbers must fit a page-table entry's 20-bit base_addr. */
#define SWAP_MAX_PAGES ((1u << (32 - NUM_OFFSET_BITS)) - 1)

/*
 * Writes the PAGE_SIZE bytes at `page` to a free slot (the lowest) and
 * returns it, held once. Makes the store on its first call. Returns
 * SWAP_NO_SLOT with errno: ENOSPC when every slot is held, EINVAL when
 * MMAP_SWAP_PAGES is not a whole number, ENOMEM when the slot bitmap
 * cannot be reserved, the errno of mkstemp when the file cannot be made
 * (ENOENT, EACCES, ...), or the write's (EIO, ENOSPC, EFBIG, ...). A
 * failed write frees its slot again: nothing is taken. A short write is
 * completed, and an interrupted one retried. The caller keeps `page`.
 */
swap_slot swap_out(const void *page);

/*
 * Reads slot `slot`'s page into the PAGE_SIZE bytes at `page`. The slot
 * stays held: a page shared after fork comes back for several entries,
 * and a clean page whose copy is still in its slot need not be written
 * again; the caller frees it when no one needs the copy. Returns 0, or -1
 * with errno: EINVAL when `slot` is not held, or the read's (EIO, ...),
 * after which the slot still holds its page for a retry and `page` holds
 * whatever part was read. A short read is completed.
 */
int swap_in(swap_slot slot, void *page);

/*
 * Writes the PAGE_SIZE bytes at `page` over the page of the held slot
 * `slot` (a page of the swap cache going out again while entries still
 * name its slot). References are unchanged. Returns 0, or -1 with errno:
 * EINVAL when `slot` is not held, or the write's (EIO, ENOSPC, ...), after
 * which the slot's page may be part old, part new. A short write is
 * completed. The caller keeps `page`.
 */
int swap_write(swap_slot slot, const void *page);

/*
 * One more reference to the held slot `slot` (an entry naming it copied
 * by fork). Each needs its own swap_free. A slot not held is a broken
 * invariant (assert).
 */
void swap_hold(swap_slot slot);

/*
 * Drops one reference to the held slot `slot`; after its last one the
 * slot is free, and the next swap_out may take it. A slot not held is a
 * broken invariant (assert).
 */
void swap_free(swap_slot slot);

/* References to `slot`: 0 when it is free (or not a slot). */
size_t swap_slot_references(swap_slot slot);

/* Slots held now: 0 until the first swap_out. */
size_t swap_slots_used(void);

/*
 * The slots the store has room for (MMAP_SWAP_PAGES, clamped), or 0 with
 * errno EINVAL when MMAP_SWAP_PAGES is not a whole number. The first
 * answer that is not a refusal stands for the life of the process; it
 * makes nothing (the file waits for the first swap_out).
 */
size_t swap_slots_total(void);

#ifdef __cplusplus
}
#endif

#endif
