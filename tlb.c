/*
 * tlb.c: a fully associative TLB with true LRU replacement, in constant
 * time per operation.
 *
 * Hardware compares every tag at once; software gets the same answer from
 * a small hash index (bucket by page number, slots chained in each bucket)
 * and keeps recency as a list, most recent first, so a hit moves its slot
 * to the front and the victim is always the last slot. Empty slots sit at
 * the back of the list, so they are used before anything is replaced.
 */
#include "tlb.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

/* Twice the slots, a power of two: chains stay a slot or two long. */
#define TLB_BUCKETS (2 * TLB_SIZE)
#define NO_SLOT (-1)

typedef int8_t slot_index;

typedef struct {
    bool valid;
    addr32 vpn;
    page_table_entry *entry;
    slot_index chain;        /* next slot in the same bucket */
    slot_index newer, older; /* neighbours in the recency list */
} tlb_slot;

struct tlb {
    tlb_slot slots[TLB_SIZE];
    slot_index buckets[TLB_BUCKETS]; /* first slot of each chain */
    slot_index newest, oldest;       /* ends of the recency list */
};

typedef char tlb_fits_slot_index[TLB_SIZE <= INT8_MAX ? 1 : -1];

static size_t bucket_of(addr32 vpn) {
    return vpn & (TLB_BUCKETS - 1);
}

tlb *tlb_create(void) {
    tlb *this = malloc(sizeof *this);
    if (!this) {
        errno = ENOMEM;
        return NULL;
    }
    tlb_flush(this);
    return this;
}

void tlb_delete(tlb *this) {
    free(this);
}

static slot_index find_slot(const tlb *this, addr32 vpn) {
    slot_index i = this->buckets[bucket_of(vpn)];
    while (i != NO_SLOT && this->slots[i].vpn != vpn)
        i = this->slots[i].chain;
    return i;
}

static void unlink_recency(tlb *this, slot_index i) {
    tlb_slot *slot = &this->slots[i];
    if (slot->newer != NO_SLOT)
        this->slots[slot->newer].older = slot->older;
    else
        this->newest = slot->older;
    if (slot->older != NO_SLOT)
        this->slots[slot->older].newer = slot->newer;
    else
        this->oldest = slot->newer;
}

static void make_newest(tlb *this, slot_index i) {
    if (this->newest == i)
        return;
    unlink_recency(this, i);
    this->slots[i].newer = NO_SLOT;
    this->slots[i].older = this->newest;
    this->slots[this->newest].newer = i;
    this->newest = i;
}

static void make_oldest(tlb *this, slot_index i) {
    if (this->oldest == i)
        return;
    unlink_recency(this, i);
    this->slots[i].older = NO_SLOT;
    this->slots[i].newer = this->oldest;
    this->slots[this->oldest].older = i;
    this->oldest = i;
}

/* Takes a valid slot out of its bucket's chain and marks it empty. */
static void forget(tlb *this, slot_index i) {
    slot_index *link = &this->buckets[bucket_of(this->slots[i].vpn)];
    while (*link != i)
        link = &this->slots[*link].chain;
    *link = this->slots[i].chain;
    this->slots[i].valid = false;
}

page_table_entry *tlb_get_pte(tlb *this, addr32 virtual_address) {
    slot_index i = find_slot(this, VPN(virtual_address));
    if (i == NO_SLOT)
        return NULL;
    make_newest(this, i);
    return this->slots[i].entry;
}

void tlb_add_pte(tlb *this, addr32 virtual_address, page_table_entry *entry) {
    addr32 vpn = VPN(virtual_address);
    slot_index i = find_slot(this, vpn);
    if (i == NO_SLOT) {
        i = this->oldest; /* empty, or else the least recently used */
        if (this->slots[i].valid)
            forget(this, i);
        tlb_slot *slot = &this->slots[i];
        slot->valid = true;
        slot->vpn = vpn;
        slot->chain = this->buckets[bucket_of(vpn)];
        this->buckets[bucket_of(vpn)] = i;
    }
    this->slots[i].entry = entry;
    make_newest(this, i);
}

void tlb_invalidate(tlb *this, addr32 virtual_address) {
    slot_index i = find_slot(this, VPN(virtual_address));
    if (i == NO_SLOT)
        return;
    forget(this, i);
    make_oldest(this, i);
}

void tlb_flush(tlb *this) {
    for (size_t b = 0; b < TLB_BUCKETS; b++)
        this->buckets[b] = NO_SLOT;
    for (slot_index i = 0; i < TLB_SIZE; i++) {
        this->slots[i] = (tlb_slot){
            .valid = false,
            .chain = NO_SLOT,
            .newer = i == 0 ? NO_SLOT : i - 1,
            .older = i == TLB_SIZE - 1 ? NO_SLOT : i + 1,
        };
    }
    this->newest = 0;
    this->oldest = TLB_SIZE - 1;
}
