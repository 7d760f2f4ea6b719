/*
 * play_event.h: the playground's events: a trace record (trace.h) told as
 * a sentence, with the rule of the machine that made it happen.
 *
 * The engine (play.h) hands every record of its trace hook here, with
 * what it knows that the record does not (the processes' names, whether
 * the access reads or writes, the replacement policy), and keeps what
 * comes back. One record may give two events: an eviction is first the
 * policy's choice, then the eviction. Left out: translations of the
 * sentences, events no record reports (the engine adds a TLB flush at a
 * process switch and the frames given back, which it sees in snapshots).
 */
#ifndef PLAY_EVENT_H
#define PLAY_EVENT_H

#include <stddef.h>

#include "trace.h"

#ifdef __cplusplus
extern "C" {
#endif

/* No pid, frame or slot: what the JSON writes as null. */
#define PLAY_EVENT_NONE (-1L)

typedef struct {
    const char *kind;  /* as the schema names it: "tlb_miss", "fault", ... */
    long pid, frame, slot; /* PLAY_EVENT_NONE when the event has none */
    long address;          /* a virtual address, or PLAY_EVENT_NONE */
    const char *fault; /* kind "fault": "major", "minor", "zero", "copy",
                          "swap"; else NULL */
    char *text;        /* what happened, one sentence; malloc'd */
    const char *rule;  /* the rule that made it happen; static */
} play_event;

/* What the engine knows that a record does not. */
typedef struct {
    const char *const *process_names; /* by pid; NULL entries: by number */
    const char *access; /* the statement's access: "read", "write", or
                           "access" (a call's own, e.g. vm_msync) */
    const char *policy; /* the replacement policy's name: "clock" */
} play_event_context;

/*
 * Tells `record` as one or two events, into out[0] and out[1]. Returns
 * how many were written (their texts are the caller's, to free), or 0
 * with errno ENOMEM.
 */
size_t play_event_describe(const trace_record *record,
                           const play_event_context *context,
                           play_event out[2]);

/*
 * An event of the engine's own (a TLB flush, a frame given back): kind,
 * its fields and its rule as given, its text made by printf from
 * `format`. Returns 0, or -1 with errno ENOMEM.
 */
int play_event_make(play_event *out, const char *kind, const char *rule,
                    const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* The rules of the engine's own events. */
extern const char play_event_rule_tlb_flush[];
extern const char play_event_rule_frame_freed[];

#ifdef __cplusplus
}
#endif

#endif
