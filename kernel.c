/*
 * kernel.c: the frame pool, with a frame table recording who holds each
 * frame and a second-chance clock that picks a victim when none is free.
 *
 * Free frames are a stack of frame numbers, so taking and returning one is
 * O(1). The clock hand stays where it stopped, so a fault under pressure
 * looks at a few frames, not the whole pool. Left out: zones, NUMA, any
 * notion of a frame shared by several owners.
 */
#include "kernel.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "trace.h"

/* The size of a huge page on x86-64 hosts; the pool is aligned to it. */
#define HOST_HUGE_PAGE (2u << 20)

/* What the pool knows of one frame. */
typedef struct {
    bool in_use;
    frame_owner *owner; /* NULL: pinned (or free) */
    uint32_t key;       /* the owner's name for the page */
} frame_record;

static struct {
    bool ready;
    char *memory;         /* frame n lives at memory + (n - 1) * PAGE_SIZE */
    size_t total;         /* frames 1 .. total */
    frame_record *frames; /* indexed by frame number; [0] unused */
    uint32_t *free_stack; /* frame numbers not in use */
    size_t free_count;
    size_t clock_hand; /* the next frame the clock looks at */
} pool;

static size_t frames_wanted(void) {
    const char *setting = getenv("MMAP_FRAMES");
    if (!setting || !*setting)
        return KERNEL_DEFAULT_FRAMES;
    char *end;
    unsigned long long wanted = strtoull(setting, &end, 10);
    if (*end != '\0' || setting[0] == '-')
        return KERNEL_DEFAULT_FRAMES;
    if (wanted < KERNEL_MIN_FRAMES)
        return KERNEL_MIN_FRAMES;
    if (wanted > KERNEL_MAX_FRAMES)
        return KERNEL_MAX_FRAMES;
    return (size_t)wanted;
}

/*
 * The pool's memory, backed by the host now: a page fault that had to wait
 * for the host to find memory would cost more than the simulated one it
 * serves. Huge host pages, where the host offers them, also make the host's
 * own TLB misses rare when the simulated frames are touched at random.
 */
static char *host_memory(size_t bytes) {
    void *memory;
    if (posix_memalign(&memory, HOST_HUGE_PAGE, bytes) != 0)
        return NULL;
#ifdef MADV_HUGEPAGE
    madvise(memory, bytes, MADV_HUGEPAGE); /* only a hint: ignore a refusal */
#endif
    for (size_t at = 0; at < bytes; at += PAGE_SIZE)
        ((volatile char *)memory)[at] = 0;
    return memory;
}

/* Sizes and allocates the pool on first use; false if the host said no. */
static bool pool_ready(void) {
    if (pool.ready)
        return true;
    size_t total = frames_wanted();
    pool.memory = host_memory(total * PAGE_SIZE);
    pool.frames = calloc(total + 1, sizeof *pool.frames);
    pool.free_stack = malloc(total * sizeof *pool.free_stack);
    if (!pool.memory || !pool.frames || !pool.free_stack) {
        free(pool.memory);
        free(pool.frames);
        free(pool.free_stack);
        errno = ENOMEM;
        return false;
    }
    /* Lowest frame numbers on top, so frames are handed out in order. */
    for (size_t i = 0; i < total; i++)
        pool.free_stack[i] = (uint32_t)(total - i);
    pool.total = total;
    pool.free_count = total;
    pool.clock_hand = 1;
    pool.ready = true;
    return true;
}

static addr32 address_of_frame(size_t frame) {
    return (addr32)frame << NUM_OFFSET_BITS;
}

/*
 * The second-chance clock: sweeps from the hand, skipping pinned frames,
 * clearing the referenced mark of pages used since the last sweep, and
 * evicting the first page that was not. Two full turns are enough for
 * every page to lose its mark, so more means no frame can be taken.
 */
static size_t evict_a_frame(void) {
    int failure = ENOMEM;
    for (size_t step = 0; step < 2 * pool.total; step++) {
        size_t frame = pool.clock_hand;
        pool.clock_hand = frame == pool.total ? 1 : frame + 1;
        frame_record *record = &pool.frames[frame];
        assert(record->in_use);
        frame_owner *owner = record->owner;
        if (!owner || owner->ops->referenced(owner, record->key))
            continue;
        if (owner->ops->evict(owner, record->key) != 0) {
            failure = errno;
            continue;
        }
        trace(TRACE_EVICTION, 0, address_of_frame(frame));
        return frame;
    }
    errno = failure;
    return 0;
}

addr32 ask_kernel_for_frame(frame_owner *owner, uint32_t key) {
    if (!pool_ready())
        return 0;
    size_t frame;
    if (pool.free_count > 0) {
        frame = pool.free_stack[--pool.free_count];
    } else {
        frame = evict_a_frame();
        if (frame == 0)
            return 0;
    }
    pool.frames[frame] =
        (frame_record){.in_use = true, .owner = owner, .key = key};
    trace(TRACE_FRAME_GIVEN, 0, address_of_frame(frame));
    return address_of_frame(frame);
}

void kernel_set_frame_owner(addr32 physical_address, frame_owner *owner,
                            uint32_t key) {
    size_t frame = physical_address >> NUM_OFFSET_BITS;
    assert(pool.ready && frame >= 1 && frame <= pool.total &&
           pool.frames[frame].in_use);
    pool.frames[frame].owner = owner;
    pool.frames[frame].key = key;
}

void return_frame_to_kernel(addr32 physical_address) {
    size_t frame = physical_address >> NUM_OFFSET_BITS;
    if (frame == 0)
        return;
    assert(pool.ready && frame <= pool.total && pool.frames[frame].in_use);
    pool.frames[frame] = (frame_record){.in_use = false};
    pool.free_stack[pool.free_count++] = (uint32_t)frame;
}

void *get_system_pointer_from_address(addr32 physical_address) {
    size_t frame = physical_address >> NUM_OFFSET_BITS;
    if (frame == 0 || frame > pool.total)
        return NULL;
    return pool.memory + (frame - 1) * PAGE_SIZE +
           (physical_address & OFFSET_MASK);
}

addr32 get_address_from_system_pointer(const void *system_pointer) {
    const char *byte = system_pointer;
    if (!pool.ready || byte < pool.memory ||
        byte >= pool.memory + pool.total * PAGE_SIZE)
        return 0;
    size_t offset = (size_t)(byte - pool.memory);
    return address_of_frame(offset / PAGE_SIZE + 1) | (offset % PAGE_SIZE);
}

size_t kernel_frames_total(void) {
    return pool_ready() ? pool.total : 0;
}

size_t kernel_frames_free(void) {
    return pool_ready() ? pool.free_count : 0;
}
