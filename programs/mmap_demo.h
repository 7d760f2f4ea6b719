/*
 * mmap_demo.h: what the demo's files share. mmap_demo.c holds the default
 * run (one mapping, its faults, evictions and write-back), the command
 * line and the default run's trace printer; mmap_demo_story.c holds
 * --sharing and --fork, the stories of scenarios/sharing.scn and
 * fork_story.scn told through the playground's engine (play.h).
 * Left out: a trace printer for the stories; the engine tells their
 * events (play_print.h prints them as mmap_play does).
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
    bool sharing;    /* --sharing: a story of mmap_demo_story.c */
    bool fork;       /* --fork: the other one */
} options;

/* The pager's calls in one direction, and what they moved. */
typedef struct {
    size_t calls;
    size_t pages;
    size_t bytes;
} io_count;

/*
 * What the default run's trace hook (demo_log_event) has seen, and
 * whether it prints each event. The mapping's place turns a virtual
 * address into a page of the file.
 */
typedef struct {
    bool print;
    uintptr_t start_address; /* of the mapping, once it exists */
    size_t num_pages;        /* of the mapping; 0 before it exists */
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
 * --sharing: runs scenarios/sharing.scn with its file at `path` in place
 * (a copy of DEFAULT_FILE when opts->path is NULL) and prints its report,
 * the file on disk before and after the run. Returns the exit status: 0
 * when no statement was refused and the file holds A's bytes, not C's.
 */
int demo_run_sharing(const char *path, const options *opts);

/*
 * --fork: runs scenarios/fork_story.scn (copy-on-write after vm_fork, then
 * swap, in the pool the scenario sets) and prints its report. Returns the
 * exit status: 0 when no statement was refused.
 */
int demo_run_fork(const options *opts);

#ifdef __cplusplus
}
#endif

#endif
