/*
 * trace.c: one hook for the events of the simulated hardware.
 */
#include "trace.h"

#include <stddef.h>

static trace_hook current_hook;
static void *current_context;

void trace_set_hook(trace_hook hook, void *context) {
    current_hook = hook;
    current_context = context;
}

void trace(enum trace_event event, addr32 virtual_address,
           addr32 physical_address) {
    if (current_hook)
        current_hook(event, virtual_address, physical_address, current_context);
}

const char *trace_event_name(enum trace_event event) {
    static const char *const names[NUM_TRACE_EVENTS] = {
        [TRACE_TLB_HIT] = "TLB hit",         [TRACE_TLB_MISS] = "TLB miss",
        [TRACE_PAGE_WALK] = "page walk",     [TRACE_PAGE_FAULT] = "page fault",
        [TRACE_FRAME_GIVEN] = "frame given", [TRACE_EVICTION] = "eviction",
        [TRACE_WRITE_BACK] = "write-back",   [TRACE_SEGFAULT] = "segfault",
    };
    if ((unsigned)event >= NUM_TRACE_EVENTS)
        return "unknown event";
    return names[event];
}
