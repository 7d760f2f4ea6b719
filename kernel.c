/*
 * kernel.c: the frame pool, with a frame table recording who holds each
 * frame, and the replacement policy (policy.h) that picks a victim when
 * none is free.
 *
 * Frames given back wait on a stack, and frames never used are the numbers
 * above a watermark, so taking and returning one is O(1) and the host backs
 * only frames that have been handed out. The policy is told of each frame
 * handed to an owner or taken back, and asked for a victim; the pool asks
 * the victim's owner to give it up. Left out: zones, NUMA, any notion of a
 * frame shared by several owners, changing policy while frames are in use.
 */
#include "kernel.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "host_memory.h"
#include "policy.h"
#include "settings.h"

/* What the pool knows of one frame: the record the policies read. */
typedef policy_frame frame_record;

char *kernel_pool_memory;
bool kernel_notes_accesses;

/* The policies, in the order of kernel_policy. */
static const policy_ops *const policies[KERNEL_POLICY_COUNT] = {
    [KERNEL_POLICY_CLOCK] = &policy_clock_ops,
    [KERNEL_POLICY_FIFO] = &policy_queue_fifo_ops,
    [KERNEL_POLICY_LRU] = &policy_queue_lru_ops,
    [KERNEL_POLICY_RANDOM] = &policy_random_ops,
    [KERNEL_POLICY_NRU] = &policy_clock_nru_ops,
    [KERNEL_POLICY_OPT] = &policy_opt_ops,
};

static const char *const policy_names[KERNEL_POLICY_COUNT] = {
    "clock", "fifo", "lru", "random", "nru", "opt",
};

static int policy_asked = -1; /* by kernel_set_policy before the first use */
static kernel_future future;  /* next_use NULL: none registered */

