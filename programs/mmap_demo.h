/*
 * mmap_demo.h: what the demo's three modes share. mmap_demo.c holds the
 * default run (one mapping, its faults, evictions and write-back), the
 * command line and the trace printer; mmap_demo_sharing.c holds --sharing
 * (one file mapped shared by two processes and private by a third);
 * mmap_demo_fork.c holds --fork (anonymous memory, copy-on-write after
 * vm_fork, and swap).
 * Left out: a trace printer per mode; all print events the same way.
 */
#ifndef MMAP_DEMO_H
#define MMAP_DEMO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trace.h"
#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Mapped when no FILE is named: a copy of it, so the tree stays untouched.
 * Its 48 pages say on every line which page they are.
 */
#define DEFAULT_FILE "test_files/pages.txt"

/* The kinds of page fault, enum trace_fault (TRACE_FAULT_COPY is last). */
#define NUM_FAULT_KINDS (TRACE_FAULT_SWAP + 1)

typedef struct {
    const char *path; /* NULL: a copy of DEFAULT_FILE */
    bool write;
    size_t write_offset;
    const char *write_text;
    bool trace;
    bool small_pool; /* MMAP_FRAMES was set here, to DEMO_FRAMES */
    bool sharing;    /* --sharing: the mode of mmap_demo_sharing.c */
    bool fork;       /* --fork: the mode of mmap_demo_fork.c */
} options;

/* The pager's calls in one direction, and what they moved. */
typedef struct {
    size_t calls;
    size_t pages;
    size_t bytes;
} io_count;

/*
 * What the trace hook (demo_log_event) has seen, and whether it prints
 * each event. The mapping's place turns a virtual address into a page of
 * the file; every process that maps the file maps it there.
 */
typedef struct {
    bool print;
    uintptr_t start_address; /* of the mapping, once it exists */
    size_t num_pages;        /* of the mapping; 0 before it exists */
    /* NULL: the mapping is of a file; else it is anonymous memory, its
     * pages "of" this name, and its evictions go to swap. */
    const char *mapping_name;
    /* Names of the processes, by pid, for the lines of a process's event;
     * NULL: the one process goes unnamed. */
    const char *const *process_names;
    size_t num_process_names;
    size_t events[NUM_TRACE_EVENTS];
    size_t faults[NUM_FAULT_KINDS]; /* by enum trace_fault */
    size_t dirty_evictions;
    io_count reads, writes;
    /* A walk found its page not present: the next frame given to a page
     * is that page's, and the frames after it, in the same fault, are
     * read ahead. */
    bool fault_frame_pending;
    bool frame_read_ahead; /* of the frame given that is being logged */
    bool watching;         /* whether the written page's write-backs count */
    addr32 written_page;
    size_t written_page_saved; /* write-backs of written_page */
} event_log;

/* The ending of a count's noun: "1 page", "2 pages". */
const char *demo_plural(size_t count);

/* The trace hook: counts every event in the event_log `context` and, when
 * its `print` is set, prints it in words on one line. */
void demo_log_event(const trace_record *record, void *context);

/*
 * Prints the first `shown` of `length` bytes in quotes, escaped as in C
 * source, and says how many there are in all when that is more.
 */
void demo_print_quoted(const char *bytes, size_t shown, size_t length);

/* Reads `length` bytes at `offset` of the file at `path` with stdio;
 * false with errno. */
bool demo_read_file_bytes(const char *path, size_t offset, char *bytes,
                          size_t length);

/*
 * Makes a temporary directory `dir` holding a copy of DEFAULT_FILE at
 * `path` (both PATH_MAX bytes). Prints why and returns false on failure.
 */
bool demo_make_default_copy(char *dir, char *path);

/* Removes the copy and its directory; says so if it cannot. */
void demo_remove_default_copy(const char *dir, const char *path);

/*
 * Says why mmap_create (or mmu_create) failed with errno `failure`, in
 * terms a student can act on: a pool that cannot be set up is
 * MMAP_FRAMES's doing; anything else is the file's, at `path`.
 */
void demo_explain_create_failure(const char *path, int failure);

/*
 * The --sharing mode on the file at `path` (a copy of DEFAULT_FILE when
 * opts->path is NULL). Returns the exit status: 0 when every step did
 * what it shows.
 */
int demo_run_sharing(const char *path, const options *opts);

/*
 * The --fork mode: anonymous memory of one process, vm_fork, the writes
 * that copy and the one that does not, and a page to swap and back, in
 * the pool MMAP_FRAMES sets. Returns the exit status: 0 when every step
 * did what it shows.
 */
int demo_run_fork(const options *opts);

#ifdef __cplusplus
}
#endif

#endif
