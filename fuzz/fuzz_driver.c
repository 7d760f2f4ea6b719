/*
 * fuzz/fuzz_driver.c: the seeded, deterministic fuzzer of the public API:
 * each seed drives a pseudo-random sequence of operations through the
 * engine (fuzz_engine.h), in a forked child of its own, so that every
 * seed sets its frame pool up afresh (MMAP_FRAMES) and one failure does
 * not stop the others.
 *
 *   ./fuzz/fuzz_driver --seed S --ops N [--seeds K] [--trace]
 *                      [--only A,B,...] [--minimize]
 *
 * runs seeds S .. S + K - 1, N operations each, and ends with the line
 * "P passed, F failed" (seeds); the exit status is 1 when one failed.
 * A failure prints the seed, the operation's number and the operation.
 * --only runs those operations of the sequence and skips the others
 * (which are still drawn, so the ones kept are the same operations);
 * --minimize cuts a failing seed's sequence down to operations that
 * still fail, and prints them with --trace.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz_engine.h"

typedef struct {
    uint64_t seed, seeds, ops;
    fuzz_options options;
    bool *keep; /* ops + 1 flags; NULL: every operation runs */
    bool minimize, quiet;
} driver_options;

/* splitmix64: one 64-bit state, good enough to draw operations. */
static uint32_t draw(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return (uint32_t)((z ^ (z >> 31)) >> 16);
}

static void run_seed(const driver_options *o, uint64_t seed) {
    char label[64];
    uint64_t state = seed;
    snprintf(label, sizeof label, "seed %" PRIu64, seed);
    fuzz_run *run = fuzz_run_start(label, draw(&state), &o->options);
    for (uint64_t number = 1; number <= o->ops; number++) {
        fuzz_op op = {.kind = (uint8_t)draw(&state)};
        for (int i = 0; i < FUZZ_OP_ARGS; i++)
            op.arg[i] = draw(&state);
        if (!o->keep || o->keep[number])
            fuzz_run_apply(run, &op, number);
    }
    fuzz_run_finish(run);
}

/* Runs one seed in a child; true when it passed. */
static bool seed_passes(const driver_options *o, uint64_t seed) {
    fflush(stdout);
    pid_t child = fork();
    if (child < 0) {
        perror("fork");
        exit(2);
    }
    if (child == 0) {
        if (o->quiet && !freopen("/dev/null", "w", stderr))
            _exit(2);
        run_seed(o, seed);
        exit(0); /* LeakSanitizer looks for leaks at exit */
    }
    int status;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* The fewest leading operations of `seed` that fail: a binary search. */
static uint64_t first_failing_op(driver_options *o, uint64_t seed) {
    uint64_t low = 0, high = o->ops; /* low passes, high fails */
    uint64_t ops = o->ops;
    while (high - low > 1) {
        o->ops = low + (high - low) / 2;
        if (seed_passes(o, seed))
            low = o->ops;
        else
            high = o->ops;
    }
    o->ops = ops;
    return high;
}

/* Drops chunks of operations, halving them, while the seed still fails. */
static void minimize(driver_options *o, uint64_t seed) {
    o->quiet = true;
    o->ops = first_failing_op(o, seed);
    o->keep = calloc(o->ops + 1, sizeof *o->keep);
    for (uint64_t i = 1; i <= o->ops; i++)
        o->keep[i] = true;
    for (uint64_t chunk = o->ops / 2 ? o->ops / 2 : 1;; chunk /= 2) {
        for (uint64_t start = 1; start < o->ops; start += chunk) {
            uint64_t end = start + chunk < o->ops ? start + chunk : o->ops;
            bool was[end - start + 1];
            for (uint64_t i = start; i < end; i++) {
                was[i - start] = o->keep[i];
                o->keep[i] = false;
            }
            if (seed_passes(o, seed))
                for (uint64_t i = start; i < end; i++)
                    o->keep[i] = was[i - start];
        }
        if (chunk <= 1)
            break;
    }
    printf("seed %" PRIu64 ": a failing sequence of --ops %" PRIu64
           " --only ", seed, o->ops);
    for (uint64_t i = 1, first = 1; i <= o->ops; i++)
        if (o->keep[i]) {
            printf(first ? "%" PRIu64 : ",%" PRIu64, i);
            first = 0;
        }
    printf("\n");
    o->quiet = false;
    o->options.trace = true;
    seed_passes(o, seed);
}

static bool *parse_only(const char *list, uint64_t ops) {
    bool *keep = calloc(ops + 1, sizeof *keep);
    for (const char *at = list; keep && *at;) {
        char *end;
        unsigned long long n = strtoull(at, &end, 10);
        if (end == at)
            break;
        if (n <= ops)
            keep[n] = true;
        at = *end == ',' ? end + 1 : end;
    }
    return keep;
}

static void usage(void) {
    fprintf(stderr, "usage: fuzz_driver --seed S --ops N [--seeds K] "
                    "[--trace] [--only A,B,...] "
                    "[--minimize]\n");
    exit(2);
}

static void parse(int argc, char **argv, driver_options *o) {
    const char *only = NULL;
    *o = (driver_options){.seed = 1, .seeds = 1, .ops = 1000};
    o->options.exit_on_failure = true;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--seed") && v)
            o->seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(a, "--seeds") && v)
            o->seeds = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(a, "--ops") && v)
            o->ops = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(a, "--only") && v)
            only = argv[++i];
        else if (!strcmp(a, "--trace"))
            o->options.trace = true;
        else if (!strcmp(a, "--minimize"))
            o->minimize = true;
        else
            usage();
    }
    if (only)
        o->keep = parse_only(only, o->ops);
}

int main(int argc, char **argv) {
    driver_options o;
    parse(argc, argv, &o);
    uint64_t passed = 0, failed = 0;
    for (uint64_t seed = o.seed; seed < o.seed + o.seeds; seed++) {
        if (seed_passes(&o, seed)) {
            passed++;
            continue;
        }
        failed++;
        if (o.minimize) {
            driver_options cut = o; /* minimize changes ops and keep */
            minimize(&cut, seed);
            free(cut.keep);
        }
        else
            printf("seed %" PRIu64 ": failed (see above)\n", seed);
    }
    printf("%" PRIu64 " passed, %" PRIu64 " failed\n", passed, failed);
    return failed ? 1 : 0;
}
