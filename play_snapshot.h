/*
 * play_snapshot.h: the playground's picture of the machine at one moment,
 * and what changed between two of them.
 *
 * A snapshot reads the machine through its read-only views and changes
 * nothing: each process's page directory, tables, areas and entries (the
 * ones that hold a frame or a swap slot), the TLB, every frame in use with
 * its owner and the entries that map it (the reverse map, read from the
 * page tables, so that it shows what the hardware would follow), the page
 * cache's pages, the swap slots that entries name, and the counters. Two
 * snapshots give a delta, written as the JSON of the playground's schema
 * (README, "The playground") and as lines of words for a terminal; the
 * delta against no snapshot is the whole machine. Records are compared as
 * data, and only those that changed are written, so a run's record grows
 * with what changed, not with the machine.
 *
 * Left out: frames the pool holds pinned for a moment (none between two
 * statements), the contents of pages, the pager's segments' stores.
 */
#ifndef PLAY_SNAPSHOT_H
#define PLAY_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mmu.h"
#include "play_text.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Who owns a frame, as the snapshot tells it. */
typedef enum {
    PLAY_FRAME_FREE,
    PLAY_FRAME_PAGE_CACHE,
    PLAY_FRAME_ANONYMOUS,
    PLAY_FRAME_COPY, /* a private copy made by a write */
    PLAY_FRAME_TABLE,
    PLAY_FRAME_DIRECTORY,
    PLAY_FRAME_OTHER, /* mapped, but none of the above (a pager's page) */
} play_frame_owner;

/* A file the observer knows by its identity, to name it. */
typedef struct {
    uint64_t device, inode;
    const char *name;
} play_file_name;

/* The counters the trace counts, where the MMU keeps none. */
typedef struct {
    size_t tlb_hits, evictions, write_backs;
} play_counts;

/* What a snapshot needs besides the machine, all of it the caller's. */
typedef struct {
    const mmu *machine;
    size_t frames; /* the pool's size: frames 1 .. frames */
    const char *const *process_names; /* by pid; NULL entries: by number */
    const play_file_name *files;
    size_t num_files;
    const unsigned char *copies; /* by frame: 1 when given as a copy */
    const play_counts *counts;
} play_view;

typedef struct play_snapshot play_snapshot;

/* An empty snapshot, or NULL with errno ENOMEM. */
play_snapshot *play_snapshot_create(void);

/* Frees `self`; NULL is allowed. */
void play_snapshot_delete(play_snapshot *self);

/*
 * Takes the machine's picture into `self`, over what it held. Returns 0,
 * or -1 with errno ENOMEM (then `self` holds part of it).
 */
int play_snapshot_take(play_snapshot *self, const play_view *view);

/*
 * Appends to `json` the delta from `before` (NULL: nothing, so the whole
 * snapshot) to `after`, as one JSON object, and to `words` (if not NULL)
 * one line for each thing that changed. Names come from `view`.
 */
void play_snapshot_diff(const play_snapshot *before, const play_snapshot *after,
                        const play_view *view, play_text *json,
                        play_text *words);

/* The owner of frame `frame` in `self` (FREE past the pool). */
play_frame_owner play_snapshot_frame_owner(const play_snapshot *self,
                                           uint32_t frame);

/* A process's page-table entry, as a snapshot holds it. */
typedef struct {
    bool present, writable, swapped, dirty;
    bool cow;       /* present, read-only, in an area that allows writes */
    uint32_t frame; /* when present */
    uint32_t slot;  /* when swapped */
} play_snapshot_entry;

/* The area of a process holding an address, as a snapshot holds it. */
typedef struct {
    uint32_t start, end; /* its pages: [start, end) */
    const char *kind;    /* "shared file", "private anonymous", ... */
} play_snapshot_area;

/* The machine's counters, as a snapshot holds them. */
typedef struct {
    size_t tlb_hits, tlb_misses, page_faults, major_faults, minor_faults,
        cow_faults, evictions, write_backs, swap_outs, swap_ins,
        segmentation_faults, bus_errors;
} play_snapshot_counters;

/*
 * Process `pid`'s entry of the page holding `address`, into `out`.
 * Returns false when the snapshot has no such process, or the entry holds
 * neither a frame nor a slot.
 */
bool play_snapshot_entry_of(const play_snapshot *self, uint32_t pid,
                            uint32_t address, play_snapshot_entry *out);

/*
 * Process `pid`'s area (of vm_mmap) holding `address`, into `out`; false
 * when there is none.
 */
bool play_snapshot_area_of(const play_snapshot *self, uint32_t pid,
                           uint32_t address, play_snapshot_area *out);

/* Whether process `pid` exists in the snapshot. */
bool play_snapshot_has_process(const play_snapshot *self, uint32_t pid);

/* The counters in `self`. */
play_snapshot_counters play_snapshot_counts(const play_snapshot *self);

/* The owner's name as the JSON spells it ("page cache"). */
const char *play_snapshot_owner_name(play_frame_owner owner);

#ifdef __cplusplus
}
#endif

#endif
