/*
 * mmap_bench_replay.c: the benchmark's replay rows. A trace of page
 * references with moving locality is replayed through the simulated
 * machine (replay.h: a TLB lookup, a segment check, sometimes a page
 * walk, and on a fault the pool, the policy and the pager) under each
 * policy, and through a minimal model of the same policy written here:
 * an array of frames, a page-to-frame table and the policy's own marks,
 * nothing else: the floor for what the machine adds. Both parse the trace
 * before the clock starts. The ratio is ours over the floor, run by run.
 * For every policy but random (which draws among the pool's page tables
 * too), the model makes the same choices, so the faults must agree.
 * Left out: traces read from files; lackey's instruction mix.
 */
#include "mmap_bench.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kernel.h"
#include "replay.h"

#define PAGES 512
#define FRAMES 64
#define HOT_PAGES 48
#define SAME_PAGE 6 /* in 8 */
#define PHASE 100000 /* references before the hot pages move on */
#define MAX_RUNS 99
#define NO_FRAME (-1)

typedef struct {
    bool ok;
    double seconds;
    size_t faults;
} measurement;

static struct {
    char *text; /* the trace, "12,7w,..." */
    size_t references;
    int runs;
    measurement ours[KERNEL_POLICY_COUNT][MAX_RUNS];
    measurement floor[KERNEL_POLICY_COUNT][MAX_RUNS];
} replay_bench;

