/*
 * tests/segments_tests.c: segments.h, the layout of an address space and
 * how its segments grow, shrink and are found.
 */
#include "helpers.h"

#include <stdlib.h>

/* Where the layout of segments.h puts things (MMAP is in helpers.h). */
#define STACK_TOP ((addr32)0xC0000000)
#define HEAP_START ((addr32)0x10000000)
#define TEXT_START ((addr32)0x08000000)

static void test_segmentations_create_lays_out_empty_segments(void) {
    vm_segmentations *layout = segmentations_create();
    vm_segmentation *s;
    int i;

    expect_not_null(layout, "segmentations_create()");
    s = layout->segments;
    for (i = 0; i < NUM_SEGMENTS; i++) {
        expect_hex(s[i].start, s[i].end,
                   describe("end of empty segment %s", segment_name(i)));
        expect_null(s[i].backing,
                    describe("backing of segment %s", segment_name(i)));
    }
    expect_hex(s[MMAP].start, MMAP_REGION_START, "MMAP start");
    expect_true(!s[MMAP].grows_down, "MMAP grows up");
    expect_hex(s[MMAP].limit, MMAP_REGION_START + MMAP_REGION_SIZE,
               "MMAP limit (room for 1.75 GiB)");
    expect_hex(s[STACK].end, STACK_TOP, "STACK end");
    expect_true(s[STACK].grows_down, "STACK grows down");
    expect_hex(s[HEAP].start, HEAP_START, "HEAP start");
    expect_true(!s[HEAP].grows_down, "HEAP grows up");
    expect_hex(s[TEXT].start, TEXT_START, "TEXT start");

    expect_true(!address_in_segmentations(layout, MMAP_REGION_START),
                "0x40000000 is in no segment of a fresh layout");
    expect_true(!address_in_segmentations(layout, STACK_TOP - 1),
                "0xBFFFFFFF is in no segment of a fresh layout");
    expect_null(find_segment(layout, MMAP_REGION_START),
                "find_segment(0x40000000) in a fresh layout");
    free(layout);
}

static void test_grow_and_shrink_move_the_end_of_an_upward_segment(void) {
    vm_segmentations *layout = segmentations_create();
    vm_segmentation *mmap_segment;

    expect_not_null(layout, "segmentations_create()");
    mmap_segment = &layout->segments[MMAP];
    expect_int(grow_segment(mmap_segment, 3), 0, "grow MMAP by 3 pages");
    expect_hex(mmap_segment->start, MMAP_REGION_START, "MMAP start after grow");
    expect_hex(mmap_segment->end, MMAP_REGION_START + 3 * PAGE_SIZE,
               "MMAP end after grow");
    shrink_segment(mmap_segment, 1);
    expect_hex(mmap_segment->start, MMAP_REGION_START,
               "MMAP start after shrink");
    expect_hex(mmap_segment->end, MMAP_REGION_START + 2 * PAGE_SIZE,
               "MMAP end after shrink");
    free(layout);
}

static void test_grow_and_shrink_move_the_start_of_the_downward_stack(void) {
    vm_segmentations *layout = segmentations_create();
    vm_segmentation *stack;

    expect_not_null(layout, "segmentations_create()");
    stack = &layout->segments[STACK];
    expect_int(grow_segment(stack, 2), 0, "grow STACK by 2 pages");
    expect_hex(stack->start, STACK_TOP - 2 * PAGE_SIZE,
               "STACK start after grow");
    expect_hex(stack->end, STACK_TOP, "STACK end after grow");
    shrink_segment(stack, 1);
    expect_hex(stack->start, STACK_TOP - PAGE_SIZE, "STACK start after shrink");
    expect_hex(stack->end, STACK_TOP, "STACK end after shrink");
    free(layout);
}

static void test_shrink_stops_at_empty(void) {
    vm_segmentations *layout = segmentations_create();
    vm_segmentation *s;

    expect_not_null(layout, "segmentations_create()");
    s = layout->segments;
    expect_int(grow_segment(&s[MMAP], 2), 0, "grow MMAP by 2");
    shrink_segment(&s[MMAP], 5);
    expect_hex(s[MMAP].start, MMAP_REGION_START, "MMAP start");
    expect_hex(s[MMAP].end, MMAP_REGION_START, "MMAP end after over-shrink");
    expect_int(grow_segment(&s[STACK], 1), 0, "grow STACK by 1");
    shrink_segment(&s[STACK], 3);
    expect_hex(s[STACK].start, STACK_TOP, "STACK start after over-shrink");
    expect_hex(s[STACK].end, STACK_TOP, "STACK end");
    free(layout);
}

