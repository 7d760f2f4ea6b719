/*
 * trace.h: a window on the simulated hardware, for teaching and tests.
 *
 * The modules report each event of an access (TLB hit or miss, page walk,
 * page fault, frame given, eviction, write-back, segmentation fault) to one
 * hook, if one is set. With no hook the cost is one test of a pointer.
 */
#ifndef TRACE_H
#define TRACE_H

#include "types.h"

enum trace_event {
    TRACE_TLB_HIT,     /* virtual address */
    TRACE_TLB_MISS,    /* virtual address */
    TRACE_PAGE_WALK,   /* virtual address; physical: the entry's frame or 0 */
    TRACE_PAGE_FAULT,  /* virtual address */
    TRACE_FRAME_GIVEN, /* physical address of the frame */
    TRACE_EVICTION,    /* physical address of the victim frame */
    TRACE_WRITE_BACK,  /* virtual address; physical address of the frame */
    TRACE_SEGFAULT,    /* virtual address */
    NUM_TRACE_EVENTS
};

/* `virtual_address` or `physical_address` is 0 where it does not apply. */
typedef void (*trace_hook)(enum trace_event event, addr32 virtual_address,
                           addr32 physical_address, void *context);

/* Sends every later event to `hook` with `context`; NULL stops tracing. */
void trace_set_hook(trace_hook hook, void *context);

/* Reports an event to the hook, if any. Called by the modules. */
void trace(enum trace_event event, addr32 virtual_address,
           addr32 physical_address);

/* The event's name, e.g. "TLB miss". */
const char *trace_event_name(enum trace_event event);

#endif
