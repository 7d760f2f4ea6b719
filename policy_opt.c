/*
 * policy_opt.c: Belady's optimal replacement (opt): the page used again
 * farthest in the future goes.
 *
 * No machine knows its future, so opt runs only where a replay registered
 * one (kernel_set_future): it asks, at each eviction, when the page in
 * each frame is next used, an O(frames) scan. It is the floor a course
 * measures the other policies against. Left out: any approximation for
 * running without a trace.
 */
#include "policy.h"

#include <stdint.h>
#include <stdio.h>

static bool opt_start(size_t capacity) {
    (void)capacity;
    return true;
}

static void opt_reset(size_t total) {
    (void)total;
}

/* The frame that can go whose next use is latest; ties: the lowest. */
static size_t opt_pick(const policy_pool *pool) {
    size_t best = 0, latest = 0;
    for (size_t frame = 1; frame <= pool->total; frame++) {
        if (!policy_can_take(pool, frame))
            continue;
        size_t use = pool->future->next_use(pool->future->context, frame);
        if (best == 0 || use > latest) {
            best = frame;
            latest = use;
        }
    }
    return best;
}

const policy_ops policy_opt_ops = {
    .which = KERNEL_POLICY_OPT,
    .start = opt_start,
    .reset = opt_reset,
    .pick = opt_pick,
};
