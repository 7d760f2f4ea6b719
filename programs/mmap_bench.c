/*
 * mmap_bench.c: how the simulated mmap compares with stdio, with the host
 * kernel's own mmap, and with the floor: the same data movement as ours
 * with no simulation at all.
 *
 * Each measurement runs in a forked child, a fresh process whose frame pool
 * is set up by its first library call. The clock runs from before that
 * call to the last byte, as a user waits for both; the first call's share
 * is printed apart, for information, and never subtracted. Every run of
 * every method starts alike:
 * - the dirty pages earlier runs left are written to disk first (sync), so
 *   that no run shares the machine with their write-back;
 * - this virtual machine hands memory that sits idle for about two seconds
 *   back to its host, and touching it again then costs about 2 s per GiB,
 *   so just before its clock starts every run touches and frees as much
 *   memory as a read of the file fills, and a margin (warm_then_start);
 * - a round runs every method once, each of ours close to its baselines
 *   (round_order), and every other round runs backwards, so that both
 *   sides of a ratio see the same machine and neither always goes first.
 * The machine is noisy, so no figure is one run's: each is printed as its
 * median and its spread (least and greatest) over the runs. A ratio is
 * taken run by run, ours over its baseline of the same round, and its
 * spread is that of those ratios. A goal is met only when the worst
 * ratio is within it; "median met" when only the median is; otherwise
 * missed.
 *
 * Every method's data is checked: sampled words of each read are summed
 * and must agree across methods, after the timed passes each mapping of
 * ours is compared whole with the file, and a written file must hold what
 * was written. Nothing here is a test: the suite never times anything.
 *
 * One row shares a file: two processes of one MMU map it (vm.h,
 * VM_MAP_SHARED, read-only) and read it whole one after the other, the
 * second from the page cache the first filled; the kernel reads it twice
 * through two mappings of its own.
 *
 * Two rows time anonymous memory. A process writes one byte in every page
 * of half the file's size of private memory, forks (vm_fork; fork(2) for
 * the kernel), and the child writes one byte in every page, a
 * copy-on-write fault each, reads them back and ends. A quarter of the
 * file's size of private memory, twice a pool sized for it, is written
 * page by page and then read back page by page, so that it goes to swap
 * and comes back; the kernel, with memory to spare, swaps nothing. Both
 * check every page they wrote, and the fork's parent its own untouched
 * ones.
 *
 *   mmap_bench [--json | --markdown] [--runs N] [--mib N]
 *
 * --json gives every figure as {min, median, max}; --markdown gives the
 * table as README's speed section quotes it.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "host_memory.h"
#include "host_mmap.h"
#include "kernel.h"
#include "mmap.h"
#include "mmap_bench.h"
#include "vm.h"

#define CHUNK (64 * 1024)
#define RANDOM_READS 2000000
#define LARGE_POOL_FRAMES "40000"
#define MAX_RUNS 99
/* The replay rows' trace at the default --mib (128), scaled with it. */
#define REPLAY_REFERENCES 10000000L
/* The floor reads the file as our pager does: 256 KiB per call. */
#define FLOOR_RUN (64 * 4096)
#define PASSES 4
/* The processes that share one mapping of the file, pids 1 and up. */
#define SHARED_READERS 2
/*
 * The shared reads' passes (method_passes), their checksum pairs and the
 * report name two readers: all of them, then the first, then the second.
 */
typedef char shared_readers_are_two[SHARED_READERS == 2 ? 1 : -1];
/* Warmed beyond the file's size before every run (warm_then_start). */
#define WARM_MARGIN ((size_t)16 << 20)

/* What one child reports back through its pipe. */
typedef struct {
    bool ok;
    char error[160];
    double seconds[PASSES];    /* up to four timed passes */
    uint64_t checksum[PASSES]; /* the sampled words of each pass */
    double first_call_seconds; /* mmap_create, inside the first pass */
    long host_faults;          /* the host's page faults in the first pass */
    size_t page_faults;        /* of the first pass */
    size_t tlb_misses;         /* of the first pass */
    size_t major_faults;       /* of the first pass, shared reads only */
    size_t minor_faults;       /* of the first pass, shared reads only */
    size_t cow_faults;         /* the fork rows' */
    size_t swap_outs;          /* the fork and swap rows' */
    size_t swap_ins;           /* the swap rows' */
} child_result;

static struct {
    const char *dir;
    char read_path[4096];  /* the file every read pass reads */
    char write_path[4096]; /* the file the overwrite passes overwrite */
    size_t size;
    unsigned char *chunk; /* CHUNK bytes, the reads' destination */
} bench;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Keeps the compiler from dropping a copy whose result is only sampled. */
static void clobber(const void *memory) {
    __asm__ volatile("" : : "r"(memory) : "memory");
}

/* One word of every page of a chunk, and its last word: enough to catch a
 * wrong page or a short read without adding a pass over the data. */
static uint64_t sample(const unsigned char *bytes, size_t length) {
    uint64_t sum = 0, word;
    for (size_t at = 0; at + 8 <= length; at += 4096) {
        memcpy(&word, bytes + at, 8);
        sum += word;
    }
    if (length >= 8) {
        memcpy(&word, bytes + length - 8, 8);
        sum += word;
    }
    return sum;
}

static uint64_t next_random(uint64_t *state) {
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

static void fail(child_result *result, const char *what) {
    if (!result->error[0])
        snprintf(result->error, sizeof result->error, "%s: %s", what,
                 strerror(errno));
}

/* The bytes of the chunk at `at`: CHUNK, or what is left of the file. */
static size_t chunk_at(size_t at) {
    return bench.size - at < CHUNK ? bench.size - at : CHUNK;
}

/* The offsets of the random reads, the same for every method and run. */
static uint32_t *random_offsets(child_result *result) {
    uint32_t *offsets = malloc(RANDOM_READS * sizeof *offsets);
    uint64_t state = 0x9E3779B97F4A7C15u;
    if (!offsets) {
        fail(result, "malloc");
        return NULL;
    }
    for (size_t i = 0; i < RANDOM_READS; i++)
        offsets[i] = (uint32_t)(next_random(&state) % (bench.size - 7));
    return offsets;
}

/* --- the simulated mapping ------------------------------------------- */

/*
 * Touches and frees `bytes` of host memory obtained as the pool obtains
 * its own, so that the run that follows finds memory its host has backed
 * recently (see the top of the file). Every method calls it just before
 * its clock starts.
 */
static void warm_host_memory(size_t bytes) {
    volatile char *memory = host_memory_reserve(bytes);
    if (!memory)
        return;
    for (size_t at = 0; at < bytes; at += 4096)
        memory[at] = 1;
    host_memory_release((void *)memory, bytes);
}

/* The bytes of whole pages that hold the file. */
static size_t file_pages_bytes(void) {
    return (bench.size + 4095) / 4096 * 4096;
}

/*
 * Warms as much memory as any method's run touches, then reads the clock:
 * the file's pages, and a margin for what a run of ours touches besides
 * them (the pool's frame table, page tables and last huge page, some 6
 * MiB for 128 MiB), the same for every method.
 */
static double warm_then_start(void) {
    warm_host_memory(file_pages_bytes() + WARM_MARGIN);
    return now();
}

/* The page faults the host has served this process so far. */
static long host_faults(void) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_minflt + usage.ru_majflt;
}

typedef size_t (*read_at)(void *mapping, void *buffer, size_t at,
                          size_t length);

static size_t mapping_read_at(void *map, void *buffer, size_t at,
                              size_t length) {
    return mmap_read(map, buffer, at, length);
}

/*
 * One timed pass: the whole file read through `read` in CHUNK pieces,
 * `what` naming the call in a failure. Returns the pass's checksum.
 */
static uint64_t read_pass(read_at read, void *mapping, const char *what,
                          child_result *result) {
    uint64_t sum = 0;
    for (size_t at = 0; at < bench.size; at += CHUNK) {
        size_t want = chunk_at(at);
        if (read(mapping, bench.chunk, at, want) != want) {
            fail(result, what);
            return 0;
        }
        sum += sample(bench.chunk, want);
    }
    return sum;
}

