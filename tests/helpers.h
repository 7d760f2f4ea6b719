/*
 * tests/helpers.h: what the suites of mmap_tests share: the checks, the
 * test's directories and files, the grandchildren a test forks, the MMU
 * helpers, the trace log, the frame-pool helpers, and the shape of a test
 * and of a suite.
 *
 * A helper that only one suite uses lives in that suite's file, static.
 */
#ifndef TESTS_HELPERS_H
#define TESTS_HELPERS_H

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>

/* mmap.h shadows the POSIX mmap/munmap: <sys/mman.h> must stay out. */
#include "kernel.h"
#include "mmap.h"
#include "mmu.h"
#include "page_table.h"
#include "segments.h"
#include "tlb.h"
#include "trace.h"
#include "types.h"
#include "vm.h"

/* The longest failure message a test sends to the runner. */
#define MESSAGE_SIZE 2048

/* Where the layout of segments.h puts the MMAP segment. */
#define MMAP_REGION_START ((addr32)0x40000000)
#define MMAP_REGION_SIZE ((size_t)0x70000000) /* 1.75 GiB */

/* ------------------------------------------------------------------ */
/* Tests and suites                                                    */
/* ------------------------------------------------------------------ */

typedef struct {
    const char *name;
    void (*run)(void);
} test_case;

/* The tests of one module, in order; each suite file ends with its own. */
typedef struct {
    const char *name; /* the module, as named on the command line */
    const test_case *tests;
    size_t count;
} test_suite;

