/*
 * tests/policy_tests.c: the replacement policies (policy.h) in the frame
 * pool: choosing one (MMAP_POLICY, kernel_set_policy) and refusing what
 * names none, each queue policy's choice against an owner of its own, and
 * the eviction tests of the other suites run again under each policy.
 */
#include "helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define KEYS 16
#define OUTPUT_SIZE 65536

/* An owner of frames that records what the pool asks of it. */
typedef struct {
    frame_owner base;
    addr32 frame[KEYS];
    bool busy[KEYS], evict_fails[KEYS];
    size_t referenced_calls;
    uint32_t evicted[KEYS]; /* keys in the order they went */
    size_t evictions;
} test_owner;

static test_owner *owner_of(frame_owner *base) {
    return (test_owner *)base;
}

static bool owner_referenced(frame_owner *base, uint32_t key) {
    (void)key;
    owner_of(base)->referenced_calls++;
    return true;
}

static int owner_evict(frame_owner *base, uint32_t key) {
    test_owner *this = owner_of(base);
    if (this->evict_fails[key]) {
        errno = EIO;
        return -1;
    }
    this->frame[key] = 0;
    this->evicted[this->evictions++] = key;
    return 0;
}

static bool owner_busy(frame_owner *base, uint32_t key) {
    return owner_of(base)->busy[key];
}

static const frame_owner_ops test_owner_ops = {.referenced = owner_referenced,
                                               .evict = owner_evict,
                                               .busy = owner_busy};

/* A pool of 8 frames under `policy`, each frame given to keys 0 .. 7. */
static void fill_pool(test_owner *owner, kernel_policy policy) {
    memset(owner, 0, sizeof *owner);
    owner->base.ops = &test_owner_ops;
    expect_size(kernel_set_frames(8), 0, "kernel_set_frames(8)");
    expect_size(kernel_set_policy(policy), 0, "kernel_set_policy");
    for (uint32_t key = 0; key < 8; key++) {
        owner->frame[key] = ask_kernel_for_frame(&owner->base, key);
        expect_true(owner->frame[key] != 0, describe("frame for key %u", key));
    }
}

static void take(test_owner *owner, uint32_t key) {
    owner->frame[key] = ask_kernel_for_frame(&owner->base, key);
    expect_true(owner->frame[key] != 0, describe("frame for key %u", key));
}

static void release_all(test_owner *owner) {
    for (uint32_t key = 0; key < KEYS; key++)
        if (owner->frame[key])
            return_frame_to_kernel(owner->frame[key]);
}

static void test_policy_mmap_policy_names_the_pools_policy(void) {
    setenv("MMAP_POLICY", "lru", 1);
    expect_size((size_t)kernel_current_policy(), KERNEL_POLICY_LRU,
                "the policy MMAP_POLICY=lru selects");
    mmu *m = mmu_create();
    expect_true(m != NULL, "mmu_create under lru");
    expect_true(kernel_notes_accesses, "lru has the MMU note each access");
    mmu_delete(m);
}

static void test_policy_unknown_mmap_policy_is_einval_for_every_call_needing_the_pool(void) {
    static const char *const wrong[] = {"LRU", "lru ", "second-chance", "opt"};
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
        setenv("MMAP_POLICY", wrong[i], 1);
        errno = 0;
        expect_true(mmu_create() == NULL,
                    describe("mmu_create with MMAP_POLICY=\"%s\"", wrong[i]));
        expect_errno(errno, EINVAL, describe("MMAP_POLICY=\"%s\"", wrong[i]));
        errno = 0;
        expect_hex(ask_kernel_for_frame(NULL, 0), 0, "a frame");
        expect_errno(errno, EINVAL, "ask_kernel_for_frame");
    }
    setenv("MMAP_POLICY", "", 1);
    expect_true(kernel_frames_total() > 0, "the pool with MMAP_POLICY empty");
    expect_size((size_t)kernel_current_policy(), KERNEL_POLICY_CLOCK,
                "the policy when MMAP_POLICY is empty");
}