/* A whole mapping of ours against the file, untimed. */
static bool ours_matches_file(read_at read, void *mapping, const char *path,
                              child_result *result) {
    FILE *file = fopen(path, "rb");
    unsigned char *want = malloc(CHUNK);
    bool same = file && want;
    for (size_t at = 0; same && at < bench.size; at += CHUNK) {
        size_t length = chunk_at(at);
        same = fread(want, 1, length, file) == length &&
               read(mapping, bench.chunk, at, length) == length &&
               memcmp(want, bench.chunk, length) == 0;
    }
    if (!same && !result->error[0])
        snprintf(result->error, sizeof result->error,
                 "the mapping differs from the file");
    free(want);
    if (file)
        fclose(file);
    return same;
}

/*
 * Passes 0, 1, 2: cold read (from mmap_create, the first library call, to
 * the last byte), hot read, random reads.
 */
static void ours_reads(child_result *result, bool all_passes) {
    long faults = host_faults();
    double start = warm_then_start();
    mmap *map = mmap_create(bench.read_path);
    result->first_call_seconds = now() - start;
    if (!map) {
        fail(result, "mmap_create");
        return;
    }
    result->checksum[0] = read_pass(mapping_read_at, map, "mmap_read", result);
    result->seconds[0] = now() - start;
    result->host_faults = host_faults() - faults;
    result->page_faults = map->mmu->num_page_faults;
    result->tlb_misses = map->mmu->num_tlb_misses;
    if (all_passes) {
        start = now();
        result->checksum[1] =
            read_pass(mapping_read_at, map, "mmap_read", result);
        result->seconds[1] = now() - start;

        uint32_t *offsets = random_offsets(result);
        uint64_t sum = 0, word;
        start = now();
        for (size_t i = 0; offsets && i < RANDOM_READS; i++) {
            if (mmap_read(map, &word, offsets[i], 8) != 8) {
                fail(result, "mmap_read");
                break;
            }
            sum += word;
        }
        result->seconds[2] = now() - start;
        result->checksum[2] = sum;
        free(offsets);
    }
    ours_matches_file(mapping_read_at, map, bench.read_path, result);
    munmap(map);
    result->ok = !result->error[0];
}

/* One process's shared mapping of the file, in the MMU they all share. */
typedef struct {
    mmu *mmu;
    size_t pid;
    addr32 start;
} shared_mapping;

static size_t shared_read_at(void *mapping, void *buffer, size_t at,
                             size_t length) {
    shared_mapping *shared = mapping;
    return mmu_read_from_virtual_address(
        shared->mmu, shared->start + (addr32)at, shared->pid, buffer, length);
}

/* Process `pid` opens the file and maps it whole, shared and read-only. */
static bool shared_map(shared_mapping *shared, mmu *m, size_t pid,
                       child_result *result) {
    *shared = (shared_mapping){.mmu = m, .pid = pid, .start = VM_MAP_FAILED};
    if (mmu_add_process(m, pid) != 0) {
        fail(result, "mmu_add_process");
        return false;
    }
    int fd = open(bench.read_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fail(result, "open");
        return false;
    }
    shared->start =
        vm_mmap(m, pid, 0, bench.size, VM_PROT_READ, VM_MAP_SHARED, fd, 0);
    if (shared->start == VM_MAP_FAILED)
        fail(result, "vm_mmap");
    close(fd); /* the mapping holds the file itself */
    return shared->start != VM_MAP_FAILED;
}

/*
 * SHARED_READERS processes of one MMU read the file one after the other,
 * each through its own shared mapping: each maps it, then reads it whole.
 * Only the first reads the file; the others' faults are minor, served by
 * the page cache. Pass 0 times them all, from mmu_create (the first
 * library call, the pool's set-up) to the last byte; pass 1 + r is reader
 * r's share (the first one's from the same start), with its sampled words.
 * Every mapping stays until the clock stops: a file's pages leave the
 * cache with its last mapping.
 */
static void ours_shared_reads(child_result *result) {
    shared_mapping shared[SHARED_READERS];
    int mapped = 0;
    double start = warm_then_start(), reader_start = start;
    mmu *m = mmu_create();
    if (!m) {
        fail(result, "mmu_create");
        return;
    }
    for (int r = 0; r < SHARED_READERS && !result->error[0]; r++) {
        if (!shared_map(&shared[r], m, (size_t)r + 1, result))
            break;
        mapped++;
        result->checksum[1 + r] =
            read_pass(shared_read_at, &shared[r],
                      "mmu_read_from_virtual_address", result);
        double end = now();
        result->seconds[1 + r] = end - reader_start;
        reader_start = end;
    }
    result->seconds[0] = reader_start - start;
    result->page_faults = m->num_page_faults;
    result->major_faults = m->num_major_faults;
    result->minor_faults = m->num_minor_faults;
    result->tlb_misses = m->num_tlb_misses;
    for (int r = 0; r < mapped && !result->error[0]; r++)
        ours_matches_file(shared_read_at, &shared[r], bench.read_path, result);
    for (int r = 0; r < mapped; r++)
        if (vm_munmap(m, shared[r].pid, shared[r].start, bench.size) != 0)
            fail(result, "vm_munmap");
    mmu_delete(m);
    result->ok = !result->error[0];
}

static unsigned char pattern_byte(size_t at, unsigned seed) {
    return (unsigned char)((at * 31 + seed) ^ (at >> 12));
}

static void fill_pattern(unsigned char *bytes, size_t at, size_t length,
                         unsigned seed) {
    for (size_t i = 0; i < length; i++)
        bytes[i] = pattern_byte(at + i, seed);
}

/* The file holds pattern `seed` all through: the write really landed. */
static bool file_has_pattern(const char *path, unsigned seed,
                             child_result *result) {
    FILE *file = fopen(path, "rb");
    unsigned char *want = malloc(CHUNK), *got = malloc(CHUNK);
    bool same = file && want && got;
    for (size_t at = 0; same && at < bench.size; at += CHUNK) {
        size_t length = chunk_at(at);
        fill_pattern(want, at, length, seed);
        same = fread(got, 1, length, file) == length &&
               memcmp(want, got, length) == 0;
    }
    if (!same)
        snprintf(result->error, sizeof result->error,
                 "the file does not hold what was written");
    free(want);
    free(got);
    if (file)
        fclose(file);
    return same;
}

/*
 * Every byte written in CHUNK pieces, then the write-back. The pieces are
 * prepared before the clock starts, in one buffer per distinct piece.
 */
static unsigned char *patterned_file_image(unsigned seed) {
    unsigned char *image = malloc(bench.size);
    if (image)
        fill_pattern(image, 0, bench.size, seed);
    return image;
}

static void ours_overwrite(child_result *result, unsigned seed) {
    unsigned char *image = patterned_file_image(seed);
    if (!image) {
        fail(result, "malloc");
        return;
    }
    double start = warm_then_start();
    mmap *map = mmap_create(bench.write_path);
    if (!map) {
        fail(result, "mmap_create");
        free(image);
        return;
    }
    for (size_t at = 0; at < bench.size; at += CHUNK) {
        size_t want = chunk_at(at);
        if (mmap_write(map, image + at, at, want) != want) {
            fail(result, "mmap_write");
            break;
        }
    }
    result->page_faults = map->mmu->num_page_faults;
    result->tlb_misses = map->mmu->num_tlb_misses;
    munmap(map);
    result->seconds[0] = now() - start;
    free(image);
    if (!result->error[0])
        file_has_pattern(bench.write_path, seed, result);
    result->ok = !result->error[0];
}

/* --- the baselines --------------------------------------------------- */

static void stdio_read(child_result *result) {
    double start = warm_then_start();
    FILE *file = fopen(bench.read_path, "rb");
    if (!file) {
        fail(result, "fopen");
        return;
    }
    uint64_t sum = 0;
    for (size_t at = 0; at < bench.size; at += CHUNK) {
        size_t want = chunk_at(at);
        if (fread(bench.chunk, 1, want, file) != want) {
            fail(result, "fread");
            break;
        }
        sum += sample(bench.chunk, want);
    }
    fclose(file);
    result->seconds[0] = now() - start;
    result->checksum[0] = sum;
    result->ok = !result->error[0];
}

