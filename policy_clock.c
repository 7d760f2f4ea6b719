/*
 * policy_clock.c: the clock family: second chance (clock) and the
 * enhanced clock over the referenced and dirty bits (nru), one hand
 * sweeping the frames in the order of their numbers.
 *
 * The hand stays where it stopped, so a fault under pressure looks at a
 * few frames, not the whole pool; the owners keep the referenced marks
 * (the entries' accessed bits), so the clock keeps nothing per frame.
 * Left out: two-handed clocks, aging counters.
 */
#include "policy.h"

#include <assert.h>
#include <stdio.h>

static size_t hand; /* the next frame the hand looks at */

static bool clock_start(size_t capacity) {
    (void)capacity;
    return true;
}

static void clock_reset(size_t total) {
    (void)total;
    hand = 1;
}

static size_t next_frame(const policy_pool *pool, size_t frame) {
    return frame == pool->total ? 1 : frame + 1;
}

/* Asks the owner of `frame` whether its page was used, clearing the mark. */
static bool referenced(const policy_pool *pool, size_t frame) {
    frame_owner *owner = pool->frames[frame].owner;
    return owner->ops->referenced(owner, pool->frames[frame].key);
}

/*
 * Sweeps from the hand, skipping pinned frames, clearing the referenced
 * mark of pages used since the last sweep, and taking the first page that
 * was not. Two full turns are enough for every page to lose its mark, so
 * more means no frame can be taken.
 */
static size_t clock_pick(const policy_pool *pool) {
    for (size_t step = 0; step < 2 * pool->total; step++) {
        size_t frame = hand;
        hand = next_frame(pool, frame);
        const policy_frame *record = &pool->frames[frame];
        assert(record->in_use);
        if (!record->owner || record->refused || referenced(pool, frame))
            continue;
        return frame;
    }
    return 0;
}

static size_t clock_describe(size_t frame, char *text, size_t size) {
    int length = snprintf(text, size, "%s", frame == hand ? "hand" : "");
    return length < 0 ? 0 : (size_t)length;
}

const policy_ops policy_clock_ops = {
    .which = KERNEL_POLICY_CLOCK,
    .start = clock_start,
    .reset = clock_reset,
    .pick = clock_pick,
    .describe = clock_describe,
};

/*
 * One turn of the hand at most: each frame that can go is put in its class
 * (2 x referenced + dirty), its mark cleared as the clock clears it; the
 * first of class 0 goes at once, and otherwise the first met of the lowest
 * class, the hand then stopping just past it.
 */
static size_t nru_pick(const policy_pool *pool) {
    size_t best = 0;
    unsigned best_class = 4;
    for (size_t step = 0; step < pool->total && best_class > 0; step++) {
        size_t frame = hand;
        hand = next_frame(pool, frame);
        if (!policy_can_take(pool, frame))
            continue;
        unsigned rank = 2u * referenced(pool, frame) + policy_dirty(pool, frame);
        if (rank < best_class) {
            best = frame;
            best_class = rank;
        }
    }
    if (best)
        hand = next_frame(pool, best);
    return best;
}

const policy_ops policy_clock_nru_ops = {
    .which = KERNEL_POLICY_NRU,
    .start = clock_start,
    .reset = clock_reset,
    .pick = nru_pick,
    .describe = clock_describe,
};
