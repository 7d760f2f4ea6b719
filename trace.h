/*
 * trace.h: a window on the simulated hardware, for teaching and tests.
 *
 * The modules report each event of an access (TLB hit or miss, page walk,
 * page fault, frame given, eviction, write-back, the pager's reads and
 * writes, segmentation fault, bus error, a page written to swap or read
 * back) to one hook, if one is set, as a record of what happened. Each
 * record names the event and fills the fields that event lists below; the
 * others are 0. With no hook the cost is one test of a pointer, inline
 * (trace_on). Left out: timestamps, several hooks.
 */
#ifndef TRACE_H
#define TRACE_H

#include <stdbool.h>
#include <stddef.h>

#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

enum trace_event {
    TRACE_TLB_HIT,     /* pid, virtual address */
    TRACE_TLB_MISS,    /* pid, virtual address */
    TRACE_PAGE_WALK,   /* pid, virtual address; physical: the frame, or 0
                          when the entry is not present */
    TRACE_PAGE_FAULT,  /* pid, virtual address, fault */
    TRACE_FRAME_GIVEN, /* physical address, use; for a page: pid, its
                          virtual address and its page number in its store
                          (a page of the page cache: its page number only,
                          since no process maps it yet); for a page table:
                          the first address it maps */
    TRACE_EVICTION,    /* physical address of the frame, pid and virtual
                          address of the page taken out (for a page of the
                          page cache: of its first mapper, if any, and its
                          page number), dirty (written back first),
                          room_for: the page that asked */
    TRACE_WRITE_BACK,  /* pid, virtual and physical address of a page (for
                          the page cache: as for an eviction) */
    TRACE_SEGFAULT,    /* pid, virtual address */
    TRACE_PAGER_READ,  /* page, pages, bytes: one read of the store */
    TRACE_PAGER_WRITE, /* page, pages, bytes: one write to the store */
    TRACE_BUS_ERROR,   /* pid, virtual address: a page of a mapped file
                          wholly past the file's end (Linux's SIGBUS) */
    TRACE_SWAP_OUT,    /* page: the swap slot a page was written to */
    TRACE_SWAP_IN,     /* page: the swap slot a page was read from */
    TRACE_WRITE_IN_PLACE, /* pid, virtual and physical address: a write to a
                             page shared since fork, by the last process
                             that maps its frame: made writable, no copy */
    NUM_TRACE_EVENTS
};

/* What a frame is given to. */
enum trace_frame_use {
    TRACE_FRAME_PAGE,      /* a page with a store (a page of a file, or an
                              anonymous page read back from swap) */
    TRACE_FRAME_ZERO_PAGE, /* a page of demand-zero memory */
    TRACE_FRAME_TABLE,     /* a page table */
    TRACE_FRAME_DIRECTORY, /* a page directory */
    TRACE_FRAME_COPY,      /* a private copy of a page, made by a write */
};

/* How a page fault is served. */
enum trace_fault {
    TRACE_FAULT_MAJOR, /* the page is read from its store */
    TRACE_FAULT_MINOR, /* read ahead earlier: the page is only mapped */
    TRACE_FAULT_ZERO,  /* demand-zero: a cleared frame, nothing read */
    TRACE_FAULT_COPY,  /* a write to a page shared until written: copied */
    TRACE_FAULT_SWAP,  /* an anonymous page read back from swap (major) */
};

/* The page an eviction makes room for, when a page asked for the frame. */
typedef struct {
    enum trace_frame_use use; /* a page, or a page table */
    size_t pid;
    addr32 virtual_address; /* the page, or the first address of the table */
} trace_room_for;

typedef struct {
    enum trace_event event;
    size_t pid;
    addr32 virtual_address;
    addr32 physical_address;
    enum trace_frame_use use; /* TRACE_FRAME_GIVEN */
    enum trace_fault fault;   /* TRACE_PAGE_FAULT */
    bool dirty;               /* TRACE_EVICTION */
    trace_room_for room_for;  /* TRACE_EVICTION */
    size_t page;  /* TRACE_FRAME_GIVEN of a page, TRACE_PAGER_*: the page's
                     number in its store (for a file, its offset / 4096);
                     TRACE_SWAP_*: the swap slot */
    size_t pages; /* TRACE_PAGER_*: how many pages, from `page` on */
    size_t bytes; /* TRACE_PAGER_*: bytes moved (only those inside a file) */
} trace_record;

/*
 * The page a frame is being taken for, set by whoever asks the pool, so
 * that an eviction it causes can say which page it made room for. Only
 * the trace reads it.
 */
extern trace_room_for trace_frame_wanted;

/* The record is the hook's only until it returns. */
typedef void (*trace_hook)(const trace_record *record, void *context);

/* Sends every later event to `hook` with `context`; NULL stops tracing. */
void trace_set_hook(trace_hook hook, void *context);

/* The hook set, or NULL; only trace_set_hook sets it. See trace_on. */
extern trace_hook trace_current_hook;

/* Whether a hook is set: a module tests this before making a record. */
static inline bool trace_on(void) {
    return trace_current_hook != NULL;
}

/* Reports `record` to the hook, if any. Called by the modules. */
void trace_report(const trace_record *record);

/* Reports an event that has only a pid and addresses. */
void trace_event_at(enum trace_event event, size_t pid,
                    addr32 virtual_address, addr32 physical_address);

/* The event's name, e.g. "TLB miss". */
const char *trace_event_name(enum trace_event event);

#ifdef __cplusplus
}
#endif

#endif