static uint64_t host_copy_pass(const unsigned char *mapping) {
    uint64_t sum = 0;
    for (size_t at = 0; at < bench.size; at += CHUNK) {
        size_t want = chunk_at(at);
        memcpy(bench.chunk, mapping + at, want);
        clobber(bench.chunk);
        sum += sample(bench.chunk, want);
    }
    return sum;
}

/* Passes 0, 1, 2 as ours_reads, through the host kernel's mapping. */
static void host_reads(child_result *result) {
    double start = warm_then_start();
    size_t length;
    const unsigned char *mapping = host_map_file(bench.read_path, &length);
    if (!mapping) {
        fail(result, "mmap");
        return;
    }
    result->checksum[0] = host_copy_pass(mapping);
    result->seconds[0] = now() - start;
    start = now();
    result->checksum[1] = host_copy_pass(mapping);
    result->seconds[1] = now() - start;

    uint32_t *offsets = random_offsets(result);
    uint64_t sum = 0, word = 0;
    start = now();
    for (size_t i = 0; offsets && i < RANDOM_READS; i++) {
        memcpy(&word, mapping + offsets[i], 8);
        sum += word;
    }
    result->seconds[2] = now() - start;
    result->checksum[2] = sum;

    /*
     * The memory's latency: each address depends on the word the load
     * before it returned, so no two loads overlap. The random offsets are
     * mixed in so that the chain never closes into a short cycle that the
     * caches would hold; a multiply, not a division, scales it to the file.
     */
    sum = 0;
    start = now();
    for (size_t i = 0; offsets && i < RANDOM_READS; i++) {
        uint32_t mixed = (uint32_t)word ^ offsets[i];
        size_t at = (size_t)(((uint64_t)mixed * (bench.size - 7)) >> 32);
        memcpy(&word, mapping + at, 8);
        sum += word;
    }
    result->seconds[3] = now() - start;
    result->checksum[3] = sum;
    free(offsets);
    host_unmap(mapping, length);
    result->ok = !result->error[0];
}

/*
 * As ours_shared_reads, through the host kernel: SHARED_READERS mappings
 * of the file, shared and read-only, each made and then copied out whole
 * in turn. Each mapping faults its pages in again, from the host's page
 * cache. Pass 0 is all of it, pass 1 + r mapping r's share.
 */
static void host_shared_reads(child_result *result) {
    const unsigned char *mapping[SHARED_READERS];
    size_t length[SHARED_READERS];
    int mapped = 0;
    double start = warm_then_start(), reader_start = start;
    for (int r = 0; r < SHARED_READERS; r++) {
        mapping[r] = host_map_file(bench.read_path, &length[r]);
        if (!mapping[r]) {
            fail(result, "mmap");
            break;
        }
        mapped++;
        result->checksum[1 + r] = host_copy_pass(mapping[r]);
        double end = now();
        result->seconds[1 + r] = end - reader_start;
        reader_start = end;
    }
    result->seconds[0] = reader_start - start;
    for (int r = 0; r < mapped; r++)
        host_unmap(mapping[r], length[r]);
    result->ok = !result->error[0];
}

/*
 * The floor: the cold read's data movement with nothing simulated. The file
 * comes, FLOOR_RUN bytes per pread as the chunks need it (our pager's run),
 * into fresh memory obtained as the pool obtains its frames, and each chunk
 * is copied out of it, as ours copies out of its frames.
 */
static void floor_read(child_result *result) {
    double start = warm_then_start();
    unsigned char *memory = host_memory_reserve(file_pages_bytes());
    int fd = open(bench.read_path, O_RDONLY | O_CLOEXEC);
    if (!memory || fd < 0) {
        fail(result, memory ? "open" : "host_memory_reserve");
        host_memory_release(memory, file_pages_bytes());
        if (fd >= 0)
            close(fd);
        return;
    }
    uint64_t sum = 0;
    size_t filled = 0;
    for (size_t at = 0; !result->error[0] && at < bench.size; at += CHUNK) {
        size_t want = chunk_at(at);
        while (filled < at + want) {
            size_t run = bench.size - filled < FLOOR_RUN ? bench.size - filled
                                                         : FLOOR_RUN;
            ssize_t got = pread(fd, memory + filled, run, (off_t)filled);
            if (got <= 0) {
                fail(result, "pread");
                break;
            }
            filled += (size_t)got;
        }
        memcpy(bench.chunk, memory + at, want);
        clobber(bench.chunk);
        sum += sample(bench.chunk, want);
    }
    result->seconds[0] = now() - start;
    result->checksum[0] = sum;
    close(fd);
    host_memory_release(memory, file_pages_bytes());
    result->ok = !result->error[0];
}

static void stdio_overwrite(child_result *result, unsigned seed) {
    unsigned char *image = patterned_file_image(seed);
    if (!image) {
        fail(result, "malloc");
        return;
    }
    double start = warm_then_start();
    FILE *file = fopen(bench.write_path, "r+b");
    if (!file) {
        fail(result, "fopen");
        free(image);
        return;
    }
    for (size_t at = 0; at < bench.size; at += CHUNK) {
        size_t want = chunk_at(at);
        if (fwrite(image + at, 1, want, file) != want) {
            fail(result, "fwrite");
            break;
        }
    }
    if (fclose(file) != 0)
        fail(result, "fclose");
    result->seconds[0] = now() - start;
    free(image);
    if (!result->error[0])
        file_has_pattern(bench.write_path, seed, result);
    result->ok = !result->error[0];
}

/* --- many one-page mappings ------------------------------------------- */

/* How many one-page mappings each pass of the mapping rows makes. */
static const size_t mapping_counts[] = {10000, 50000};
#define MAPPING_PASSES (sizeof mapping_counts / sizeof mapping_counts[0])
#define MAPPING_PAGE 4096
typedef char mapping_passes_fit[MAPPING_PASSES <= PASSES ? 1 : -1];

/*
 * Maps mapping_counts[pass] one-page anonymous mappings, each placed where
 * the mapper chooses (no hint), then unmaps them in the order made; pass p
 * times both for mapping_counts[p]. The protections alternate, read-only
 * and read-write, so that the kernel cannot merge neighbours into one area
 * (ours never merges): both sides keep one area per mapping. `ours` maps
 * with vm_mmap in a fresh process of one MMU, made before the clock starts;
 * else the host kernel maps. Nothing is touched, so no page is faulted in.
 */
static void many_mappings(child_result *result, bool ours) {
    size_t most = mapping_counts[MAPPING_PASSES - 1];
    addr32 *starts = malloc(most * sizeof *starts);
    const unsigned char **hosts = malloc(most * sizeof *hosts);
    mmu *m = ours ? mmu_create() : NULL;
    if (!starts || !hosts || (ours && !m)) {
        fail(result, ours ? "mmu_create" : "malloc");
        goto done;
    }
    for (size_t pass = 0; pass < MAPPING_PASSES && !result->error[0]; pass++) {
        size_t count = mapping_counts[pass], made = 0;
        if (ours && mmu_add_process(m, pass + 1) != 0) {
            fail(result, "mmu_add_process");
            break;
        }
        double start = now();
        for (; made < count; made++) {
            bool writable = made % 2;
            int prot = VM_PROT_READ | (writable ? VM_PROT_WRITE : 0);
            if (ours)
                starts[made] =
                    vm_mmap(m, pass + 1, 0, MAPPING_PAGE, prot,
                            VM_MAP_PRIVATE | VM_MAP_ANONYMOUS, -1, 0);
            else
                hosts[made] = host_map_anonymous(MAPPING_PAGE, writable);
            if (ours ? starts[made] == VM_MAP_FAILED : !hosts[made]) {
                fail(result, ours ? "vm_mmap" : "mmap");
                break;
            }
        }
        for (size_t i = 0; i < made; i++)
            if (ours ? vm_munmap(m, pass + 1, starts[i], MAPPING_PAGE) != 0
                     : host_unmap(hosts[i], MAPPING_PAGE) != 0)
                fail(result, ours ? "vm_munmap" : "munmap");
        result->seconds[pass] = now() - start;
    }
done:
    mmu_delete(m);
    free(starts);
    free(hosts);
    result->ok = !result->error[0];
}