static void test_grow_past_limit_fails_with_enomem_and_changes_nothing(void) {
    vm_segmentations *layout = segmentations_create();
    vm_segmentation *mmap_segment, *stack;
    uint32_t room_pages = (uint32_t)(MMAP_REGION_SIZE / PAGE_SIZE);
    uint32_t stack_room;

    expect_not_null(layout, "segmentations_create()");
    mmap_segment = &layout->segments[MMAP];

    errno = 0;
    expect_int(grow_segment(mmap_segment, room_pages + 1), -1,
               "grow MMAP by 1.75 GiB + 1 page");
    expect_errno(errno, ENOMEM, "grow MMAP by 1.75 GiB + 1 page");
    expect_hex(mmap_segment->end, MMAP_REGION_START, "MMAP end after refusal");

    errno = 0;
    expect_int(grow_segment(mmap_segment, UINT32_MAX), -1,
               "grow MMAP by 2^32 - 1 pages (overflows 32 bits)");
    expect_errno(errno, ENOMEM, "grow MMAP by 2^32 - 1 pages");
    expect_hex(mmap_segment->end, MMAP_REGION_START, "MMAP end after refusal");

    expect_int(grow_segment(mmap_segment, room_pages), 0,
               "grow MMAP by exactly 1.75 GiB");
    expect_hex(mmap_segment->end, MMAP_REGION_START + MMAP_REGION_SIZE,
               "MMAP end when full");
    errno = 0;
    expect_int(grow_segment(mmap_segment, 1), -1, "grow a full MMAP by 1");
    expect_errno(errno, ENOMEM, "grow a full MMAP by 1");
    expect_hex(mmap_segment->end, MMAP_REGION_START + MMAP_REGION_SIZE,
               "MMAP end after refusal");
    expect_hex(mmap_segment->start, MMAP_REGION_START, "MMAP start");

    stack = &layout->segments[STACK];
    expect_true(stack->limit < stack->start, "STACK limit lies below it");
    stack_room = (stack->start - stack->limit) / PAGE_SIZE;
    errno = 0;
    expect_int(grow_segment(stack, stack_room + 1), -1,
               "grow STACK one page past its limit");
    expect_errno(errno, ENOMEM, "grow STACK one page past its limit");
    expect_hex(stack->start, STACK_TOP, "STACK start after refusal");
    expect_int(grow_segment(stack, stack_room), 0, "grow STACK to its limit");
    expect_hex(stack->start, stack->limit, "STACK start at its limit");
    free(layout);
}

static void test_find_segment_includes_start_and_excludes_end(void) {
    vm_segmentations *layout = segmentations_create();
    vm_segmentation *s;

    expect_not_null(layout, "segmentations_create()");
    s = layout->segments;
    expect_int(grow_segment(&s[MMAP], 2), 0, "grow MMAP by 2");
    expect_int(grow_segment(&s[STACK], 2), 0, "grow STACK by 2");

    expect_ptr(find_segment(layout, s[MMAP].start), &s[MMAP], "MMAP start");
    expect_ptr(find_segment(layout, s[MMAP].end - 1), &s[MMAP],
               "MMAP last byte");
    expect_null(find_segment(layout, s[MMAP].end), "MMAP end");
    expect_null(find_segment(layout, s[MMAP].start - 1), "below MMAP start");
    expect_true(address_in_segmentations(layout, s[MMAP].start),
                "MMAP start is in a segment");
    expect_true(address_in_segmentations(layout, s[MMAP].end - 1),
                "MMAP last byte is in a segment");
    expect_true(!address_in_segmentations(layout, s[MMAP].end),
                "MMAP end is in no segment");

    expect_ptr(find_segment(layout, s[STACK].start), &s[STACK], "STACK start");
    expect_ptr(find_segment(layout, STACK_TOP - 1), &s[STACK],
               "STACK last byte");
    expect_null(find_segment(layout, STACK_TOP), "STACK end");
    expect_null(find_segment(layout, s[STACK].start - 1), "below STACK");
    expect_true(!address_in_segmentations(layout, s[STACK].start - 1),
                "below STACK is in no segment");
    expect_true(address_in_segmentations(layout, s[STACK].start),
                "STACK start is in a segment");
    free(layout);
}

static void test_segment_name_spells_the_layout_names(void) {
    static const char *const names[NUM_SEGMENTS] = {
        "STACK", "MMAP", "HEAP", "BSS", "DATA", "TEXT", "TESTING"};
    int i;

    for (i = 0; i < NUM_SEGMENTS; i++) {
        const char *name = segment_name(i);
        expect_not_null(name, describe("segment_name(%d)", i));
        expect_true(strcmp(name, names[i]) == 0,
                    describe("segment_name(%d) is \"%s\", got \"%s\"", i,
                             names[i], name));
    }
}

static const test_case segments_tests[] = {
    TEST(segmentations_create_lays_out_empty_segments),
    TEST(grow_and_shrink_move_the_end_of_an_upward_segment),
    TEST(grow_and_shrink_move_the_start_of_the_downward_stack),
    TEST(shrink_stops_at_empty),
    TEST(grow_past_limit_fails_with_enomem_and_changes_nothing),
    TEST(find_segment_includes_start_and_excludes_end),
    TEST(segment_name_spells_the_layout_names),
};

const test_suite segments_suite = {"segments", segments_tests,
                                   sizeof segments_tests /
                                       sizeof segments_tests[0]};
