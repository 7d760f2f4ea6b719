/*
 * tests/runner.c: main and the runner of mmap_tests, the test suite, read
 * as a specification of the simulated MMU (page walk, TLB, frame pool,
 * segments, faults) and the mmap library. The tests live in one file per
 * module (tests/page_table_tests.c, tlb_tests.c, kernel_tests.c,
 * segments_tests.c, mmu_tests.c, trace_tests.c, mmap_tests.c, vma_tests.c,
 * vm_tests.c, page_cache_tests.c, fault_tests.c), tests/examples_tests.c
 * runs the programs of examples/, tests/demo_tests.c what
 * programs/mmap_demo --sharing reports, and tests/vm_kernel_tests.c holds vm.h against the host
 * kernel's own mmap (tests/host_mappings.c makes the host's calls),
 * tests/vm_fork_kernel_tests.c holds vm_fork against the host's fork (its
 * host processes in tests/host_family.c),
 * tests/interop_tests.c runs nm, ar, cc and g++ on libmmap.a and its files,
 * tests/io_fault_tests.c makes the file I/O fail on purpose (io_fault.h),
 * tests/swap_tests.c specifies the swap store (swap.h) on its own,
 * tests/policy_tests.c the replacement policies (policy.h),
 * tests/replay_tests.c the policy lab's replay (replay.h),
 * tests/scenario_tests.c the playground's language (scenario.h) and
 * tests/play_tests.c its engine (play.h),
 * each file ending with its suite; tests/helpers.c holds what they share.
 *
 * Every test is a named function that sets up, acts and checks. Each runs
 * in its own forked child: it starts with a fresh frame pool (sized by
 * MMAP_FRAMES when the test sets it), and a failed check, a crash or a hang
 * (an alarm) fails that test alone. When the test's body returns, the
 * child checks that every frame is back in the pool; a frame still in use
 * fails the test. Tests work on copies of test_files/ in a temporary
 * directory that the parent creates before the child starts and removes
 * after it ends, however it ends. The parent never calls the library.
 *
 *   ./mmap_tests             runs every test, suite by suite, in order
 *   ./mmap_tests ARG...      runs those, in the order given: each ARG is a
 *                            test's name or a suite's (page_table, tlb,
 *                            kernel, segments, mmu, trace, mmap, vma,
 *                            vm, page_cache, fault, examples, demo,
 *                            vm_kernel, vm_fork_kernel, interop,
 *                            io_fault, swap, anon, sbrk, fork,
 *                            policy, replay, scenario, play: all
 *                            its tests); an unknown name: exit 2
 *   ./mmap_tests --list      prints the names of every test, one a line
 *
 * The last line of output is "N passed, M failed"; the exit status is 1
 * when any test failed.
 */
#include "helpers.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define TEST_TIMEOUT_SECONDS 60

/* Every suite, in the order a full run takes them. */
static const test_suite *const suites[] = {
    &page_table_suite, &tlb_suite,        &kernel_suite, &segments_suite,
    &mmu_suite,        &trace_suite,      &mmap_suite,   &vma_suite,
    &vm_suite,         &page_cache_suite, &fault_suite,  &examples_suite,
    &demo_suite,       &vm_kernel_suite,  &interop_suite, &io_fault_suite,
    &swap_suite,       &anon_suite,       &sbrk_suite,   &fork_suite,
    &vm_fork_kernel_suite, &policy_suite, &replay_suite,  &scenario_suite,
    &play_suite,
};

#define NUM_SUITES (sizeof suites / sizeof suites[0])