/* --- fork, and anonymous memory in swap ------------------------------- */

/*
 * The fork rows' private memory, 64 MiB for the 128 MiB file (half the
 * file, so that --mib scales it as it scales the other rows), and the
 * swap rows' working set, a quarter of the file in a pool of half as many
 * frames: 32 MiB in 4,096 frames (16 MiB) for the 128 MiB file.
 */
static size_t fork_bytes(void) {
    return bench.size / 2 / PAGE_SIZE * PAGE_SIZE;
}

static size_t swap_bytes(void) {
    return bench.size / 4 / PAGE_SIZE * PAGE_SIZE;
}

static size_t swap_pool_frames(void) {
    return swap_bytes() / PAGE_SIZE / 2;
}

/* The byte the parent leaves at the start of page `page`; the child
 * writes its complement there. */
static unsigned char fork_byte(size_t page, bool child) {
    unsigned char byte = (unsigned char)(page * 131 + 7);
    return child ? (unsigned char)~byte : byte;
}

/* Writes the first byte of each of `pages` pages from `start` in `pid`. */
static bool ours_write_pages(mmu *m, size_t pid, addr32 start, size_t pages,
                             bool child, child_result *result) {
    for (size_t page = 0; page < pages; page++) {
        unsigned char byte = fork_byte(page, child);
        if (mmu_write_to_virtual_address(m, start + (addr32)(page * PAGE_SIZE),
                                         pid, &byte, 1) != 1) {
            fail(result, "mmu_write_to_virtual_address");
            return false;
        }
    }
    return true;
}

/* Each page's first byte reads back as ours_write_pages left it. */
static bool ours_pages_hold(mmu *m, size_t pid, addr32 start, size_t pages,
                            bool child, child_result *result) {
    for (size_t page = 0; page < pages; page++) {
        unsigned char byte;
        if (mmu_read_from_virtual_address(m, start + (addr32)(page * PAGE_SIZE),
                                          pid, &byte, 1) != 1 ||
            byte != fork_byte(page, child)) {
            snprintf(result->error, sizeof result->error,
                     "%s page %zu does not hold what was written",
                     child ? "the child's" : "the parent's", page);
            return false;
        }
    }
    return true;
}

/*
 * Pass 0: from mmu_create (the pool's set-up) to the child's end. Process 1
 * maps fork_bytes() private and anonymous and writes one byte in every
 * page (all resident: the pool has room), vm_fork copies it, the child
 * writes one byte in every page (a copy-on-write fault each), reads them
 * back, and ends (mmu_remove_process). Pass 1: the fork's share, from
 * vm_fork on. The parent's pages are checked after the clock.
 */
static void ours_fork(child_result *result) {
    size_t pages = fork_bytes() / PAGE_SIZE;
    double start = warm_then_start();
    mmu *m = mmu_create();
    if (!m || mmu_add_process(m, 1) != 0) {
        fail(result, m ? "mmu_add_process" : "mmu_create");
        goto done;
    }
    addr32 at = vm_mmap(m, 1, 0, fork_bytes(), VM_PROT_READ | VM_PROT_WRITE,
                        VM_MAP_PRIVATE | VM_MAP_ANONYMOUS, -1, 0);
    if (at == VM_MAP_FAILED) {
        fail(result, "vm_mmap");
        goto done;
    }
    if (!ours_write_pages(m, 1, at, pages, false, result))
        goto done;
    double fork_start = now();
    int child = vm_fork(m, 1);
    if (child < 0) {
        fail(result, "vm_fork");
        goto done;
    }
    bool child_ok =
        ours_write_pages(m, (size_t)child, at, pages, true, result) &&
        ours_pages_hold(m, (size_t)child, at, pages, true, result);
    result->cow_faults = m->num_cow_faults;
    result->swap_outs = m->num_swap_outs;
    if (mmu_remove_process(m, (size_t)child) != 0)
        fail(result, "mmu_remove_process");
    double end = now();
    result->seconds[0] = end - start;
    result->seconds[1] = end - fork_start;
    if (child_ok)
        ours_pages_hold(m, 1, at, pages, false, result);
done:
    mmu_delete(m);
    result->ok = !result->error[0];
}

/* The child of host_fork: writes, reads back, and exits 0 if all held. */
static void host_fork_child(volatile unsigned char *memory, size_t pages) {
    bool same = true;
    for (size_t page = 0; page < pages; page++)
        memory[page * PAGE_SIZE] = fork_byte(page, true);
    for (size_t page = 0; page < pages; page++)
        same &= memory[page * PAGE_SIZE] == fork_byte(page, true);
    _exit(same ? 0 : 1);
}

/*
 * As ours_fork, through the host kernel: mmap private anonymous memory,
 * one byte written in every page, fork(2), the child writes one byte in
 * every page, reads them back and exits; the parent waits. Pass 0 from
 * the mmap, pass 1 from the fork.
 */
static void host_fork(child_result *result) {
    size_t length = fork_bytes(), pages = length / PAGE_SIZE;
    double start = warm_then_start();
    volatile unsigned char *memory = host_map_writable(length);
    if (!memory) {
        fail(result, "mmap");
        return;
    }
    for (size_t page = 0; page < pages; page++)
        memory[page * PAGE_SIZE] = fork_byte(page, false);
    double fork_start = now();
    pid_t pid = fork();
    if (pid == 0)
        host_fork_child(memory, pages);
    int status = -1;
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        fail(result, pid < 0 ? "fork" : "waitpid");
    double end = now();
    result->seconds[0] = end - start;
    result->seconds[1] = end - fork_start;
    if (!result->error[0] && (!WIFEXITED(status) || WEXITSTATUS(status)))
        snprintf(result->error, sizeof result->error,
                 "the child's pages do not hold what it wrote");
    for (size_t page = 0; !result->error[0] && page < pages; page++)
        if (memory[page * PAGE_SIZE] != fork_byte(page, false))
            snprintf(result->error, sizeof result->error,
                     "the parent's page %zu changed", page);
    host_unmap((const unsigned char *)memory, length);
    result->ok = !result->error[0];
}

/*
 * The swap rows' pages: a page of pattern `seed`, its first word replaced
 * by the page's number in the working set, so that a page that comes back
 * in the wrong place shows.
 */
static bool swap_page_holds(const unsigned char *page,
                            const unsigned char *pattern, size_t number) {
    uint64_t stamp;
    memcpy(&stamp, page, sizeof stamp);
    return stamp == number &&
           memcmp(page + sizeof stamp, pattern + sizeof stamp,
                  PAGE_SIZE - sizeof stamp) == 0;
}

/* One pass of ours_swap: each page written whole (the pattern, then its
 * number), or copied out and checked. */
static bool ours_swap_pass(mmu *m, addr32 start, const unsigned char *pattern,
                           bool writing, child_result *result) {
    unsigned char page[PAGE_SIZE];
    for (uint64_t n = 0; n < swap_bytes() / PAGE_SIZE; n++) {
        addr32 at = start + (addr32)(n * PAGE_SIZE);
        if (writing) {
            if (mmu_write_to_virtual_address(m, at, 1, pattern, PAGE_SIZE) !=
                    PAGE_SIZE ||
                mmu_write_to_virtual_address(m, at, 1, &n, sizeof n) !=
                    sizeof n) {
                fail(result, "mmu_write_to_virtual_address");
                return false;
            }
        } else if (mmu_read_from_virtual_address(m, at, 1, page, PAGE_SIZE) !=
                   PAGE_SIZE) {
            fail(result, "mmu_read_from_virtual_address");
            return false;
        } else if (!swap_page_holds(page, pattern, n)) {
            snprintf(result->error, sizeof result->error,
                     "page %" PRIu64 " of the working set came back wrong", n);
            return false;
        }
    }
    return true;
}