static struct {
    bool ready;
    size_t capacity;      /* frames reserved: the most total can be */
    size_t total;         /* frames 1 .. total */
    frame_record *frames; /* indexed by frame number; [0] unused */
    uint32_t *free_stack; /* frames given back, the last on top */
    size_t free_count;
    size_t untouched; /* frames untouched + 1 .. total were never handed out */
    const policy_ops *policy;
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

/*
 * The policy asked for, by kernel_set_policy or else MMAP_POLICY; -1 with
 * errno EINVAL for a name that is none, or opt with no future.
 */
static int policy_wanted(void) {
    int which = policy_asked;
    if (which < 0)
        which = settings_choice("MMAP_POLICY", policy_names,
                                KERNEL_POLICY_COUNT, KERNEL_POLICY_CLOCK);
    if (which == KERNEL_POLICY_OPT && !future.next_use) {
        errno = EINVAL;
        return -1;
    }
    return which;
}

/* Puts policy `which` in force over an empty pool; false with errno. */
static bool policy_begin(int which) {
    const policy_ops *policy = policies[which];
    if (!policy->start(pool.capacity))
        return false;
    pool.policy = policy;
    policy->reset(pool.total);
    kernel_notes_accesses = policy->notes_accesses;
    return true;
}

static bool pool_set_up(void) {
    size_t total = frames_asked ? frames_asked : frames_wanted();
    int which = policy_wanted();
    /* The policy's own settings are read before anything is reserved. */
    if (total == 0 || which < 0 || !policies[which]->start(total))
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
    policy_begin(which); /* started above: it cannot fail now */
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

/* Forgets the refusals of one eviction: the rare path, so a plain sweep. */
static void forget_refusals(void) {
    for (size_t frame = 1; frame <= pool.total; frame++)
        pool.frames[frame].refused = false;
}

/*
 * Asks the policy for victims until one's owner gives it up. An owner that
 * refused (a failed write-back) is not asked again in this eviction, so
 * at most `total` refusals end it. An owner that could not give its page
 * up may have given others back on the way (the page cache drops the
 * pages of a file found shrunk): one of those is taken then. A refusal
 * sets errno; errno is put back when a frame is found after all.
 */
static size_t evict_a_frame(void) {
    policy_pool view = {pool.total, pool.frames,
                        future.next_use ? &future : NULL};
    int failure = ENOMEM, saved = errno;
    size_t victim = 0, refusals = 0;
    while (pool.free_count == 0 && refusals < pool.total) {
        size_t frame = pool.policy->pick(&view);
        if (frame == 0)
            break;
        frame_record *record = &pool.frames[frame];
        assert(record->in_use && record->owner && !record->refused);
        if (record->owner->ops->evict(record->owner, record->key) == 0) {
            victim = frame;
            break;
        }
        failure = errno;
        record->refused = true;
        refusals++;
        if (pool.policy->note_refused)
            pool.policy->note_refused(frame);
    }
    if (refusals > 0)
        forget_refusals();
    errno = victim != 0 || pool.free_count > 0 ? saved : failure;
    if (victim != 0) {
        if (pool.policy->note_gone)
            pool.policy->note_gone(victim);
        return victim;
    }
    if (pool.free_count > 0)
        return pool.free_stack[--pool.free_count];
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
    if (owner && pool.policy->note_new)
        pool.policy->note_new(frame);
    return address_of_frame(frame);
}

void kernel_set_frame_owner(addr32 physical_address, frame_owner *owner,
                            uint32_t key) {
    size_t frame = physical_address >> NUM_OFFSET_BITS;
    assert(pool.ready && frame >= 1 && frame <= pool.total &&
           pool.frames[frame].in_use);
    bool was_owned = pool.frames[frame].owner != NULL;
    pool.frames[frame].owner = owner;
    pool.frames[frame].key = key;
    /* A new owner of an owned frame keeps its place in the policy's order. */
    if (owner && !was_owned && pool.policy->note_new)
        pool.policy->note_new(frame);
    else if (!owner && was_owned && pool.policy->note_gone)
        pool.policy->note_gone(frame);
}

void return_frame_to_kernel(addr32 physical_address) {
    size_t frame = physical_address >> NUM_OFFSET_BITS;
    if (frame == 0)
        return;
    assert(pool.ready && frame <= pool.total && pool.frames[frame].in_use);
    if (pool.frames[frame].owner && pool.policy->note_gone)
        pool.policy->note_gone(frame);
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
    pool.policy->reset(frames);
    return 0;
}

size_t kernel_frames_free(void) {
    return pool_ready() ? pool.free_count + (pool.total - pool.untouched) : 0;
}

const char *kernel_policy_name(kernel_policy policy) {
    return (unsigned)policy < KERNEL_POLICY_COUNT ? policy_names[policy] : NULL;
}

int kernel_policy_from_name(const char *name) {
    for (int which = 0; name && which < KERNEL_POLICY_COUNT; which++)
        if (strcmp(name, policy_names[which]) == 0)
            return which;
    errno = EINVAL;
    return -1;
}

/* Whether a frame has an owner: a policy keeps records of those only. */
static bool any_frame_owned(void) {
    for (size_t frame = 1; frame <= pool.untouched; frame++)
        if (pool.frames[frame].in_use && pool.frames[frame].owner)
            return true;
    return false;
}

int kernel_set_policy(kernel_policy policy) {
    if ((unsigned)policy >= KERNEL_POLICY_COUNT ||
        (policy == KERNEL_POLICY_OPT && !future.next_use)) {
        errno = EINVAL;
        return -1;
    }
    if (!pool.ready) {
        policy_asked = (int)policy;
        return 0;
    }
    if (any_frame_owned()) {
        errno = EBUSY;
        return -1;
    }
    return policy_begin((int)policy) ? 0 : -1;
}

int kernel_current_policy(void) {
    return pool.ready ? (int)pool.policy->which : policy_wanted();
}

void kernel_set_future(const kernel_future *wanted) {
    future = wanted ? *wanted : (kernel_future){NULL, NULL};
    if (future.next_use)
        return;
    if (policy_asked == KERNEL_POLICY_OPT)
        policy_asked = KERNEL_POLICY_CLOCK;
    if (pool.ready && pool.policy->which == KERNEL_POLICY_OPT) {
        /* The pool may hold frames: the clock keeps no record of them. */
        pool.policy = &policy_clock_ops;
        policy_clock_ops.reset(pool.total);
        kernel_notes_accesses = false;
    }
}

size_t kernel_policy_describe(size_t frame, char *text, size_t size) {
    if (size > 0)
        text[0] = '\0';
    if (!pool.ready || frame == 0 || frame > pool.total ||
        !pool.policy->describe)
        return 0;
    return pool.policy->describe(frame, text, size);
}

void kernel_note_access(addr32 physical_address) {
    size_t frame = physical_address >> NUM_OFFSET_BITS;
    if (frame >= 1 && frame <= pool.total && pool.frames[frame].owner)
        pool.policy->note_access(frame);
}
