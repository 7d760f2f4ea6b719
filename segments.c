/*
 * segments.c: the fixed layout of a simulated address space, and the
 * bookkeeping of segments growing and shrinking inside it.
 */
#include "segments.h"

#include <errno.h>
#include <stdlib.h>

/* Where each segment starts, empty, and how far it may grow. */
static const vm_segmentation layout[NUM_SEGMENTS] = {
    [TESTING] = {.start = 0xD0000000,
                 .end = 0xD0000000,
                 .permissions = READ | WRITE,
                 .limit = 0xFFFFF000},
    [STACK] = {.start = 0xC0000000,
               .end = 0xC0000000,
               .permissions = READ | WRITE,
               .grows_down = true,
               .limit = 0xB0000000},
    [MMAP] = {.start = 0x40000000,
              .end = 0x40000000,
              .permissions = READ | WRITE,
              .limit = 0xB0000000},
    [HEAP] = {.start = 0x10000000,
              .end = 0x10000000,
              .permissions = READ | WRITE,
              .limit = 0x40000000},
    [BSS] = {.start = 0x0C000000,
             .end = 0x0C000000,
             .permissions = READ | WRITE,
             .limit = 0x10000000},
    [DATA] = {.start = 0x0A000000,
              .end = 0x0A000000,
              .permissions = READ | WRITE,
              .limit = 0x0C000000},
    [TEXT] = {.start = 0x08000000,
              .end = 0x08000000,
              .permissions = READ | EXEC,
              .limit = 0x0A000000},
};

vm_segmentations *segmentations_create(void) {
    vm_segmentations *this = malloc(sizeof *this);
    if (!this) {
        errno = ENOMEM;
        return NULL;
    }
    for (size_t i = 0; i < NUM_SEGMENTS; i++)
        this->segments[i] = layout[i];
    this->last_found = 0;
    return this;
}

/* How many more pages fit between the growing end and the limit. */
static uint32_t pages_of_room(const vm_segmentation *segment) {
    addr32 room = segment->grows_down ? segment->start - segment->limit
                                      : segment->limit - segment->end;
    return room / PAGE_SIZE;
}

int grow_segment(vm_segmentation *segment, uint32_t num_pages) {
    if (num_pages > pages_of_room(segment)) {
        errno = ENOMEM;
        return -1;
    }
    addr32 bytes = num_pages * (addr32)PAGE_SIZE;
    if (segment->grows_down)
        segment->start -= bytes;
    else
        segment->end += bytes;
    return 0;
}

void shrink_segment(vm_segmentation *segment, uint32_t num_pages) {
    uint32_t pages = (segment->end - segment->start) / PAGE_SIZE;
    if (num_pages > pages)
        num_pages = pages;
    addr32 bytes = num_pages * (addr32)PAGE_SIZE;
    if (segment->grows_down)
        segment->start += bytes;
    else
        segment->end -= bytes;
}

static bool holds(const vm_segmentation *segment, addr32 address) {
    return segment->start <= address && address < segment->end;
}

vm_segmentation *find_segment(vm_segmentations *segmentations, addr32 address) {
    size_t last = segmentations->last_found;
    if (last < NUM_SEGMENTS && holds(&segmentations->segments[last], address))
        return &segmentations->segments[last];
    for (size_t i = 0; i < NUM_SEGMENTS; i++) {
        if (holds(&segmentations->segments[i], address)) {
            segmentations->last_found = i;
            return &segmentations->segments[i];
        }
    }
    return NULL;
}

bool address_in_segmentations(vm_segmentations *segmentations, addr32 address) {
    return find_segment(segmentations, address) != NULL;
}

const char *segment_name(enum segments segment) {
    static const char *const names[NUM_SEGMENTS] = {
        [STACK] = "STACK",     [MMAP] = "MMAP", [HEAP] = "HEAP",
        [BSS] = "BSS",         [DATA] = "DATA", [TEXT] = "TEXT",
        [TESTING] = "TESTING",
    };
    if ((unsigned)segment >= NUM_SEGMENTS)
        return "?";
    return names[segment];
}