static double seconds_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static uint64_t next_number(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/*
 * As a program's references go: SAME_PAGE in 8 to the page of the one
 * before (the next instruction, the next word), and otherwise 49 in 50 to
 * HOT_PAGES pages that move on every PHASE references, the rest anywhere
 * among PAGES; one in four writes.
 */
static char *make_trace(size_t references) {
    char *text = malloc(references * 6 + 1), *at = text;
    uint64_t state = 42;
    size_t page = 0;
    if (!text)
        return NULL;
    for (size_t i = 0; i < references; i++) {
        uint64_t r = next_number(&state);
        size_t base = (i / PHASE) * 16 % PAGES;
        if ((r >> 48) % 8 >= SAME_PAGE)
            page = r % 50 ? (base + (r >> 8) % HOT_PAGES) % PAGES
                          : (size_t)((r >> 8) % PAGES);
        at += sprintf(at, "%zu%s,", page, (r >> 40) % 4 == 0 ? "w" : "");
    }
    *at = '\0';
    return text;
}

/* The floor's parse: page numbers and write marks into two arrays. */
static size_t floor_parse(const char *text, uint16_t *pages, bool *writes) {
    size_t count = 0;
    for (const char *at = text; *at;) {
        unsigned page = 0;
        while (*at >= '0' && *at <= '9')
            page = page * 10 + (unsigned)(*at++ - '0');
        writes[count] = *at == 'w';
        at += writes[count];
        pages[count++] = (uint16_t)page;
        at += *at == ',';
    }
    return count;
}

/* The models' state: which page each frame holds, and the policy's marks. */
typedef struct {
    int frame_of[PAGES];
    int page_in[FRAMES];
    bool referenced[FRAMES], dirty[FRAMES];
    uint64_t stamp[FRAMES];
    size_t hand, loaded, tick;
    uint64_t seed;
    const size_t *next; /* opt: each reference's next one to its page */
    size_t *page_next;
} model;

static size_t model_victim(model *m, kernel_policy policy) {
    size_t victim = 0;
    if (policy == KERNEL_POLICY_FIFO) {
        victim = m->hand;
        m->hand = (m->hand + 1) % FRAMES;
    } else if (policy == KERNEL_POLICY_CLOCK) {
        while (m->referenced[m->hand]) {
            m->referenced[m->hand] = false;
            m->hand = (m->hand + 1) % FRAMES;
        }
        victim = m->hand;
        m->hand = (m->hand + 1) % FRAMES;
    } else if (policy == KERNEL_POLICY_NRU) {
        unsigned best = 4;
        for (size_t step = 0; step < FRAMES && best > 0; step++) {
            size_t f = m->hand;
            m->hand = (m->hand + 1) % FRAMES;
            unsigned rank = 2u * m->referenced[f] + m->dirty[f];
            m->referenced[f] = false;
            if (rank < best)
                best = rank, victim = f;
        }
        m->hand = (victim + 1) % FRAMES;
    } else if (policy == KERNEL_POLICY_LRU) {
        for (size_t f = 1; f < FRAMES; f++)
            if (m->stamp[f] < m->stamp[victim])
                victim = f;
    } else if (policy == KERNEL_POLICY_RANDOM) {
        victim = (size_t)(next_number(&m->seed) % FRAMES);
    } else {
        for (size_t f = 1; f < FRAMES; f++)
            if (m->page_next[m->page_in[f]] > m->page_next[m->page_in[victim]])
                victim = f;
    }
    return victim;
}

/* The model's replay: its faults. */
static size_t model_run(model *m, kernel_policy policy, const uint16_t *pages,
                        const bool *writes, size_t count) {
    size_t faults = 0;
    for (size_t i = 0; i < count; i++) {
        int page = pages[i], f = m->frame_of[page];
        if (f == NO_FRAME) {
            faults++;
            f = (int)(m->loaded < FRAMES ? m->loaded++ : model_victim(m, policy));
            if (m->page_in[f] != NO_FRAME)
                m->frame_of[m->page_in[f]] = NO_FRAME;
            m->page_in[f] = page;
            m->frame_of[page] = f;
            m->dirty[f] = false;
        }
        m->referenced[f] = true;
        m->dirty[f] |= writes[i];
        m->stamp[f] = ++m->tick;
        if (m->next)
            m->page_next[page] = m->next[i];
    }
    return faults;
}

/* The floor: parse, then (timed) the model. */
static measurement floor_measure(kernel_policy policy) {
    measurement result = {0};
    size_t room = replay_bench.references + 1;
    uint16_t *pages = malloc(room * sizeof *pages);
    bool *writes = malloc(room);
    size_t *next = malloc(room * sizeof *next);
    model *m = calloc(1, sizeof *m);
    size_t page_next[PAGES];
    if (!pages || !writes || !next || !m)
        return result;
    size_t count = floor_parse(replay_bench.text, pages, writes);
    for (size_t p = 0; p < PAGES; p++)
        page_next[p] = SIZE_MAX, m->frame_of[p] = NO_FRAME;
    for (size_t i = count; i-- > 0;) {
        next[i] = page_next[pages[i]];
        page_next[pages[i]] = i;
    }
    for (size_t f = 0; f < FRAMES; f++)
        m->page_in[f] = NO_FRAME;
    m->seed = 1;
    m->next = policy == KERNEL_POLICY_OPT ? next : NULL;
    m->page_next = page_next;
    double start = seconds_now();
    result.faults = model_run(m, policy, pages, writes, count);
    result.seconds = seconds_now() - start;
    result.ok = true;
    free(pages), free(writes), free(next), free(m);
    return result;
}

/* Ours: parse, then (timed) the replay through the machine. */
static measurement ours_measure(kernel_policy policy) {
    measurement result = {0};
    replay_trace *trace = replay_parse(replay_bench.text, NULL, 0);
    replay_result run;
    if (!trace)
        return result;
    double start = seconds_now();
    int status = replay_runs(trace, &policy, 1, FRAMES, FRAMES, &run, NULL, NULL);
    result.seconds = seconds_now() - start;
    result.faults = run.faults;
    result.ok = status == 0;
    replay_trace_free(trace);
    return result;
}

/* One measurement in a forked child, a fresh process. */
static measurement measure(kernel_policy policy, bool ours) {
    measurement result = {0};
    int channel[2];
    if (pipe(channel) != 0)
        return result;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(channel[0]);
        result = ours ? ours_measure(policy) : floor_measure(policy);
        ssize_t written = write(channel[1], &result, sizeof result);
        _exit(written == (ssize_t)sizeof result ? 0 : 1);
    }
    close(channel[1]);
    if (pid < 0 || read(channel[0], &result, sizeof result) != sizeof result)
        result.ok = false;
    close(channel[0]);
    if (pid > 0)
        waitpid(pid, NULL, 0);
    return result;
}

