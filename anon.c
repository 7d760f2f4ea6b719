/*
 * anon.c: anonymous pages: frames taken from the pool, the one mapper of
 * each in a table indexed by frame number (reserved as the pool's frame
 * table is, on first use), and their eviction to swap.
 */
#include "anon.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#include "host_memory.h"
#include "kernel.h"
#include "swap.h"
#include "trace.h"

/* The entry that maps an anonymous frame. */
typedef struct {
    mmu *mmu; /* NULL: the frame is not an anonymous page's */
    uint32_t pid;
    addr32 address;
} anon_mapper;

static anon_mapper *mappers; /* indexed by frame number */

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

static anon_mapper *mapper_of(addr32 frame) {
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
    anon_mapper *who = mapper_of(frame);
    assert(!who->mmu); /* one mapper per frame until fork */
    *who = (anon_mapper){mmu, (uint32_t)pid, address};
    kernel_set_frame_owner(frame, &anon_owner, frame >> NUM_OFFSET_BITS);
}

bool anon_page_owns(addr32 frame) {
    return mappers && mapper_of(frame)->mmu;
}

void anon_page_free(addr32 frame) {
    if (mappers)
        *mapper_of(frame) = (anon_mapper){0};
    return_frame_to_kernel(frame);
}

/* The entry that maps the frame of `key`: present, since it is mapped. */
static page_table_entry *entry_of(const anon_mapper *who) {
    page_table_entry *entry = page_table_walk(
        who->mmu->page_directories[who->pid], who->address, false);
    assert(entry && entry->present);
    return entry;
}

/* The pool's second-chance question: used since the clock last passed? */
static bool page_referenced(frame_owner *owner, uint32_t key) {
    (void)owner;
    page_table_entry *entry = entry_of(&mappers[key]);
    bool referenced = entry->accessed;
    entry->accessed = 0;
    return referenced;
}

/*
 * The pool takes the frame back: the page goes to swap, and its entry
 * keeps the slot. A page that cannot be written (swap full: ENOMEM, as
 * the fault that finds nothing else to evict reports it; or the write's
 * errno) stays resident, and the pool tries another victim.
 */
static int page_evict(frame_owner *owner, uint32_t key) {
    (void)owner;
    anon_mapper who = mappers[key];
    page_table_entry *entry = entry_of(&who);
    addr32 frame = (addr32)key << NUM_OFFSET_BITS;
    swap_slot slot = swap_out(kernel_frame_memory(frame));
    if (slot == SWAP_NO_SLOT) {
        if (errno == ENOSPC && swap_slots_used() == swap_slots_total())
            errno = ENOMEM;
        return -1;
    }
    if (who.mmu->curr_pid == who.pid)
        tlb_invalidate(who.mmu->tlb, who.address);
    if (trace_on())
        trace_report(&(trace_record){.event = TRACE_EVICTION,
                                     .pid = who.pid,
                                     .virtual_address = who.address,
                                     .physical_address = frame,
                                     .dirty = true,
                                     .room_for = trace_frame_wanted});
    *entry = (page_table_entry){.swapped = 1, .base_addr = slot};
    who.mmu->num_swap_outs++;
    mappers[key] = (anon_mapper){0};
    return 0;
}

void anon_entry_release(page_table_entry *entry) {
    switch (page_table_entry_state(entry)) {
    case PAGE_UNTOUCHED:
        return;
    case PAGE_SWAPPED:
        swap_free(page_table_entry_slot(entry));
        break;
    case PAGE_RESIDENT:
    case PAGE_READ_AHEAD:
        if (anon_page_owns(page_table_entry_frame(entry)))
            anon_page_free(page_table_entry_frame(entry));
        else
            return_frame_to_kernel(page_table_entry_frame(entry));
        break;
    }
    *entry = (page_table_entry){0};
}
