/*
 * tests/kernel_tests.c: kernel.h, the frame pool: its size, the frames it
 * hands out, eviction through a frame's owner by a second-chance clock, and
 * what it costs the host.
 */
#include "helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

/* A frame owner the tests control, to watch the pool's eviction. */
#define FAKE_OWNER_KEYS 160

typedef struct {
    frame_owner base; /* first: the pool hands us &base */
    bool referenced[FAKE_OWNER_KEYS];
    bool evict_fails[FAKE_OWNER_KEYS];
    addr32 frame[FAKE_OWNER_KEYS]; /* the frame a key holds; 0: none */
    size_t referenced_calls[FAKE_OWNER_KEYS];
    size_t evict_calls[FAKE_OWNER_KEYS];
    size_t total_referenced_calls;
    size_t total_evict_calls;
    uint32_t last_evicted;
} fake_owner;

static void expect_key_holds_frame(fake_owner *this, uint32_t key,
                                   const char *call) {
    if (key >= FAKE_OWNER_KEYS || this->frame[key] == 0)
        fail(__FILE__, __LINE__,
             "the pool called %s for key %u, which holds no frame", call, key);
}

static bool fake_referenced(frame_owner *owner, uint32_t key) {
    fake_owner *this = (fake_owner *)owner;
    bool was_referenced;

    expect_key_holds_frame(this, key, "referenced");
    this->referenced_calls[key]++;
    this->total_referenced_calls++;
    was_referenced = this->referenced[key];
    this->referenced[key] = false;
    return was_referenced;
}

static int fake_evict(frame_owner *owner, uint32_t key) {
    fake_owner *this = (fake_owner *)owner;

    expect_key_holds_frame(this, key, "evict");
    this->evict_calls[key]++;
    this->total_evict_calls++;
    if (this->evict_fails[key]) {
        errno = EIO;
        return -1;
    }
    this->frame[key] = 0;
    this->last_evicted = key;
    return 0;
}

static const frame_owner_ops fake_owner_ops = {.referenced = fake_referenced,
                                               .evict = fake_evict};

static void fake_owner_init(fake_owner *this) {
    memset(this, 0, sizeof *this);
    this->base.ops = &fake_owner_ops;
}

static addr32 fake_owner_take(fake_owner *this, uint32_t key) {
    addr32 frame = ask_kernel_for_frame(&this->base, key);

    if (frame == 0)
        fail(__FILE__, __LINE__,
             "ask_kernel_for_frame(owner, %u): expected a frame, got 0 "
             "(errno %s)",
             key, errno_name(errno));
    this->frame[key] = frame;
    return frame;
}

/* Gives back every frame the owner still holds, at the end of a test. */
static void fake_owner_release(fake_owner *this) {
    uint32_t key;

    for (key = 0; key < FAKE_OWNER_KEYS; key++) {
        if (this->frame[key] != 0)
            return_frame_to_kernel(this->frame[key]);
        this->frame[key] = 0;
    }
}

static void test_kernel_pool_size_comes_from_mmap_frames(void) {
    setenv("MMAP_FRAMES", "64", 1);
    expect_size(kernel_frames_total(), 64, "frames with MMAP_FRAMES=64");
    expect_size(kernel_frames_free(), 64, "free frames of a fresh pool");
}

static void test_kernel_pool_defaults_to_4096_frames(void) {
    unsetenv("MMAP_FRAMES");
    expect_size(kernel_frames_total(), 4096, "frames without MMAP_FRAMES");
    expect_size(KERNEL_DEFAULT_FRAMES, 4096, "KERNEL_DEFAULT_FRAMES");
    expect_size(kernel_frames_free(), 4096, "free frames of a fresh pool");
}

static void test_kernel_pool_has_at_least_8_frames(void) {
    addr32 frames[8];
    size_t i;

    setenv("MMAP_FRAMES", "3", 1);
    expect_size(kernel_frames_total(), 8, "frames with MMAP_FRAMES=3");
    for (i = 0; i < 8; i++) {
        frames[i] = ask_kernel_for_frame(NULL, 0);
        expect_true(frames[i] != 0, describe("pinned frame %zu of 8", i));
    }
    errno = 0;
    expect_hex(ask_kernel_for_frame(NULL, 0), 0, "a ninth frame");
    expect_errno(errno, ENOMEM, "a ninth frame");
    for (i = 0; i < 8; i++)
        return_frame_to_kernel(frames[i]);
    expect_all_frames_free("after returning all 8");
}

