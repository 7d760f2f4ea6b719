/*
 * tests/trace_tests.c: trace.h, the hook that sees every event of an
 * access, and the events' names.
 */
#include "helpers.h"

/* Index of the first recorded `event` matching the given addresses. */
static size_t trace_find(enum trace_event event, bool match_page, addr32 page,
                         bool match_physical, addr32 physical) {
    size_t i;

    for (i = 0; i < trace_log.count && i < TRACE_LOG_SIZE; i++) {
        const trace_record *record = &trace_log.records[i].record;
        if (record->event != event)
            continue;
        if (match_page && PAGE_ROUND_DOWN(record->virtual_address) != page)
            continue;
        if (match_physical && record->physical_address != physical)
            continue;
        return i;
    }
    return SIZE_MAX;
}

static void test_trace_hook_sees_miss_fault_and_frame_then_a_hit(void) {
    mmu *m = new_mmu_with_process(1);
    vm_segmentation *segment =
        grow_testing_segment(m, 1, 2, READ | WRITE, NULL);
    addr32 address = segment->start + 0x10;
    page_table_entry *entry;
    size_t miss, fault, given, i;
    unsigned char byte;

    trace_log_clear();
    trace_set_hook(record_event, &trace_log);
    expect_size(read_virtual(m, 1, address, &byte, 1), 1, "first read");
    entry = entry_of(m, 1, address);
    expect_true(entry && entry->present, "the page is present");

    miss = trace_find(TRACE_TLB_MISS, true, segment->start, false, 0);
    fault = trace_find(TRACE_PAGE_FAULT, true, segment->start, false, 0);
    given = trace_find(TRACE_FRAME_GIVEN, false, 0, true,
                       (addr32)entry->base_addr << NUM_OFFSET_BITS);
    expect_true(miss != SIZE_MAX, "a TLB miss event for the page");
    expect_true(fault != SIZE_MAX, "a page fault event for the page");
    expect_true(given != SIZE_MAX, "a frame given event for the page's frame");
    expect_true(miss < fault, "the TLB miss comes before the page fault");
    expect_true(fault < given, "the page fault comes before the frame given");
    expect_size(trace_log.per_event[TRACE_TLB_HIT], 0,
                "TLB hits on first read");
    for (i = 0; i < trace_log.count && i < TRACE_LOG_SIZE; i++)
        expect_ptr(trace_log.records[i].context, &trace_log,
                   "context handed to the hook");

    trace_log_clear();
    expect_size(read_virtual(m, 1, address, &byte, 1), 1, "second read");
    expect_size(trace_log.per_event[TRACE_TLB_HIT], 1, "TLB hits on reread");
    expect_true(trace_find(TRACE_TLB_HIT, true, segment->start, false, 0) !=
                    SIZE_MAX,
                "the TLB hit names the page");
    expect_size(trace_log.per_event[TRACE_TLB_MISS], 0, "misses on reread");
    expect_size(trace_log.per_event[TRACE_PAGE_WALK], 0, "walks on reread");
    expect_size(trace_log.per_event[TRACE_PAGE_FAULT], 0, "faults on reread");
    expect_size(trace_log.per_event[TRACE_FRAME_GIVEN], 0, "frames on reread");

    trace_set_hook(NULL, NULL);
    trace_log_clear();
    expect_size(read_virtual(m, 1, segment->start + PAGE_SIZE, &byte, 1), 1,
                "read of a new page with no hook");
    expect_size(trace_log.count, 0, "events recorded after the hook was unset");
    mmu_delete(m);
}

static void test_trace_reports_a_segfault_and_names_every_event(void) {
    mmu *m = new_mmu_with_process(1);
    unsigned char byte;
    int event, other;

    trace_log_clear();
    trace_set_hook(record_event, NULL);
    errno = 0;
    expect_size(read_virtual(m, 1, 0x00001000u, &byte, 1), 0,
                "read outside every segment");
    trace_set_hook(NULL, NULL);
    expect_size(trace_log.per_event[TRACE_SEGFAULT], 1, "segfault events");
    expect_true(
        trace_find(TRACE_SEGFAULT, false, 0, false, 0) != SIZE_MAX &&
            trace_log.records[trace_find(TRACE_SEGFAULT, false, 0, false, 0)]
                    .record.virtual_address == 0x00001000u,
        "the segfault event carries the address 0x1000");

    expect_true(strcmp(trace_event_name(TRACE_TLB_MISS), "TLB miss") == 0,
                "trace_event_name(TRACE_TLB_MISS) is \"TLB miss\"");
    for (event = 0; event < NUM_TRACE_EVENTS; event++) {
        const char *name = trace_event_name(event);
        expect_true(name && name[0],
                    describe("event %d has a non-empty name", event));
        for (other = 0; other < event; other++)
            expect_true(strcmp(name, trace_event_name(other)) != 0,
                        describe("events %d and %d have different names", event,
                                 other));
    }
    mmu_delete(m);
}

static const test_case trace_tests[] = {
    TEST(trace_hook_sees_miss_fault_and_frame_then_a_hit),
    TEST(trace_reports_a_segfault_and_names_every_event),
};

const test_suite trace_suite = {"trace", trace_tests,
                                sizeof trace_tests / sizeof trace_tests[0]};