/* Removes `path` and everything under it (the parent, after each test). */
static void remove_tree(const char *path) {
    struct stat info;
    DIR *directory;
    struct dirent *entry;
    char child[PATH_MAX];

    if (lstat(path, &info) != 0)
        return;
    if (S_ISDIR(info.st_mode)) {
        directory = opendir(path);
        if (directory) {
            while ((entry = readdir(directory)) != NULL) {
                if (strcmp(entry->d_name, ".") == 0 ||
                    strcmp(entry->d_name, "..") == 0)
                    continue;
                snprintf(child, sizeof child, "%s/%s", path, entry->d_name);
                remove_tree(child);
            }
            closedir(directory);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

static bool make_work_dir(void) {
    const char *base = getenv("TMPDIR");

    if (!base || !base[0])
        base = "/tmp";
    snprintf(work_dir, sizeof work_dir, "%s/mmap_tests.XXXXXX", base);
    return mkdtemp(work_dir) != NULL;
}

/*
 * In the child, once the test's body has returned: every frame it took is
 * back in the pool, so no test has to ask. (A pool that could not be set
 * up has no frames at all, and passes.)
 */
static void expect_every_frame_returned(void) {
    size_t total = kernel_frames_total(), free_frames = kernel_frames_free();

    if (free_frames != total)
        fail(__FILE__, __LINE__,
             "%zu of %zu frames still in use after the test",
             total - free_frames, total);
}

/* Runs one test in a child; prints its line; returns whether it passed. */
static bool run_test(const test_case *test) {
    char message[MESSAGE_SIZE];
    size_t length = 0;
    ssize_t got;
    int pipe_fds[2], status;
    pid_t child;

    if (!make_work_dir()) {
        printf("FAIL %s: cannot make a temporary directory: %s\n", test->name,
               strerror(errno));
        return false;
    }
    if (pipe(pipe_fds) != 0) {
        printf("FAIL %s: pipe: %s\n", test->name, strerror(errno));
        remove_tree(work_dir);
        return false;
    }
    fflush(stdout);
    fflush(stderr);
    child = fork();
    if (child < 0) {
        printf("FAIL %s: fork: %s\n", test->name, strerror(errno));
        close(pipe_fds[0]);
        close(pipe_fds[1]);
        remove_tree(work_dir);
        return false;
    }
    if (child == 0) {
        close(pipe_fds[0]);
        message_fd = pipe_fds[1];
        unsetenv("MMAP_FRAMES"); /* a test that wants a size sets it */
        alarm(TEST_TIMEOUT_SECONDS);
        test->run();
        expect_every_frame_returned();
        exit(0);
    }

    close(pipe_fds[1]);
    while (length < sizeof message - 1) {
        got = read(pipe_fds[0], message + length, sizeof message - 1 - length);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        length += (size_t)got;
    }
    message[length] = '\0';
    close(pipe_fds[0]);
    while (waitpid(child, &status, 0) < 0 && errno == EINTR)
        ;
    remove_tree(work_dir);

    if (length > 0) {
        printf("FAIL %s: %s\n", test->name, message);
    } else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) {
        printf("FAIL %s: timed out (no result within its alarm)\n", test->name);
    } else if (WIFSIGNALED(status)) {
        printf("FAIL %s: crashed with signal %d (%s)\n", test->name,
               WTERMSIG(status), strsignal(WTERMSIG(status)));
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        printf("FAIL %s: child exited with status %d (a sanitizer or "
               "valgrind report above says why)\n",
               test->name, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    } else {
        printf("PASS %s\n", test->name);
        fflush(stdout);
        return true;
    }
    fflush(stdout);
    return false;
}

static const test_case *find_test(const char *name) {
    size_t s, i;

    for (s = 0; s < NUM_SUITES; s++)
        for (i = 0; i < suites[s]->count; i++)
            if (strcmp(suites[s]->tests[i].name, name) == 0)
                return &suites[s]->tests[i];
    return NULL;
}

static const test_suite *find_suite(const char *name) {
    size_t s;

    for (s = 0; s < NUM_SUITES; s++)
        if (strcmp(suites[s]->name, name) == 0)
            return suites[s];
    return NULL;
}

/* A name on the command line must mean one thing: a test or a suite. */
static bool test_named_as_a_suite(void) {
    size_t s, i;
    bool clash = false;

    for (s = 0; s < NUM_SUITES; s++)
        for (i = 0; i < suites[s]->count; i++)
            if (find_suite(suites[s]->tests[i].name)) {
                fprintf(stderr, "mmap_tests: test %s has a suite's name\n",
                        suites[s]->tests[i].name);
                clash = true;
            }
    return clash;
}

/*
 * Finds test_files/ in the working directory, beside the binary, or one
 * level above it (asan/mmap_tests).
 */
static bool find_fixture_dir(void) {
    char exe[PATH_MAX], candidate[PATH_MAX + 32];
    const char *bases[3] = {".", NULL, NULL};
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *slash;
    int i;

    if (n > 0) {
        exe[n] = '\0';
        slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            bases[1] = exe;
            bases[2] = describe("%s/..", exe);
        }
    }
    for (i = 0; i < 3; i++) {
        if (!bases[i])
            continue;
        snprintf(candidate, sizeof candidate, "%s/test_files/hello.txt",
                 bases[i]);
        if (access(candidate, R_OK) != 0)
            continue;
        snprintf(candidate, sizeof candidate, "%s/test_files", bases[i]);
        return realpath(candidate, fixture_dir) != NULL;
    }
    return false;
}

/* Runs every test of `suite`, counting the results. */
static void run_suite(const test_suite *suite, size_t *passed, size_t *failed) {
    size_t i;

    for (i = 0; i < suite->count; i++) {
        if (run_test(&suite->tests[i]))
            (*passed)++;
        else
            (*failed)++;
    }
}

int main(int argc, char **argv) {
    size_t passed = 0, failed = 0, s, i;
    const test_case *test;
    int arg;

    if (test_named_as_a_suite())
        return 2;
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (s = 0; s < NUM_SUITES; s++)
            for (i = 0; i < suites[s]->count; i++)
                printf("%s\n", suites[s]->tests[i].name);
        return 0;
    }
    for (arg = 1; arg < argc; arg++) {
        if (!find_test(argv[arg]) && !find_suite(argv[arg])) {
            fprintf(stderr, "mmap_tests: unknown test or suite: %s\n",
                    argv[arg]);
            return 2;
        }
    }
    if (!find_fixture_dir()) {
        fprintf(stderr, "mmap_tests: cannot find test_files/ in the working "
                        "directory or beside the binary\n");
        return 2;
    }

    if (argc > 1) {
        for (arg = 1; arg < argc; arg++) {
            test = find_test(argv[arg]);
            if (!test)
                run_suite(find_suite(argv[arg]), &passed, &failed);
            else if (run_test(test))
                passed++;
            else
                failed++;
        }
    } else {
        for (s = 0; s < NUM_SUITES; s++)
            run_suite(suites[s], &passed, &failed);
    }
    printf("%zu passed, %zu failed\n", passed, failed);
    return failed ? 1 : 0;
}