/*
 * Pass 0: from mmu_create to the last byte. Process 1 maps swap_bytes()
 * private and anonymous, twice the pool (MMAP_FRAMES is swap_pool_frames()),
 * writes it whole, page by page (pass 1, from the start: the pool fills and
 * the first pages go to swap), then copies it out page by page and checks
 * it (pass 2: each page comes back from swap and sends a later one out).
 */
static void ours_swap(child_result *result, unsigned seed) {
    unsigned char pattern[PAGE_SIZE];
    fill_pattern(pattern, 0, PAGE_SIZE, seed);
    double start = warm_then_start();
    mmu *m = mmu_create();
    if (!m || mmu_add_process(m, 1) != 0) {
        fail(result, m ? "mmu_add_process" : "mmu_create");
        goto done;
    }
    addr32 at = vm_mmap(m, 1, 0, swap_bytes(), VM_PROT_READ | VM_PROT_WRITE,
                        VM_MAP_PRIVATE | VM_MAP_ANONYMOUS, -1, 0);
    if (at == VM_MAP_FAILED) {
        fail(result, "vm_mmap");
        goto done;
    }
    if (!ours_swap_pass(m, at, pattern, true, result))
        goto done;
    double second = now();
    result->seconds[1] = second - start;
    if (!ours_swap_pass(m, at, pattern, false, result))
        goto done;
    double end = now();
    result->seconds[0] = end - start;
    result->seconds[2] = end - second;
    result->swap_outs = m->num_swap_outs;
    result->swap_ins = m->num_swap_ins;
    if (vm_munmap(m, 1, at, swap_bytes()) != 0)
        fail(result, "vm_munmap");
done:
    mmu_delete(m);
    result->ok = !result->error[0];
}

/*
 * As ours_swap, in a MAP_PRIVATE | MAP_ANONYMOUS mapping of the host
 * kernel's: each page written (the pattern, then its number), then
 * copied out and checked. The host has the memory, so nothing swaps.
 */
static void host_swap(child_result *result, unsigned seed) {
    unsigned char pattern[PAGE_SIZE], page[PAGE_SIZE];
    size_t length = swap_bytes();
    fill_pattern(pattern, 0, PAGE_SIZE, seed);
    double start = warm_then_start();
    unsigned char *memory = host_map_writable(length);
    if (!memory) {
        fail(result, "mmap");
        return;
    }
    for (uint64_t n = 0; n < length / PAGE_SIZE; n++) {
        memcpy(memory + n * PAGE_SIZE, pattern, PAGE_SIZE);
        memcpy(memory + n * PAGE_SIZE, &n, sizeof n);
    }
    clobber(memory);
    double second = now();
    for (uint64_t n = 0; !result->error[0] && n < length / PAGE_SIZE; n++) {
        memcpy(page, memory + n * PAGE_SIZE, PAGE_SIZE);
        clobber(page);
        if (!swap_page_holds(page, pattern, n))
            snprintf(result->error, sizeof result->error,
                     "page %" PRIu64 " of the working set came back wrong", n);
    }
    double end = now();
    result->seconds[0] = end - start;
    result->seconds[1] = second - start;
    result->seconds[2] = end - second;
    host_unmap(memory, length);
    result->ok = !result->error[0];
}

/* --- running, collecting, reporting ---------------------------------- */

enum method {
    OURS_READS,          /* 40000 frames: cold, hot, random */
    OURS_PRESSURE_READ,  /* default pool: cold */
    OURS_OVERWRITE,      /* 40000 frames */
    OURS_PRESSURE_WRITE, /* default pool */
    FLOOR_READ,
    STDIO_READ,
    HOST_READS, /* cold, hot, random, dependent random */
    STDIO_WRITE,
    OURS_SHARED_READS, /* 40000 frames: two processes, one shared mapping */
    HOST_SHARED_READS, /* two mappings */
    OURS_MAPPINGS,     /* one-page mappings, made and unmapped */
    HOST_MAPPINGS,
    OURS_FORK, /* 40000 frames: fork, the child writes every page */
    HOST_FORK,
    OURS_SWAP, /* swap_pool_frames(): twice the pool, written then read */
    HOST_SWAP,
    NUM_METHODS
};

/* The passes each method times. */
static const int method_passes[NUM_METHODS] = {
    [OURS_READS] = 3,        [OURS_PRESSURE_READ] = 1,
    [OURS_OVERWRITE] = 1,    [OURS_PRESSURE_WRITE] = 1,
    [FLOOR_READ] = 1,        [STDIO_READ] = 1,
    [HOST_READS] = 4,        [STDIO_WRITE] = 1,
    [OURS_SHARED_READS] = 3, [HOST_SHARED_READS] = 3,
    [OURS_MAPPINGS] = MAPPING_PASSES, [HOST_MAPPINGS] = MAPPING_PASSES,
    [OURS_FORK] = 2,         [HOST_FORK] = 2,
    [OURS_SWAP] = 3,         [HOST_SWAP] = 3,
};