static void test_policy_set_before_first_use_replaces_mmap_policy(void) {
    setenv("MMAP_POLICY", "bogus", 1);
    expect_size(kernel_set_policy(KERNEL_POLICY_NRU), 0, "kernel_set_policy(nru)");
    mmu *m = mmu_create();
    expect_true(m != NULL, "mmu_create after kernel_set_policy");
    expect_size((size_t)kernel_current_policy(), KERNEL_POLICY_NRU, "policy");
    mmu_delete(m);
}

static void test_policy_set_needs_every_frame_free_or_pinned_and_opt_a_future(void) {
    test_owner owner = {.base.ops = &test_owner_ops};
    addr32 owned = ask_kernel_for_frame(&owner.base, 0);
    addr32 pinned = ask_kernel_for_frame(NULL, 0);
    errno = 0;
    expect_true(kernel_set_policy(KERNEL_POLICY_FIFO) == -1,
                "kernel_set_policy with a frame that has an owner");
    expect_errno(errno, EBUSY, "kernel_set_policy with a frame that has an owner");
    return_frame_to_kernel(owned);
    expect_size(kernel_set_policy(KERNEL_POLICY_FIFO), 0,
                "with every frame free or pinned");
    return_frame_to_kernel(pinned);
    expect_size((size_t)kernel_current_policy(), KERNEL_POLICY_FIFO, "policy");
    errno = 0;
    expect_true(kernel_set_policy(KERNEL_POLICY_OPT) == -1, "opt, no future");
    expect_errno(errno, EINVAL, "opt outside a replay");
    expect_true(kernel_set_policy(KERNEL_POLICY_COUNT) == -1, "no such policy");
    expect_true(kernel_policy_from_name("belady") == -1, "an unknown name");
    expect_size((size_t)kernel_policy_from_name("random"), KERNEL_POLICY_RANDOM,
                "\"random\"");
}

static void test_policy_random_seed_that_is_not_a_whole_number_is_einval(void) {
    setenv("MMAP_POLICY", "random", 1);
    setenv("MMAP_POLICY_SEED", "0x10", 1);
    errno = 0;
    expect_true(mmu_create() == NULL, "mmu_create with MMAP_POLICY_SEED=0x10");
    expect_errno(errno, EINVAL, "MMAP_POLICY_SEED=0x10");
}

/* fifo never asks whether a page was used: the oldest goes regardless. */
static void test_policy_fifo_takes_frames_in_the_order_they_were_loaded(void) {
    test_owner owner;
    fill_pool(&owner, KERNEL_POLICY_FIFO);
    take(&owner, 8);
    take(&owner, 9);
    expect_size(owner.evictions, 2, "evictions");
    expect_size(owner.evicted[0], 0, "first victim (loaded first)");
    expect_size(owner.evicted[1], 1, "second victim");
    expect_size(owner.referenced_calls, 0, "referenced calls under fifo");
    release_all(&owner);
}

static void test_policy_lru_takes_the_frame_accessed_longest_ago(void) {
    test_owner owner;
    fill_pool(&owner, KERNEL_POLICY_LRU);
    kernel_note_access(owner.frame[0]);
    kernel_note_access(owner.frame[2]);
    kernel_note_access(owner.frame[1]);
    take(&owner, 8); /* 3 was loaded after 2 and never used since */
    take(&owner, 9);
    expect_size(owner.evicted[0], 3, "first victim");
    expect_size(owner.evicted[1], 4, "second victim");
    release_all(&owner);
}

/* A busy frame is passed over; a refused one goes to the back. */
static void test_policy_fifo_passes_over_busy_and_refusing_frames(void) {
    test_owner owner;
    fill_pool(&owner, KERNEL_POLICY_FIFO);
    owner.busy[0] = true;
    owner.evict_fails[1] = true;
    take(&owner, 8);
    expect_size(owner.evicted[0], 2, "victim past busy 0 and refusing 1");
    owner.busy[0] = false;
    owner.evict_fails[1] = false;
    take(&owner, 9);
    take(&owner, 10);
    expect_size(owner.evicted[1], 0, "next victim: 0, no longer busy");
    expect_size(owner.evicted[2], 3, "then 3: refused 1 went to the back");
    release_all(&owner);
}

/*
 * The tests of the pool's other users that evict, all but those that
 * specify the clock itself: under every policy, pages must survive
 * eviction, dirty ones be written back, and every frame come back.
 */
