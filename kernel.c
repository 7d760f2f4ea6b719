/*
 * kernel.c: the frame pool, with a frame table recording who holds each
 * frame and a second-chance clock that picks a victim when none is free.
 *
 * Frames given back wait on a stack, and frames never used are the numbers
 * above a watermark, so taking and returning one is O(1) and the host backs
 * only frames that have been handed out. The clock hand stays where it
 * stopped, so a fault under pressure looks at a few frames, not the whole
 * pool. Left out: zones, NUMA, any notion of a frame shared by several
 * owners.
 */
#include "kernel.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "host_memory.h"
#include "settings.h"

/* What the pool knows of one frame. */
typedef struct {
    frame_owner *owner; /* NULL: pinned (or free) */
    uint32_t key;       /* the owner's name for the page */
    bool in_use;
} frame_record;

char *kernel_pool_memory;

static struct {
    bool ready;
    size_t capacity;      /* frames reserved: the most total can be */
    size_t total;         /* frames 1 .. total */
    frame_record *frames; /* indexed by frame number; [0] unused */
    uint32_t *free_stack; /* frames given back, the last on top */
    size_t free_count;
    size_t untouched;  /* frames untouched + 1 .. total were never handed out */
    size_t clock_hand; /* the next frame the clock looks at */
} pool;

/*
 * The frame count MMAP_FRAMES asks for, clamped to the pool's bounds; the
 * default when it is unset or empty. 0 with errno EINVAL when it is not a
 * whole number (settings.h).
 */
static size_t frames_wanted(void) {
    return settings_count("MMAP_FRAMES", KERNEL_DEFAULT_FRAMES,
                          KERNEL_MIN_FRAMES, KERNEL_MAX_FRAMES);
}

/*
 * The frame table and the free stack are reserved as the frames are,
 * zero-filled, lazily backed and on huge pages where offered: backed 4 KiB
 * at a time, the frame table alone took a host fault per 256 frames in
 * use, 128 more in a cold read of 128 MiB, and on a host that must first
 * give memory back such a fault is slow.
 *
 * Sets the pool up; false with errno if it cannot be. Only address space
 * is reserved: the host backs a frame when it is first handed out and
 * filled, and the frame table and free stack grow with the frames in use
 * in the same way.
 */
static size_t frames_asked; /* by kernel_set_frames before the first use */

static bool pool_set_up(void) {
    size_t total = frames_asked ? frames_asked : frames_wanted();
    if (total == 0)
        return false;
    kernel_pool_memory = host_memory_reserve(total * PAGE_SIZE);
    pool.frames =
        host_memory_reserve(host_memory_table_bytes(total + 1, sizeof *pool.frames));
    pool.free_stack =
        host_memory_reserve(host_memory_table_bytes(total, sizeof *pool.free_stack));
    if (!kernel_pool_memory || !pool.frames || !pool.free_stack) {
        host_memory_release(kernel_pool_memory, total * PAGE_SIZE);
        host_memory_release(pool.frames,
                            host_memory_table_bytes(total + 1, sizeof *pool.frames));
        host_memory_release(pool.free_stack,
                            host_memory_table_bytes(total, sizeof *pool.free_stack));
        kernel_pool_memory = NULL;
        errno = ENOMEM;
        return false;
    }
    pool.capacity = total;
    pool.total = total;
    pool.free_count = 0;
    pool.untouched = 0;
    pool.clock_hand = 1;
    pool.ready = true;
    return true;
}

/* Whether the pool is set up, setting it up on first use (errno if not). */
static bool pool_ready(void) {
    return pool.ready || pool_set_up();
}

static addr32 address_of_frame(size_t frame) {
    return (addr32)frame << NUM_OFFSET_BITS;
}

/*
 * The second-chance clock: sweeps from the hand, skipping pinned frames,
 * clearing the referenced mark of pages used since the last sweep, and
 * evicting the first page that was not. Two full turns are enough for
 * every page to lose its mark, so more means no frame can be taken. An
 * owner that could not give its page up may have given others back on
 * the way (the page cache drops the pages of a file found shrunk): the
 * sweep then takes one of those.
 */
static size_t evict_a_frame(void) {
    int failure = ENOMEM;
    for (size_t step = 0; step < 2 * pool.total; step++) {
        if (pool.free_count > 0)
            return pool.free_stack[--pool.free_count];
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
        return frame;
    }
    errno = failure;
    return 0;
}

addr32 ask_kernel_for_frame(frame_owner *owner, uint32_t key) {
    if (!pool_ready())
        return 0;
    /*
     * A frame given back is reused first, while it is warm; then frames
     * never used, in order; only then does the clock evict.
     */
    size_t frame;
    if (pool.free_count > 0) {
        frame = pool.free_stack[--pool.free_count];
    } else if (pool.untouched < pool.total) {
        frame = ++pool.untouched;
    } else {
        frame = evict_a_frame();
        if (frame == 0)
            return 0;
    }
    pool.frames[frame] =
        (frame_record){.in_use = true, .owner = owner, .key = key};
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
    return kernel_frame_memory(physical_address);
}

addr32 get_address_from_system_pointer(const void *system_pointer) {
    const char *byte = system_pointer;
    if (!pool.ready || byte < kernel_pool_memory ||
        byte >= kernel_pool_memory + pool.total * PAGE_SIZE)
        return 0;
    size_t offset = (size_t)(byte - kernel_pool_memory);
    return address_of_frame(offset / PAGE_SIZE + 1) | (offset % PAGE_SIZE);
}

size_t kernel_frames_total(void) {
    return pool_ready() ? pool.total : 0;
}

size_t kernel_frames_capacity(void) {
    return pool_ready() ? pool.capacity : 0;
}

int kernel_set_frames(size_t frames) {
    if (!pool.ready) {
        if (frames < 1 || frames > KERNEL_MAX_FRAMES) {
            errno = EINVAL;
            return -1;
        }
        frames_asked = frames;
        return 0;
    }
    if (frames < 1 || frames > pool.capacity) {
        errno = EINVAL;
        return -1;
    }
    if (kernel_frames_free() != pool.total) {
        errno = EBUSY;
        return -1;
    }
    /* Every frame is free: the pool starts again, as if new. */
    pool.total = frames;
    pool.free_count = 0;
    pool.untouched = 0;
    pool.clock_hand = 1;
    return 0;
}

size_t kernel_frames_free(void) {
    return pool_ready() ? pool.free_count + (pool.total - pool.untouched) : 0;
}