#define TEST(name)                                                             \
    { #name, test_##name }

extern const test_suite page_table_suite;
extern const test_suite tlb_suite;
extern const test_suite kernel_suite;
extern const test_suite segments_suite;
extern const test_suite mmu_suite;
extern const test_suite trace_suite;
extern const test_suite mmap_suite;
extern const test_suite vma_suite;
extern const test_suite vm_suite;
extern const test_suite page_cache_suite;
extern const test_suite fault_suite;
extern const test_suite examples_suite;
extern const test_suite demo_suite;
extern const test_suite vm_kernel_suite;
extern const test_suite vm_fork_kernel_suite;
extern const test_suite interop_suite;
extern const test_suite io_fault_suite;
extern const test_suite swap_suite;
extern const test_suite anon_suite;
extern const test_suite sbrk_suite;
extern const test_suite fork_suite;
extern const test_suite policy_suite;
extern const test_suite replay_suite;
extern const test_suite scenario_suite;
extern const test_suite play_suite;

/* ------------------------------------------------------------------ */
/* The harness: failing a check                                        */
/* ------------------------------------------------------------------ */

extern int message_fd;             /* the child's end of its pipe */
extern char fixture_dir[PATH_MAX]; /* test_files/, absolute */
extern char work_dir[PATH_MAX];    /* this test's temporary directory */

/*
 * Ends the test as failed: sends "file:line: message" to the parent and
 * exits the child at once.
 */
void fail(const char *file, int line, const char *format, ...)
    __attribute__((noreturn, format(printf, 3, 4)));

/* A formatted description for a check, valid until four more are made. */
const char *describe(const char *format, ...)
    __attribute__((format(printf, 1, 2)));

/* "EINVAL", "ENOENT", ... for the errno values the library sets. */
const char *errno_name(int error);

#define expect_true(condition, what)                                           \
    do {                                                                       \
        if (!(condition))                                                      \
            fail(__FILE__, __LINE__, "%s: expected %s, but it is false",       \
                 (what), #condition);                                          \
    } while (0)

#define expect_size(got, want, what)                                           \
    do {                                                                       \
        size_t got_ = (got), want_ = (want);                                   \
        if (got_ != want_)                                                     \
            fail(__FILE__, __LINE__, "%s: expected %zu, got %zu", (what),      \
                 want_, got_);                                                 \
    } while (0)

#define expect_at_least(got, minimum, what)                                    \
    do {                                                                       \
        size_t got_ = (got), minimum_ = (minimum);                             \
        if (got_ < minimum_)                                                   \
            fail(__FILE__, __LINE__, "%s: expected at least %zu, got %zu",     \
                 (what), minimum_, got_);                                      \
    } while (0)

#define expect_at_most(got, maximum, what)                                     \
    do {                                                                       \
        size_t got_ = (got), maximum_ = (maximum);                             \
        if (got_ > maximum_)                                                   \
            fail(__FILE__, __LINE__, "%s: expected at most %zu, got %zu",      \
                 (what), maximum_, got_);                                      \
    } while (0)

#define expect_int(got, want, what)                                            \
    do {                                                                       \
        long long got_ = (got), want_ = (want);                                \
        if (got_ != want_)                                                     \
            fail(__FILE__, __LINE__, "%s: expected %lld, got %lld", (what),    \
                 want_, got_);                                                 \
    } while (0)

#define expect_hex(got, want, what)                                            \
    do {                                                                       \
        uintmax_t got_ = (got), want_ = (want);                                \
        if (got_ != want_)                                                     \
            fail(__FILE__, __LINE__, "%s: expected 0x%jx, got 0x%jx", (what),  \
                 want_, got_);                                                 \
    } while (0)

#define expect_errno(got, want, what)                                          \
    do {                                                                       \
        int got_ = (got), want_ = (want);                                      \
        if (got_ != want_)                                                     \
            fail(__FILE__, __LINE__, "%s: expected errno %s, got %s", (what),  \
                 errno_name(want_), errno_name(got_));                         \
    } while (0)

#define expect_ptr(got, want, what)                                            \
    do {                                                                       \
        const void *got_ = (got), *want_ = (want);                             \
        if (got_ != want_)                                                     \
            fail(__FILE__, __LINE__, "%s: expected pointer %p, got %p",        \
                 (what), want_, got_);                                         \
    } while (0)

#define expect_null(got, what)                                                 \
    do {                                                                       \
        const void *got_ = (got);                                              \
        if (got_ != NULL)                                                      \
            fail(__FILE__, __LINE__, "%s: expected NULL, got %p", (what),      \
                 got_);                                                        \
    } while (0)

#define expect_not_null(got, what)                                             \
    do {                                                                       \
        int errno_ = errno;                                                    \
        if ((got) == NULL)                                                     \
            fail(__FILE__, __LINE__,                                           \
                 "%s: expected a pointer, got NULL (errno %s)", (what),        \
                 errno_name(errno_));                                          \
    } while (0)

void check_bytes(const char *file, int line, const void *got, const void *want,
                 size_t n, const char *what);
void check_all_bytes(const char *file, int line, const void *got,
                     unsigned char value, size_t n, const char *what);

#define expect_bytes(got, want, n, what)                                       \
    check_bytes(__FILE__, __LINE__, (got), (want), (n), (what))
#define expect_all_bytes(got, value, n, what)                                  \
    check_all_bytes(__FILE__, __LINE__, (got), (value), (n), (what))

/* A failure of the test's own setup (not of the library). */
#define setup_failed(what)                                                     \
    fail(__FILE__, __LINE__, "setup: %s: %s", (what), strerror(errno))

/* ------------------------------------------------------------------ */
/* Files in the test's temporary directory                             */
/* ------------------------------------------------------------------ */

/* Joins `directory` and `name` into `path` (PATH_MAX bytes). */
void join_path(char *path, const char *directory, const char *name);

/* The repository root, `root` (PATH_MAX bytes): the parent of test_files/. */
void repository_root(char *root);

/* `path` gets work_dir/NAME. */
void path_in_work_dir(const char *name, char *path);

/* Reads a whole file into a fresh buffer (free it); sets *size. */
unsigned char *load_file(const char *path, size_t *size);

/* Reads test_files/NAME into a fresh buffer (free it); sets *size. */
unsigned char *load_fixture(const char *name, size_t *size);

/* Writes `size` bytes as the new file work_dir/NAME; `path` gets its path. */
void write_new_file(const char *name, const void *bytes, size_t size,
                    char *path);

/* Copies test_files/NAME into the work directory; `path` gets the copy. */
void copy_fixture(const char *name, char *path);

/* A file of `size` zero bytes that takes no disk space. */
void make_sparse_file(const char *name, off_t size, char *path);

/* work_dir/NAME: `num_pages` pages of pattern `salt` (fill_pattern). */
void make_pattern_file(const char *name, size_t num_pages, unsigned salt,
                       char *path);

/* Someone else writes to the file, behind the mappings' back. */
void write_file_at(const char *path, off_t offset, const void *bytes, size_t n);

/* Reads bytes of the file as the disk has them now. */
void read_file_at(const char *path, off_t offset, void *bytes, size_t n);

size_t file_size(const char *path);

void check_file_contents(const char *file, int line, const char *path,
                      const void *want, size_t size, const char *what);

/*
 * The file at `path`, as the disk has it now, is the `size` bytes at
 * `want`; a failure names the caller's line.
 */
#define expect_file_contents(path, want, size, what)                              \
    check_file_contents(__FILE__, __LINE__, (path), (want), (size), (what))

/* The file holds `num_pages` pages of pattern `salt`, and nothing more. */
void expect_file_pattern(const char *path, size_t num_pages, unsigned salt);

/*
 * splitmix64: the next number of the sequence `*state` stands for, the
 * same from the same seed everywhere (the random suites' generator).
 */
uint64_t splitmix64(uint64_t *state);

/*
 * Reads `fd` to its end into `buffer` (`size` bytes, cut to fit and ended
 * with a NUL); what does not fit is read and dropped, so that the writer
 * never blocks on a full pipe. Returns whether it all fitted.
 */
bool read_to_end_of(int fd, char *buffer, size_t size);

/*
 * The test's process may not write a file past `bytes` (RLIMIT_FSIZE):
 * such a write fails with EFBIG (SIGXFSZ is ignored). `old_limit` gets
 * the limit as it was, for restore_file_size_limit.
 */
void limit_file_size(size_t bytes, struct rlimit *old_limit);
void restore_file_size_limit(const struct rlimit *old_limit);

/* ------------------------------------------------------------------ */
/* Grandchildren: processes a test forks for itself                    */
/* ------------------------------------------------------------------ */

/*
 * What a test needs a process of its own for: a frame pool set up afresh
 * (it is set up once per process), a limit on the process, or a call that
 * is meant to kill it.
 */
typedef struct {
    int status;                 /* as waitpid reported it */
    char failure[MESSAGE_SIZE]; /* its failed check's message; "" if none */
    char errors[MESSAGE_SIZE];  /* what it wrote to stderr, when captured */
} grandchild;

/*
 * Runs body(argument) in a forked grandchild and waits for it to end. A
 * check that fails in the body ends the grandchild, and its message comes
 * back in result->failure. A body that returns has the grandchild check,
 * as the runner does, that every frame is back in the pool, and exit 0;
 * the grandchild never returns into the runner. With `capture_stderr`,
 * what it writes to stderr comes back in result->errors (cut to fit).
 */
void run_in_grandchild(void (*body)(const void *argument), const void *argument,
                       bool capture_stderr, grandchild *result);

/* "exited with status 1", "killed by signal 6 (Aborted)", ... */
const char *describe_wait_status(int status);

void check_grandchild_passed(const char *file, int line,
                             const grandchild *result, const char *what);

/* Fails unless the grandchild's body passed: no failure, exit status 0. */
#define expect_grandchild_passed(result, what)                                 \
    check_grandchild_passed(__FILE__, __LINE__, (result), (what))

/* ------------------------------------------------------------------ */
/* Pages of a pattern                                                  */
/* ------------------------------------------------------------------ */

/* Page `page` of pattern `salt`: every page of a file differs. */
void fill_pattern(unsigned char *bytes, size_t page, unsigned salt);

/* ------------------------------------------------------------------ */
/* MMU helpers                                                         */
/* ------------------------------------------------------------------ */

mmu *new_mmu_with_process(size_t pid);

/* Grows the TESTING segment of `pid` to `num_pages` pages for a test. */
vm_segmentation *grow_testing_segment(mmu *m, size_t pid, uint32_t num_pages,
                                      uint32_t permissions, pager *backing);

size_t read_virtual(mmu *m, size_t pid, addr32 address, void *buffer, size_t n);

/* The page-table entry of `address`, or NULL when it has no page table. */
page_table_entry *entry_of(mmu *m, size_t pid, addr32 address);

bool page_present(mmu *m, size_t pid, addr32 address);
bool page_dirty(mmu *m, size_t pid, addr32 address);

/* ------------------------------------------------------------------ */
/* Mappings of vm.h                                                    */
/* ------------------------------------------------------------------ */

/* Opens `path` with open(2) `flags`; a failure is the setup's. */
int open_file(const char *path, int flags);

/* Copies test_files/NAME into the work directory, opens the copy with
 * `flags` (failing the test if it cannot), and sets `path` to it. */
int open_fixture_copy(const char *name, int flags, char *path);

/* test_files/NAME's bytes in a fresh buffer (free it). */
unsigned char *fixture_bytes(const char *name);

/* The protection most vm.h tests map with. */
#define RW (VM_PROT_READ | VM_PROT_WRITE)

addr32 check_mapped(const char *file, int line, mmu *m, size_t pid,
                    addr32 addr, size_t length, int prot, int flags, int fd,
                    off_t offset);

/* vm_mmap, which must succeed: returns the mapping's address. */
#define map_or_fail(m, pid, addr, length, prot, flags, fd, offset)             \
    check_mapped(__FILE__, __LINE__, (m), (pid), (addr), (length), (prot),     \
                 (flags), (fd), (offset))

size_t write_virtual(mmu *m, size_t pid, addr32 address, const void *buffer,
                     size_t n);

/* The frame the entry of `address` maps, or 0 when it is not present. */
addr32 frame_mapped_at(mmu *m, size_t pid, addr32 address);

/* Reads `n` bytes at `address` (at most a page): all come, and are `want`. */
#define expect_reads(m, pid, address, want, n, what)                           \
    do {                                                                       \
        unsigned char got_bytes_[PAGE_SIZE];                                   \
        size_t n_ = (n);                                                       \
        errno = 0;                                                             \
        expect_size(read_virtual((m), (pid), (address), got_bytes_, n_), n_,   \
                    describe("%s: bytes read (errno %s)", (what),              \
                             errno_name(errno)));                              \
        expect_bytes(got_bytes_, (want), n_, (what));                          \
    } while (0)

/* Writes `n` bytes at `address`: all of them go. */
#define expect_writes(m, pid, address, bytes, n, what)                         \
    do {                                                                       \
        size_t n_ = (n);                                                       \
        errno = 0;                                                             \
        expect_size(write_virtual((m), (pid), (address), (bytes), n_), n_,     \
                    describe("%s: bytes written (errno %s)", (what),           \
                             errno_name(errno)));                              \
    } while (0)

/*
 * `call` fails: it returns `failed` (VM_MAP_FAILED, -1, a short count...)
 * with errno `want_errno`.
 */
#define expect_failure(call, failed, want_errno, what)                         \
    do {                                                                       \
        long long got_, failed_ = (long long)(failed);                         \
        int errno_, want_errno_ = (want_errno);                                \
        errno = 0;                                                             \
        got_ = (long long)(call);                                              \
        errno_ = errno;                                                        \
        if (got_ != failed_ || errno_ != want_errno_)                          \
            fail(__FILE__, __LINE__,                                           \
                 "%s: expected %lld with errno %s, got %lld with errno %s",    \
                 (what), failed_, errno_name(want_errno_), got_,               \
                 errno_name(errno_));                                          \
    } while (0)

/* ------------------------------------------------------------------ */
/* The trace log: a trace hook that records every event                */
/* ------------------------------------------------------------------ */

#define TRACE_LOG_SIZE 256

/* One event as the hook saw it: a copy of its record, and its context. */
typedef struct {
    trace_record record;
    void *context;
} logged_event;

struct trace_log {
    logged_event records[TRACE_LOG_SIZE];
    size_t count;
    size_t per_event[NUM_TRACE_EVENTS];
};

extern struct trace_log trace_log;

/* The hook: trace_set_hook(record_event, context). */
void record_event(const trace_record *record, void *context);
void trace_log_clear(void);

/* How many logged pager reads brought in page `page` of a file. */
size_t times_page_was_read(size_t page);

/* ------------------------------------------------------------------ */
/* The frame pool                                                      */
/* ------------------------------------------------------------------ */

/*
 * Leaves 0xFF in every frame of the pool and returns them all, so that a
 * frame later handed out holds garbage unless someone clears it.
 */
void dirty_every_frame(void);

/* Fails unless every frame of the pool is free; `when` says when. */
void expect_all_frames_free(const char *when);

#endif