static void test_kernel_frames_free_counts_frames_taken_and_returned(void) {
    addr32 a, b;

    setenv("MMAP_FRAMES", "16", 1);
    expect_size(kernel_frames_free(), 16, "free frames at start");
    a = ask_kernel_for_frame(NULL, 0);
    expect_true(a != 0, "first frame");
    expect_size(kernel_frames_free(), 15, "free frames after taking one");
    b = ask_kernel_for_frame(NULL, 0);
    expect_true(b != 0 && b != a, "second frame, different from the first");
    expect_size(kernel_frames_free(), 14, "free frames after taking two");
    return_frame_to_kernel(a);
    expect_size(kernel_frames_free(), 15, "free frames after returning one");
    return_frame_to_kernel(0); /* ignored */
    expect_size(kernel_frames_free(), 15, "free frames after returning 0");
    return_frame_to_kernel(b);
    expect_size(kernel_frames_free(), 16, "free frames after returning both");
    expect_size(kernel_frames_total(), 16, "total frames never change");
}

static void test_kernel_never_gives_physical_address_0(void) {
    addr32 frames[8];
    size_t i, j;

    setenv("MMAP_FRAMES", "8", 1);
    expect_null(get_system_pointer_from_address(0),
                "host pointer of physical address 0");
    for (i = 0; i < 8; i++) {
        frames[i] = ask_kernel_for_frame(NULL, 0);
        expect_true(frames[i] != 0, describe("frame %zu is not address 0", i));
        expect_hex(PAGE_OFFSET(frames[i]), 0,
                   describe("offset bits of frame %zu", i));
        for (j = 0; j < i; j++)
            expect_true(frames[i] != frames[j],
                        describe("frame %zu differs from frame %zu", i, j));
    }
    expect_null(get_system_pointer_from_address(0),
                "host pointer of address 0 with every frame in use");
    expect_null(get_system_pointer_from_address((addr32)9 << NUM_OFFSET_BITS),
                "host pointer of frame 9 of a pool of 8 (numbered 1 to 8)");
    expect_null(get_system_pointer_from_address(0xFFFFF000u),
                "host pointer of 0xFFFFF000, outside the pool");
    for (i = 0; i < 8; i++)
        return_frame_to_kernel(frames[i]);
}

static void test_kernel_frames_have_distinct_non_overlapping_memory(void) {
    addr32 frames[8];
    unsigned char *bytes[8];
    size_t i, j;

    setenv("MMAP_FRAMES", "8", 1);
    for (i = 0; i < 8; i++) {
        frames[i] = ask_kernel_for_frame(NULL, 0);
        expect_true(frames[i] != 0, describe("frame %zu", i));
        bytes[i] = get_system_pointer_from_address(frames[i]);
        expect_not_null(bytes[i], describe("host pointer of frame %zu", i));
        expect_ptr(get_system_pointer_from_address(frames[i] + 100),
                   bytes[i] + 100, "host pointer of byte 100 of a frame");
        expect_ptr(get_system_pointer_from_address(frames[i] + PAGE_SIZE - 1),
                   bytes[i] + PAGE_SIZE - 1,
                   "host pointer of the last byte of a frame");
    }
    for (i = 0; i < 8; i++)
        for (j = 0; j < 8; j++)
            if (i != j)
                expect_true(
                    bytes[i] + PAGE_SIZE <= bytes[j] ||
                        bytes[j] + PAGE_SIZE <= bytes[i],
                    describe("frames %zu and %zu do not overlap", i, j));
    for (i = 0; i < 8; i++)
        memset(bytes[i], (int)(0xA0 + i), PAGE_SIZE);
    for (i = 0; i < 8; i++)
        expect_all_bytes(bytes[i], (unsigned char)(0xA0 + i), PAGE_SIZE,
                         describe("frame %zu after filling every frame", i));
    for (i = 0; i < 8; i++)
        return_frame_to_kernel(frames[i]);
    expect_all_frames_free("after returning every frame");
}