/* Runs `method` in a child with the pool size it calls for. */
static child_result run_child(enum method method, unsigned seed) {
    child_result result = {0};
    int channel[2];
    /*
     * The writes of earlier runs leave dirty pages that the host kernel
     * writes back in the background, beside whatever runs then: write them
     * now, before any clock starts.
     */
    sync();
    if (pipe(channel) != 0) {
        fail(&result, "pipe");
        return result;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fail(&result, "fork");
        return result;
    }
    if (pid == 0) {
        close(channel[0]);
        char frames[24];
        snprintf(frames, sizeof frames, "%zu", swap_pool_frames());
        if (method == OURS_PRESSURE_READ || method == OURS_PRESSURE_WRITE)
            unsetenv("MMAP_FRAMES");
        else
            setenv("MMAP_FRAMES",
                   method == OURS_SWAP ? frames : LARGE_POOL_FRAMES, 1);
        switch (method) {
        case OURS_READS: ours_reads(&result, true); break;
        case OURS_PRESSURE_READ: ours_reads(&result, false); break;
        case OURS_OVERWRITE:
        case OURS_PRESSURE_WRITE: ours_overwrite(&result, seed); break;
        case FLOOR_READ: floor_read(&result); break;
        case STDIO_READ: stdio_read(&result); break;
        case HOST_READS: host_reads(&result); break;
        case STDIO_WRITE: stdio_overwrite(&result, seed); break;
        case OURS_SHARED_READS: ours_shared_reads(&result); break;
        case HOST_SHARED_READS: host_shared_reads(&result); break;
        case OURS_MAPPINGS: many_mappings(&result, true); break;
        case HOST_MAPPINGS: many_mappings(&result, false); break;
        case OURS_FORK: ours_fork(&result); break;
        case HOST_FORK: host_fork(&result); break;
        case OURS_SWAP: ours_swap(&result, seed); break;
        case HOST_SWAP: host_swap(&result, seed); break;
        case NUM_METHODS: break;
        }
        ssize_t written = write(channel[1], &result, sizeof result);
        _exit(written == (ssize_t)sizeof result ? 0 : 1);
    }
    close(channel[1]);
    ssize_t got = read(channel[0], &result, sizeof result);
    close(channel[0]);
    int status;
    waitpid(pid, &status, 0);
    if (got != (ssize_t)sizeof result) {
        memset(&result, 0, sizeof result);
        snprintf(result.error, sizeof result.error,
                 "child died (status %d) before reporting", status);
    }
    return result;
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One figure over the runs: its least, its median and its greatest. */
typedef struct {
    double min, median, max;
} spread;

/* `scale` turns a run's value into the unit printed (1e3: s to ms). */
static spread spread_of(const double *values_of_runs, int count, double scale) {
    double values[MAX_RUNS];
    for (int run = 0; run < count; run++)
        values[run] = values_of_runs[run] * scale;
    qsort(values, (size_t)count, sizeof *values, compare_doubles);
    double median = count % 2 ? values[count / 2]
                              : (values[count / 2 - 1] + values[count / 2]) / 2;
    return (spread){values[0], median, values[count - 1]};
}

/* Every run of every method, pass by pass. */
static struct {
    double seconds[NUM_METHODS][PASSES][MAX_RUNS];
    double first_call[NUM_METHODS][MAX_RUNS];
    double host_faults[NUM_METHODS][MAX_RUNS];
    uint64_t checksum[NUM_METHODS][PASSES];
    /* The counters of each method's first run. */
    size_t page_faults[NUM_METHODS], tlb_misses[NUM_METHODS];
    size_t major_faults[NUM_METHODS], minor_faults[NUM_METHODS];
    size_t cow_faults[NUM_METHODS], swap_outs[NUM_METHODS];
    size_t swap_ins[NUM_METHODS];
} runs;

static bool collect(enum method method, int run) {
    child_result result = run_child(method, (unsigned)run + 1);
    if (!result.ok) {
        fprintf(stderr, "mmap_bench: run %d of method %d: %s\n", run + 1,
                (int)method, result.error[0] ? result.error : "failed");
        return false;
    }
    for (int pass = 0; pass < method_passes[method]; pass++) {
        runs.seconds[method][pass][run] = result.seconds[pass];
        runs.checksum[method][pass] = result.checksum[pass];
    }
    runs.first_call[method][run] = result.first_call_seconds;
    runs.host_faults[method][run] = (double)result.host_faults;
    if (run == 0) {
        runs.page_faults[method] = result.page_faults;
        runs.tlb_misses[method] = result.tlb_misses;
        runs.major_faults[method] = result.major_faults;
        runs.minor_faults[method] = result.minor_faults;
        runs.cow_faults[method] = result.cow_faults;
        runs.swap_outs[method] = result.swap_outs;
        runs.swap_ins[method] = result.swap_ins;
    }
    return true;
}

typedef struct {
    const char *name;  /* for --json */
    const char *label; /* for the table */
    enum method ours;  /* and its pass */
    int ours_pass;
    enum method baseline; /* and its pass */
    int baseline_pass;
    const char *baseline_label;
    double goal; /* 0: no goal */
    bool per_op; /* ns per random read rather than ms per pass */
} comparison;

static const comparison comparisons[] = {
    {"cold_read_vs_floor", "cold sequential read", OURS_READS, 0, FLOOR_READ, 0,
     "floor", 1.15, false},
    {"cold_read_vs_fread", "cold sequential read", OURS_READS, 0, STDIO_READ, 0,
     "fread", 1.8, false},
    {"cold_read_vs_kernel_mmap", "cold sequential read", OURS_READS, 0,
     HOST_READS, 0, "kernel mmap+memcpy", 0, false},
    {"pressure_cold_read_vs_fread", "16 MiB pool: cold read",
     OURS_PRESSURE_READ, 0, STDIO_READ, 0, "fread", 1.3, false},
    {"hot_read_vs_kernel_mmap", "hot sequential read", OURS_READS, 1,
     HOST_READS, 1, "kernel mmap+memcpy", 1.0, false},
    {"random_read_vs_dependent_loads", "random 8-byte read", OURS_READS, 2,
     HOST_READS, 3, "dependent loads", 0.25, true},
    {"random_read_vs_independent_loads", "random 8-byte read", OURS_READS, 2,
     HOST_READS, 2, "independent loads", 0, true},
    {"overwrite_vs_fwrite", "overwrite + munmap", OURS_OVERWRITE, 0,
     STDIO_WRITE, 0, "fwrite", 1.4, false},
    {"pressure_overwrite_vs_fwrite", "16 MiB pool: overwrite",
     OURS_PRESSURE_WRITE, 0, STDIO_WRITE, 0, "fwrite", 1.25, false},
    {"shared_read_vs_kernel_mmap", "2 processes, shared map", OURS_SHARED_READS,
     0, HOST_SHARED_READS, 0, "kernel 2 mappings", 0, false},
    {"mappings_10000_vs_kernel_mmap", "10000 1-page mmap+unmap", OURS_MAPPINGS,
     0, HOST_MAPPINGS, 0, "kernel mmap+munmap", 0, false},
    {"mappings_50000_vs_kernel_mmap", "50000 1-page mmap+unmap", OURS_MAPPINGS,
     1, HOST_MAPPINGS, 1, "kernel mmap+munmap", 0, false},
    {"fork_vs_kernel_fork", "fork, child writes all", OURS_FORK, 0, HOST_FORK,
     0, "kernel fork", 0, false},
    {"swap_vs_kernel_anonymous", "anon 2x pool, 2 passes", OURS_SWAP, 0,
     HOST_SWAP, 0, "kernel anonymous", 0, false},
};
#define NUM_COMPARISONS (sizeof comparisons / sizeof comparisons[0])

/* The unit a comparison prints its times in: ms, or ns per read. */
static double unit_of(bool per_op) {
    return per_op ? 1e9 / RANDOM_READS : 1e3;
}

/* A pass's spread over the runs, in ms or in ns per read. */
static spread pass_spread(enum method method, int pass, int count,
                          bool per_op) {
    return spread_of(runs.seconds[method][pass], count, unit_of(per_op));
}

/* A comparison's two times and its ratio, each with its spread. */
typedef struct {
    spread ours, baseline, ratio;
} comparison_figures;

/*
 * The ratio is taken run by run, ours over the baseline's run of the same
 * round, so that a slow spell of the machine that falls on both cancels;
 * its spread is that of those per-run ratios, not a ratio of medians.
 */
static comparison_figures figures_of(const comparison *c, int count) {
    double ratios[MAX_RUNS];
    for (int run = 0; run < count; run++)
        ratios[run] = runs.seconds[c->ours][c->ours_pass][run] /
                      runs.seconds[c->baseline][c->baseline_pass][run];
    return (comparison_figures){
        .ours = pass_spread(c->ours, c->ours_pass, count, c->per_op),
        .baseline =
            pass_spread(c->baseline, c->baseline_pass, count, c->per_op),
        .ratio = spread_of(ratios, count, 1),
    };
}

/*
 * A goal is met only when every run's ratio is within it (the worst, the
 * greatest, included); "median met" when only the median is; NULL when
 * the comparison has no goal.
 */
static const char *verdict(const comparison *c, spread ratio) {
    if (c->goal <= 0)
        return NULL;
    if (ratio.max <= c->goal)
        return "met";
    return ratio.median <= c->goal ? "median met" : "missed";
}

static bool checksums_agree(void) {
    struct {
        enum method a;
        int pass_a;
        enum method b;
        int pass_b;
    } pairs[] = {{OURS_READS, 0, STDIO_READ, 0},
                 {OURS_READS, 0, FLOOR_READ, 0},
                 {OURS_READS, 0, HOST_READS, 0},
                 {OURS_READS, 1, HOST_READS, 1},
                 {OURS_READS, 2, HOST_READS, 2},
                 {OURS_PRESSURE_READ, 0, STDIO_READ, 0},
                 /* every shared reader read the whole file */
                 {OURS_SHARED_READS, 1, STDIO_READ, 0},
                 {OURS_SHARED_READS, 2, STDIO_READ, 0},
                 {HOST_SHARED_READS, 1, STDIO_READ, 0},
                 {HOST_SHARED_READS, 2, STDIO_READ, 0}};
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        if (runs.checksum[pairs[i].a][pairs[i].pass_a] !=
            runs.checksum[pairs[i].b][pairs[i].pass_b]) {
            fprintf(stderr,
                    "mmap_bench: methods %d and %d read different data "
                    "(passes %d and %d)\n",
                    (int)pairs[i].a, (int)pairs[i].b, pairs[i].pass_a,
                    pairs[i].pass_b);
            return false;
        }
    }
    return true;
}

/* "median unit (min-max)", or the one value when there is one run. */
static const char *spread_text(char text[48], spread s, int decimals,
                               const char *unit, int count) {
    if (count == 1)
        snprintf(text, 48, "%.*f%s", decimals, s.median, unit);
    else
        snprintf(text, 48, "%.*f%s (%.*f-%.*f)", decimals, s.median, unit,
                 decimals, s.min, decimals, s.max);
    return text;
}

