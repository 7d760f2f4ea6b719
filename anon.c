/*
 * anon.c: anonymous pages: frames taken from the pool, the mappers of
 * each in a table indexed by frame number (reserved as the pool's frame
 * table is, on first use), their eviction to swap, and the swap cache: a
 * table indexed by slot of the frame each slot's page is in.
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
    /*
     * The slot whose page this frame holds while entries in swap still
     * name it (the swap cache), or SWAP_NO_SLOT. With count 0 the frame
     * is only the cache's: no entry maps it yet, some name its slot.
     */
    swap_slot slot;
    anon_mapper *more;
    /*
     * A slot that still holds this page as it is (read back from it and
     * not written since), held once by the record, or SWAP_NO_SLOT: an
     * eviction hands it to the mappers instead of writing the page again.
     * While there is one, every entry that maps the frame is read-only,
     * so that the first write faults and drops it.
     */
    swap_slot copy;
} anon_record;

static anon_record *mappers; /* indexed by frame number */
static addr32 *swap_cache;   /* indexed by slot: its frame, or 0 */

static bool page_referenced(frame_owner *owner, uint32_t key);
static int page_evict(frame_owner *owner, uint32_t key);
static bool page_dirty(frame_owner *owner, uint32_t key);

static const frame_owner_ops anon_frame_ops = {
    .referenced = page_referenced,
    .evict = page_evict,
    .dirty = page_dirty,
};
/* The key of a frame is its frame number. */
static frame_owner anon_owner = {&anon_frame_ops};

/* Reserves the table for the pool's frames; false with errno if it cannot. */
static bool table_ready(void) {
    if (mappers)
        return true;
    size_t total = kernel_frames_capacity();
    if (total == 0)
        return false;
    mappers = host_memory_reserve(
        host_memory_table_bytes(total + 1, sizeof *mappers));
    if (!mappers)
        errno = ENOMEM;
    return mappers != NULL;
}

/* Reserves the swap cache, one frame per slot; false with errno if not. */
static bool cache_ready(void) {
    if (swap_cache)
        return true;
    size_t total = swap_slots_total();
    if (total == 0)
        return false;
    swap_cache = host_memory_reserve(
        host_memory_table_bytes(total + 1, sizeof *swap_cache));
    if (!swap_cache)
        errno = ENOMEM;
    return swap_cache != NULL;
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
    *record = (anon_record){.first = {mmu, (uint32_t)pid, address}, .count = 1};
    kernel_set_frame_owner(frame, &anon_owner, frame >> NUM_OFFSET_BITS);
}

int anon_page_share(addr32 frame, mmu *mmu, size_t pid, addr32 address) {
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
    return 0;
}

addr32 anon_swap_cache_find(swap_slot slot) {
    return swap_cache && slot != SWAP_NO_SLOT ? swap_cache[slot] : 0;
}

void anon_swap_cache_add(addr32 frame, swap_slot slot) {
    anon_record *record = mapper_of(frame);
    assert(record->count == 1 && record->slot == SWAP_NO_SLOT);
    if (swap_slot_references(slot) < 2 || !cache_ready())
        return; /* no other entry names it; or no cache, as before */
    record->slot = slot;
    swap_cache[slot] = frame;
}

int anon_swap_cache_map(addr32 frame, mmu *mmu, size_t pid, addr32 address) {
    anon_record *record = mapper_of(frame);
    assert(record->slot != SWAP_NO_SLOT);
    if (record->count > 0)
        return anon_page_share(frame, mmu, pid, address);
    record->first = (anon_mapper){mmu, (uint32_t)pid, address};
    record->count = 1;
    return 0;
}

void anon_page_swapped_in(addr32 frame, swap_slot slot) {
    if (swap_slot_references(slot) == 1) {
        mapper_of(frame)->copy = slot; /* the entry's share, now the record's */
        return;
    }
    anon_swap_cache_add(frame, slot);
    anon_slot_release(slot);
}

bool anon_page_has_swap_copy(addr32 frame) {
    return mappers && mapper_of(frame)->copy != SWAP_NO_SLOT;
}

bool anon_page_drop_swap_copy(addr32 frame) {
    if (!anon_page_has_swap_copy(frame))
        return false;
    anon_record *record = mapper_of(frame);
    swap_free(record->copy);
    record->copy = SWAP_NO_SLOT;
    return true;
}

/* Forgets the frame cached for `slot`, which stays resident. */
static void cache_forget(anon_record *record) {
    swap_cache[record->slot] = 0;
    record->slot = SWAP_NO_SLOT;
}

void anon_slot_release(swap_slot slot) {
    swap_free(slot);
    addr32 frame = anon_swap_cache_find(slot);
    if (frame == 0 || swap_slot_references(slot) > 0)
        return;
    anon_record *record = mapper_of(frame);
    cache_forget(record);
    if (record->count == 0)
        anon_page_free(frame); /* only the cache kept it */
}