static void test_kernel_address_from_system_pointer_inverts_the_mapping(void) {
    addr32 frames[8];
    unsigned char *bytes;
    int outside = 0;
    size_t i;

    setenv("MMAP_FRAMES", "8", 1);
    for (i = 0; i < 8; i++) {
        frames[i] = ask_kernel_for_frame(NULL, 0);
        expect_true(frames[i] != 0, describe("frame %zu", i));
        bytes = get_system_pointer_from_address(frames[i]);
        expect_not_null(bytes, describe("host pointer of frame %zu", i));
        expect_hex(get_address_from_system_pointer(bytes), frames[i],
                   describe("address of frame %zu's first byte", i));
        expect_hex(get_address_from_system_pointer(bytes + 1234),
                   frames[i] + 1234,
                   describe("address of byte 1234 of frame %zu", i));
        expect_hex(get_address_from_system_pointer(bytes + PAGE_SIZE - 1),
                   frames[i] + PAGE_SIZE - 1,
                   describe("address of the last byte of frame %zu", i));
    }
    expect_hex(get_address_from_system_pointer(&outside), 0,
               "address of a host pointer outside the pool");
    expect_hex(get_address_from_system_pointer(NULL), 0, "address of NULL");
    for (i = 0; i < 8; i++)
        return_frame_to_kernel(frames[i]);
}

static void test_kernel_all_frames_pinned_gives_enomem_until_one_returns(void) {
    addr32 frames[8], again;
    fake_owner owner;
    size_t i;

    setenv("MMAP_FRAMES", "8", 1);
    fake_owner_init(&owner);
    for (i = 0; i < 8; i++) {
        frames[i] = ask_kernel_for_frame(NULL, 0);
        expect_true(frames[i] != 0, describe("pinned frame %zu", i));
    }
    errno = 0;
    expect_hex(ask_kernel_for_frame(NULL, 0), 0, "frame from a pinned pool");
    expect_errno(errno, ENOMEM, "frame from a pinned pool");
    errno = 0;
    expect_hex(ask_kernel_for_frame(&owner.base, 1), 0,
               "frame for an owner from a pinned pool");
    expect_errno(errno, ENOMEM, "frame for an owner from a pinned pool");
    expect_size(owner.total_evict_calls + owner.total_referenced_calls, 0,
                "owner calls (no frame of it to evict)");

    return_frame_to_kernel(frames[3]);
    expect_size(kernel_frames_free(), 1, "free frames after returning one");
    again = ask_kernel_for_frame(NULL, 0);
    expect_hex(again, frames[3], "the frame given after one was returned");
    expect_size(kernel_frames_free(), 0, "free frames after taking it again");
    for (i = 0; i < 8; i++)
        return_frame_to_kernel(frames[i]);
}

static void
test_kernel_evicts_a_frame_through_its_owner_when_pool_is_empty(void) {
    fake_owner owner;
    addr32 before[8], frame;
    uint32_t key, victim;

    setenv("MMAP_FRAMES", "8", 1);
    fake_owner_init(&owner);
    for (key = 0; key < 8; key++)
        before[key] = fake_owner_take(&owner, key);
    expect_size(kernel_frames_free(), 0, "free frames after taking all 8");

    frame = fake_owner_take(&owner, 8);
    expect_size(owner.total_evict_calls, 1, "evict calls for one frame");
    victim = owner.last_evicted;
    expect_true(victim < 8, "the victim is one of the first 8 keys");
    expect_hex(frame, before[victim], "frame given, against the victim's");
    expect_size(kernel_frames_free(), 0, "free frames after the eviction");
    fake_owner_release(&owner);
}

