/*
 * tlb.c: a fully associative TLB with true LRU replacement.
 *
 * Each slot remembers when it was last used, on a counter that ticks once
 * per lookup hit or insertion; the victim is the slot used longest ago.
 */
#include "tlb.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct {
    bool valid;
    addr32 vpn;
    page_table_entry *entry;
    uint64_t last_used;
} tlb_slot;

struct tlb {
    tlb_slot slots[TLB_SIZE];
    uint64_t clock;
};

tlb *tlb_create(void) {
    tlb *this = calloc(1, sizeof *this);
    if (!this)
        errno = ENOMEM;
    return this;
}

void tlb_delete(tlb *this) {
    free(this);
}

static tlb_slot *find_slot(tlb *this, addr32 vpn) {
    for (size_t i = 0; i < TLB_SIZE; i++) {
        tlb_slot *slot = &this->slots[i];
        if (slot->valid && slot->vpn == vpn)
            return slot;
    }
    return NULL;
}

page_table_entry *tlb_get_pte(tlb *this, addr32 virtual_address) {
    tlb_slot *slot = find_slot(this, VPN(virtual_address));
    if (!slot)
        return NULL;
    slot->last_used = ++this->clock;
    return slot->entry;
}

/* An empty slot if there is one, else the least recently used. */
static tlb_slot *victim_slot(tlb *this) {
    tlb_slot *victim = &this->slots[0];
    for (size_t i = 0; i < TLB_SIZE; i++) {
        tlb_slot *slot = &this->slots[i];
        if (!slot->valid)
            return slot;
        if (slot->last_used < victim->last_used)
            victim = slot;
    }
    return victim;
}

void tlb_add_pte(tlb *this, addr32 virtual_address, page_table_entry *entry) {
    addr32 vpn = VPN(virtual_address);
    tlb_slot *slot = find_slot(this, vpn);
    if (!slot)
        slot = victim_slot(this);
    *slot = (tlb_slot){
        .valid = true, .vpn = vpn, .entry = entry, .last_used = ++this->clock};
}

void tlb_invalidate(tlb *this, addr32 virtual_address) {
    tlb_slot *slot = find_slot(this, VPN(virtual_address));
    if (slot)
        slot->valid = false;
}

void tlb_flush(tlb *this) {
    for (size_t i = 0; i < TLB_SIZE; i++)
        this->slots[i].valid = false;
}