bool anon_page_copy_on_write(addr32 frame) {
    if (!mappers)
        return false;
    anon_record *record = mapper_of(frame);
    return record->count > 1 || record->slot != SWAP_NO_SLOT;
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
    /* A frame of the swap cache waits for the entries naming its slot. */
    if (--record->count == 0 && record->slot == SWAP_NO_SLOT)
        anon_page_free(frame);
}

void anon_page_free(addr32 frame) {
    if (mappers) {
        anon_record *record = mapper_of(frame);
        assert(record->count <= 1); /* anon_page_free: still shared */
        if (record->slot != SWAP_NO_SLOT)
            cache_forget(record);
        anon_page_drop_swap_copy(frame);
        free(record->more);
        *record = (anon_record){.count = 0};
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

/*
 * The pool's nru question: written by any of its mappers? (Every eviction
 * of an anonymous page writes it to swap; a written page is the one whose
 * copy there, if any, is stale.)
 */
static bool page_dirty(frame_owner *owner, uint32_t key) {
    (void)owner;
    anon_record *record = &mappers[key];
    for (uint32_t i = 0; i < record->count; i++)
        if (entry_of(mapper_at(record, i))->dirty)
            return true;
    return false;
}

/* One mapper's entry now names `slot`, its translation gone. */
static void entry_to_swap(const anon_mapper *who, swap_slot slot) {
    page_table_entry *entry = entry_of(who);
    if (who->mmu->curr_pid == who->pid)
        tlb_invalidate(who->mmu->tlb, who->address);
    *entry = (page_table_entry){.swapped = 1, .base_addr = slot};
}

/*
 * The slot the page of `record`'s frame goes to, held once, or
 * SWAP_NO_SLOT with errno; `*written` tells whether the page was written.
 * A page whose copy in swap is still valid goes to that slot unwritten. A
 * frame of the swap cache goes back to its own slot, written over (its
 * page may have changed since: a shared mapping's), and the entries that
 * still name the slot keep it. A copy never costs a page its place when
 * swap is full: its page can always leave without a new slot.
 */
static swap_slot write_out(anon_record *record, addr32 frame, bool *written) {
    const void *page = kernel_frame_memory(frame);
    swap_slot slot = record->slot;
    *written = record->copy == SWAP_NO_SLOT;
    if (!*written) {
        slot = record->copy; /* its hold goes to the first mapper */
        record->copy = SWAP_NO_SLOT;
        return slot;
    }
    if (slot == SWAP_NO_SLOT) {
        if (!cache_ready())
            return SWAP_NO_SLOT;
        slot = swap_out(page);
        if (slot == SWAP_NO_SLOT && errno == ENOSPC &&
            swap_slots_used() == swap_slots_total())
            errno = ENOMEM;
        return slot;
    }
    if (swap_write(slot, page) != 0)
        return SWAP_NO_SLOT;
    cache_forget(record);
    swap_hold(slot); /* taken by the first mapper below, as a new slot is */
    return slot;
}

static void trace_eviction(const anon_record *record, addr32 frame,
                           bool written) {
    if (trace_on())
        trace_report(&(trace_record){.event = TRACE_EVICTION,
                                     .pid = record->first.pid,
                                     .virtual_address = record->first.address,
                                     .physical_address = frame,
                                     .dirty = written,
                                     .room_for = trace_frame_wanted});
}

/*
 * The pool takes the frame back: the page goes to one slot, and every
 * entry that maps it keeps the slot, held once per entry (swap_hold); a
 * frame of the swap cache goes back to its slot (write_out). A page that
 * cannot be written (swap full: ENOMEM, as the fault that finds nothing
 * else to evict reports it; or the write's errno) stays resident, and the
 * pool tries another victim.
 */
static int page_evict(frame_owner *owner, uint32_t key) {
    (void)owner;
    anon_record *record = &mappers[key];
    addr32 frame = (addr32)key << NUM_OFFSET_BITS;
    bool only_cached = record->count == 0, written;
    swap_slot slot = write_out(record, frame, &written);
    if (slot == SWAP_NO_SLOT)
        return -1;
    if (only_cached) {
        swap_free(slot); /* no entry maps the frame: none takes the hold */
    } else {
        trace_eviction(record, frame, written);
        for (uint32_t i = 0; i < record->count; i++) {
            if (i > 0)
                swap_hold(slot);
            entry_to_swap(mapper_at(record, i), slot);
        }
        if (written)
            record->first.mmu->num_swap_outs++;
    }
    free(record->more);
    *record = (anon_record){.count = 0};
    return 0;
}

void anon_entry_release(page_table_entry *entry, mmu *mmu, size_t pid,
                        addr32 address) {
    addr32 frame = page_table_entry_frame(entry);
    switch (page_table_entry_state(entry)) {
    case PAGE_UNTOUCHED:
        return;
    case PAGE_SWAPPED:
        anon_slot_release(page_table_entry_slot(entry)); /* its share */
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