static void test_kernel_gives_referenced_frames_a_second_chance(void) {
    fake_owner owner;
    uint32_t key;

    setenv("MMAP_FRAMES", "8", 1);
    fake_owner_init(&owner);
    for (key = 0; key < 8; key++) {
        fake_owner_take(&owner, key);
        owner.referenced[key] = key != 5;
    }

    /* Only key 5 was not used lately: it goes, wherever the hand is. */
    fake_owner_take(&owner, 8);
    expect_size(owner.total_evict_calls, 1, "evict calls");
    expect_size(owner.last_evicted, 5, "victim (the only unreferenced key)");

    /* Every frame was used lately: each gets asked before one goes. */
    for (key = 0; key <= 8; key++) {
        owner.referenced[key] = owner.frame[key] != 0;
        owner.referenced_calls[key] = 0;
    }
    fake_owner_take(&owner, 9);
    expect_size(owner.total_evict_calls, 2, "evict calls after the second");
    for (key = 0; key <= 8; key++)
        if (key != 5)
            expect_at_least(owner.referenced_calls[key], 1,
                            describe("referenced calls for key %u before "
                                     "the second eviction",
                                     key));
    fake_owner_release(&owner);
}

static void test_kernel_skips_a_victim_whose_evict_fails(void) {
    fake_owner owner;
    addr32 before[8], frame;
    uint32_t key, victim;

    setenv("MMAP_FRAMES", "8", 1);
    fake_owner_init(&owner);
    for (key = 0; key < 8; key++) {
        before[key] = fake_owner_take(&owner, key);
        owner.referenced[key] = key != 3;
    }
    owner.evict_fails[3] = true; /* the first choice cannot be written back */

    frame = fake_owner_take(&owner, 8);
    expect_size(owner.evict_calls[3], 1, "evict calls for key 3");
    expect_size(owner.total_evict_calls, 2, "evict calls in all");
    victim = owner.last_evicted;
    expect_true(victim != 3 && victim < 8, "a second victim, not key 3");
    expect_hex(frame, before[victim], "frame given, against the victim's");
    expect_true(frame != before[3], "key 3 keeps its frame");
    expect_size(kernel_frames_free(), 0, "free frames");
    fake_owner_release(&owner);
}

/*
 * A victim that refused set errno; the frame the next victim gave is a
 * success all the same, and a call that succeeds leaves errno alone (the
 * fuzzer found vm_fork, mmap_create and plain accesses returning success
 * with ENOMEM from a full swap).
 */
static void test_kernel_frame_after_a_refused_victim_leaves_errno_alone(void) {
    fake_owner owner;
    addr32 frame;
    uint32_t key;

    setenv("MMAP_FRAMES", "8", 1);
    fake_owner_init(&owner);
    /* Every frame refuses (EIO) but the newest, which every policy but
     * random asks last. */
    for (key = 0; key < 8; key++) {
        fake_owner_take(&owner, key);
        owner.evict_fails[key] = key != 7;
    }

    errno = 12345;
    frame = fake_owner_take(&owner, 8);
    expect_true(frame != 0, "a frame, from the one victim that gave it");
    expect_size(owner.last_evicted, 7, "the victim");
    expect_errno(errno, 12345, "errno after a frame was given");
    fake_owner_release(&owner);
}

static void test_kernel_reports_owner_errno_when_no_frame_can_be_evicted(void) {
    fake_owner owner;
    uint32_t key;

    setenv("MMAP_FRAMES", "8", 1);
    fake_owner_init(&owner);
    for (key = 0; key < 8; key++) {
        fake_owner_take(&owner, key);
        owner.evict_fails[key] = true;
    }
    errno = 0;
    expect_hex(ask_kernel_for_frame(&owner.base, 8), 0,
               "frame when every eviction fails");
    expect_errno(errno, EIO, "frame when every eviction fails");
    for (key = 0; key < 8; key++)
        expect_at_least(owner.evict_calls[key], 1,
                        describe("evict calls for key %u", key));
    expect_size(kernel_frames_free(), 0, "free frames");
    fake_owner_release(&owner);
}

