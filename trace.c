/*
 * trace.c: one hook for the events of the simulated hardware.
 */
#include "trace.h"

trace_hook trace_current_hook;
trace_room_for trace_frame_wanted;
static void *current_context;

void trace_set_hook(trace_hook hook, void *context) {
    trace_current_hook = hook;
    current_context = context;
}

void trace_report(const trace_record *record) {
    if (trace_current_hook)
        trace_current_hook(record, current_context);
}

void trace_event_at(enum trace_event event, size_t pid,
                    addr32 virtual_address, addr32 physical_address) {
    if (trace_current_hook)
        trace_report(&(trace_record){.event = event,
                                     .pid = pid,
                                     .virtual_address = virtual_address,
                                     .physical_address = physical_address});
}

const char *trace_event_name(enum trace_event event) {
    static const char *const names[NUM_TRACE_EVENTS] = {
        [TRACE_TLB_HIT] = "TLB hit",
        [TRACE_TLB_MISS] = "TLB miss",
        [TRACE_PAGE_WALK] = "page walk",
        [TRACE_PAGE_FAULT] = "page fault",
        [TRACE_FRAME_GIVEN] = "frame given",
        [TRACE_EVICTION] = "eviction",
        [TRACE_WRITE_BACK] = "write-back",
        [TRACE_SEGFAULT] = "segfault",
        [TRACE_PAGER_READ] = "pager read",
        [TRACE_PAGER_WRITE] = "pager write",
        [TRACE_BUS_ERROR] = "bus error",
        [TRACE_SWAP_OUT] = "swap out",
        [TRACE_SWAP_IN] = "swap in",
        [TRACE_WRITE_IN_PLACE] = "write in place",
    };
    if ((unsigned)event >= NUM_TRACE_EVENTS)
        return "unknown event";
    return names[event];
}