static void print_table_heading(int count, bool markdown) {
    printf("mmap_bench: %.0f MiB file, %d run%s; pool %s frames, or the "
           "default %u for the 16 MiB pool rows, %zu for the swap row; "
           "fork of %zu MiB, swap of %zu MiB\n",
           (double)bench.size / (1024 * 1024), count, count == 1 ? "" : "s",
           LARGE_POOL_FRAMES, KERNEL_DEFAULT_FRAMES, swap_pool_frames(),
           fork_bytes() >> 20, swap_bytes() >> 20);
    if (count == 1)
        printf("one run, so no spread: judge no goal by it\n");
    else
        printf(
            "each figure: median (min-max) of the runs; each ratio is "
            "taken run by run, ours over its baseline in the same round\n"
            "goal met: every run's ratio within it; median met: the "
            "median within it, not every run; missed: the median beyond it\n");
    if (markdown)
        printf("\n| scenario | ours | baseline | ratio | goal |\n"
               "| --- | --- | --- | --- | --- |\n");
    else
        printf("%-24s %-25s %-20s %-25s %-19s %s\n", "scenario", "ours",
               "baseline", "", "ratio", "goal");
}

static void print_comparison_row(const comparison *c, int count) {
    comparison_figures f = figures_of(c, count);
    const char *unit = c->per_op ? " ns/op" : " ms";
    const char *judged = verdict(c, f.ratio);
    char ours[48], base[48], ratio[48], goal[80];
    spread_text(ratio, f.ratio, 2, "x", count);
    if (judged)
        snprintf(goal, sizeof goal, "%-19s <= %.2fx %s", ratio, c->goal,
                 judged);
    printf("%-24s %-25s %-20s %-25s %s\n", c->label,
           spread_text(ours, f.ours, 1, unit, count), c->baseline_label,
           spread_text(base, f.baseline, 1, unit, count),
           judged ? goal : ratio);
}

/* The mapping rows' figures per mapping: each mapping made and unmapped. */
static void print_mapping_costs(int count) {
    printf("one-page mappings, per mapping made and unmapped:");
    for (size_t pass = 0; pass < MAPPING_PASSES; pass++) {
        double ns_each = 1e9 / (double)mapping_counts[pass];
        char ours[48], kernel[48];
        spread_text(ours,
                    spread_of(runs.seconds[OURS_MAPPINGS][pass], count,
                              ns_each),
                    0, " ns", count);
        spread_text(kernel,
                    spread_of(runs.seconds[HOST_MAPPINGS][pass], count,
                              ns_each),
                    0, " ns", count);
        printf("%s %zu: ours %s, kernel %s", pass ? ";" : "",
               mapping_counts[pass], ours, kernel);
    }
    printf("\n");
}

/* A method's megabytes (10^6 bytes) per second over pass `pass`, run by
 * run, for `bytes` moved in it. */
static spread rate_spread(enum method method, int pass, int count,
                          double bytes) {
    double rates[MAX_RUNS];
    for (int run = 0; run < count; run++)
        rates[run] = bytes / 1e6 / runs.seconds[method][pass][run];
    return spread_of(rates, count, 1);
}

/*
 * The fork rows' share from the fork on and its ratio, the swap rows'
 * speed (the working set written and read back: twice its bytes), and
 * their counters.
 */
static void print_fork_and_swap(int count) {
    char ours[48], kernel[48], ratio[48];
    double ratios[MAX_RUNS];
    for (int run = 0; run < count; run++)
        ratios[run] =
            runs.seconds[OURS_FORK][1][run] / runs.seconds[HOST_FORK][1][run];
    printf("fork of %zu MiB, from the fork to the child's end: ours %s, "
           "kernel %s, ratio %s; counters, first run: %zu copy-on-write "
           "faults, %zu swap outs\n",
           fork_bytes() >> 20,
           spread_text(ours, pass_spread(OURS_FORK, 1, count, false), 1, " ms",
                       count),
           spread_text(kernel, pass_spread(HOST_FORK, 1, count, false), 1,
                       " ms", count),
           spread_text(ratio, spread_of(ratios, count, 1), 2, "x", count),
           runs.cow_faults[OURS_FORK], runs.swap_outs[OURS_FORK]);
    double moved = 2.0 * (double)swap_bytes();
    printf("%zu MiB anonymous in a %zu-frame pool, written then read: ours "
           "%s, kernel %s; counters, first run: %zu swap outs, %zu swap "
           "ins\n",
           swap_bytes() >> 20, swap_pool_frames(),
           spread_text(ours, rate_spread(OURS_SWAP, 0, count, moved), 0,
                       " MB/s", count),
           spread_text(kernel, rate_spread(HOST_SWAP, 0, count, moved), 0,
                       " MB/s", count),
           runs.swap_outs[OURS_SWAP], runs.swap_ins[OURS_SWAP]);
}

/* The figures printed apart from the comparisons, for information. */
static void print_figures_apart(int count) {
    char first_call[48], faults[48], reader[2 * SHARED_READERS][48];
    printf("inside the cold read (40000 frames), not subtracted: the first "
           "call, mmap_create with the pool's set-up, %s; host page faults "
           "%s\n",
           spread_text(first_call,
                       spread_of(runs.first_call[OURS_READS], count, 1e3), 2,
                       " ms", count),
           spread_text(faults,
                       spread_of(runs.host_faults[OURS_READS], count, 1), 0, "",
                       count));
    printf("counters, first pass: cold read %zu page faults, %zu TLB misses; "
           "overwrite %zu page faults\n",
           runs.page_faults[OURS_READS], runs.tlb_misses[OURS_READS],
           runs.page_faults[OURS_OVERWRITE]);
    for (int r = 0; r < SHARED_READERS; r++) {
        spread_text(reader[r],
                    pass_spread(OURS_SHARED_READS, 1 + r, count, false), 1,
                    " ms", count);
        spread_text(reader[SHARED_READERS + r],
                    pass_spread(HOST_SHARED_READS, 1 + r, count, false), 1,
                    " ms", count);
    }
    printf("shared read, %d processes one after the other: first "
           "(mmu_create included) %s, second %s; kernel: first %s, second "
           "%s\n",
           SHARED_READERS, reader[0], reader[1], reader[2], reader[3]);
    printf("counters, first run of the shared read (both processes): %zu "
           "page faults, %zu major, %zu minor\n",
           runs.page_faults[OURS_SHARED_READS],
           runs.major_faults[OURS_SHARED_READS],
           runs.minor_faults[OURS_SHARED_READS]);
    print_mapping_costs(count);
    print_fork_and_swap(count);
}

/* The row as README's speed table has it, for --markdown. */
static void print_markdown_row(const comparison *c, int count) {
    comparison_figures f = figures_of(c, count);
    const char *unit = c->per_op ? " ns/op" : " ms";
    const char *judged = verdict(c, f.ratio);
    char ours[48], base[48], ratio[48], goal[48] = "";
    if (judged)
        snprintf(goal, sizeof goal, "%.2fx, %s", c->goal, judged);
    printf("| %s | %s | %s %s | %s | %s |\n", c->label,
           spread_text(ours, f.ours, 1, unit, count), c->baseline_label,
           spread_text(base, f.baseline, 1, unit, count),
           spread_text(ratio, f.ratio, 2, "x", count), goal);
}

/* The table, as text or as Markdown, then the figures printed apart. */
static void print_table(int count, bool markdown) {
    print_table_heading(count, markdown);
    for (size_t i = 0; i < NUM_COMPARISONS; i++) {
        if (markdown)
            print_markdown_row(&comparisons[i], count);
        else
            print_comparison_row(&comparisons[i], count);
    }
    printf("\n");
    print_figures_apart(count);
}

/* {"min": .., "median": .., "max": ..}, then `after`. */
static void print_json_spread(spread s, const char *after) {
    printf("{\"min\": %.3f, \"median\": %.3f, \"max\": %.3f}%s", s.min,
           s.median, s.max, after);
}