static void test_kernel_clock_hand_advances_evicting_each_frame_in_turn(void) {
    enum { FRAMES = 64 };
    fake_owner owner;
    uint32_t key;

    setenv("MMAP_FRAMES", "64", 1);
    fake_owner_init(&owner);
    for (key = 0; key < FRAMES; key++)
        fake_owner_take(&owner, key);
    for (key = FRAMES; key < 2 * FRAMES; key++)
        fake_owner_take(&owner, key);

    expect_size(owner.total_evict_calls, FRAMES, "evict calls");
    for (key = 0; key < 2 * FRAMES; key++)
        expect_size(owner.evict_calls[key], key < FRAMES ? 1 : 0,
                    describe("evictions of key %u (each old frame once, no "
                             "new one)",
                             key));
    /* A clock looks at about one frame per eviction, not at the pool. */
    expect_at_most(owner.total_referenced_calls, 2 * FRAMES,
                   "referenced calls for 64 evictions with nothing "
                   "referenced");
    fake_owner_release(&owner);
}

static void test_kernel_never_evicts_pinned_frames(void) {
    fake_owner owner;
    addr32 pinned[4], frame;
    uint32_t key;
    size_t i;

    setenv("MMAP_FRAMES", "8", 1);
    fake_owner_init(&owner);
    for (i = 0; i < 4; i++) {
        pinned[i] = ask_kernel_for_frame(NULL, 0);
        expect_true(pinned[i] != 0, "pinned frame");
    }
    for (key = 0; key < 4; key++)
        fake_owner_take(&owner, key);
    for (key = 4; key < 12; key++) {
        frame = fake_owner_take(&owner, key);
        for (i = 0; i < 4; i++)
            expect_true(
                frame != pinned[i],
                describe("frame for key %u is not a pinned frame", key));
    }
    expect_size(owner.total_evict_calls, 8, "evict calls");
    for (i = 0; i < 4; i++)
        return_frame_to_kernel(pinned[i]);
    fake_owner_release(&owner);
}

/* ------------------------------------------------------------------ */
/* MMAP_FRAMES, read once per process: each setting in a grandchild    */
/* ------------------------------------------------------------------ */

/* A setting of MMAP_FRAMES, the file to map with it, and what it gives. */
typedef struct {
    const char *setting;
    const char *path;
    size_t frames;
} pool_setting;

static void test_kernel_empty_mmap_frames_means_the_default_size(void) {
    mmu *m;

    setenv("MMAP_FRAMES", "", 1);
    expect_size(kernel_frames_total(), KERNEL_DEFAULT_FRAMES,
                "frames with MMAP_FRAMES=\"\" (the default)");
    m = mmu_create();
    expect_not_null(m, "mmu_create() with MMAP_FRAMES=\"\"");
    mmu_delete(m);
}

/* In a grandchild: the setting is refused by every call, then fixed. */
static void expect_setting_refused_until_fixed(const void *argument) {
    const pool_setting *setting = argument;
    mmap *map;
    mmu *m;

    setenv("MMAP_FRAMES", setting->setting, 1);
    errno = 0;
    expect_null(mmu_create(), "mmu_create()");
    expect_errno(errno, EINVAL, "mmu_create()");
    errno = 0;
    expect_null(mmap_create(setting->path), "mmap_create(copy of hello.txt)");
    expect_errno(errno, EINVAL, "mmap_create(copy of hello.txt)");
    errno = 0;
    expect_size(kernel_frames_total(), 0, "kernel_frames_total()");
    expect_errno(errno, EINVAL, "kernel_frames_total()");
    expect_size(kernel_frames_free(), 0, "kernel_frames_free()");

    /* A failed attempt leaves the pool to be set up by the next call. */
    setenv("MMAP_FRAMES", "64", 1);
    expect_size(kernel_frames_total(), 64,
                "frames once MMAP_FRAMES is set to \"64\" in the same process");
    m = mmu_create();
    expect_not_null(m, "mmu_create() once MMAP_FRAMES is \"64\"");
    mmu_delete(m);
    map = mmap_create(setting->path);
    expect_not_null(map, "mmap_create(copy of hello.txt) once MMAP_FRAMES is "
                         "\"64\"");
    munmap(map);
}