bool bench_replay_collect(size_t references, int runs) {
    replay_bench.references = references;
    replay_bench.runs = runs < MAX_RUNS ? runs : MAX_RUNS;
    replay_bench.text = make_trace(references);
    if (!replay_bench.text)
        return false;
    for (int run = 0; run < replay_bench.runs; run++) {
        for (int p = 0; p < KERNEL_POLICY_COUNT; p++) {
            bool ours_first = (run + p) % 2 == 0;
            measurement *ours = &replay_bench.ours[p][run];
            measurement *floor = &replay_bench.floor[p][run];
            *(ours_first ? ours : floor) = measure((kernel_policy)p, ours_first);
            *(ours_first ? floor : ours) = measure((kernel_policy)p, !ours_first);
            if (!ours->ok || !floor->ok) {
                fprintf(stderr, "mmap_bench: the replay under %s failed\n",
                        kernel_policy_name((kernel_policy)p));
                return false;
            }
            if (p != KERNEL_POLICY_RANDOM && ours->faults != floor->faults) {
                fprintf(stderr, "mmap_bench: the replay under %s: %zu faults, "
                        "the model %zu\n", kernel_policy_name((kernel_policy)p),
                        ours->faults, floor->faults);
                return false;
            }
        }
    }
    return true;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The least, median and greatest of `count` values. */
static void spread3(double *values, int count, double out[3]) {
    qsort(values, (size_t)count, sizeof *values, by_value);
    out[0] = values[0];
    out[1] = count % 2 ? values[count / 2]
                       : (values[count / 2 - 1] + values[count / 2]) / 2;
    out[2] = values[count - 1];
}

/* References per second (millions) of ours, of the floor, and the ratio. */
static void figures(int p, double ours[3], double floor[3], double ratio[3]) {
    double a[MAX_RUNS], b[MAX_RUNS], c[MAX_RUNS];
    double refs = (double)replay_bench.references / 1e6;
    for (int run = 0; run < replay_bench.runs; run++) {
        a[run] = refs / replay_bench.ours[p][run].seconds;
        b[run] = refs / replay_bench.floor[p][run].seconds;
        c[run] = replay_bench.ours[p][run].seconds /
                 replay_bench.floor[p][run].seconds;
    }
    spread3(a, replay_bench.runs, ours);
    spread3(b, replay_bench.runs, floor);
    spread3(c, replay_bench.runs, ratio);
}

void bench_replay_print(bool json) {
    int runs = replay_bench.runs;
    if (json)
        printf("  \"replay\": {\"references\": %zu, \"pages\": %d, \"frames\": "
               "%d, \"policies\": [\n", replay_bench.references, PAGES, FRAMES);
    else
        printf("\nReplay (the policy lab): %zu references over %d pages in %d "
               "frames, medians of %d run%s (least-greatest)\n"
               "policy  ours M refs/s      floor M refs/s        ratio"
               "             faults\n",
               replay_bench.references, PAGES, FRAMES, runs, runs == 1 ? "" : "s");
    for (int p = 0; p < KERNEL_POLICY_COUNT; p++) {
        double ours[3], floor[3], ratio[3];
        figures(p, ours, floor, ratio);
        const char *name = kernel_policy_name((kernel_policy)p);
        size_t faults = replay_bench.ours[p][0].faults;
        if (json)
            printf("    {\"policy\": \"%s\", \"faults\": %zu, "
                   "\"ours_mrefs_per_s\": [%.2f, %.2f, %.2f], "
                   "\"floor_mrefs_per_s\": [%.1f, %.1f, %.1f], "
                   "\"ratio\": [%.2f, %.2f, %.2f]}%s\n",
                   name, faults, ours[0], ours[1], ours[2], floor[0], floor[1],
                   floor[2], ratio[0], ratio[1], ratio[2],
                   p + 1 < KERNEL_POLICY_COUNT ? "," : "");
        else
            printf("%-6s  %5.1f (%.1f-%.1f)  %6.0f (%.0f-%.0f)  %5.1fx "
                   "(%.1f-%.1f)  %9zu\n",
                   name, ours[1], ours[0], ours[2], floor[1], floor[0],
                   floor[2], ratio[1], ratio[0], ratio[2], faults);
    }
    if (json)
        printf("  ]}\n");
}
