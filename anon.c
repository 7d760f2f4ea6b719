/*
 * anon.c: anonymous pages: frames taken from the pool, the one mapper of
 * each in a table indexed by frame number (reserved as the pool's frame
 * table is, on first use), and their eviction to swap.
 */
#include "anon.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "host_memory.h"
#include "kernel.h"
#include "swap.h"
#include "trace.h"

/* An entry that maps an anonymous frame. */
typedef struct {
    mmu *mmu;
    uint32_t pid;
    addr32 address;
} anon_mapper;

/*
 * The mappers of one frame: the first in the record, so that the usual
 * page (one process) costs no allocation, and those that fork added in
 * an array of count - 1 beside it. count 0: not an anonymous page's.
 */
typedef struct {
    anon_mapper first;
    uint32_t count;
    /* A shared mapping's page: kept resident while several map it. */
    bool shared;
    anon_mapper *more;
} anon_record;

static anon_record *mappers; /* indexed by frame number */

static bool page_referenced(frame_owner *owner, uint32_t key);
static int page_evict(frame_owner *owner, uint32_t key);

static const frame_owner_ops anon_frame_ops = {
    .referenced = page_referenced,
    .evict = page_evict,
};
/* The key of a frame is its frame number. */
static frame_owner anon_owner = {&anon_frame_ops};

/* Reserves the table for the pool's frames; false with errno if it cannot. */
static bool table_ready(void) {
    if (mappers)
        return true;
    size_t total = kernel_frames_total();
    if (total == 0)
        return false;
    mappers = host_memory_reserve(
        host_memory_table_bytes(total + 1, sizeof *mappers));
    if (!mappers)
        errno = ENOMEM;
    return mappers != NULL;
}

static anon_record *mapper_of(addr32 frame) {
    return &mappers[frame >> NUM_OFFSET_BITS];
}

addr32 anon_page_take(void) {
    if (!table_ready())
        return 0;
    return ask_kernel_for_frame(NULL, 0);
}

addr32 anon_page_zeroed(void) {
    addr32 frame = anon_page_take();
    if (frame)
        memset(kernel_frame_memory(frame), 0, PAGE_SIZE);
    return frame;
}

void anon_page_map(addr32 frame, mmu *mmu, size_t pid, addr32 address) {
    anon_record *record = mapper_of(frame);
    assert(record->count == 0); /* a new page has one mapper */
    *record = (anon_record){{mmu, (uint32_t)pid, address}, 1, false, NULL};
    kernel_set_frame_owner(frame, &anon_owner, frame >> NUM_OFFSET_BITS);
}

int anon_page_share(addr32 frame, mmu *mmu, size_t pid, addr32 address,
                    bool shared) {
    anon_record *record = mapper_of(frame);
    assert(record->count > 0);
    anon_mapper *more =
        realloc(record->more, record->count * sizeof *record->more);
    if (!more) {
        errno = ENOMEM;
        return -1;
    }
    more[record->count - 1] = (anon_mapper){mmu, (uint32_t)pid, address};
    record->more = more;
    record->count++;
    record->shared |= shared;
    return 0;
}

size_t anon_page_mappers(addr32 frame) {
    return mappers ? mapper_of(frame)->count : 0;
}

void anon_page_pin(addr32 frame) {
    kernel_set_frame_owner(frame, NULL, 0);
}

void anon_page_unpin(addr32 frame) {
    kernel_set_frame_owner(frame, &anon_owner, frame >> NUM_OFFSET_BITS);
}

bool anon_page_owns(addr32 frame) {
    return anon_page_mappers(frame) > 0;
}

/* The i-th mapper of `record` (i < count). */
static anon_mapper *mapper_at(anon_record *record, uint32_t i) {
    return i == 0 ? &record->first : &record->more[i - 1];
}

void anon_page_unmap(addr32 frame, mmu *mmu, size_t pid, addr32 address) {
    anon_record *record = mapper_of(frame);
    uint32_t i = 0;
    while (i < record->count &&
           (mapper_at(record, i)->mmu != mmu ||
            mapper_at(record, i)->pid != pid ||
            mapper_at(record, i)->address != address))
        i++;
    assert(i < record->count); /* anon_page_unmap: not a mapper */
    *mapper_at(record, i) = *mapper_at(record, record->count - 1);
    if (--record->count == 0)
        anon_page_free(frame);
}