static void test_kernel_mmap_frames_that_is_not_a_whole_number_is_einval(void) {
    static const char *const settings[] = {"8k",  "-5", "12abc",
                                           " 12", "+8", "0x10"};
    char path[PATH_MAX];
    grandchild result;
    size_t i;

    copy_fixture("hello.txt", path);
    for (i = 0; i < sizeof settings / sizeof settings[0]; i++) {
        pool_setting setting = {settings[i], path, 0};

        run_in_grandchild(expect_setting_refused_until_fixed, &setting, false,
                          &result);
        expect_grandchild_passed(
            &result, describe("with MMAP_FRAMES=\"%s\"", settings[i]));
    }
}

/* In a grandchild: the pool has the size the setting gives. */
static void expect_pool_of_size(const void *argument) {
    const pool_setting *setting = argument;

    setenv("MMAP_FRAMES", setting->setting, 1);
    expect_size(kernel_frames_total(), setting->frames,
                "kernel_frames_total()");
    expect_size(kernel_frames_free(), setting->frames, "kernel_frames_free()");
}

/*
 * Few settings at the top: a pool of KERNEL_MAX_FRAMES is 4 GB of address
 * space, which valgrind's leak check scans at the grandchild's exit (about
 * 6 s each on the machine the suite was written on).
 */
static void test_kernel_mmap_frames_out_of_range_is_clamped(void) {
    static const pool_setting settings[] = {
        {"0", NULL, KERNEL_MIN_FRAMES},
        {"7", NULL, KERNEL_MIN_FRAMES},
        {"8", NULL, 8},
        {"1048576", NULL, KERNEL_MAX_FRAMES}, /* KERNEL_MAX_FRAMES + 1 */
        {"99999999999999999999999", NULL, KERNEL_MAX_FRAMES}, /* > 2^64 */
    };
    grandchild result;
    size_t i;

    expect_size(KERNEL_MIN_FRAMES, 8, "KERNEL_MIN_FRAMES");
    expect_size(KERNEL_MAX_FRAMES, 1048575, "KERNEL_MAX_FRAMES (2^20 - 1)");
    for (i = 0; i < sizeof settings / sizeof settings[0]; i++) {
        run_in_grandchild(expect_pool_of_size, &settings[i], false, &result);
        expect_grandchild_passed(
            &result, describe("with MMAP_FRAMES=\"%s\", expecting %zu frames",
                              settings[i].setting, settings[i].frames));
    }
}

/* ------------------------------------------------------------------ */
/* What the pool costs the host                                        */
/* ------------------------------------------------------------------ */

#define KIB_PER_MIB 1024

/* A pool of 4 GB, far more than any machine the suite runs on would lend. */
#define HUGE_POOL_FRAMES "1000000"

/* The most the peak resident set may grow while one small file is used. */
#define SMALL_USE_BOUND_KIB (64 * KIB_PER_MIB)

/* The peak resident set of this process so far, in KiB. */
static size_t peak_resident_kib(void) {
    struct rusage usage;

    if (getrusage(RUSAGE_SELF, &usage) != 0)
        setup_failed("getrusage");
    return (size_t)usage.ru_maxrss;
}

/*
 * In a grandchild, whose peak starts near its resident set at the fork:
 * the peak grows by what the pool and the mapping touch, and a pool the
 * host backed at set-up would grow it by 4 GB. The peak is taken before
 * as well, since ASan and valgrind start it high.
 */
static void map_and_read_a_small_file_in_a_huge_pool(const void *argument) {
    const char *path = argument;
    unsigned char *fixture, buffer[64];
    size_t size, before, after;
    mmap *map;

    fixture = load_fixture("hello.txt", &size);
    setenv("MMAP_FRAMES", HUGE_POOL_FRAMES, 1);
    before = peak_resident_kib();
    map = mmap_create(path);
    expect_not_null(map, "mmap_create(copy of hello.txt)");
    expect_size(kernel_frames_total(), 1000000,
                "frames with MMAP_FRAMES=" HUGE_POOL_FRAMES);
    expect_size(mmap_read(map, buffer, 0, sizeof buffer), size,
                "bytes read of hello.txt (all of it)");
    expect_bytes(buffer, fixture, size, "hello.txt as read");
    munmap(map);
    after = peak_resident_kib();
    expect_at_most(after - before, SMALL_USE_BOUND_KIB,
                   describe("growth of the peak resident set in KiB (from "
                            "%zu to %zu) for a pool of %s frames with one "
                            "%zu-byte file mapped and read",
                            before, after, HUGE_POOL_FRAMES, size));
    free(fixture);
}

