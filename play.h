/*
 * play.h: the playground's engine: runs a scenario (scenario.h) on a
 * fresh machine and records, per statement, what it did (its outcome),
 * the events it caused in order, each with a sentence and the rule that
 * made it happen, and what changed in the machine (a delta of
 * play_snapshot.h); the whole run is exported as JSON, schema
 * "mmap-play/1" (README, "The playground").
 *
 * The engine is an observer: it calls vm.h and mmu.h as a program would,
 * listens to the trace hook (trace.h) and reads the machine through
 * read-only queries; nothing below it knows it exists. A refused access
 * or call is an outcome (a segmentation fault, a bus error, an errno),
 * never an error of the scenario. Files live in a private temporary
 * directory (mkdtemp) the run removes at its end; `file X from PATH`
 * copies PATH, relative to the caller's base directory, and `file X at
 * PATH` links to PATH there, so the caller's file is used in place. No
 * fork, no signals, nothing printed: the web page runs it as WebAssembly.
 *
 * One machine at a time: a run sets the frame pool's size
 * (kernel_set_frames, which needs every frame free), so no other MMU may
 * hold frames while it runs, and the pool's capacity is set by the first
 * run to PLAY_MAX_FRAMES (if nothing used the pool before; otherwise it
 * is what that use made it). A run takes the trace hook for its length
 * and leaves none set. Left out: running a scenario step by step (a run
 * records every step; a player steps through the record), threads.
 */
#ifndef PLAY_H
#define PLAY_H

#include <stdbool.h>
#include <stddef.h>

#include "play_event.h"
#include "play_snapshot.h"
#include "scenario.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The most frames a scenario may ask for (`frames N`). */
#define PLAY_MAX_FRAMES 1024

typedef enum {
    PLAY_OUTCOME_OK,        /* done; a value may come with it (0, a count) */
    PLAY_OUTCOME_VALUE,     /* a call's result: an address, a pid, an fd */
    PLAY_OUTCOME_ERRNO,     /* the call refused, with errno */
    PLAY_OUTCOME_SEGFAULT,  /* an access refused: no area, or no right */
    PLAY_OUTCOME_BUS_ERROR, /* an access to a page past the file's end */
    PLAY_OUTCOME_READ,      /* a read: the bytes read */
} play_outcome_kind;

typedef struct {
    size_t index; /* 0: the machine before the first statement */
    size_t line;  /* 1-based; 0 for step 0 */
    const char *source; /* the statement; NULL for step 0 */
    long pid;           /* the process it acts in, or -1 */
    play_outcome_kind outcome;
    char *outcome_text; /* one sentence */
    play_event *events;
    size_t num_events;
    char *changes; /* what changed, a line each, for a terminal */
    char *json;    /* the step as the schema's STEP object */
    bool has_value;   /* the call returned `value` (an address, a count) */
    long long value;
    bool accesses;    /* a read or a write, at `address` */
    unsigned long address;
    char *bytes;      /* a read's bytes (num_bytes of them), else NULL */
    size_t num_bytes;
    /* The machine after the step, whole, when the run was made with
     * play_run_scenario_keeping; else NULL. */
    const play_snapshot *snapshot;
} play_step;

typedef struct play_run play_run;

/*
 * Parses and runs the NUL-terminated `text`, named `name` in the JSON,
 * fixtures read from `base_dir` (NULL: the current directory). Returns the
 * run (the caller's, freed with play_run_delete), whose ok is false when
 * the scenario has an error (then no step ran; `frames N` past the pool's
 * capacity is one); or NULL with errno ENOMEM, EBUSY (another MMU holds
 * frames of the pool, which kernel_set_frames needs free), or what
 * mkdtemp or mmu_create says.
 */
play_run *play_run_scenario(const char *text, const char *name,
                            const char *base_dir);

/*
 * play_run_scenario, keeping the machine's whole snapshot after every step
 * (play_step.snapshot), for a program that reads each step's machine
 * through play_snapshot.h's queries rather than its delta. Memory grows
 * with the machine times the steps: for short scenarios, such as
 * mmap_demo's stories. Errors as play_run_scenario's.
 */
play_run *play_run_scenario_keeping(const char *text, const char *name,
                                    const char *base_dir);

/* Whether the scenario parsed and ran; if not, play_run_error says why. */
bool play_run_ok(const play_run *self);

/* The scenario's error (line, column, message); meaningful when not ok. */
const scenario_error *play_run_error(const play_run *self);

/* The steps recorded, step 0 included (none when not ok). */
size_t play_run_steps(const play_run *self);

/* Step `index`, which is below play_run_steps; the run owns it. */
const play_step *play_run_step(const play_run *self, size_t index);

/* The frames and the policy the run used. */
size_t play_run_frames(const play_run *self);
const char *play_run_policy(const play_run *self);

/*
 * The whole run as JSON (schema mmap-play/1), a string the caller frees;
 * NULL with errno ENOMEM.
 */
char *play_run_to_json(const play_run *self);

/*
 * The machine's full snapshot after the last step, in the schema's
 * SNAPSHOT form, a string the caller frees: the deltas of every step,
 * applied in order, rebuild it. NULL with errno ENOMEM, or EINVAL when
 * the run is not ok.
 */
char *play_run_final_snapshot(const play_run *self);

/* Frees `self` and its steps; NULL is allowed. */
void play_run_delete(play_run *self);

/*
 * play_run_scenario and play_run_to_json in one call, for the web page:
 * the run's JSON (a scenario's error included, as "ok": false), a string
 * the caller frees with free(); NULL with errno ENOMEM or mkdtemp's.
 */
char *play_run_json(const char *text, const char *name, const char *base_dir);

#ifdef __cplusplus
}
#endif

#endif