static const test_suite *const eviction_suites[] = {
    &kernel_suite, &mmu_suite,   &mmap_suite,      &vm_suite,
    &page_cache_suite, &fault_suite, &io_fault_suite, &anon_suite,
    &sbrk_suite,   &fork_suite,  &vm_kernel_suite, &vm_fork_kernel_suite,
};

static const char *const clock_only[] = {
    "kernel_gives_referenced_frames_a_second_chance",
    "kernel_skips_a_victim_whose_evict_fails",
    "kernel_clock_hand_advances_evicting_each_frame_in_turn",
};

/* The names of the tests of eviction_suites, less clock_only, into argv. */
static size_t eviction_tests(const char **argv, size_t room) {
    size_t count = 0;
    for (size_t s = 0; s < sizeof eviction_suites / sizeof *eviction_suites; s++) {
        const test_suite *suite = eviction_suites[s];
        for (size_t t = 0; t < suite->count; t++) {
            bool skip = false;
            for (size_t c = 0; c < sizeof clock_only / sizeof *clock_only; c++)
                skip |= strcmp(suite->tests[t].name, clock_only[c]) == 0;
            if (!skip && count + 1 < room)
                argv[count++] = suite->tests[t].name;
        }
    }
    argv[count] = NULL;
    return count;
}

/* Runs this test binary on the eviction tests with MMAP_POLICY=`policy`. */
static void run_eviction_tests_under(const char *policy) {
    static char output[OUTPUT_SIZE];
    static const char *argv[1024];
    char self[PATH_MAX];
    int fds[2], status;

    /* Read, not exec'd, so that under valgrind it names this program. */
    ssize_t length = readlink("/proc/self/exe", self, sizeof self - 1);
    if (length <= 0)
        fail(__FILE__, __LINE__, "readlink /proc/self/exe: %s", strerror(errno));
    self[length] = '\0';
    argv[0] = self;
    size_t count = eviction_tests(argv + 1, 1023);
    if (pipe(fds) != 0)
        fail(__FILE__, __LINE__, "pipe: %s", strerror(errno));
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        setenv("MMAP_POLICY", policy, 1);
        execv(self, (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    read_to_end_of(fds[0], output, sizeof output);
    close(fds[0]);
    waitpid(child, &status, 0);
    char want[64];
    snprintf(want, sizeof want, "%zu passed, 0 failed", count);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !strstr(output, want)) {
        const char *first_failure = strstr(output, "FAIL");
        fail(__FILE__, __LINE__,
             "the eviction tests under MMAP_POLICY=%s: expected \"%s\", but "
             "the run %s; its first failure:\n%.1500s",
             policy, want, describe_wait_status(status),
             first_failure ? first_failure : output);
    }
}

static void test_policy_fifo_passes_the_eviction_tests(void) {
    run_eviction_tests_under("fifo");
}

static void test_policy_lru_passes_the_eviction_tests(void) {
    run_eviction_tests_under("lru");
}

static void test_policy_random_passes_the_eviction_tests(void) {
    run_eviction_tests_under("random");
}

static void test_policy_nru_passes_the_eviction_tests(void) {
    run_eviction_tests_under("nru");
}

static const test_case policy_tests[] = {
    TEST(policy_mmap_policy_names_the_pools_policy),
    TEST(policy_unknown_mmap_policy_is_einval_for_every_call_needing_the_pool),
    TEST(policy_set_before_first_use_replaces_mmap_policy),
    TEST(policy_set_needs_every_frame_free_or_pinned_and_opt_a_future),
    TEST(policy_random_seed_that_is_not_a_whole_number_is_einval),
    TEST(policy_fifo_takes_frames_in_the_order_they_were_loaded),
    TEST(policy_lru_takes_the_frame_accessed_longest_ago),
    TEST(policy_fifo_passes_over_busy_and_refusing_frames),
    TEST(policy_fifo_passes_the_eviction_tests),
    TEST(policy_lru_passes_the_eviction_tests),
    TEST(policy_random_passes_the_eviction_tests),
    TEST(policy_nru_passes_the_eviction_tests),
};

const test_suite policy_suite = {"policy", policy_tests,
                                 sizeof policy_tests / sizeof policy_tests[0]};