static void test_kernel_pool_costs_host_memory_only_for_frames_in_use(void) {
    char path[PATH_MAX];
    grandchild result;

    copy_fixture("hello.txt", path);
    run_in_grandchild(map_and_read_a_small_file_in_a_huge_pool, path, false,
                      &result);
    expect_grandchild_passed(&result, "a 4 GB pool with one small file used");
}

/* ------------------------------------------------------------------ */
/* A pool the host cannot reserve                                      */
/* ------------------------------------------------------------------ */

#define ONE_GIB ((rlim_t)1 << 30)

/*
 * Limits this process's address space to its size now (statm's first
 * field, in pages) plus `extra` bytes: small allocations still succeed,
 * a 4 GB reservation cannot. The limit is relative, so it holds as well
 * under ASan, whose shadow makes the process terabytes large, and under
 * valgrind, whose own mappings count too; both run under it (checked).
 */
static void limit_address_space_to_current_plus(rlim_t extra) {
    unsigned long pages;
    struct rlimit limit;
    FILE *statm = fopen("/proc/self/statm", "r");

    if (!statm)
        setup_failed("fopen /proc/self/statm");
    if (fscanf(statm, "%lu", &pages) != 1)
        setup_failed("read the size from /proc/self/statm");
    fclose(statm);
    if (getrlimit(RLIMIT_AS, &limit) != 0)
        setup_failed("getrlimit RLIMIT_AS");
    limit.rlim_cur = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + extra;
    if (limit.rlim_max != RLIM_INFINITY && limit.rlim_cur > limit.rlim_max)
        limit.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_AS, &limit) != 0)
        setup_failed("setrlimit RLIMIT_AS");
}

/* In a grandchild: a pool of 4 GB in 1 GiB of room, then one of 64 frames. */
static void expect_enomem_from_mmu_create(const void *argument) {
    mmu *m;

    (void)argument;
    limit_address_space_to_current_plus(ONE_GIB);
    setenv("MMAP_FRAMES", HUGE_POOL_FRAMES, 1);
    errno = 0;
    expect_null(mmu_create(), "mmu_create() needing a 4 GB pool");
    expect_errno(errno, ENOMEM, "mmu_create() needing a 4 GB pool");
    errno = 0;
    expect_size(kernel_frames_total(), 0, "kernel_frames_total() of 4 GB");
    expect_errno(errno, ENOMEM, "kernel_frames_total() of 4 GB");

    /* The size was refused, not the process: a small pool still fits. */
    setenv("MMAP_FRAMES", "64", 1);
    m = mmu_create();
    expect_not_null(m, "mmu_create() with 64 frames under the same limit");
    mmu_delete(m);
}

static void expect_enomem_from_mmap_create(const void *argument) {
    const char *path = argument;
    mmap *map;

    limit_address_space_to_current_plus(ONE_GIB);
    setenv("MMAP_FRAMES", HUGE_POOL_FRAMES, 1);
    errno = 0;
    expect_null(mmap_create(path), "mmap_create() needing a 4 GB pool");
    expect_errno(errno, ENOMEM, "mmap_create() needing a 4 GB pool");

    setenv("MMAP_FRAMES", "64", 1);
    map = mmap_create(path);
    expect_not_null(map, "mmap_create() with 64 frames under the same limit");
    munmap(map);
}

static void
test_kernel_pool_the_host_cannot_reserve_is_enomem_from_the_call_that_needed_it(
    void) {
    char path[PATH_MAX];
    grandchild result;

    copy_fixture("hello.txt", path);
    run_in_grandchild(expect_enomem_from_mmu_create, NULL, false, &result);
    expect_grandchild_passed(&result, "mmu_create under RLIMIT_AS");
    run_in_grandchild(expect_enomem_from_mmap_create, path, false, &result);
    expect_grandchild_passed(&result, "mmap_create under RLIMIT_AS");
}