void anon_page_free(addr32 frame) {
    if (mappers) {
        anon_record *record = mapper_of(frame);
        assert(record->count <= 1); /* anon_page_free: still shared */
        free(record->more);
        *record = (anon_record){{0}, 0, false, NULL};
    }
    return_frame_to_kernel(frame);
}

/* The entry of a mapper of an evictable frame: present, since mapped. */
static page_table_entry *entry_of(const anon_mapper *who) {
    page_table_entry *entry = page_table_walk(
        who->mmu->page_directories[who->pid], who->address, false);
    assert(entry && entry->present);
    return entry;
}

/*
 * The pool's second-chance question: used since the clock last passed, by
 * any of its mappers? Clears every one's accessed bit.
 */
static bool page_referenced(frame_owner *owner, uint32_t key) {
    (void)owner;
    anon_record *record = &mappers[key];
    bool referenced = false;
    for (uint32_t i = 0; i < record->count; i++) {
        page_table_entry *entry = entry_of(mapper_at(record, i));
        referenced |= entry->accessed;
        entry->accessed = 0;
    }
    return referenced;
}

/* One mapper's entry now names `slot`, its translation gone. */
static void entry_to_swap(const anon_mapper *who, swap_slot slot) {
    page_table_entry *entry = entry_of(who);
    if (who->mmu->curr_pid == who->pid)
        tlb_invalidate(who->mmu->tlb, who->address);
    *entry = (page_table_entry){.swapped = 1, .base_addr = slot};
}

/*
 * The pool takes the frame back: the page goes to one slot, and every
 * entry that maps it keeps the slot, held once per entry (swap_hold). A
 * page that cannot be written (swap full: ENOMEM, as the fault that finds
 * nothing else to evict reports it; or the write's errno) stays resident,
 * and the pool tries another victim; so does a shared mapping's page that
 * several entries map, which would come back as one frame per entry (no
 * swap cache) and so stop being shared.
 */
static int page_evict(frame_owner *owner, uint32_t key) {
    (void)owner;
    anon_record *record = &mappers[key];
    if (record->shared && record->count > 1) {
        errno = ENOMEM;
        return -1;
    }
    anon_mapper who = record->first;
    addr32 frame = (addr32)key << NUM_OFFSET_BITS;
    swap_slot slot = swap_out(kernel_frame_memory(frame));
    if (slot == SWAP_NO_SLOT) {
        if (errno == ENOSPC && swap_slots_used() == swap_slots_total())
            errno = ENOMEM;
        return -1;
    }
    if (trace_on())
        trace_report(&(trace_record){.event = TRACE_EVICTION,
                                     .pid = who.pid,
                                     .virtual_address = who.address,
                                     .physical_address = frame,
                                     .dirty = true,
                                     .room_for = trace_frame_wanted});
    for (uint32_t i = 0; i < record->count; i++) {
        if (i > 0)
            swap_hold(slot);
        entry_to_swap(mapper_at(record, i), slot);
    }
    who.mmu->num_swap_outs++;
    free(record->more);
    *record = (anon_record){{0}, 0, false, NULL};
    return 0;
}

void anon_entry_release(page_table_entry *entry, mmu *mmu, size_t pid,
                        addr32 address) {
    addr32 frame = page_table_entry_frame(entry);
    switch (page_table_entry_state(entry)) {
    case PAGE_UNTOUCHED:
        return;
    case PAGE_SWAPPED:
        swap_free(page_table_entry_slot(entry)); /* this entry's share */
        break;
    case PAGE_RESIDENT:
    case PAGE_READ_AHEAD:
        if (anon_page_owns(frame))
            anon_page_unmap(frame, mmu, pid, address); /* the last frees */
        else
            return_frame_to_kernel(frame);
        break;
    }
    *entry = (page_table_entry){0};
}
