/*
 * policy_queue.c: the queue family: first in, first out (fifo) and least
 * recently used (lru), one queue of the frames that have owners, threaded
 * through tables indexed by frame number.
 *
 * fifo appends a frame when it is loaded and takes from the front; lru
 * also moves a frame to the back at each access the MMU notes, so the
 * front is always the frame used longest ago: exact LRU, at the cost of
 * a few stores per access (README, "The policy lab"). A stamp per frame,
 * the count of loads (and for lru, uses) when it last moved, is kept only
 * to show the order (kernel_policy_describe). Left out: approximations of
 * LRU (aging, two lists as Linux keeps), LRU-K.
 */
#include "policy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#define NO_FRAME 0

static struct {
    uint32_t *next, *previous; /* indexed by frame number; 0: none */
    uint64_t *stamp;           /* the tick of its last move; 0: not queued */
    size_t capacity;
    uint32_t front, back;
    uint64_t tick;
} queue;

static bool queue_start(size_t capacity) {
    if (queue.next && capacity <= queue.capacity)
        return true;
    free(queue.next);
    free(queue.previous);
    free(queue.stamp);
    queue.next = calloc(capacity + 1, sizeof *queue.next);
    queue.previous = calloc(capacity + 1, sizeof *queue.previous);
    queue.stamp = calloc(capacity + 1, sizeof *queue.stamp);
    if (!queue.next || !queue.previous || !queue.stamp) {
        free(queue.next);
        free(queue.previous);
        free(queue.stamp);
        queue.next = queue.previous = NULL;
        queue.stamp = NULL;
        errno = ENOMEM;
        return false;
    }
    queue.capacity = capacity;
    return true;
}

static void queue_reset(size_t total) {
    (void)total; /* frames past it may hold marks of a larger pool */
    for (size_t frame = 0; frame <= queue.capacity; frame++) {
        queue.next[frame] = queue.previous[frame] = NO_FRAME;
        queue.stamp[frame] = 0;
    }
    queue.front = queue.back = NO_FRAME;
    queue.tick = 0;
}

static void unlink_frame(size_t frame) {
    uint32_t before = queue.previous[frame], after = queue.next[frame];
    if (before)
        queue.next[before] = after;
    else
        queue.front = after;
    if (after)
        queue.previous[after] = before;
    else
        queue.back = before;
    queue.stamp[frame] = 0;
}

static void append_frame(size_t frame) {
    queue.previous[frame] = queue.back;
    queue.next[frame] = NO_FRAME;
    if (queue.back)
        queue.next[queue.back] = (uint32_t)frame;
    else
        queue.front = (uint32_t)frame;
    queue.back = (uint32_t)frame;
    queue.stamp[frame] = ++queue.tick;
}

static void queue_note_new(size_t frame) {
    if (queue.stamp[frame])
        unlink_frame(frame);
    append_frame(frame);
}

static void queue_note_gone(size_t frame) {
    if (queue.stamp[frame])
        unlink_frame(frame);
}

/* A frame that could not go waits at the back, as if loaded again. */
static void queue_note_refused(size_t frame) {
    queue_note_new(frame);
}

/* The front frame that can go: the oldest. */
static size_t queue_pick(const policy_pool *pool) {
    for (uint32_t frame = queue.front; frame; frame = queue.next[frame])
        if (policy_can_take(pool, frame))
            return frame;
    return 0;
}

/*
 * An access moves the frame to the back. At the back already, it takes a
 * new stamp only if something happened since its last: the access that
 * follows a load, or a run of accesses to one page, is one use.
 */
static void lru_note_access(size_t frame) {
    if (frame != queue.back && queue.stamp[frame]) {
        unlink_frame(frame);
        append_frame(frame);
    } else if (frame == queue.back && queue.stamp[frame] != queue.tick) {
        queue.stamp[frame] = ++queue.tick;
    }
}

static size_t describe_stamp(const char *what, size_t frame, char *text,
                             size_t size) {
    if (!queue.stamp[frame])
        return 0;
    int length = snprintf(text, size, "%s %llu", what,
                          (unsigned long long)queue.stamp[frame]);
    return length < 0 ? 0 : (size_t)length;
}

static size_t fifo_describe(size_t frame, char *text, size_t size) {
    return describe_stamp("loaded", frame, text, size);
}

static size_t lru_describe(size_t frame, char *text, size_t size) {
    return describe_stamp("used", frame, text, size);
}

const policy_ops policy_queue_fifo_ops = {
    .which = KERNEL_POLICY_FIFO,
    .start = queue_start,
    .reset = queue_reset,
    .pick = queue_pick,
    .note_new = queue_note_new,
    .note_gone = queue_note_gone,
    .note_refused = queue_note_refused,
    .describe = fifo_describe,
};

const policy_ops policy_queue_lru_ops = {
    .which = KERNEL_POLICY_LRU,
    .notes_accesses = true,
    .start = queue_start,
    .reset = queue_reset,
    .pick = queue_pick,
    .note_new = queue_note_new,
    .note_gone = queue_note_gone,
    .note_refused = queue_note_refused,
    .note_access = lru_note_access,
    .describe = lru_describe,
};