static void test_kernel_set_frames_before_first_use_replaces_mmap_frames(void) {
    setenv("MMAP_FRAMES", "64", 1);
    expect_int(kernel_set_frames(3), 0, "kernel_set_frames(3) before use");
    expect_size(kernel_frames_total(), 3, "frames after kernel_set_frames(3)");
    expect_size(kernel_frames_capacity(), 3, "the capacity it reserved");
}

static void test_kernel_set_frames_starts_an_empty_pool_again(void) {
    addr32 frames[4];
    size_t i;

    setenv("MMAP_FRAMES", "16", 1);
    for (i = 0; i < 4; i++)
        frames[i] = ask_kernel_for_frame(NULL, 0);
    errno = 0;
    expect_int(kernel_set_frames(4), -1, "kernel_set_frames with 4 in use");
    expect_errno(errno, EBUSY, "kernel_set_frames with frames in use");
    expect_size(kernel_frames_total(), 16, "frames after the refusal");
    for (i = 0; i < 4; i++)
        return_frame_to_kernel(frames[i]);
    expect_int(kernel_set_frames(4), 0, "kernel_set_frames(4) once all free");
    expect_size(kernel_frames_total(), 4, "frames after kernel_set_frames(4)");
    expect_size(kernel_frames_free(), 4, "free frames of the new pool");
    for (i = 0; i < 4; i++) {
        frames[i] = ask_kernel_for_frame(NULL, 0);
        expect_hex(frames[i], (addr32)(i + 1) << NUM_OFFSET_BITS,
                   describe("frame %zu of the new pool, handed out in order",
                            i));
    }
    errno = 0;
    expect_hex(ask_kernel_for_frame(NULL, 0), 0, "a fifth frame of four");
    expect_errno(errno, ENOMEM, "a fifth frame of four");
    for (i = 0; i < 4; i++)
        return_frame_to_kernel(frames[i]);
    errno = 0;
    expect_int(kernel_set_frames(17), -1, "kernel_set_frames past the capacity");
    expect_errno(errno, EINVAL, "kernel_set_frames(17) of a 16-frame capacity");
    errno = 0;
    expect_int(kernel_set_frames(0), -1, "kernel_set_frames(0)");
    expect_errno(errno, EINVAL, "kernel_set_frames(0)");
    expect_int(kernel_set_frames(16), 0, "kernel_set_frames back to 16");
    expect_size(kernel_frames_free(), 16, "free frames back at 16");
}

static const test_case kernel_tests[] = {
    TEST(kernel_pool_size_comes_from_mmap_frames),
    TEST(kernel_pool_defaults_to_4096_frames),
    TEST(kernel_pool_has_at_least_8_frames),
    TEST(kernel_frames_free_counts_frames_taken_and_returned),
    TEST(kernel_never_gives_physical_address_0),
    TEST(kernel_frames_have_distinct_non_overlapping_memory),
    TEST(kernel_address_from_system_pointer_inverts_the_mapping),
    TEST(kernel_all_frames_pinned_gives_enomem_until_one_returns),
    TEST(kernel_evicts_a_frame_through_its_owner_when_pool_is_empty),
    TEST(kernel_gives_referenced_frames_a_second_chance),
    TEST(kernel_skips_a_victim_whose_evict_fails),
    TEST(kernel_reports_owner_errno_when_no_frame_can_be_evicted),
    TEST(kernel_frame_after_a_refused_victim_leaves_errno_alone),
    TEST(kernel_clock_hand_advances_evicting_each_frame_in_turn),
    TEST(kernel_never_evicts_pinned_frames),
    TEST(kernel_empty_mmap_frames_means_the_default_size),
    TEST(kernel_mmap_frames_that_is_not_a_whole_number_is_einval),
    TEST(kernel_mmap_frames_out_of_range_is_clamped),
    TEST(kernel_pool_costs_host_memory_only_for_frames_in_use),
    TEST(kernel_set_frames_before_first_use_replaces_mmap_frames),
    TEST(kernel_set_frames_starts_an_empty_pool_again),
    TEST(
        kernel_pool_the_host_cannot_reserve_is_enomem_from_the_call_that_needed_it),
};

const test_suite kernel_suite = {"kernel", kernel_tests,
                                 sizeof kernel_tests / sizeof kernel_tests[0]};
