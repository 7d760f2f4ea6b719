/*
 * page_table.h: IA-32 style two-level page tables and the one walker every
 * other virtual-memory routine is built on.
 *
 * Entries are 32-bit bit-fields laid out as in the IA-32 manual (bit 0 is
 * `present`, bits 12-31 the frame number). Directories and tables live in
 * frames of the simulated physical pool. A directory is pinned; a table
 * is pinned while any of its entries holds a frame or a swap slot, and the
 * pool may take it back once none does (its directory entry is then cleared), unless a
 * fault holds it (page_table_hold). Left out:
 * 4 MiB pages, caching attributes (the bits exist but mean nothing here).
 */
#ifndef PAGE_TABLE_H
#define PAGE_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel.h"
#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    unsigned int present : 1;
    unsigned int read_write : 1;      /* 1: writable */
    unsigned int user_supervisor : 1; /* 1: user mode may access */
    unsigned int write_through : 1;
    unsigned int cache_disabled : 1;
    unsigned int accessed : 1;
    unsigned int available : 1;
    unsigned int page_size : 1; /* always 0: 4 KiB pages only */
    unsigned int global_page : 1;
    unsigned int available_2 : 3;
    unsigned int base_addr : 20; /* frame number of the page table */
} page_directory_entry;

typedef struct {
    unsigned int present : 1;
    /*
     * An access needs, besides `present`: a read, user_supervisor; a write,
     * read_write. So a page of VM_PROT_NONE keeps its frame with both
     * clear, and a private page shared with the page cache until written
     * is readable but not writable. (IA-32 reads user_supervisor as "user
     * mode may access at all" and cannot express write-only; this MMU can.)
     */
    unsigned int read_write : 1;      /* 1: writable */
    unsigned int user_supervisor : 1; /* 1: user mode may read */
    unsigned int write_through : 1;
    unsigned int cache_disabled : 1;
    unsigned int accessed : 1; /* set by every access, cleared by the clock */
    unsigned int dirty : 1;    /* set by every write, cleared by write-back */
    unsigned int page_table_attribute_index : 1;
    unsigned int global_page : 1;
    /*
     * The first of the three bits the IA-32 manual leaves to the OS: the
     * page is not present yet, but read-ahead has filled frame base_addr
     * with it, so its first touch only maps it (a minor fault).
     */
    unsigned int cached : 1;
    /*
     * The second OS bit: the page is not present, and base_addr holds the
     * number of the swap slot its contents were written to (swap.h), as
     * Linux keeps a swap entry in a PTE that is not present. Only
     * anonymous pages go to swap (anon.h); the rights bits are 0 and are
     * set again from the page's area or segment when it comes back.
     */
    unsigned int swapped : 1;
    unsigned int available : 1;
    unsigned int base_addr : 20; /* frame number (or swap slot) of the page */
} page_table_entry;

/*
 * A page's state as its entry records it: the one question the fault path
 * switches on (fault.h), as Pintos's loader switches on its page records.
 */
typedef enum {
    PAGE_UNTOUCHED, /* nothing yet: its first touch fills it from its store
                       (a file, a pager) or with zeros; a file's page may
                       wait in the page cache all the same */
    PAGE_RESIDENT,  /* present in frame base_addr */
    PAGE_READ_AHEAD, /* cached: filled by read-ahead, not mapped yet */
    PAGE_SWAPPED,   /* in swap slot base_addr */
} page_table_state;

typedef struct {
    page_directory_entry entries[NUM_ENTRIES];
} page_directory;

typedef struct {
    page_table_entry entries[NUM_ENTRIES];
} page_table;

/*
 * Allocates an empty page directory in a pinned frame of the pool.
 * Returns NULL with errno ENOMEM when no frame can be had.
 * Give it back with page_directory_delete().
 */
page_directory *page_directory_create(void);

/*
 * Returns every page table of `this` and the directory itself to the pool.
 * Data frames the tables point to are the caller's: release them first.
 */
void page_directory_delete(page_directory *self);

/* The physical address of the frame an entry holds (present or cached). */
static inline addr32 page_table_entry_frame(const page_table_entry *entry) {
    return (addr32)entry->base_addr << NUM_OFFSET_BITS;
}

/* Whether an entry holds a frame: mapped, or filled by read-ahead. */
static inline bool page_table_entry_resident(const page_table_entry *entry) {
    return entry->present || entry->cached;
}

/* What `entry` records of its page (see page_table_state). */
static inline page_table_state page_table_entry_state(const page_table_entry *entry) {
    if (entry->present)
        return PAGE_RESIDENT;
    if (entry->cached)
        return PAGE_READ_AHEAD;
    return entry->swapped ? PAGE_SWAPPED : PAGE_UNTOUCHED;
}

/* The swap slot a swapped entry names. */
static inline uint32_t page_table_entry_slot(const page_table_entry *entry) {
    return entry->base_addr;
}

typedef void (*page_table_visitor)(addr32 address, page_table_entry *entry,
                                   void *context);

/*
 * Calls `visit` on the entry of every page of [start, end) whose page
 * table exists, present or not, in address order; no table is created and
 * no accessed bit is set. The visitor may change the entry.
 */
void page_table_for_each(page_directory *self, addr32 start, uint64_t end,
                         page_table_visitor visit, void *context);

/*
 * Gives back to the pool each page table that maps some of [start, end)
 * and in which no entry holds a frame or a swap slot any more (none is
 * present, cached or swapped), clearing its directory entry: a process that unmaps what it
 * mapped holds no table for it. The caller has dropped every translation
 * of the range from its TLB, since the TLB points into tables.
 */
void page_table_release_unused(page_directory *self, addr32 start,
                               uint64_t end);

/*
 * Keeps the table of `address` (if it has one) from the pool while a
 * fault, holding a pointer to one of its entries, takes frames; then
 * page_table_unhold gives it back to the pool's care. One table at a
 * time: faults do not nest.
 */
void page_table_hold(page_directory *self, addr32 address);
void page_table_unhold(void);

/*
 * The half of page_table_walk for an address whose page table is missing:
 * creates the table (a pinned, zeroed frame) and returns the entry when
 * `alloc` is true, else returns NULL; NULL with errno ENOMEM when no frame
 * can be had.
 */
page_table_entry *page_table_walk_missing(page_directory *self,
                                          addr32 virtual_address, bool alloc);

/*
 * The page walk: returns the address of the page-table entry that maps
 * `virtual_address` in `this`. When the page table is missing, it is
 * created (from a pinned, zeroed frame) if `alloc` is true; otherwise, or
 * when no frame can be had (errno ENOMEM), the result is NULL. The entry
 * itself may or may not be present. Inline, since every TLB miss walks.
 */
static inline page_table_entry *
page_table_walk(page_directory *self, addr32 virtual_address, bool alloc) {
    page_directory_entry *entry =
        &self->entries[PAGE_DIRECTORY_INDEX(virtual_address)];
    if (!entry->present)
        return page_table_walk_missing(self, virtual_address, alloc);
    if (!entry->accessed) /* store only on a change, as an MMU does */
        entry->accessed = 1;
    page_table *table = (page_table *)kernel_frame_memory(
        (addr32)entry->base_addr << NUM_OFFSET_BITS);
    return &table->entries[PAGE_TABLE_INDEX(virtual_address)];
}

#ifdef __cplusplus
}
#endif

#endif
