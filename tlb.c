/*
 * tlb.c: the rarer half of the TLB: making one, forgetting translations.
 * The lookup and the fill, which every access makes, are inline in tlb.h.
 */
#include "tlb.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Slot k at recency position k: the last slot is the first one used. */
#define TLB_RECENCY_IN_ORDER 0xFEDCBA9876543210u

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

void tlb_invalidate(tlb *this, addr32 virtual_address) {
    tlb_slot_index i = tlb_find_slot(this, VPN(virtual_address));
    if (i == TLB_NO_SLOT)
        return;
    tlb_unlink(this, i);
    this->slots[i] = (tlb_slot){.vpn = TLB_NO_PAGE, .chain = TLB_NO_SLOT};
    /* To the back, where empty slots wait: the ones behind it move up. */
    unsigned shift = 4 * tlb_recency_position(this, i);
    uint64_t before = ((uint64_t)1 << shift) - 1;
    uint64_t behind = (this->recency >> 4) & ~before & ~((uint64_t)0xF << 60);
    this->recency = (this->recency & before) | behind | (uint64_t)i << 60;
}

void tlb_flush(tlb *this) {
    memset(this->buckets, 0xFF, sizeof this->buckets); /* TLB_NO_SLOT */
    for (tlb_slot_index i = 0; i < TLB_SIZE; i++)
        this->slots[i] = (tlb_slot){.vpn = TLB_NO_PAGE, .chain = TLB_NO_SLOT};
    this->recency = TLB_RECENCY_IN_ORDER;
}
