/*
 * tlb.h: a translation lookaside buffer of TLB_SIZE entries.
 *
 * It caches pointers to page-table entries by virtual page number, is fully
 * associative, and replaces the least recently used entry (true LRU: every
 * hit makes an entry the most recent). It holds the translations of one
 * address space at a time, so the MMU flushes it on a context switch.
 * Left out: ASIDs, global pages, separate instruction and data TLBs.
 *
 * Hardware compares every tag at once; software gets the same answer from
 * a hash index (bucket by page number, slots chained in each bucket) with
 * far more buckets than slots, so a miss nearly always finds its bucket
 * empty. Recency is the list of slot numbers, four bits each, packed in one
 * 64-bit word, most recent in the low bits: a hit moves its slot to the
 * front, a miss takes the slot at the back, and empty slots wait at the
 * back, so they are used before anything is replaced. The calls that
 * every access makes are inline below (forced, where the compiler allows),
 * since a call costs as much as the lookup itself.
 */
#ifndef TLB_H
#define TLB_H

#include <stddef.h>
#include <stdint.h>

#include "page_table.h"
#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TLB_SIZE 16
#define TLB_BUCKETS 256 /* a power of two */
#define TLB_NO_SLOT (-1)
/* The page number of an empty slot: no page has it (page numbers are 20 bits).
 */
#define TLB_NO_PAGE UINT32_MAX

typedef int8_t tlb_slot_index;

#if defined(__GNUC__)
#define TLB_INLINE __attribute__((always_inline)) static inline
#else
#define TLB_INLINE static inline
#endif

typedef struct {
    addr32 vpn;              /* TLB_NO_PAGE: empty */
    tlb_slot_index chain;    /* next slot in the same bucket */
    page_table_entry *entry; /* the cached translation */
} tlb_slot;

typedef struct tlb {
    tlb_slot slots[TLB_SIZE];
    uint64_t recency; /* slot numbers, 4 bits each, most recent lowest */
    tlb_slot_index buckets[TLB_BUCKETS]; /* first slot of each chain */
} tlb;

typedef char tlb_fits_recency[TLB_SIZE == 16 ? 1 : -1];

/* Returns an empty TLB, or NULL with errno ENOMEM. Free it with tlb_delete. */
tlb *tlb_create(void);

/* Frees `this`; NULL is allowed. */
void tlb_delete(tlb *self);

/* Forgets the translation of the page of `virtual_address`, if cached. */
void tlb_invalidate(tlb *self, addr32 virtual_address);

/* Forgets every translation. */
void tlb_flush(tlb *self);

/* The slot caching page `vpn`, or TLB_NO_SLOT. */
TLB_INLINE tlb_slot_index tlb_find_slot(const tlb *self, addr32 vpn) {
    tlb_slot_index i = self->buckets[vpn & (TLB_BUCKETS - 1)];
    while (i != TLB_NO_SLOT && self->slots[i].vpn != vpn)
        i = self->slots[i].chain;
    return i;
}

/* Where slot `i` stands in the recency list: 0 is the most recent. */
TLB_INLINE unsigned tlb_recency_position(const tlb *self, tlb_slot_index i) {
    const uint64_t ones = 0x1111111111111111u, highs = 0x8888888888888888u;
    uint64_t x = self->recency ^ (ones * (uint64_t)i); /* its nibble is 0 */
    uint64_t zero = (x - ones) & ~x & highs; /* lowest set bit: that nibble */
#if defined(__GNUC__)
    return (unsigned)__builtin_ctzll(zero) / 4;
#else
    unsigned position = 0;
    while (!(zero & 0x8))
        zero >>= 4, position++;
    return position;
#endif
}

/* Moves slot `i` to the front of the recency list. */
TLB_INLINE void tlb_make_newest(tlb *self, tlb_slot_index i) {
    if ((self->recency & 0xF) == (uint64_t)i)
        return;
    unsigned shift = 4 * tlb_recency_position(self, i);
    uint64_t before = ((uint64_t)1 << shift) - 1; /* the more recent ones */
    uint64_t after = ~(before | (uint64_t)0xF << shift);
    self->recency =
        (self->recency & after) | (self->recency & before) << 4 | (uint64_t)i;
}

/*
 * Returns the cached entry for the page of `virtual_address` and makes it
 * the most recently used, or NULL on a miss.
 */
TLB_INLINE page_table_entry *tlb_get_pte(tlb *self, addr32 virtual_address) {
    tlb_slot_index i = tlb_find_slot(self, VPN(virtual_address));
    if (i == TLB_NO_SLOT)
        return NULL;
    tlb_make_newest(self, i);
    return self->slots[i].entry;
}

/* Takes slot `i`, which caches a page, out of its bucket's chain. */
TLB_INLINE void tlb_unlink(tlb *self, tlb_slot_index i) {
    tlb_slot_index *link =
        &self->buckets[self->slots[i].vpn & (TLB_BUCKETS - 1)];
    while (*link != i)
        link = &self->slots[*link].chain;
    *link = self->slots[i].chain;
}

/*
 * tlb_add_pte for a page the TLB does not cache (the MMU's fill after a
 * miss, which need not look again): the least recently used entry, or an
 * empty one, is replaced.
 */
TLB_INLINE void tlb_add_missing_pte(tlb *self, addr32 virtual_address,
                                    page_table_entry *entry) {
    addr32 vpn = VPN(virtual_address);
    tlb_slot_index i = (tlb_slot_index)(self->recency >> 60);
    if (self->slots[i].vpn != TLB_NO_PAGE)
        tlb_unlink(self, i);
    tlb_slot_index *bucket = &self->buckets[vpn & (TLB_BUCKETS - 1)];
    self->slots[i].vpn = vpn;
    self->slots[i].chain = *bucket;
    self->slots[i].entry = entry;
    *bucket = i;
    self->recency = self->recency << 4 | (uint64_t)i;
}

/*
 * Caches `entry` for the page of `virtual_address` as the most recently
 * used translation. A page already cached is updated in place; otherwise,
 * when the TLB is full, the least recently used entry is replaced.
 */
TLB_INLINE void tlb_add_pte(tlb *self, addr32 virtual_address,
                            page_table_entry *entry) {
    tlb_slot_index i = tlb_find_slot(self, VPN(virtual_address));
    if (i == TLB_NO_SLOT) {
        tlb_add_missing_pte(self, virtual_address, entry);
        return;
    }
    self->slots[i].entry = entry;
    tlb_make_newest(self, i);
}

#ifdef __cplusplus
}
#endif

#endif
