/*
 * policy_random.c: random replacement, reproducible: a splitmix64
 * generator seeded from MMAP_POLICY_SEED each time the pool starts.
 *
 * The baseline every course compares against: it needs no record of use,
 * and it has no pathological trace, nor a good one. Left out: weighting
 * by age or class.
 */
#include "policy.h"

#include <stdint.h>

#include "settings.h"

#define DEFAULT_SEED 1

static uint64_t seed, state;

/* Reads the seed; false with errno EINVAL when it is not a whole number. */
static bool random_start(size_t capacity) {
    (void)capacity;
    size_t wanted = settings_count("MMAP_POLICY_SEED", DEFAULT_SEED, 1, SIZE_MAX);
    if (wanted == 0)
        return false;
    seed = wanted;
    return true;
}

static void random_reset(size_t total) {
    (void)total;
    state = seed;
}

/* splitmix64: one addition and three mixing steps per number. */
static uint64_t next_number(void) {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static size_t random_pick(const policy_pool *pool) {
    size_t frame = 1 + (size_t)(next_number() % pool->total);
    for (size_t step = 0; step < pool->total; step++) {
        if (policy_can_take(pool, frame))
            return frame;
        frame = frame == pool->total ? 1 : frame + 1;
    }
    return 0;
}

const policy_ops policy_random_ops = {
    .which = KERNEL_POLICY_RANDOM,
    .start = random_start,
    .reset = random_reset,
    .pick = random_pick,
};