static void print_json_comparison(const comparison *c, int count, bool last) {
    comparison_figures f = figures_of(c, count);
    const char *judged = verdict(c, f.ratio);
    printf("    {\"name\": \"%s\", \"unit\": \"%s\", \"ours\": ", c->name,
           c->per_op ? "ns/op" : "ms");
    print_json_spread(f.ours, ", ");
    printf("\"baseline\": \"%s\", \"baseline_value\": ", c->baseline_label);
    print_json_spread(f.baseline, ", \"ratio\": ");
    print_json_spread(f.ratio, "");
    if (judged)
        printf(", \"goal\": %.2f, \"verdict\": \"%s\", \"met\": %s", c->goal,
               judged, strcmp(judged, "met") == 0 ? "true" : "false");
    printf("}%s\n", last ? "" : ",");
}

static void print_json(int count) {
    printf("{\n  \"file_bytes\": %zu,\n  \"runs\": %d,\n", bench.size, count);
    printf("  \"page_faults_cold_read\": %zu,\n  \"tlb_misses_cold_read\": "
           "%zu,\n  \"first_call_ms\": ",
           runs.page_faults[OURS_READS], runs.tlb_misses[OURS_READS]);
    print_json_spread(spread_of(runs.first_call[OURS_READS], count, 1e3),
                      ",\n  \"host_faults_cold_read\": ");
    print_json_spread(spread_of(runs.host_faults[OURS_READS], count, 1), ",\n");
    printf("  \"page_faults_shared_read\": %zu,\n  \"major_faults_shared_read\""
           ": %zu,\n  \"minor_faults_shared_read\": %zu,\n",
           runs.page_faults[OURS_SHARED_READS],
           runs.major_faults[OURS_SHARED_READS],
           runs.minor_faults[OURS_SHARED_READS]);
    printf("  \"fork_bytes\": %zu,\n  \"cow_faults_fork\": %zu,\n  "
           "\"swap_bytes\": %zu,\n  \"swap_pool_frames\": %zu,\n  "
           "\"swap_outs\": %zu,\n  \"swap_ins\": %zu,\n  \"swap_mb_per_s\": ",
           fork_bytes(), runs.cow_faults[OURS_FORK], swap_bytes(),
           swap_pool_frames(), runs.swap_outs[OURS_SWAP],
           runs.swap_ins[OURS_SWAP]);
    double moved = 2.0 * (double)swap_bytes();
    print_json_spread(rate_spread(OURS_SWAP, 0, count, moved),
                      ",\n  \"kernel_swap_mb_per_s\": ");
    print_json_spread(rate_spread(HOST_SWAP, 0, count, moved), ",\n");
    enum method shared[2] = {OURS_SHARED_READS, HOST_SHARED_READS};
    const char *names[2] = {"shared_read_readers_ms",
                            "kernel_shared_read_readers_ms"};
    for (int m = 0; m < 2; m++) {
        printf("  \"%s\": [", names[m]);
        for (int r = 0; r < SHARED_READERS; r++)
            print_json_spread(pass_spread(shared[m], 1 + r, count, false),
                              r + 1 < SHARED_READERS ? ", " : "],\n");
    }
    printf("  \"comparisons\": [\n");
    for (size_t i = 0; i < NUM_COMPARISONS; i++)
        print_json_comparison(&comparisons[i], count, i + 1 == NUM_COMPARISONS);
    printf("  ],\n");
    bench_replay_print(true);
    printf("}\n");
}

/* Writes `size` pseudo-random bytes to `path`, then reads them once so the
 * file sits in the host's page cache. */
static bool make_file(const char *path) {
    FILE *file = fopen(path, "w+b");
    if (!file)
        return false;
    uint64_t state = 0x2545F4914F6CDD1Du;
    bool ok = true;
    for (size_t at = 0; ok && at < bench.size; at += CHUNK) {
        size_t length = chunk_at(at);
        for (size_t i = 0; i < length; i += 8) {
            uint64_t word = next_random(&state);
            memcpy(bench.chunk + i, &word, length - i < 8 ? length - i : 8);
        }
        ok = fwrite(bench.chunk, 1, length, file) == length;
    }
    rewind(file);
    while (ok && fread(bench.chunk, 1, CHUNK, file) > 0)
        ;
    return fclose(file) == 0 && ok;
}

static void remove_files(void) {
    unlink(bench.read_path);
    unlink(bench.write_path);
    rmdir(bench.dir);
}

/*
 * The methods in the order of a round: each comparison's two methods
 * where the first of them appears in the table, so that a ratio's two
 * sides run close together and see the same machine; then any method no
 * comparison names.
 */
static void round_order(enum method order[NUM_METHODS]) {
    bool placed[NUM_METHODS] = {false};
    int next = 0;
    for (size_t i = 0; i < NUM_COMPARISONS; i++) {
        enum method pair[2] = {comparisons[i].ours, comparisons[i].baseline};
        for (int side = 0; side < 2; side++)
            if (!placed[pair[side]]) {
                placed[pair[side]] = true;
                order[next++] = pair[side];
            }
    }
    for (int method = 0; method < NUM_METHODS; method++)
        if (!placed[method])
            order[next++] = (enum method)method;
}

static int usage(void) {
    fprintf(stderr,
            "usage: mmap_bench [--json | --markdown] [--runs N] [--mib N]\n"
            "                  [--replay-refs N]\n");
    return 2;
}

int main(int argc, char **argv) {
    bool json = false, markdown = false;
    int count = 5;
    long mib = 128;
    long replay_refs = 0; /* 0: REPLAY_REFERENCES scaled by --mib */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (strcmp(argv[i], "--markdown") == 0)
            markdown = true;
        else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            count = atoi(argv[++i]);
        else if (strcmp(argv[i], "--mib") == 0 && i + 1 < argc)
            mib = atol(argv[++i]);
        else if (strcmp(argv[i], "--replay-refs") == 0 && i + 1 < argc)
            replay_refs = atol(argv[++i]);
        else
            return usage();
    }
    if (count < 1 || count > MAX_RUNS || mib < 1 || mib > 1024 ||
        replay_refs < 0 || (json && markdown))
        return usage();
    if (replay_refs == 0)
        replay_refs = (long)(REPLAY_REFERENCES / 128 * mib);
    bench.size = (size_t)mib * 1024 * 1024;
    bench.chunk = malloc(CHUNK);
    const char *tmpdir = getenv("TMPDIR");
    char dir_template[4096];
    snprintf(dir_template, sizeof dir_template, "%s/mmap_bench.XXXXXX",
             tmpdir && *tmpdir ? tmpdir : "/tmp");
    bench.dir = mkdtemp(dir_template);
    if (!bench.chunk || !bench.dir) {
        perror("mmap_bench: temporary directory");
        return 1;
    }
    snprintf(bench.read_path, sizeof bench.read_path, "%s/read.bin", bench.dir);
    snprintf(bench.write_path, sizeof bench.write_path, "%s/write.bin",
             bench.dir);
    if (!make_file(bench.read_path) || !make_file(bench.write_path)) {
        perror("mmap_bench: making the files");
        remove_files();
        return 1;
    }
    if (!json)
        fprintf(stderr, "mmap_bench: %d run%s over %ld MiB in %s\n", count,
                count == 1 ? "" : "s", mib, bench.dir);

    bool ok = true;
    /*
     * Round by round, every method once, each of ours close to its
     * baselines, so that a slow spell of the machine falls on both sides
     * of a ratio; every other round runs backwards, so that neither side
     * always goes first and no method always follows the same one.
     */
    enum method order[NUM_METHODS];
    round_order(order);
    for (int run = 0; ok && run < count; run++) {
        for (int i = 0; ok && i < NUM_METHODS; i++)
            ok = collect(order[run % 2 ? NUM_METHODS - 1 - i : i], run);
    }
    remove_files();
    if (!ok || !checksums_agree() ||
        !bench_replay_collect((size_t)replay_refs, count))
        return 1;
    if (json)
        print_json(count);
    else
        print_table(count, markdown);
    if (!json)
        bench_replay_print(false);
    return 0;
}
