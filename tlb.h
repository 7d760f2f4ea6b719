/*
 * tlb.h: a translation lookaside buffer of TLB_SIZE entries.
 *
 * It caches pointers to page-table entries by virtual page number, is fully
 * associative, and replaces the least recently used entry (true LRU: every
 * hit makes an entry the most recent). It holds the translations of one
 * address space at a time, so the MMU flushes it on a context switch.
 * Left out: ASIDs, global pages, separate instruction and data TLBs.
 */
#ifndef TLB_H
#define TLB_H

#include "page_table.h"
#include "types.h"

#define TLB_SIZE 16

typedef struct tlb tlb;

/* Returns an empty TLB, or NULL with errno ENOMEM. Free it with tlb_delete. */
tlb *tlb_create(void);

/* Frees `this`; NULL is allowed. */
void tlb_delete(tlb *this);

/*
 * Returns the cached entry for the page of `virtual_address` and makes it
 * the most recently used, or NULL on a miss.
 */
page_table_entry *tlb_get_pte(tlb *this, addr32 virtual_address);

/*
 * Caches `entry` for the page of `virtual_address` as the most recently
 * used translation. A page already cached is updated in place; otherwise,
 * when the TLB is full, the least recently used entry is replaced.
 */
void tlb_add_pte(tlb *this, addr32 virtual_address, page_table_entry *entry);

/* Forgets the translation of the page of `virtual_address`, if cached. */
void tlb_invalidate(tlb *this, addr32 virtual_address);

/* Forgets every translation. */
void tlb_flush(tlb *this);

#endif
