/*
 * replay.h: a trace of page references replayed through the real
 * simulated machine (MMU, TLB, page tables, the frame pool and its
 * replacement policy), once per policy and pool size, for the policy lab.
 *
 * A trace is text in any of three forms, mixed freely, one reference per
 * item; blank lines and "#" comments are skipped:
 *   - a reference string of page numbers, separated by commas or white
 *     space ("1,2,3,4,1,2,5" or one per line), "w" after a number marking
 *     a write ("3w");
 *   - address lines "R hexaddr" or "W hexaddr" (0x optional), with an
 *     optional third field, the process id (decimal, below
 *     MAX_PROCESS_ID; 0 when absent);
 *   - valgrind lackey's --trace-mem=yes lines: "I  addr,size" (a fetch,
 *     read), " L addr,size" (read), " S addr,size" (write), " M
 *     addr,size" (a modify, one write); its "==pid==" lines are skipped.
 * A reference names a page: its number, or its address over PAGE_SIZE.
 *
 * Each run gives every process of the trace one simulated process whose
 * pages are the trace's, laid out one after another in the order they
 * first appear, in a segment backed by an in-memory store that reads and
 * writes one page at a time (no read-ahead, no clustered write-back), and
 * replays each reference as a one-byte read or write. The pool holds
 * exactly `frames` frames for the trace's pages: the page directories and
 * tables come on top and are pinned, so textbook numbers come out exactly.
 * Counted: faults (every fault takes a frame: there is no read-ahead),
 * hits, write-backs (pages written to the store by evictions), TLB misses.
 *
 * Left out: timing, instruction costs, a page's bytes (the store keeps
 * none: every page reads as zeros), real addresses within the simulated
 * space (pages are packed), more distinct pages per process than the HEAP
 * segment holds (REPLAY_MAX_PAGES).
 */
#ifndef REPLAY_H
#define REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The most distinct pages of one process: the HEAP segment's room. */
#define REPLAY_MAX_PAGES ((0x40000000u - 0x10000000u) / PAGE_SIZE)

typedef struct replay_trace replay_trace;

/*
 * Parses `text` (NUL-terminated) into a trace the caller owns (free it
 * with replay_trace_free). Returns NULL with errno EINVAL for text that is
 * none of the forms above, or with no reference (`error`, when not NULL,
 * then holds "line N: ..." in its `error_size` bytes), or ENOMEM.
 */
replay_trace *replay_parse(const char *text, char *error, size_t error_size);

/* Frees `trace`; NULL is allowed. */
void replay_trace_free(replay_trace *trace);

/* The number of references, and of distinct pages, in `trace`. */
size_t replay_trace_references(const replay_trace *trace);
size_t replay_trace_pages(const replay_trace *trace);

/* What one run of a trace came to. */
typedef struct {
    kernel_policy policy;
    size_t frames;
    size_t references, faults, hits, writebacks, tlb_misses;
    /* More faults than a run of the same policy with fewer frames. */
    bool belady;
} replay_result;

/* One frame after a reference, as replay_step shows it. */
typedef struct {
    size_t frame;         /* the pool's frame number */
    size_t page;          /* the trace's page index (replay_page_name) */
    bool referenced, dirty; /* the page's accessed and dirty bits */
    char note[40];        /* the policy's (kernel_policy_describe) */
} replay_frame;

/* One reference of a run, for a step-by-step view. */
typedef struct {
    size_t index; /* in the trace, from 0 */
    size_t page;  /* the page index */
    bool write, fault;
    /* The frames holding trace pages after it, by frame number. */
    const replay_frame *frames;
    size_t frame_count;
    /* The page evicted by this reference, and its frame before it. */
    bool evicted;
    replay_frame victim;
    size_t victim_next_use; /* SIZE_MAX: never; opt's reason */
} replay_step;

/* Called after each reference of a run, when steps are wanted. */
typedef void (*replay_step_fn)(void *context, const replay_result *run,
                               const replay_step *step);

/*
 * Writes page `page`'s name in the trace into `text` (`size` bytes): its
 * number ("7"), or for an address trace "0x4005" (the page number in
 * hexadecimal), with "@pid" when it is not process 0.
 */
void replay_page_name(const replay_trace *trace, size_t page, char *text,
                      size_t size);

/*
 * Replays `trace` under each of `policies` (`policy_count` of them) with
 * each pool size from `frames_from` to `frames_to` (at least 1, from <=
 * to), in that order (policy by policy, sizes rising), into `results`
 * (policy_count x sizes, caller's), marking Belady's anomaly. `step`, when
 * not NULL, is called after every reference. Sets the pool's size and
 * policy as it goes (kernel_set_frames, kernel_set_policy) and leaves the
 * clock in force and the pool empty. Needs the pool free of frames, with
 * room for frames_to plus the page tables (KERNEL_DEFAULT_FRAMES when the
 * pool is first set up here). Returns 0, or -1 with errno: EINVAL (sizes
 * out of range, too large for the pool), EBUSY (a frame in use), ENOMEM.
 */
int replay_runs(const replay_trace *trace, const kernel_policy *policies,
                size_t policy_count, size_t frames_from, size_t frames_to,
                replay_result *results, replay_step_fn step, void *context);

/*
 * Parses a list of policy names, "fifo,lru" or "all", into `policies`
 * (room for KERNEL_POLICY_COUNT). Returns the count, or 0 with errno
 * EINVAL for an unknown or repeated name.
 */
size_t replay_policies(const char *names, kernel_policy *policies);

/*
 * The whole lab in one call, for a page that cannot fork or print (the
 * WebAssembly build): parses `trace_text`, runs it under `policies` (as
 * replay_policies reads them) for each pool size in [frames_from,
 * frames_to], and returns JSON text: an array with one object per run,
 * one a line, each with policy, frames, references, faults, hits,
 * hit_rate, writebacks, tlb_misses and belady, and with `steps` an array
 * "steps" of every reference (index, page, write, fault, frames, evicted,
 * why). The text is malloc'd: the caller frees it. NULL with errno as
 * replay_parse and replay_runs; for EINVAL from the parse the text is
 * {"error": "line N: ..."} instead, so that the page can show why.
 */
char *replay_json(const char *trace_text, const char *policies,
                  size_t frames_from, size_t frames_to, bool steps);

#ifdef __cplusplus
}
#endif

#endif
