/*
 * page_table.c: page directories and tables in pinned frames of the pool,
 * and the page walk.
 *
 * A directory entry holds the frame number of its table, as CR3 and the
 * entries of IA-32 hold physical addresses; the walk turns it back into a
 * host pointer through the pool.
 */
#include "page_table.h"

#include <assert.h>
#include <string.h>

#include "kernel.h"
#include "trace.h"

/*
 * A page table is a frame the pool may take back once no entry of it
 * holds a frame or a swap slot (a process that read a large mapping sparsely, its pages
 * since evicted, would otherwise pin a table per 4 MiB it touched). The
 * key of a table names the directory entry that points to it: the
 * directory's frame number and the entry's index.
 */
static bool table_referenced(frame_owner *owner, uint32_t key);
static int table_evict(frame_owner *owner, uint32_t key);

static const frame_owner_ops table_frame_ops = {
    .referenced = table_referenced,
    .evict = table_evict,
    .busy = table_referenced, /* in use, or held: the same test */
};
static frame_owner table_owner = {&table_frame_ops};

static uint32_t table_key(const page_directory *directory, addr32 address) {
    return (get_address_from_system_pointer(directory) >> NUM_OFFSET_BITS)
               << NUM_VPN_BITS |
           PAGE_DIRECTORY_INDEX(address);
}

static page_directory_entry *directory_entry_of(uint32_t key) {
    page_directory *directory =
        kernel_frame_memory((addr32)(key >> NUM_VPN_BITS) << NUM_OFFSET_BITS);
    return &directory->entries[key & (NUM_ENTRIES - 1)];
}

/*
 * Whether no entry of `table` holds a frame or a swap slot: a swapped
 * entry is the only record of its slot, so its table must stay.
 */
static bool table_unused(const page_table *table) {
    for (size_t i = 0; i < NUM_ENTRIES; i++)
        if (page_table_entry_state(&table->entries[i]) != PAGE_UNTOUCHED)
            return false;
    return true;
}

static page_table *table_of(const page_directory_entry *entry) {
    return (page_table *)kernel_frame_memory((addr32)entry->base_addr
                                             << NUM_OFFSET_BITS);
}

/*
 * A zeroed, pinned frame: every entry in it reads not present. `first` is
 * the first address a table maps (0 for a directory), for the trace.
 */
static void *empty_table_frame(addr32 *physical_address,
                               enum trace_frame_use use, addr32 first) {
    *physical_address = ask_kernel_for_frame(NULL, 0);
    if (*physical_address == 0)
        return NULL;
    void *frame = kernel_frame_memory(*physical_address);
    memset(frame, 0, PAGE_SIZE);
    if (trace_on())
        trace_report(&(trace_record){.event = TRACE_FRAME_GIVEN,
                                     .virtual_address = first,
                                     .physical_address = *physical_address,
                                     .use = use});
    return frame;
}

page_directory *page_directory_create(void) {
    addr32 physical_address;
    return empty_table_frame(&physical_address, TRACE_FRAME_DIRECTORY, 0);
}

void page_directory_delete(page_directory *this) {
    if (!this)
        return;
    for (size_t i = 0; i < NUM_ENTRIES; i++) {
        page_directory_entry *entry = &this->entries[i];
        if (entry->present)
            return_frame_to_kernel((addr32)entry->base_addr << NUM_OFFSET_BITS);
    }
    return_frame_to_kernel(get_address_from_system_pointer(this));
}

page_table_entry *page_table_walk_missing(page_directory *this,
                                          addr32 virtual_address, bool alloc) {
    page_directory_entry *entry =
        &this->entries[PAGE_DIRECTORY_INDEX(virtual_address)];
    addr32 physical_address;
    addr32 first = PAGE_DIRECTORY_INDEX(virtual_address)
                   << (NUM_OFFSET_BITS + NUM_VPN_BITS);
    if (!alloc ||
        !empty_table_frame(&physical_address, TRACE_FRAME_TABLE, first))
        return NULL;
    entry->base_addr = physical_address >> NUM_OFFSET_BITS;
    entry->read_write = 1;
    entry->user_supervisor = 1;
    entry->present = 1;
    kernel_set_frame_owner(physical_address, &table_owner,
                           table_key(this, virtual_address));
    return page_table_walk(this, virtual_address, false);
}

void page_table_for_each(page_directory *this, addr32 start, uint64_t end,
                         page_table_visitor visit, void *context) {
    for (uint64_t address = PAGE_ROUND_DOWN(start); address < end;) {
        page_directory_entry *entry =
            &this->entries[PAGE_DIRECTORY_INDEX((addr32)address)];
        if (!entry->present) {
            address = (address / TABLE_SPAN + 1) * TABLE_SPAN;
            continue;
        }
        page_table *table =
            kernel_frame_memory((addr32)entry->base_addr << NUM_OFFSET_BITS);
        visit((addr32)address,
              &table->entries[PAGE_TABLE_INDEX((addr32)address)], context);
        address += PAGE_SIZE;
    }
}


void page_table_release_unused(page_directory *this, addr32 start,
                               uint64_t end) {
    for (uint64_t address = PAGE_ROUND_DOWN(start) / TABLE_SPAN * TABLE_SPAN;
         address < end; address += TABLE_SPAN) {
        page_directory_entry *entry =
            &this->entries[PAGE_DIRECTORY_INDEX((addr32)address)];
        addr32 frame = (addr32)entry->base_addr << NUM_OFFSET_BITS;
        if (entry->present && table_unused(kernel_frame_memory(frame))) {
            *entry = (page_directory_entry){0};
            return_frame_to_kernel(frame);
        }
    }
}

/*
 * The table a fault in progress holds an entry of (0: none). Faults do
 * not nest and the simulation is single-threaded, so one is enough.
 */
static uint32_t held_table;

/*
 * The pool's second chance: a table in use, or held by a fault, is never
 * taken; one unused is.
 */
static bool table_referenced(frame_owner *owner, uint32_t key) {
    (void)owner;
    const page_directory_entry *entry = directory_entry_of(key);
    return entry->base_addr == held_table || !table_unused(table_of(entry));
}

/* The pool takes an unused table: its directory entry goes. */
static int table_evict(frame_owner *owner, uint32_t key) {
    (void)owner;
    page_directory_entry *entry = directory_entry_of(key);
    assert(entry->present && table_unused(table_of(entry)));
    *entry = (page_directory_entry){0};
    return 0;
}

void page_table_hold(page_directory *this, addr32 address) {
    const page_directory_entry *entry =
        &this->entries[PAGE_DIRECTORY_INDEX(address)];
    held_table = entry->present ? entry->base_addr : 0;
}

void page_table_unhold(void) {
    held_table = 0;
}
