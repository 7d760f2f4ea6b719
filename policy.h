/*
 * policy.h: page replacement policies, each a small table of operations
 * the frame pool (kernel.c) calls: pick a victim, note a new frame, note
 * a frame gone, note an access.
 *
 * The pool keeps the frame table and the free frames; a policy keeps only
 * its own order of the frames (a hand, a queue, stamps) and chooses. It
 * sees the frame table read-only through policy_pool and asks a frame's
 * owner through frame_owner_ops, as the pool does; it never evicts: the
 * pool calls the owner's evict on the frame picked, and on a refusal (a
 * failed write-back) tells the policy and asks again.
 *
 * Conventions, where students get confused (README, "The policy lab"):
 *   clock   The hand starts at frame 1 and stops just past the frame it
 *           took. Each frame it passes is asked `referenced`, which clears
 *           the page's mark: a marked page is passed over (its second
 *           chance), the first unmarked one goes. Two turns at most.
 *   nru     The same hand; it reads each frame's class (referenced,
 *           dirty: 0 = neither, 1 = dirty only, 2 = referenced, 3 =
 *           both), clearing the mark as the clock does, takes at once the
 *           first frame of class 0, and otherwise, after one full turn,
 *           the first frame it met of the lowest class. A dirty victim is
 *           written back before its frame is reused: the write-back does
 *           not delay the choice, it only costs a write.
 *   fifo    The frame loaded longest ago goes; a reference does not move
 *           it. Loaded means handed to an owner (after being filled).
 *   lru     The frame accessed longest ago goes: every access through the
 *           MMU moves its frame to the back (loading counts as one).
 *   random  A frame number drawn uniformly from 1 .. total (the first
 *           that can go from there on, when that one cannot), from a
 *           splitmix64 generator seeded with MMAP_POLICY_SEED (a whole
 *           number, default 1, 0 taken as 1) whenever the pool starts: a
 *           run is reproducible.
 *   opt     The frame whose page is used again farthest in the future
 *           goes (never again counts as farthest); ties go to the lowest
 *           frame number. The future comes from kernel_set_future.
 * Every policy but the clock passes over a busy frame (frame_owner_ops);
 * a frame whose owner refused to give it up goes to the back of fifo's
 * and lru's queue, and is not picked again in the same eviction.
 *
 * Left out: policies with ghost lists (ARC, CLOCK-Pro), working-set and
 * page-fault-frequency policies, per-process or per-zone lists, aging.
 */
#ifndef POLICY_H
#define POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What the pool knows of one frame. */
typedef struct {
    frame_owner *owner; /* NULL: pinned (or free) */
    uint32_t key;       /* the owner's name for the page */
    bool in_use;
    bool refused; /* its owner refused to give it up in this eviction */
} policy_frame;

/* The pool as a policy sees it. */
typedef struct {
    size_t total;               /* frames 1 .. total */
    const policy_frame *frames; /* indexed by frame number; [0] unused */
    const kernel_future *future; /* NULL outside a replay */
} policy_pool;

/* A policy: what the pool calls. Optional operations may be NULL. */
typedef struct {
    kernel_policy which;
    /* The policy wants note_access called on every access (the MMU's). */
    bool notes_accesses;
    /*
     * Prepares for frames 1 .. capacity (tables indexed by frame number).
     * Returns false with errno ENOMEM. Called once, with the pool.
     */
    bool (*start)(size_t capacity);
    /* The pool starts empty with frames 1 .. total. */
    void (*reset)(size_t total);
    /*
     * Returns a frame that can go: in use, with an owner, not refused,
     * and by the policy's own rule; or 0 when no frame can.
     */
    size_t (*pick)(const policy_pool *pool);
    /* Optional: `frame` was handed to an owner (it may be evicted now). */
    void (*note_new)(size_t frame);
    /* Optional: `frame` was freed or pinned again. */
    void (*note_gone)(size_t frame);
    /* Optional: the owner of `frame`, picked, refused to give it up. */
    void (*note_refused)(size_t frame);
    /* Optional: `frame` was accessed (notes_accesses policies only). */
    void (*note_access)(size_t frame);
    /* Optional: as kernel_policy_describe. */
    size_t (*describe)(size_t frame, char *text, size_t size);
} policy_ops;

extern const policy_ops policy_clock_ops;     /* policy_clock.c */
extern const policy_ops policy_clock_nru_ops; /* policy_clock.c */
extern const policy_ops policy_queue_fifo_ops; /* policy_queue.c */
extern const policy_ops policy_queue_lru_ops;  /* policy_queue.c */
extern const policy_ops policy_random_ops;     /* policy_random.c */
extern const policy_ops policy_opt_ops;        /* policy_opt.c */

/*
 * Whether `frame` may be picked by a policy other than the clock: in use,
 * with an owner, not refused in this eviction, and not busy.
 */
static inline bool policy_can_take(const policy_pool *pool, size_t frame) {
    const policy_frame *record = &pool->frames[frame];
    frame_owner *owner = record->owner;
    return owner && !record->refused &&
           !(owner->ops->busy && owner->ops->busy(owner, record->key));
}

/* Asks the owner of `frame`, which has one, whether its page is dirty. */
static inline bool policy_dirty(const policy_pool *pool, size_t frame) {
    frame_owner *owner = pool->frames[frame].owner;
    return owner->ops->dirty && owner->ops->dirty(owner, pool->frames[frame].key);
}

#ifdef __cplusplus
}
#endif

#endif
