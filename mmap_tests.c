/*
 * mmap_tests.c: the test suite, read as a specification of the simulated
 * MMU (page walk, TLB, frame pool, segments, faults) and the mmap library.
 *
 * Every test is a named function that sets up, acts and checks. Each runs
 * in its own forked child: it starts with a fresh frame pool (sized by
 * MMAP_FRAMES when the test sets it), and a failed check, a crash or a hang
 * (an alarm) fails that test alone. Tests work on copies of test_files/ in
 * a temporary directory that the parent creates before the child starts and
 * removes after it ends, however it ends. The parent never calls the
 * library.
 *
 *   ./mmap_tests             runs every test, in order
 *   ./mmap_tests NAME...     runs only those (an unknown name: exit 2)
 *   ./mmap_tests --list      prints the names
 *
 * The last line of output is "N passed, M failed"; the exit status is 1
 * when any test failed.
 */
#define _GNU_SOURCE /* setgroups, prctl */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

/* mmap.h shadows the POSIX mmap/munmap: <sys/mman.h> must stay out. */
#include "kernel.h"
#include "mmap.h"
#include "mmu.h"
#include "page_table.h"
#include "segments.h"
#include "tlb.h"
#include "trace.h"
#include "types.h"

#define TEST_TIMEOUT_SECONDS 60
#define MESSAGE_SIZE 2048

/* Where the layout of segments.h puts things. */
#define MMAP_REGION_START ((addr32)0x40000000)
#define MMAP_REGION_SIZE ((size_t)0x70000000) /* 1.75 GiB */
#define STACK_TOP ((addr32)0xC0000000)
#define HEAP_START ((addr32)0x10000000)
#define TEXT_START ((addr32)0x08000000)

/* The unprivileged ids a test running as root drops to (nobody/nogroup). */
#define UNPRIVILEGED_ID 65534

/* ------------------------------------------------------------------ */
/* The harness: failing a check                                        */
/* ------------------------------------------------------------------ */

static int message_fd = -1;        /* the child's end of its pipe */
static char fixture_dir[PATH_MAX]; /* test_files/, absolute */
static char work_dir[PATH_MAX];    /* this test's temporary directory */

/*
 * Ends the test as failed: sends "file:line: message" to the parent and
 * exits the child at once.
 */
static void fail(const char *file, int line, const char *format, ...)
    __attribute__((noreturn, format(printf, 3, 4)));

static void fail(const char *file, int line, const char *format, ...) {
    char message[MESSAGE_SIZE];
    int length;
    va_list args;

    length = snprintf(message, sizeof message, "%s:%d: ", file, line);
    va_start(args, format);
    vsnprintf(message + length, sizeof message - (size_t)length, format, args);
    va_end(args);
    if (message_fd >= 0) {
        ssize_t ignored = write(message_fd, message, strlen(message));
        (void)ignored;
    } else {
        fprintf(stderr, "%s\n", message);
    }
    _exit(1);
}

/* A formatted description for a check, valid until four more are made. */
static const char *describe(const char *format, ...)
    __attribute__((format(printf, 1, 2)));

static const char *describe(const char *format, ...) {
    static char buffers[4][256];
    static unsigned next;
    char *buffer = buffers[next++ % 4];
    va_list args;

    va_start(args, format);
    vsnprintf(buffer, sizeof buffers[0], format, args);
    va_end(args);
    return buffer;
}

static const char *errno_name(int error) {
    switch (error) {
    case 0: return "0 (none)";
    case EINVAL: return "EINVAL";
    case ENOENT: return "ENOENT";
    case EISDIR: return "EISDIR";
    case ENODEV: return "ENODEV";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case EFAULT: return "EFAULT";
    case ENOMEM: return "ENOMEM";
    case EEXIST: return "EEXIST";
    case EIO: return "EIO";
    case ENOSPC: return "ENOSPC";
    case EFBIG: return "EFBIG";
    case EOVERFLOW: return "EOVERFLOW";
    default: return strerror(error);
    }
}

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

static void check_bytes(const char *file, int line, const void *got,
                        const void *want, size_t n, const char *what) {
    const unsigned char *g = got, *w = want;
    size_t i;

    for (i = 0; i < n; i++)
        if (g[i] != w[i])
            fail(file, line,
                 "%s: bytes differ at offset %zu of %zu: expected 0x%02x, "
                 "got 0x%02x",
                 what, i, n, w[i], g[i]);
}

static void check_all_bytes(const char *file, int line, const void *got,
                            unsigned char value, size_t n, const char *what) {
    const unsigned char *g = got;
    size_t i;

    for (i = 0; i < n; i++)
        if (g[i] != value)
            fail(file, line, "%s: byte %zu of %zu: expected 0x%02x, got 0x%02x",
                 what, i, n, value, g[i]);
}

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
static void join_path(char *path, const char *directory, const char *name) {
    int length = snprintf(path, PATH_MAX, "%s/%s", directory, name);

    if (length < 0 || length >= PATH_MAX)
        fail(__FILE__, __LINE__, "setup: path too long: %s/%s", directory,
             name);
}

static void path_in_work_dir(const char *name, char *path) {
    join_path(path, work_dir, name);
}

/* Reads a whole file into a fresh buffer (free it); sets *size. */
static unsigned char *load_file(const char *path, size_t *size) {
    struct stat info;
    unsigned char *bytes;
    FILE *file;

    if (stat(path, &info) != 0)
        setup_failed(describe("stat %s", path));
    bytes = malloc((size_t)info.st_size + 1);
    if (!bytes)
        setup_failed("malloc");
    file = fopen(path, "rb");
    if (!file)
        setup_failed(describe("fopen %s", path));
    if (fread(bytes, 1, (size_t)info.st_size, file) != (size_t)info.st_size)
        setup_failed(describe("fread %s", path));
    fclose(file);
    *size = (size_t)info.st_size;
    return bytes;
}

static unsigned char *load_fixture(const char *name, size_t *size) {
    char path[PATH_MAX];

    join_path(path, fixture_dir, name);
    return load_file(path, size);
}

static void write_new_file(const char *name, const void *bytes, size_t size,
                           char *path) {
    FILE *file;

    path_in_work_dir(name, path);
    file = fopen(path, "wb");
    if (!file)
        setup_failed(describe("fopen %s", path));
    if (size && fwrite(bytes, 1, size, file) != size)
        setup_failed(describe("fwrite %s", path));
    if (fclose(file) != 0)
        setup_failed(describe("fclose %s", path));
}

/* Copies test_files/NAME into the work directory; `path` gets the copy. */
static void copy_fixture(const char *name, char *path) {
    size_t size;
    unsigned char *bytes = load_fixture(name, &size);

    write_new_file(name, bytes, size, path);
    free(bytes);
}

/* A file of `size` zero bytes that takes no disk space. */
static void make_sparse_file(const char *name, off_t size, char *path) {
    int fd;

    path_in_work_dir(name, path);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        setup_failed(describe("open %s", path));
    if (ftruncate(fd, size) != 0)
        setup_failed(describe("ftruncate %s", path));
    close(fd);
}

/* Page `page` of pattern `salt`: every page of a file differs. */
static void fill_pattern(unsigned char *bytes, size_t page, unsigned salt) {
    uint32_t tag = (uint32_t)page;
    size_t i;

    for (i = 0; i < PAGE_SIZE; i++)
        bytes[i] = (unsigned char)(page * 37 + i * 13 + salt);
    memcpy(bytes, &tag, sizeof tag);
}

/* Byte `i` of page `page` of pattern `salt`. */
static unsigned char want_pattern_byte(size_t page, unsigned salt, size_t i) {
    unsigned char bytes[PAGE_SIZE];

    fill_pattern(bytes, page, salt);
    return bytes[i];
}

static void make_pattern_file(const char *name, size_t num_pages, unsigned salt,
                              char *path) {
    unsigned char page_bytes[PAGE_SIZE];
    FILE *file;
    size_t page;

    path_in_work_dir(name, path);
    file = fopen(path, "wb");
    if (!file)
        setup_failed(describe("fopen %s", path));
    for (page = 0; page < num_pages; page++) {
        fill_pattern(page_bytes, page, salt);
        if (fwrite(page_bytes, 1, PAGE_SIZE, file) != PAGE_SIZE)
            setup_failed(describe("fwrite %s", path));
    }
    if (fclose(file) != 0)
        setup_failed(describe("fclose %s", path));
}

/* Someone else writes to the file, behind the mapping's back. */
static void write_file_at(const char *path, off_t offset, const void *bytes,
                          size_t n) {
    int fd = open(path, O_WRONLY);

    if (fd < 0)
        setup_failed(describe("open %s", path));
    if (pwrite(fd, bytes, n, offset) != (ssize_t)n)
        setup_failed(describe("pwrite %s", path));
    close(fd);
}

/* Reads bytes of the file as the disk has them now. */
static void read_file_at(const char *path, off_t offset, void *bytes,
                         size_t n) {
    int fd = open(path, O_RDONLY);

    if (fd < 0)
        setup_failed(describe("open %s", path));
    if (pread(fd, bytes, n, offset) != (ssize_t)n)
        setup_failed(describe("pread %s", path));
    close(fd);
}

static size_t file_size(const char *path) {
    struct stat info;

    if (stat(path, &info) != 0)
        setup_failed(describe("stat %s", path));
    return (size_t)info.st_size;
}

static void expect_file_pattern(const char *path, size_t num_pages,
                                unsigned salt) {
    unsigned char want[PAGE_SIZE], got[PAGE_SIZE];
    size_t page;

    expect_size(file_size(path), num_pages * PAGE_SIZE, "file size");
    for (page = 0; page < num_pages; page++) {
        read_file_at(path, (off_t)(page * PAGE_SIZE), got, PAGE_SIZE);
        fill_pattern(want, page, salt);
        expect_bytes(got, want, PAGE_SIZE,
                     describe("page %zu of the file on disk", page));
    }
}

/*
 * As root, file permissions stop nothing; the read-only and unreadable
 * cases need an unprivileged user. The child is its own process, so it
 * drops to nobody for the rest of the test. Its files stay readable to
 * nobody (the directory is made 0755); the parent, still root, removes them.
 */
static void drop_root_privileges(void) {
    if (geteuid() != 0)
        return;
    if (chmod(work_dir, 0755) != 0)
        setup_failed("chmod the work directory 0755");
    if (setgroups(0, NULL) != 0 || setgid(UNPRIVILEGED_ID) != 0 ||
        setuid(UNPRIVILEGED_ID) != 0)
        setup_failed("dropping root privileges to uid 65534");
#ifdef __linux__
    /* A change of uid makes us undumpable; LeakSanitizer must attach. */
    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
#endif
    if (geteuid() == 0)
        fail(__FILE__, __LINE__, "setup: still root after setuid(65534)");
}

/* ------------------------------------------------------------------ */
/* MMU helpers                                                         */
/* ------------------------------------------------------------------ */

static mmu *new_mmu_with_process(size_t pid) {
    mmu *m = mmu_create();

    expect_not_null(m, "mmu_create()");
    expect_int(mmu_add_process(m, pid), 0,
               describe("mmu_add_process(m, %zu)", pid));
    return m;
}

/* Grows the TESTING segment of `pid` to `num_pages` pages for a test. */
static vm_segmentation *grow_testing_segment(mmu *m, size_t pid,
                                             uint32_t num_pages,
                                             uint32_t permissions,
                                             pager *backing) {
    vm_segmentation *segment = &m->segmentations[pid]->segments[TESTING];

    segment->permissions = permissions;
    segment->backing = backing;
    expect_int(grow_segment(segment, num_pages), 0,
               describe("grow_segment(TESTING, %u)", num_pages));
    expect_size(segment->end - segment->start, (size_t)num_pages * PAGE_SIZE,
                "size of the grown TESTING segment");
    return segment;
}

static size_t read_virtual(mmu *m, size_t pid, addr32 address, void *buffer,
                           size_t n) {
    return mmu_read_from_virtual_address(m, address, pid, buffer, n);
}

static size_t write_virtual(mmu *m, size_t pid, addr32 address,
                            const void *buffer, size_t n) {
    return mmu_write_to_virtual_address(m, address, pid, buffer, n);
}

/* The page-table entry of `address`, or NULL when it has no page table. */
static page_table_entry *entry_of(mmu *m, size_t pid, addr32 address) {
    return page_table_walk(m->page_directories[pid], address, false);
}

static bool page_present(mmu *m, size_t pid, addr32 address) {
    page_table_entry *entry = entry_of(m, pid, address);

    return entry && entry->present;
}

static bool page_dirty(mmu *m, size_t pid, addr32 address) {
    page_table_entry *entry = entry_of(m, pid, address);

    return entry && entry->dirty;
}

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

static const frame_owner_ops fake_owner_ops = {fake_referenced, fake_evict};

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

/* A backing store the tests control, to watch the MMU's pager calls. */
#define FAKE_PAGER_PAGES 32

typedef struct {
    pager base; /* first: the MMU hands us &base */
    unsigned char store[FAKE_PAGER_PAGES][PAGE_SIZE];
    size_t page_ins[FAKE_PAGER_PAGES];  /* pages brought in, per page */
    size_t page_outs[FAKE_PAGER_PAGES]; /* saves, per page, failed or not */
    size_t total_page_ins;              /* pages, all calls together */
    size_t total_page_outs;
    size_t page_in_calls; /* calls, each for a run of pages */
    size_t page_out_calls;
    bool page_out_fails[FAKE_PAGER_PAGES];
} fake_pager;

static fake_pager the_pager; /* 128 KiB: static, not on the stack */

static void check_fake_run(size_t page, size_t count, const char *what) {
    if (count == 0 || page >= FAKE_PAGER_PAGES ||
        count > FAKE_PAGER_PAGES - page)
        fail(__FILE__, __LINE__, "%s called for %zu pages from %zu, of %d",
             what, count, page, FAKE_PAGER_PAGES);
}

static int fake_page_in(pager *base, size_t page, void *const frames[],
                        size_t count) {
    fake_pager *this = (fake_pager *)base;
    size_t i;

    check_fake_run(page, count, "page_in");
    this->page_in_calls++;
    for (i = 0; i < count; i++) {
        this->page_ins[page + i]++;
        this->total_page_ins++;
        memcpy(frames[i], this->store[page + i], PAGE_SIZE);
    }
    return 0;
}

/* A run with a failing page fails whole, and saves nothing. */
static int fake_page_out(pager *base, size_t page, const void *const frames[],
                         size_t count) {
    fake_pager *this = (fake_pager *)base;
    size_t i;

    check_fake_run(page, count, "page_out");
    this->page_out_calls++;
    for (i = 0; i < count; i++) {
        this->page_outs[page + i]++;
        this->total_page_outs++;
    }
    for (i = 0; i < count; i++) {
        if (this->page_out_fails[page + i]) {
            errno = EIO;
            return -1;
        }
    }
    for (i = 0; i < count; i++)
        memcpy(this->store[page + i], frames[i], PAGE_SIZE);
    return 0;
}

/* A store whose page p holds pattern (p, salt). */
static pager *fake_pager_init(unsigned salt) {
    size_t page;

    memset(&the_pager, 0, sizeof the_pager);
    the_pager.base.page_in = fake_page_in;
    the_pager.base.page_out = fake_page_out;
    for (page = 0; page < FAKE_PAGER_PAGES; page++)
        fill_pattern(the_pager.store[page], page, salt);
    return &the_pager.base;
}

/* A trace hook that records every event. */
#define TRACE_LOG_SIZE 256

typedef struct {
    enum trace_event event;
    addr32 virtual_address;
    addr32 physical_address;
    void *context;
} trace_record;

static struct {
    trace_record records[TRACE_LOG_SIZE];
    size_t count;
    size_t per_event[NUM_TRACE_EVENTS];
} trace_log;

static void record_event(enum trace_event event, addr32 virtual_address,
                         addr32 physical_address, void *context) {
    if (event < NUM_TRACE_EVENTS)
        trace_log.per_event[event]++;
    if (trace_log.count < TRACE_LOG_SIZE) {
        trace_record *record = &trace_log.records[trace_log.count];
        record->event = event;
        record->virtual_address = virtual_address;
        record->physical_address = physical_address;
        record->context = context;
    }
    trace_log.count++;
}

static void trace_log_clear(void) {
    memset(&trace_log, 0, sizeof trace_log);
}

/* Index of the first recorded `event` matching the given addresses. */
static size_t trace_find(enum trace_event event, bool match_page, addr32 page,
                         bool match_physical, addr32 physical) {
    size_t i;

    for (i = 0; i < trace_log.count && i < TRACE_LOG_SIZE; i++) {
        trace_record *record = &trace_log.records[i];
        if (record->event != event)
            continue;
        if (match_page && PAGE_ROUND_DOWN(record->virtual_address) != page)
            continue;
        if (match_physical && record->physical_address != physical)
            continue;
        return i;
    }
    return SIZE_MAX;
}

/* ------------------------------------------------------------------ */
/* mmap helpers                                                        */
/* ------------------------------------------------------------------ */

static mmap *map_file(const char *path) {
    mmap *map;

    errno = 0;
    map = mmap_create(path);
    expect_not_null(map, describe("mmap_create(\"%s\")", path));
    return map;
}

static vm_segmentation *mmap_segment_of(mmap *map) {
    return &map->mmu->segmentations[DEFAULT_PID]->segments[MMAP];
}

static addr32 map_address(mmap *map, size_t offset) {
    return (addr32)(map->start_address + offset);
}

static bool map_page_present(mmap *map, size_t page) {
    return page_present(map->mmu, DEFAULT_PID,
                        map_address(map, page * PAGE_SIZE));
}

/*
 * Leaves 0xFF in every frame of the pool and returns them all, so that a
 * frame later handed out holds garbage unless someone clears it: a fresh
 * pool is zeroed host memory, which would hide a missing clear.
 */
static void dirty_every_frame(void) {
    size_t total = kernel_frames_total(), i;
    addr32 *frames = malloc(total * sizeof *frames);

    if (!frames)
        setup_failed("malloc");
    for (i = 0; i < total; i++) {
        frames[i] = ask_kernel_for_frame(NULL, 0);
        if (frames[i] == 0)
            fail(__FILE__, __LINE__, "setup: frame %zu of %zu: got 0", i,
                 total);
        memset(get_system_pointer_from_address(frames[i]), 0xFF, PAGE_SIZE);
    }
    for (i = 0; i < total; i++)
        return_frame_to_kernel(frames[i]);
    free(frames);
}

static void expect_all_frames_free(const char *when) {
    expect_size(kernel_frames_free(), kernel_frames_total(),
                describe("free frames %s (all of them)", when));
}

/* ================================================================== */
/* types.h and page_table.h                                           */
/* ================================================================== */

/* The 32 bits of a page-table or page-directory entry, as the hardware sees
 * them. */
static uint32_t entry_bits(const void *entry) {
    uint32_t bits;
    memcpy(&bits, entry, sizeof bits);
    return bits;
}

static void
test_page_table_entry_is_32_bits_with_present_at_bit_0_and_frame_on_top(void) {
    expect_size(sizeof(page_table_entry), 4, "sizeof(page_table_entry)");
    expect_hex(entry_bits(&(page_table_entry){.present = 1}), 0x1,
               "entry with only present set");
    expect_hex(entry_bits(&(page_table_entry){.read_write = 1}), 0x2,
               "entry with only read_write set");
    expect_hex(entry_bits(&(page_table_entry){.user_supervisor = 1}), 0x4,
               "entry with only user_supervisor set");
    expect_hex(entry_bits(&(page_table_entry){.accessed = 1}), 0x20,
               "entry with only accessed set");
    expect_hex(entry_bits(&(page_table_entry){.dirty = 1}), 0x40,
               "entry with only dirty set");
    expect_hex(entry_bits(&(page_table_entry){.cached = 1}), 0x200,
               "entry with only cached (the first OS bit) set");
    expect_hex(entry_bits(&(page_table_entry){.base_addr = 0xFFFFF}),
               0xFFFFF000u, "entry with base_addr 0xFFFFF");
    expect_hex(
        entry_bits(&(page_table_entry){.base_addr = 0x12345, .present = 1}),
        0x12345001u, "present entry with base_addr 0x12345");
}

static void
test_page_directory_entry_is_32_bits_with_present_at_bit_0_and_frame_on_top(
    void) {
    expect_size(sizeof(page_directory_entry), 4,
                "sizeof(page_directory_entry)");
    expect_size(sizeof(page_directory), NUM_ENTRIES * 4,
                "sizeof(page_directory)");
    expect_size(sizeof(page_table), PAGE_SIZE, "sizeof(page_table)");
    expect_hex(entry_bits(&(page_directory_entry){.present = 1}), 0x1,
               "entry with only present set");
    expect_hex(entry_bits(&(page_directory_entry){.read_write = 1}), 0x2,
               "entry with only read_write set");
    expect_hex(entry_bits(&(page_directory_entry){.accessed = 1}), 0x20,
               "entry with only accessed set");
    expect_hex(entry_bits(&(page_directory_entry){.base_addr = 0xFFFFF}),
               0xFFFFF000u, "entry with base_addr 0xFFFFF");
}

static void test_address_splits_10_10_12(void) {
    addr32 address = 0xABCDE123u;

    expect_int(PAGE_SIZE, 4096, "PAGE_SIZE");
    expect_hex(PAGE_DIRECTORY_INDEX(address), 0x2AF,
               "directory index of 0xABCDE123");
    expect_hex(PAGE_TABLE_INDEX(address), 0x0DE, "table index of 0xABCDE123");
    expect_hex(PAGE_OFFSET(address), 0x123, "offset of 0xABCDE123");
    expect_hex(VPN(address), 0xABCDE, "VPN of 0xABCDE123");
}

static void test_page_walk_without_alloc_on_empty_directory_returns_null(void) {
    size_t free_before;
    page_directory *directory;

    dirty_every_frame(); /* the directory must be cleared, not found empty */
    free_before = kernel_frames_free();
    directory = page_directory_create();

    expect_not_null(directory, "page_directory_create()");
    expect_size(free_before - kernel_frames_free(), 1,
                "frames taken by a page directory");

    expect_null(page_table_walk(directory, 0, false), "walk of 0x0");
    expect_null(page_table_walk(directory, MMAP_REGION_START, false),
                "walk of 0x40000000");
    expect_null(page_table_walk(directory, 0xFFFFF000u, false),
                "walk of 0xFFFFF000");
    expect_size(free_before - kernel_frames_free(), 1,
                "frames in use after walks without alloc");

    page_directory_delete(directory);
    expect_size(kernel_frames_free(), free_before,
                "free frames after page_directory_delete");
}

static void test_page_walk_with_alloc_returns_same_non_present_entry(void) {
    addr32 address = 0x40001234u;
    page_directory *directory;
    page_table_entry *entry;
    uint32_t bits;

    dirty_every_frame(); /* the new table must be cleared, not found empty */
    directory = page_directory_create();
    expect_not_null(directory, "page_directory_create()");
    entry = page_table_walk(directory, address, true);
    expect_not_null(entry, "walk of 0x40001234 with alloc");
    memcpy(&bits, entry, sizeof bits);
    expect_hex(bits, 0, "entry in a freshly made page table (zeroed)");
    expect_int(entry->present, 0, "present bit of a fresh entry");

    expect_ptr(page_table_walk(directory, address, true), entry,
               "second walk with alloc of the same address");
    expect_ptr(page_table_walk(directory, 0x40001FFFu, true), entry,
               "walk of the last byte of the same page");
    expect_ptr(page_table_walk(directory, 0x40001000u, false), entry,
               "walk without alloc of the same page");
    expect_ptr(page_table_walk(directory, 0x40002000u, false), entry + 1,
               "walk of the next page (the next entry of the table)");
    page_directory_delete(directory);
}

static void test_page_walk_links_directory_entry_to_its_table_frame(void) {
    addr32 address = 0x40123456u;
    page_directory *directory = page_directory_create();
    page_directory_entry *directory_entry;
    page_table_entry *entry;
    page_table *table;

    expect_not_null(directory, "page_directory_create()");
    entry = page_table_walk(directory, address, true);
    expect_not_null(entry, "walk with alloc");

    directory_entry = &directory->entries[PAGE_DIRECTORY_INDEX(address)];
    expect_int(directory_entry->present, 1,
               "present bit of the directory entry after the walk");
    expect_true(directory_entry->base_addr != 0,
                "the page table's frame number is not 0");
    table = get_system_pointer_from_address((addr32)directory_entry->base_addr
                                            << NUM_OFFSET_BITS);
    expect_not_null(table, "host pointer of the page table's frame");
    expect_ptr(entry, &table->entries[PAGE_TABLE_INDEX(address)],
               "entry returned by the walk, against the entry in the table "
               "frame named by the directory");
    page_directory_delete(directory);
}

static void test_addresses_in_same_4mib_share_one_page_table(void) {
    page_directory *directory = page_directory_create();
    page_table_entry *first, *last;
    size_t free_before;

    expect_not_null(directory, "page_directory_create()");
    free_before = kernel_frames_free();

    first = page_table_walk(directory, 0x40000000u, true);
    expect_not_null(first, "walk of 0x40000000");
    expect_size(free_before - kernel_frames_free(), 1,
                "frames taken by the first walk (one page table)");

    last = page_table_walk(directory, 0x403FF000u, true);
    expect_not_null(last, "walk of 0x403FF000");
    expect_ptr(last, first + (NUM_ENTRIES - 1),
               "entry of the last page of the same 4 MiB");
    expect_size(free_before - kernel_frames_free(), 1,
                "frames taken after a walk in the same 4 MiB");

    expect_not_null(page_table_walk(directory, 0x40400000u, true),
                    "walk of 0x40400000");
    expect_size(free_before - kernel_frames_free(), 2,
                "frames taken after a walk in the next 4 MiB");
    expect_true(directory->entries[0x100].base_addr !=
                    directory->entries[0x101].base_addr,
                "the two 4 MiB regions have different table frames");
    page_directory_delete(directory);
}

static void test_page_directory_delete_returns_directory_and_tables(void) {
    size_t total = kernel_frames_total();
    page_directory *directory;

    expect_size(kernel_frames_free(), total, "free frames at start");
    directory = page_directory_create();
    expect_not_null(directory, "page_directory_create()");
    expect_not_null(page_table_walk(directory, 0x00000000u, true), "walk 0x0");
    expect_not_null(page_table_walk(directory, 0x40000000u, true),
                    "walk 0x40000000");
    expect_not_null(page_table_walk(directory, 0xFFFFF000u, true),
                    "walk 0xFFFFF000");
    expect_size(total - kernel_frames_free(), 4,
                "frames in use: a directory and three tables");
    page_directory_delete(directory);
    expect_all_frames_free("after page_directory_delete");
}

/* ================================================================== */
/* tlb.h                                                               */
/* ================================================================== */

static page_table_entry tlb_entries[TLB_SIZE + 2];

static addr32 tlb_address(size_t k) {
    return MMAP_REGION_START + (addr32)k * PAGE_SIZE;
}

static tlb *tlb_filled(size_t count) {
    tlb *t = tlb_create();
    size_t k;

    expect_not_null(t, "tlb_create()");
    for (k = 0; k < count; k++)
        tlb_add_pte(t, tlb_address(k), &tlb_entries[k]);
    return t;
}

static void test_tlb_misses_when_empty(void) {
    tlb *t = tlb_create();

    expect_not_null(t, "tlb_create()");
    expect_null(tlb_get_pte(t, 0), "lookup of 0x0 in an empty TLB");
    expect_null(tlb_get_pte(t, tlb_address(3)),
                "lookup of 0x40003000 in an empty TLB");
    tlb_delete(t);
    tlb_delete(NULL);
}

static void test_tlb_hits_after_add_for_every_address_in_the_page(void) {
    tlb *t = tlb_filled(0);
    addr32 page = tlb_address(2);

    tlb_add_pte(t, page + 0x10, &tlb_entries[2]);
    expect_ptr(tlb_get_pte(t, page), &tlb_entries[2], "first byte of page");
    expect_ptr(tlb_get_pte(t, page + 0x10), &tlb_entries[2],
               "the address added");
    expect_ptr(tlb_get_pte(t, page + PAGE_SIZE - 1), &tlb_entries[2],
               "last byte of page");
    expect_null(tlb_get_pte(t, page + PAGE_SIZE), "first byte of next page");
    expect_null(tlb_get_pte(t, page - 1), "last byte of previous page");
    tlb_delete(t);
}

static void test_tlb_replaces_least_recently_used_not_first_in(void) {
    tlb *t = tlb_filled(TLB_SIZE);
    size_t k;

    /* Page 0 came in first but is now the most recently used. */
    expect_ptr(tlb_get_pte(t, tlb_address(0)), &tlb_entries[0],
               "hit on page 0 of a full TLB");
    tlb_add_pte(t, tlb_address(TLB_SIZE), &tlb_entries[TLB_SIZE]);

    expect_null(tlb_get_pte(t, tlb_address(1)),
                "page 1 (least recently used) after the 17th add");
    expect_ptr(tlb_get_pte(t, tlb_address(0)), &tlb_entries[0],
               "page 0 (first in, recently used) after the 17th add");
    for (k = 2; k <= TLB_SIZE; k++)
        expect_ptr(tlb_get_pte(t, tlb_address(k)), &tlb_entries[k],
                   describe("page %zu after the 17th add", k));
    tlb_delete(t);
}

static void test_tlb_add_of_cached_page_updates_in_place_as_most_recent(void) {
    page_table_entry *replacement = &tlb_entries[TLB_SIZE + 1];
    tlb *t = tlb_filled(TLB_SIZE);
    size_t k;

    /* Page 5 is neither the oldest nor the newest: an update takes no slot. */
    tlb_add_pte(t, tlb_address(5), replacement);
    expect_ptr(tlb_get_pte(t, tlb_address(5)), replacement,
               "page 5 after its entry was replaced");
    for (k = 0; k < TLB_SIZE; k++)
        if (k != 5)
            expect_ptr(tlb_get_pte(t, tlb_address(k)), &tlb_entries[k],
                       describe("page %zu (the update evicted nothing)", k));
    tlb_delete(t);

    /* Updating page 0, the oldest, makes it the most recent. */
    t = tlb_filled(TLB_SIZE);
    tlb_add_pte(t, tlb_address(0), replacement);
    tlb_add_pte(t, tlb_address(TLB_SIZE), &tlb_entries[TLB_SIZE]);
    expect_ptr(tlb_get_pte(t, tlb_address(0)), replacement,
               "page 0 (updated, so recent) after the 17th add");
    expect_null(tlb_get_pte(t, tlb_address(1)),
                "page 1 (the least recently used) after the 17th add");
    for (k = 2; k <= TLB_SIZE; k++)
        expect_ptr(tlb_get_pte(t, tlb_address(k)), &tlb_entries[k],
                   describe("page %zu after the 17th add", k));
    tlb_delete(t);
}

static void test_tlb_invalidate_forgets_only_that_page(void) {
    tlb *t = tlb_filled(4);

    tlb_invalidate(t, tlb_address(2) + 100);
    tlb_invalidate(t, tlb_address(9)); /* not cached: nothing happens */
    expect_null(tlb_get_pte(t, tlb_address(2)), "invalidated page 2");
    expect_ptr(tlb_get_pte(t, tlb_address(0)), &tlb_entries[0], "page 0");
    expect_ptr(tlb_get_pte(t, tlb_address(1)), &tlb_entries[1], "page 1");
    expect_ptr(tlb_get_pte(t, tlb_address(3)), &tlb_entries[3], "page 3");
    tlb_delete(t);
}

static void test_tlb_flush_forgets_every_page(void) {
    tlb *t = tlb_filled(TLB_SIZE);
    size_t k;

    tlb_flush(t);
    for (k = 0; k < TLB_SIZE; k++)
        expect_null(tlb_get_pte(t, tlb_address(k)),
                    describe("page %zu after flush", k));
    tlb_add_pte(t, tlb_address(5), &tlb_entries[5]);
    expect_ptr(tlb_get_pte(t, tlb_address(5)), &tlb_entries[5],
               "page added after the flush");
    tlb_delete(t);
}

/* ================================================================== */
/* kernel.h                                                            */
/* ================================================================== */

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
}

/* ================================================================== */
/* segments.h                                                          */
/* ================================================================== */

static void test_segmentations_create_lays_out_empty_segments(void) {
    vm_segmentations *layout = segmentations_create();
    vm_segmentation *s;
    int i;

    expect_not_null(layout, "segmentations_create()");
    s = layout->segments;
    for (i = 0; i < NUM_SEGMENTS; i++) {
        expect_hex(s[i].start, s[i].end,
                   describe("end of empty segment %s", segment_name(i)));
        expect_null(s[i].backing,
                    describe("backing of segment %s", segment_name(i)));
    }
    expect_hex(s[MMAP].start, MMAP_REGION_START, "MMAP start");
    expect_true(!s[MMAP].grows_down, "MMAP grows up");
    expect_hex(s[MMAP].limit, MMAP_REGION_START + MMAP_REGION_SIZE,
               "MMAP limit (room for 1.75 GiB)");
    expect_hex(s[STACK].end, STACK_TOP, "STACK end");
    expect_true(s[STACK].grows_down, "STACK grows down");
    expect_hex(s[HEAP].start, HEAP_START, "HEAP start");
    expect_true(!s[HEAP].grows_down, "HEAP grows up");
    expect_hex(s[TEXT].start, TEXT_START, "TEXT start");

    expect_true(!address_in_segmentations(layout, MMAP_REGION_START),
                "0x40000000 is in no segment of a fresh layout");
    expect_true(!address_in_segmentations(layout, STACK_TOP - 1),
                "0xBFFFFFFF is in no segment of a fresh layout");
    expect_null(find_segment(layout, MMAP_REGION_START),
                "find_segment(0x40000000) in a fresh layout");
    free(layout);
}

static void test_grow_and_shrink_move_the_end_of_an_upward_segment(void) {
    vm_segmentations *layout = segmentations_create();
    vm_segmentation *mmap_segment;

    expect_not_null(layout, "segmentations_create()");
    mmap_segment = &layout->segments[MMAP];
    expect_int(grow_segment(mmap_segment, 3), 0, "grow MMAP by 3 pages");
    expect_hex(mmap_segment->start, MMAP_REGION_START, "MMAP start after grow");
    expect_hex(mmap_segment->end, MMAP_REGION_START + 3 * PAGE_SIZE,
               "MMAP end after grow");
    shrink_segment(mmap_segment, 1);
    expect_hex(mmap_segment->start, MMAP_REGION_START,
               "MMAP start after shrink");
    expect_hex(mmap_segment->end, MMAP_REGION_START + 2 * PAGE_SIZE,
               "MMAP end after shrink");
    free(layout);
}

static void test_grow_and_shrink_move_the_start_of_the_downward_stack(void) {
    vm_segmentations *layout = segmentations_create();
    vm_segmentation *stack;

    expect_not_null(layout, "segmentations_create()");
    stack = &layout->segments[STACK];
    expect_int(grow_segment(stack, 2), 0, "grow STACK by 2 pages");
    expect_hex(stack->start, STACK_TOP - 2 * PAGE_SIZE,
               "STACK start after grow");
    expect_hex(stack->end, STACK_TOP, "STACK end after grow");
    shrink_segment(stack, 1);
    expect_hex(stack->start, STACK_TOP - PAGE_SIZE, "STACK start after shrink");
    expect_hex(stack->end, STACK_TOP, "STACK end after shrink");
    free(layout);
}

static void test_shrink_stops_at_empty(void) {
    vm_segmentations *layout = segmentations_create();
    vm_segmentation *s;

    expect_not_null(layout, "segmentations_create()");
    s = layout->segments;
    expect_int(grow_segment(&s[MMAP], 2), 0, "grow MMAP by 2");
    shrink_segment(&s[MMAP], 5);
    expect_hex(s[MMAP].start, MMAP_REGION_START, "MMAP start");
    expect_hex(s[MMAP].end, MMAP_REGION_START, "MMAP end after over-shrink");
    expect_int(grow_segment(&s[STACK], 1), 0, "grow STACK by 1");
    shrink_segment(&s[STACK], 3);
    expect_hex(s[STACK].start, STACK_TOP, "STACK start after over-shrink");
    expect_hex(s[STACK].end, STACK_TOP, "STACK end");
    free(layout);
}

static void test_grow_past_limit_fails_with_enomem_and_changes_nothing(void) {
    vm_segmentations *layout = segmentations_create();
    vm_segmentation *mmap_segment, *stack;
    uint32_t room_pages = (uint32_t)(MMAP_REGION_SIZE / PAGE_SIZE);
    uint32_t stack_room;

    expect_not_null(layout, "segmentations_create()");
    mmap_segment = &layout->segments[MMAP];

    errno = 0;
    expect_int(grow_segment(mmap_segment, room_pages + 1), -1,
               "grow MMAP by 1.75 GiB + 1 page");
    expect_errno(errno, ENOMEM, "grow MMAP by 1.75 GiB + 1 page");
    expect_hex(mmap_segment->end, MMAP_REGION_START, "MMAP end after refusal");

    errno = 0;
    expect_int(grow_segment(mmap_segment, UINT32_MAX), -1,
               "grow MMAP by 2^32 - 1 pages (overflows 32 bits)");
    expect_errno(errno, ENOMEM, "grow MMAP by 2^32 - 1 pages");
    expect_hex(mmap_segment->end, MMAP_REGION_START, "MMAP end after refusal");

    expect_int(grow_segment(mmap_segment, room_pages), 0,
               "grow MMAP by exactly 1.75 GiB");
    expect_hex(mmap_segment->end, MMAP_REGION_START + MMAP_REGION_SIZE,
               "MMAP end when full");
    errno = 0;
    expect_int(grow_segment(mmap_segment, 1), -1, "grow a full MMAP by 1");
    expect_errno(errno, ENOMEM, "grow a full MMAP by 1");
    expect_hex(mmap_segment->end, MMAP_REGION_START + MMAP_REGION_SIZE,
               "MMAP end after refusal");
    expect_hex(mmap_segment->start, MMAP_REGION_START, "MMAP start");

    stack = &layout->segments[STACK];
    expect_true(stack->limit < stack->start, "STACK limit lies below it");
    stack_room = (stack->start - stack->limit) / PAGE_SIZE;
    errno = 0;
    expect_int(grow_segment(stack, stack_room + 1), -1,
               "grow STACK one page past its limit");
    expect_errno(errno, ENOMEM, "grow STACK one page past its limit");
    expect_hex(stack->start, STACK_TOP, "STACK start after refusal");
    expect_int(grow_segment(stack, stack_room), 0, "grow STACK to its limit");
    expect_hex(stack->start, stack->limit, "STACK start at its limit");
    free(layout);
}

static void test_find_segment_includes_start_and_excludes_end(void) {
    vm_segmentations *layout = segmentations_create();
    vm_segmentation *s;

    expect_not_null(layout, "segmentations_create()");
    s = layout->segments;
    expect_int(grow_segment(&s[MMAP], 2), 0, "grow MMAP by 2");
    expect_int(grow_segment(&s[STACK], 2), 0, "grow STACK by 2");

    expect_ptr(find_segment(layout, s[MMAP].start), &s[MMAP], "MMAP start");
    expect_ptr(find_segment(layout, s[MMAP].end - 1), &s[MMAP],
               "MMAP last byte");
    expect_null(find_segment(layout, s[MMAP].end), "MMAP end");
    expect_null(find_segment(layout, s[MMAP].start - 1), "below MMAP start");
    expect_true(address_in_segmentations(layout, s[MMAP].start),
                "MMAP start is in a segment");
    expect_true(address_in_segmentations(layout, s[MMAP].end - 1),
                "MMAP last byte is in a segment");
    expect_true(!address_in_segmentations(layout, s[MMAP].end),
                "MMAP end is in no segment");

    expect_ptr(find_segment(layout, s[STACK].start), &s[STACK], "STACK start");
    expect_ptr(find_segment(layout, STACK_TOP - 1), &s[STACK],
               "STACK last byte");
    expect_null(find_segment(layout, STACK_TOP), "STACK end");
    expect_null(find_segment(layout, s[STACK].start - 1), "below STACK");
    expect_true(!address_in_segmentations(layout, s[STACK].start - 1),
                "below STACK is in no segment");
    expect_true(address_in_segmentations(layout, s[STACK].start),
                "STACK start is in a segment");
    free(layout);
}

static void test_segment_name_spells_the_layout_names(void) {
    static const char *const names[NUM_SEGMENTS] = {
        "STACK", "MMAP", "HEAP", "BSS", "DATA", "TEXT", "TESTING"};
    int i;

    for (i = 0; i < NUM_SEGMENTS; i++) {
        const char *name = segment_name(i);
        expect_not_null(name, describe("segment_name(%d)", i));
        expect_true(strcmp(name, names[i]) == 0,
                    describe("segment_name(%d) is \"%s\", got \"%s\"", i,
                             names[i], name));
    }
}

/* ================================================================== */
/* mmu.h                                                               */
/* ================================================================== */

static void test_mmu_add_process_gives_a_directory_and_remove_frees_it(void) {
    size_t total = kernel_frames_total(), free_before;
    mmu *m = mmu_create();

    expect_not_null(m, "mmu_create()");
    expect_not_null(m->tlb, "the MMU's TLB");
    expect_size(m->num_page_faults, 0, "page faults of a new MMU");
    expect_size(m->num_segmentation_faults, 0, "segfaults of a new MMU");
    expect_size(m->num_tlb_misses, 0, "TLB misses of a new MMU");
    expect_null(m->page_directories[7], "directory of pid 7 before adding");
    free_before = kernel_frames_free();

    expect_int(mmu_add_process(m, 7), 0, "mmu_add_process(m, 7)");
    expect_not_null(m->page_directories[7], "directory of pid 7");
    expect_not_null(m->segmentations[7], "segments of pid 7");
    expect_hex(m->segmentations[7]->segments[MMAP].start, MMAP_REGION_START,
               "MMAP start of pid 7");
    expect_size(free_before - kernel_frames_free(), 1,
                "frames taken by a new process (its directory)");

    expect_int(mmu_remove_process(m, 7), 0, "mmu_remove_process(m, 7)");
    expect_null(m->page_directories[7], "directory of pid 7 after removal");
    expect_null(m->segmentations[7], "segments of pid 7 after removal");
    expect_size(kernel_frames_free(), free_before, "free frames after removal");
    expect_int(mmu_remove_process(m, 7), 0, "removing a pid with no process");
    mmu_delete(m);
    mmu_delete(NULL);
    expect_size(kernel_frames_free(), total, "free frames after mmu_delete");
}

static void test_mmu_add_process_rejects_bad_pid_and_duplicate(void) {
    mmu *m = mmu_create();
    page_directory *directory;

    expect_not_null(m, "mmu_create()");
    errno = 0;
    expect_int(mmu_add_process(m, MAX_PROCESS_ID), -1,
               "mmu_add_process(MAX_PROCESS_ID)");
    expect_errno(errno, EINVAL, "mmu_add_process(MAX_PROCESS_ID)");
    errno = 0;
    expect_int(mmu_add_process(m, SIZE_MAX), -1, "mmu_add_process(SIZE_MAX)");
    expect_errno(errno, EINVAL, "mmu_add_process(SIZE_MAX)");

    expect_int(mmu_add_process(m, 0), 0, "mmu_add_process(0)");
    expect_int(mmu_add_process(m, MAX_PROCESS_ID - 1), 0,
               "mmu_add_process(MAX_PROCESS_ID - 1)");
    directory = m->page_directories[0];
    errno = 0;
    expect_int(mmu_add_process(m, 0), -1, "mmu_add_process(0) again");
    expect_errno(errno, EEXIST, "mmu_add_process(0) again");
    expect_ptr(m->page_directories[0], directory,
               "directory of pid 0 after the duplicate was refused");
    mmu_delete(m);
    expect_all_frames_free("after mmu_delete");
}

static void
test_mmu_access_fails_with_einval_for_no_process_or_null_buffer(void) {
    mmu *m = new_mmu_with_process(1);
    vm_segmentation *segment =
        grow_testing_segment(m, 1, 1, READ | WRITE, NULL);
    char buffer[4] = "abc";

    errno = 0;
    expect_size(read_virtual(m, 2, segment->start, buffer, 4), 0,
                "read by pid 2, which does not exist");
    expect_errno(errno, EINVAL, "read by pid 2");
    errno = 0;
    expect_size(write_virtual(m, MAX_PROCESS_ID, segment->start, buffer, 4), 0,
                "write by pid MAX_PROCESS_ID");
    expect_errno(errno, EINVAL, "write by pid MAX_PROCESS_ID");
    errno = 0;
    expect_size(read_virtual(m, 1, segment->start, NULL, 4), 0,
                "read into a NULL buffer");
    expect_errno(errno, EINVAL, "read into a NULL buffer");
    errno = 0;
    expect_size(write_virtual(m, 1, segment->start, NULL, 4), 0,
                "write from a NULL buffer");
    expect_errno(errno, EINVAL, "write from a NULL buffer");
    expect_size(m->num_page_faults, 0, "page faults");
    mmu_delete(m);
}

static void test_mmu_demand_zero_page_reads_zeros_even_from_a_used_frame(void) {
    unsigned char buffer[2 * PAGE_SIZE];
    vm_segmentation *segment;
    mmu *m;

    setenv("MMAP_FRAMES", "16", 1);
    dirty_every_frame();
    m = new_mmu_with_process(1);
    segment = grow_testing_segment(m, 1, 2, READ | WRITE, NULL);
    memset(buffer, 0xAA, sizeof buffer);
    expect_size(read_virtual(m, 1, segment->start, buffer, sizeof buffer),
                sizeof buffer, "bytes read from two fresh pages");
    expect_all_bytes(buffer, 0, sizeof buffer, "two demand-zero pages");
    expect_size(m->num_page_faults, 2, "page faults");
    mmu_delete(m);
}

static void test_mmu_write_then_read_back_across_a_page_boundary(void) {
    mmu *m = new_mmu_with_process(1);
    vm_segmentation *segment =
        grow_testing_segment(m, 1, 2, READ | WRITE, NULL);
    unsigned char data[100], got[100], whole[2 * PAGE_SIZE];
    addr32 address = segment->start + PAGE_SIZE - 50;
    size_t i;

    for (i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i + 1);
    expect_size(write_virtual(m, 1, address, data, sizeof data), sizeof data,
                "bytes written across the page boundary");
    memset(got, 0, sizeof got);
    expect_size(read_virtual(m, 1, address, got, sizeof got), sizeof got,
                "bytes read back");
    expect_bytes(got, data, sizeof data, "bytes read back");

    expect_size(read_virtual(m, 1, segment->start, whole, sizeof whole),
                sizeof whole, "bytes read of both pages");
    expect_all_bytes(whole, 0, PAGE_SIZE - 50, "bytes before the write");
    expect_bytes(whole + PAGE_SIZE - 50, data, sizeof data,
                 "the write within both pages");
    expect_all_bytes(whole + PAGE_SIZE + 50, 0, PAGE_SIZE - 50,
                     "bytes after the write");
    mmu_delete(m);
}

static void test_mmu_counts_one_page_fault_per_page_brought_in(void) {
    mmu *m = new_mmu_with_process(1);
    vm_segmentation *segment =
        grow_testing_segment(m, 1, 3, READ | WRITE, NULL);
    static unsigned char buffer[3 * PAGE_SIZE];
    addr32 start = segment->start;

    expect_size(read_virtual(m, 1, start, buffer, 1), 1, "read page 0");
    expect_size(m->num_page_faults, 1, "page faults after touching page 0");
    expect_size(read_virtual(m, 1, start + 10, buffer, 1), 1, "reread page 0");
    expect_size(write_virtual(m, 1, start + 20, buffer, 1), 1, "write page 0");
    expect_size(m->num_page_faults, 1, "page faults after re-accessing page 0");
    expect_size(read_virtual(m, 1, start + PAGE_SIZE, buffer, 1), 1,
                "read page 1");
    expect_size(m->num_page_faults, 2, "page faults after touching page 1");
    expect_size(read_virtual(m, 1, start + PAGE_SIZE - 8, buffer, 16), 16,
                "read across pages 0 and 1");
    expect_size(m->num_page_faults, 2, "page faults after a span of 0 and 1");
    expect_size(read_virtual(m, 1, start, buffer, sizeof buffer), sizeof buffer,
                "read all three pages");
    expect_size(m->num_page_faults, 3, "page faults after reading page 2");
    expect_size(write_virtual(m, 1, start, buffer, sizeof buffer),
                sizeof buffer, "write all three pages");
    expect_size(m->num_page_faults, 3, "page faults after writing all three");
    mmu_delete(m);
}

static void test_mmu_counts_one_tlb_miss_per_translation_that_misses(void) {
    mmu *m = new_mmu_with_process(1);
    vm_segmentation *segment =
        grow_testing_segment(m, 1, TLB_SIZE + 4, READ | WRITE, NULL);
    addr32 start = segment->start;
    unsigned char byte[16];
    size_t page;

    expect_size(read_virtual(m, 1, start, byte, 1), 1, "read page 0");
    expect_size(m->num_tlb_misses, 1, "TLB misses after page 0");
    expect_size(read_virtual(m, 1, start + 1, byte, 1), 1, "reread page 0");
    expect_size(m->num_tlb_misses, 1, "TLB misses after rereading page 0");
    expect_size(read_virtual(m, 1, start + PAGE_SIZE, byte, 1), 1,
                "read page 1");
    expect_size(m->num_tlb_misses, 2, "TLB misses after page 1");
    expect_size(read_virtual(m, 1, start + PAGE_SIZE - 8, byte, 16), 16,
                "read across pages 0 and 1");
    expect_size(m->num_tlb_misses, 2, "TLB misses after a span of 0 and 1");

    /* Sixteen more pages push pages 0 and 1 out of the TLB. */
    for (page = 2; page < 2 + TLB_SIZE; page++)
        expect_size(
            read_virtual(m, 1, start + (addr32)page * PAGE_SIZE, byte, 1), 1,
            describe("read page %zu", page));
    expect_size(m->num_tlb_misses, 2 + TLB_SIZE, "TLB misses after 18 pages");
    expect_size(m->num_page_faults, 2 + TLB_SIZE, "page faults after 18 pages");
    expect_size(read_virtual(m, 1, start, byte, 1), 1, "read page 0 again");
    expect_size(m->num_tlb_misses, 3 + TLB_SIZE,
                "TLB misses after page 0 fell out of the TLB");
    expect_size(m->num_page_faults, 2 + TLB_SIZE,
                "page faults (page 0 is still present: a miss, no fault)");
    mmu_delete(m);
}

static void test_mmu_write_sets_dirty_and_every_access_sets_accessed(void) {
    mmu *m = new_mmu_with_process(1);
    vm_segmentation *segment =
        grow_testing_segment(m, 1, 2, READ | WRITE, NULL);
    addr32 page0 = segment->start, page1 = segment->start + PAGE_SIZE;
    page_table_entry *entry;
    unsigned char byte = 7;

    expect_size(read_virtual(m, 1, page0, &byte, 1), 1, "read page 0");
    expect_size(write_virtual(m, 1, page1, &byte, 1), 1, "write page 1");

    entry = entry_of(m, 1, page0);
    expect_not_null(entry, "entry of page 0");
    expect_int(entry->present, 1, "present bit of the read page");
    expect_int(entry->accessed, 1, "accessed bit of the read page");
    expect_int(entry->dirty, 0, "dirty bit of the read page");
    entry = entry_of(m, 1, page1);
    expect_not_null(entry, "entry of page 1");
    expect_int(entry->present, 1, "present bit of the written page");
    expect_int(entry->accessed, 1, "accessed bit of the written page");
    expect_int(entry->dirty, 1, "dirty bit of the written page");
    mmu_delete(m);
}

static void
test_mmu_access_outside_every_segment_is_efault_copying_nothing(void) {
    mmu *m = new_mmu_with_process(1);
    unsigned char buffer[16];

    memset(buffer, 0x5A, sizeof buffer);
    errno = 0;
    expect_size(read_virtual(m, 1, 0x00001000u, buffer, sizeof buffer), 0,
                "bytes read at 0x1000, outside every segment");
    expect_errno(errno, EFAULT, "read outside every segment");
    expect_size(m->num_segmentation_faults, 1, "segfaults after the read");
    expect_all_bytes(buffer, 0x5A, sizeof buffer, "buffer after the read");

    errno = 0;
    expect_size(write_virtual(m, 1, MMAP_REGION_START, buffer, sizeof buffer),
                0, "bytes written in the empty MMAP segment");
    expect_errno(errno, EFAULT, "write outside every segment");
    expect_size(m->num_segmentation_faults, 2, "segfaults after the write");
    expect_size(m->num_page_faults, 0, "page faults");
    expect_size(m->num_tlb_misses, 0, "TLB misses (segments come first)");
    mmu_delete(m);
}

static void
test_mmu_write_to_read_only_segment_is_eacces_copying_nothing(void) {
    mmu *m = new_mmu_with_process(1);
    vm_segmentation *segment = grow_testing_segment(m, 1, 1, READ, NULL);
    unsigned char buffer[3] = {1, 2, 3};

    errno = 0;
    expect_size(write_virtual(m, 1, segment->start, "XYZ", 3), 0,
                "bytes written to a READ-only segment");
    expect_errno(errno, EACCES, "write to a READ-only segment");
    expect_size(m->num_segmentation_faults, 1, "segfaults after the write");
    expect_size(m->num_page_faults, 0, "page faults after the refused write");

    expect_size(read_virtual(m, 1, segment->start, buffer, 3), 3,
                "bytes read from the READ-only segment");
    expect_all_bytes(buffer, 0, 3, "the page the refused write did not touch");
    expect_size(m->num_segmentation_faults, 1, "segfaults after the read");
    mmu_delete(m);
}

static void test_mmu_read_of_segment_without_read_is_eacces(void) {
    mmu *m = new_mmu_with_process(1);
    vm_segmentation *segment = grow_testing_segment(m, 1, 1, WRITE, NULL);
    unsigned char buffer[4];

    memset(buffer, 0x5A, sizeof buffer);
    errno = 0;
    expect_size(read_virtual(m, 1, segment->start, buffer, 4), 0,
                "bytes read from a segment without READ");
    expect_errno(errno, EACCES, "read from a segment without READ");
    expect_size(m->num_segmentation_faults, 1, "segfaults");
    expect_all_bytes(buffer, 0x5A, 4, "buffer after the refused read");
    expect_size(write_virtual(m, 1, segment->start, "abcd", 4), 4,
                "bytes written to the WRITE-only segment");
    mmu_delete(m);
}

static void test_mmu_range_crossing_out_of_its_segment_copies_nothing(void) {
    mmu *m = new_mmu_with_process(1);
    vm_segmentation *segment =
        grow_testing_segment(m, 1, 1, READ | WRITE, NULL);
    unsigned char data[200], page[PAGE_SIZE], buffer[200];

    memset(data, 0x77, sizeof data);
    errno = 0;
    expect_size(write_virtual(m, 1, segment->end - 100, data, sizeof data), 0,
                "bytes written by a write running 100 bytes past the segment");
    expect_errno(errno, EFAULT, "write running past the segment");
    expect_size(m->num_segmentation_faults, 1, "segfaults after the write");
    expect_size(read_virtual(m, 1, segment->start, page, PAGE_SIZE), PAGE_SIZE,
                "bytes read of the whole segment");
    expect_all_bytes(page, 0, PAGE_SIZE,
                     "the segment (not even its first 100 bytes were written)");

    memset(buffer, 0x5A, sizeof buffer);
    errno = 0;
    expect_size(read_virtual(m, 1, segment->end - 100, buffer, sizeof buffer),
                0, "bytes read by a read running past the segment");
    expect_errno(errno, EFAULT, "read running past the segment");
    expect_size(m->num_segmentation_faults, 2, "segfaults after the read");
    expect_all_bytes(buffer, 0x5A, sizeof buffer, "buffer after the read");
    mmu_delete(m);
}

static void test_mmu_pid_switch_flushes_the_tlb(void) {
    mmu *m = new_mmu_with_process(1);
    vm_segmentation *segment1, *segment2;
    unsigned char byte;

    expect_int(mmu_add_process(m, 2), 0, "mmu_add_process(m, 2)");
    segment1 = grow_testing_segment(m, 1, 1, READ | WRITE, NULL);
    segment2 = grow_testing_segment(m, 2, 1, READ | WRITE, NULL);

    expect_size(read_virtual(m, 1, segment1->start, &byte, 1), 1, "pid 1 read");
    expect_size(m->num_tlb_misses, 1, "TLB misses after pid 1's first read");
    expect_size(read_virtual(m, 1, segment1->start, &byte, 1), 1, "pid 1 read");
    expect_size(m->num_tlb_misses, 1, "TLB misses after pid 1 reread");
    expect_size(m->curr_pid, 1, "curr_pid after pid 1's reads");
    expect_size(read_virtual(m, 2, segment2->start, &byte, 1), 1, "pid 2 read");
    expect_size(m->num_tlb_misses, 2, "TLB misses after pid 2's read");
    expect_size(m->curr_pid, 2, "curr_pid after pid 2's read");
    expect_size(read_virtual(m, 1, segment1->start, &byte, 1), 1,
                "pid 1 read after pid 2");
    expect_size(m->num_tlb_misses, 3,
                "TLB misses after switching back to pid 1 (TLB flushed)");
    expect_size(m->num_page_faults, 2, "page faults (no page was lost)");
    mmu_delete(m);
}

static void test_mmu_processes_have_separate_address_spaces(void) {
    mmu *m = new_mmu_with_process(1);
    vm_segmentation *segment1, *segment2;
    char got[5] = "";
    page_table_entry *entry1, *entry2;

    expect_int(mmu_add_process(m, 2), 0, "mmu_add_process(m, 2)");
    segment1 = grow_testing_segment(m, 1, 1, READ | WRITE, NULL);
    segment2 = grow_testing_segment(m, 2, 1, READ | WRITE, NULL);
    expect_hex(segment1->start, segment2->start,
               "both TESTING segments start at the same address");

    expect_size(write_virtual(m, 1, segment1->start, "AAAA", 4), 4, "pid 1");
    expect_size(write_virtual(m, 2, segment2->start, "BBBB", 4), 4, "pid 2");
    expect_size(read_virtual(m, 1, segment1->start, got, 4), 4, "pid 1 read");
    expect_bytes(got, "AAAA", 4, "pid 1's bytes");
    expect_size(read_virtual(m, 2, segment2->start, got, 4), 4, "pid 2 read");
    expect_bytes(got, "BBBB", 4, "pid 2's bytes");

    entry1 = entry_of(m, 1, segment1->start);
    entry2 = entry_of(m, 2, segment2->start);
    expect_true(entry1 && entry2 && entry1 != entry2,
                "each process has its own page-table entry");
    expect_true(entry1->base_addr != entry2->base_addr,
                "each process has its own frame");
    mmu_delete(m);
}

static void test_mmu_remove_process_keeps_the_other_process_intact(void) {
    mmu *m = new_mmu_with_process(1);
    vm_segmentation *segment1, *segment2;
    size_t free_before;
    char got[4];

    expect_int(mmu_add_process(m, 2), 0, "mmu_add_process(m, 2)");
    segment1 = grow_testing_segment(m, 1, 1, READ | WRITE, NULL);
    segment2 = grow_testing_segment(m, 2, 1, READ | WRITE, NULL);
    expect_size(write_virtual(m, 1, segment1->start, "one", 4), 4, "pid 1");
    expect_size(write_virtual(m, 2, segment2->start, "two", 4), 4, "pid 2");
    free_before = kernel_frames_free();

    expect_int(mmu_remove_process(m, 1), 0, "mmu_remove_process(m, 1)");
    expect_size(kernel_frames_free() - free_before, 3,
                "frames pid 1 gave back (directory, table, page)");
    expect_size(read_virtual(m, 2, segment2->start, got, 4), 4, "pid 2 read");
    expect_bytes(got, "two", 4, "pid 2's bytes");
    errno = 0;
    expect_size(read_virtual(m, 1, MMAP_REGION_START, got, 4), 0,
                "read by the removed pid 1");
    expect_errno(errno, EINVAL, "read by the removed pid 1");
    mmu_delete(m);
}

static void test_mmu_delete_returns_every_frame_to_the_pool(void) {
    mmu *m = new_mmu_with_process(1);
    vm_segmentation *segment1, *segment2;
    static unsigned char data[4 * PAGE_SIZE];

    expect_int(mmu_add_process(m, 2), 0, "mmu_add_process(m, 2)");
    segment1 = grow_testing_segment(m, 1, 4, READ | WRITE, NULL);
    segment2 = grow_testing_segment(m, 2, 2, READ | WRITE, NULL);
    memset(data, 0x42, sizeof data);
    expect_size(write_virtual(m, 1, segment1->start, data, 4 * PAGE_SIZE),
                4 * PAGE_SIZE, "pid 1 writes 4 pages");
    expect_size(write_virtual(m, 2, segment2->start, data, 2 * PAGE_SIZE),
                2 * PAGE_SIZE, "pid 2 writes 2 pages");
    expect_true(kernel_frames_free() < kernel_frames_total(),
                "frames are in use before mmu_delete");
    mmu_delete(m);
    expect_all_frames_free("after mmu_delete");
}

static void
test_mmu_demand_zero_pages_stay_pinned_so_full_pool_is_enomem(void) {
    mmu *m;
    vm_segmentation *segment;
    size_t free_after_first, page, written;
    unsigned char byte;

    setenv("MMAP_FRAMES", "8", 1);
    m = new_mmu_with_process(1);
    segment = grow_testing_segment(m, 1, 16, READ | WRITE, NULL);

    byte = 0;
    expect_size(write_virtual(m, 1, segment->start, &byte, 1), 1,
                "write page 0");
    free_after_first = kernel_frames_free();
    for (page = 1; page <= free_after_first; page++) {
        byte = (unsigned char)page;
        expect_size(write_virtual(m, 1,
                                  segment->start + (addr32)page * PAGE_SIZE,
                                  &byte, 1),
                    1, describe("write page %zu while frames are free", page));
    }
    errno = 0;
    written = write_virtual(m, 1, segment->start + (addr32)page * PAGE_SIZE,
                            &byte, 1);
    expect_size(written, 0, "bytes written with every frame pinned");
    expect_errno(errno, ENOMEM, "write with every frame pinned");
    for (page = 1; page <= free_after_first; page++) {
        expect_size(read_virtual(m, 1,
                                 segment->start + (addr32)page * PAGE_SIZE,
                                 &byte, 1),
                    1, describe("reread page %zu", page));
        expect_size(byte, page & 0xFF,
                    describe("byte of page %zu (never evicted)", page));
    }
    mmu_delete(m);
    expect_all_frames_free("after mmu_delete");
}

static void test_mmu_pager_fills_a_page_once_per_fault_with_its_index(void) {
    mmu *m = new_mmu_with_process(1);
    vm_segmentation *segment =
        grow_testing_segment(m, 1, 4, READ | WRITE, fake_pager_init(1));
    unsigned char got[PAGE_SIZE], want[PAGE_SIZE];

    expect_size(
        read_virtual(m, 1, segment->start + 2 * PAGE_SIZE, got, PAGE_SIZE),
        PAGE_SIZE, "read page 2");
    expect_size(the_pager.page_ins[2], 1, "page_in calls for page 2");
    expect_size(the_pager.total_page_ins, 1, "page_in calls in all");
    expect_bytes(got, the_pager.store[2], PAGE_SIZE, "page 2 as paged in");

    expect_size(read_virtual(m, 1, segment->start + 2 * PAGE_SIZE + 5, got, 9),
                9, "reread page 2");
    expect_size(the_pager.total_page_ins, 1, "page_in calls after a reread");

    expect_size(read_virtual(m, 1, segment->start, got, 1), 1, "read page 0");
    expect_size(the_pager.page_ins[0], 1, "page_in calls for page 0");

    /* A write to a page not yet present pages it in first. */
    expect_size(
        write_virtual(m, 1, segment->start + 3 * PAGE_SIZE + 10, "new", 3), 3,
        "write into page 3");
    expect_size(the_pager.page_ins[3], 1, "page_in calls for page 3");
    expect_size(
        read_virtual(m, 1, segment->start + 3 * PAGE_SIZE, got, PAGE_SIZE),
        PAGE_SIZE, "read page 3");
    memcpy(want, the_pager.store[3], PAGE_SIZE);
    memcpy(want + 10, "new", 3);
    expect_bytes(got, want, PAGE_SIZE, "page 3: its store bytes and the write");
    expect_size(the_pager.page_ins[1], 0, "page_in calls for untouched page 1");
    expect_size(the_pager.total_page_ins, 3, "page_in calls in all");
    expect_size(m->num_page_faults, 3, "page faults");
    expect_size(the_pager.total_page_outs, 0, "page_out calls (no sync yet)");
    mmu_delete(m);
}

static void test_mmu_sync_pages_out_only_dirty_pages_and_clears_dirty(void) {
    mmu *m = new_mmu_with_process(1);
    vm_segmentation *segment =
        grow_testing_segment(m, 1, 4, READ | WRITE, fake_pager_init(1));
    static unsigned char all[4 * PAGE_SIZE];
    unsigned char want[PAGE_SIZE];
    addr32 start = segment->start;

    expect_size(read_virtual(m, 1, start, all, sizeof all), sizeof all,
                "read all 4 pages");
    expect_size(write_virtual(m, 1, start + PAGE_SIZE + 100, "0123456789", 10),
                10, "write into page 1");
    expect_size(write_virtual(m, 1, start + 3 * PAGE_SIZE, "3", 1), 1,
                "write into page 3");

    /* A range holding only page 1 writes only page 1. */
    expect_int(mmu_sync(m, 1, start + PAGE_SIZE, start + 2 * PAGE_SIZE), 0,
               "mmu_sync of page 1 only");
    expect_size(the_pager.page_outs[1], 1, "page_out calls for page 1");
    expect_size(the_pager.page_outs[3], 0,
                "page_out calls for page 3 (outside the range)");
    expect_true(!page_dirty(m, 1, start + PAGE_SIZE), "page 1 clean");
    expect_true(page_dirty(m, 1, start + 3 * PAGE_SIZE), "page 3 still dirty");

    expect_int(mmu_sync(m, 1, segment->start, segment->end), 0,
               "mmu_sync of the segment");
    expect_size(the_pager.page_outs[0], 0, "page_out calls for clean page 0");
    expect_size(the_pager.page_outs[1], 1, "page_out calls for page 1");
    expect_size(the_pager.page_outs[2], 0, "page_out calls for clean page 2");
    expect_size(the_pager.page_outs[3], 1, "page_out calls for page 3");
    expect_true(!page_dirty(m, 1, start + 3 * PAGE_SIZE), "page 3 clean");
    expect_true(page_present(m, 1, start + 3 * PAGE_SIZE),
                "page 3 still present after the sync");

    fill_pattern(want, 1, 1);
    memcpy(want + 100, "0123456789", 10);
    expect_bytes(the_pager.store[1], want, PAGE_SIZE, "page 1 in the store");

    expect_int(mmu_sync(m, 1, segment->start, segment->end), 0,
               "mmu_sync with nothing dirty");
    expect_size(the_pager.total_page_outs, 2,
                "page_out calls after a sync with nothing dirty");
    expect_size(m->num_page_faults, 4, "page faults (pages stayed resident)");
    mmu_delete(m);
}

static void test_mmu_sync_failing_page_out_keeps_page_dirty_and_is_eio(void) {
    mmu *m = new_mmu_with_process(1);
    vm_segmentation *segment =
        grow_testing_segment(m, 1, 4, READ | WRITE, fake_pager_init(1));
    addr32 start = segment->start;
    unsigned char want[PAGE_SIZE];

    expect_size(write_virtual(m, 1, start, "zero", 4), 4, "write page 0");
    expect_size(write_virtual(m, 1, start + 2 * PAGE_SIZE, "two", 3), 3,
                "write page 2");
    the_pager.page_out_fails[0] = true;

    errno = 0;
    expect_int(mmu_sync(m, 1, segment->start, segment->end), -1,
               "mmu_sync with a failing page_out");
    expect_errno(errno, EIO, "mmu_sync with a failing page_out");
    expect_true(page_dirty(m, 1, start), "page 0 (failed) still dirty");
    expect_true(!page_dirty(m, 1, start + 2 * PAGE_SIZE),
                "page 2 (written all the same) clean");
    fill_pattern(want, 2, 1);
    memcpy(want, "two", 3);
    expect_bytes(the_pager.store[2], want, PAGE_SIZE, "page 2 in the store");

    the_pager.page_out_fails[0] = false;
    expect_int(mmu_sync(m, 1, segment->start, segment->end), 0,
               "mmu_sync once page_out works");
    expect_true(!page_dirty(m, 1, start), "page 0 clean");
    expect_size(the_pager.page_outs[0], 2, "page_out calls for page 0");
    expect_size(the_pager.page_outs[2], 1,
                "page_out calls for page 2 (not written again)");
    fill_pattern(want, 0, 1);
    memcpy(want, "zero", 4);
    expect_bytes(the_pager.store[0], want, PAGE_SIZE, "page 0 in the store");
    mmu_delete(m);
}

static void
test_mmu_sequential_fault_reads_ahead_but_counts_each_page_at_its_touch(void) {
    mmu *m = new_mmu_with_process(1);
    vm_segmentation *segment =
        grow_testing_segment(m, 1, 32, READ | WRITE, fake_pager_init(3));
    unsigned char got[PAGE_SIZE], byte;
    size_t misses;

    /* A first fault with nothing resident before it reads one page. */
    expect_size(read_virtual(m, 1, segment->start, &byte, 1), 1, "read page 0");
    expect_size(the_pager.page_in_calls, 1, "page_in calls after page 0");
    expect_size(the_pager.total_page_ins, 1, "pages in after page 0");

    /* The next page follows a resident one: the rest comes in one call. */
    expect_size(read_virtual(m, 1, segment->start + PAGE_SIZE, &byte, 1), 1,
                "read page 1");
    expect_size(the_pager.page_in_calls, 2, "page_in calls after page 1");
    expect_size(the_pager.total_page_ins, 32, "pages in after page 1");
    expect_size(m->num_page_faults, 2, "faults: only the pages touched");
    expect_true(!page_present(m, 1, segment->start + 2 * PAGE_SIZE),
                "page 2, read ahead, is not mapped before its touch");
    expect_true(entry_of(m, 1, segment->start + 2 * PAGE_SIZE)->cached,
                "page 2 is cached");

    /* Its first touch is a fault that reads nothing and takes no frame. */
    trace_log_clear();
    trace_set_hook(record_event, NULL);
    misses = m->num_tlb_misses;
    expect_size(
        read_virtual(m, 1, segment->start + 2 * PAGE_SIZE, got, PAGE_SIZE),
        PAGE_SIZE, "read page 2");
    trace_set_hook(NULL, NULL);
    expect_size(m->num_page_faults, 3, "faults after touching page 2");
    expect_size(m->num_tlb_misses, misses + 1, "TLB misses for page 2");
    expect_size(trace_log.per_event[TRACE_PAGE_FAULT], 1,
                "fault events for page 2");
    expect_size(trace_log.per_event[TRACE_FRAME_GIVEN], 0,
                "frames given for page 2");
    expect_size(the_pager.page_in_calls, 2, "page_in calls after page 2");
    expect_bytes(got, the_pager.store[2], PAGE_SIZE, "page 2 as read ahead");
    expect_true(page_present(m, 1, segment->start + 2 * PAGE_SIZE),
                "page 2 mapped after its touch");
    expect_size(kernel_frames_total() - kernel_frames_free(), 2 + 32,
                "frames in use: directory, table and the 32 pages");
    expect_int(mmu_remove_process(m, 1), 0, "mmu_remove_process");
    expect_all_frames_free("after removing a process with cached pages");
    mmu_delete(m);
}

static void test_mmu_random_faults_read_only_the_pages_they_touch(void) {
    mmu *m = new_mmu_with_process(1);
    vm_segmentation *segment =
        grow_testing_segment(m, 1, 32, READ | WRITE, fake_pager_init(3));
    unsigned char byte;
    size_t page, i;

    /* Downwards, every fourth page: no page follows a resident one. */
    for (i = 0; i < 8; i++) {
        page = 30 - 4 * i;
        expect_size(
            read_virtual(m, 1, segment->start + page * PAGE_SIZE, &byte, 1), 1,
            describe("read page %zu", page));
    }
    expect_size(the_pager.total_page_ins, 8, "pages in: the 8 touched");
    expect_size(m->num_page_faults, 8, "faults");
    mmu_delete(m);
}

static void
test_mmu_write_covering_whole_pages_reads_only_the_partial_ends(void) {
    mmu *m = new_mmu_with_process(1);
    vm_segmentation *segment =
        grow_testing_segment(m, 1, 8, READ | WRITE, fake_pager_init(5));
    static unsigned char bytes[3 * PAGE_SIZE], got[5 * PAGE_SIZE];
    unsigned char want[PAGE_SIZE];
    addr32 from = segment->start + PAGE_SIZE + 100; /* inside page 1 */
    size_t page;

    memset(bytes, 0xA5, sizeof bytes); /* to inside page 4 */
    expect_size(write_virtual(m, 1, from, bytes, sizeof bytes), sizeof bytes,
                "write from page 1 into page 4");
    expect_size(the_pager.page_ins[1], 1, "page 1 (partly written) read");
    expect_size(the_pager.page_ins[2], 0, "page 2 (written whole) not read");
    expect_size(the_pager.page_ins[3], 0, "page 3 (written whole) not read");
    expect_size(the_pager.page_ins[4], 1, "page 4 (partly written) read");
    expect_size(the_pager.page_ins[5], 0, "page 5 (past the write) not read");
    expect_size(m->num_page_faults, 4, "faults: pages 1 to 4");

    expect_size(read_virtual(m, 1, segment->start, got, sizeof got), sizeof got,
                "read pages 0 to 4");
    for (page = 0; page < 5; page++) {
        fill_pattern(want, page, 5);
        if (page >= 1) {
            size_t lo = page == 1 ? 100 : 0;
            size_t hi = page == 4 ? 100 : PAGE_SIZE;
            memset(want + lo, 0xA5, hi - lo);
        }
        expect_bytes(got + page * PAGE_SIZE, want, PAGE_SIZE,
                     describe("page %zu after the write", page));
    }
    mmu_delete(m);
}

static void test_mmu_sync_writes_neighbouring_dirty_pages_in_one_call(void) {
    mmu *m = new_mmu_with_process(1);
    vm_segmentation *segment =
        grow_testing_segment(m, 1, 8, READ | WRITE, fake_pager_init(1));
    addr32 start = segment->start;
    size_t page;

    for (page = 0; page < 8; page++) {
        if (page == 3 || page == 4)
            continue;
        expect_size(write_virtual(m, 1, start + page * PAGE_SIZE + 7, "x", 1),
                    1, describe("write page %zu", page));
    }
    expect_int(mmu_sync(m, 1, segment->start, segment->end), 0, "mmu_sync");
    expect_size(the_pager.page_out_calls, 2,
                "page_out calls: pages 0-2, then 5-7");
    for (page = 0; page < 8; page++) {
        expect_size(the_pager.page_outs[page], page == 3 || page == 4 ? 0 : 1,
                    describe("saves of page %zu", page));
        expect_true(!page_dirty(m, 1, start + page * PAGE_SIZE),
                    describe("page %zu clean", page));
        expect_true(
            the_pager.store[page][7] ==
                (page == 3 || page == 4 ? want_pattern_byte(page, 1, 7) : 'x'),
            describe("byte 7 of page %zu in the store", page));
    }
    mmu_delete(m);
}

static void test_mmu_sync_retries_a_failed_run_page_by_page(void) {
    mmu *m = new_mmu_with_process(1);
    vm_segmentation *segment =
        grow_testing_segment(m, 1, 4, READ | WRITE, fake_pager_init(1));
    addr32 start = segment->start;

    expect_size(write_virtual(m, 1, start + 10, "abc", 3), 3, "write page 0");
    expect_size(write_virtual(m, 1, start + PAGE_SIZE + 10, "def", 3), 3,
                "write page 1");
    expect_size(write_virtual(m, 1, start + 2 * PAGE_SIZE + 10, "ghi", 3), 3,
                "write page 2");
    the_pager.page_out_fails[1] = true;
    errno = 0;
    expect_int(mmu_sync(m, 1, segment->start, segment->end), -1,
               "mmu_sync with page 1 failing");
    expect_errno(errno, EIO, "mmu_sync with page 1 failing");
    expect_true(!page_dirty(m, 1, start), "page 0 clean");
    expect_true(page_dirty(m, 1, start + PAGE_SIZE), "page 1 still dirty");
    expect_true(!page_dirty(m, 1, start + 2 * PAGE_SIZE), "page 2 clean");
    expect_bytes(the_pager.store[0] + 10, "abc", 3, "page 0 in the store");
    expect_bytes(the_pager.store[2] + 10, "ghi", 3, "page 2 in the store");
    expect_true(memcmp(the_pager.store[1] + 10, "def", 3) != 0,
                "page 1 not in the store");
    the_pager.page_out_fails[1] = false;
    mmu_delete(m);
}

static void test_mmu_eviction_writes_dirty_neighbours_with_the_victim(void) {
    mmu *m;
    vm_segmentation *segment;
    addr32 start;
    unsigned char byte;
    size_t page;

    setenv("MMAP_FRAMES", "8", 1); /* directory, table and 6 pages */
    m = new_mmu_with_process(1);
    segment = grow_testing_segment(m, 1, 8, READ | WRITE, fake_pager_init(1));
    start = segment->start;
    for (page = 0; page < 6; page++)
        expect_size(write_virtual(m, 1, start + page * PAGE_SIZE, "w", 1), 1,
                    describe("write page %zu", page));
    expect_size(read_virtual(m, 1, start + 6 * PAGE_SIZE, &byte, 1), 1,
                "read page 6, which evicts page 0");
    expect_true(!page_present(m, 1, start), "page 0 evicted");
    expect_size(the_pager.page_out_calls, 1,
                "page_out calls: the victim and its dirty neighbours at once");
    expect_size(the_pager.total_page_outs, 6, "pages saved");
    for (page = 1; page < 6; page++) {
        expect_true(page_present(m, 1, start + page * PAGE_SIZE),
                    describe("page %zu still mapped", page));
        expect_true(!page_dirty(m, 1, start + page * PAGE_SIZE),
                    describe("page %zu clean", page));
        expect_true(the_pager.store[page][0] == 'w',
                    describe("page %zu in the store", page));
    }
    mmu_delete(m);
}

static void test_mmu_remove_process_writes_dirty_pages_through_the_pager(void) {
    mmu *m = new_mmu_with_process(1);
    vm_segmentation *segment =
        grow_testing_segment(m, 1, 4, READ | WRITE, fake_pager_init(1));
    unsigned char want[PAGE_SIZE], byte;

    expect_size(write_virtual(m, 1, segment->start + PAGE_SIZE, "dirty", 5), 5,
                "write page 1");
    expect_size(read_virtual(m, 1, segment->start + 2 * PAGE_SIZE, &byte, 1), 1,
                "read page 2");
    expect_int(mmu_remove_process(m, 1), 0, "mmu_remove_process(m, 1)");
    expect_size(the_pager.page_outs[1], 1, "page_out calls for dirty page 1");
    expect_size(the_pager.page_outs[2], 0, "page_out calls for clean page 2");
    expect_size(the_pager.total_page_outs, 1, "page_out calls in all");
    fill_pattern(want, 1, 1);
    memcpy(want, "dirty", 5);
    expect_bytes(the_pager.store[1], want, PAGE_SIZE, "page 1 in the store");
    expect_all_frames_free("after mmu_remove_process");
    mmu_delete(m);
}

static void
test_mmu_remove_process_reports_failed_write_back_and_frees_all(void) {
    mmu *m = new_mmu_with_process(1);
    vm_segmentation *segment =
        grow_testing_segment(m, 1, 4, READ | WRITE, fake_pager_init(1));

    expect_size(write_virtual(m, 1, segment->start, "lost", 4), 4,
                "write page 0");
    the_pager.page_out_fails[0] = true;
    errno = 0;
    expect_int(mmu_remove_process(m, 1), -1,
               "mmu_remove_process with a failing page_out");
    expect_errno(errno, EIO, "mmu_remove_process with a failing page_out");
    expect_null(m->page_directories[1], "directory of the removed process");
    expect_all_frames_free("after the failed removal");
    mmu_delete(m);
}

static void
test_mmu_evicts_backed_pages_under_pressure_and_faults_them_in(void) {
    enum { PAGES = 24 };
    mmu *m;
    vm_segmentation *segment;
    unsigned char want[PAGE_SIZE], got[PAGE_SIZE];
    size_t page;

    setenv("MMAP_FRAMES", "8", 1);
    m = new_mmu_with_process(1);
    segment =
        grow_testing_segment(m, 1, PAGES, READ | WRITE, fake_pager_init(1));
    for (page = 0; page < PAGES; page++) {
        fill_pattern(want, page, 2);
        expect_size(write_virtual(m, 1,
                                  segment->start + (addr32)page * PAGE_SIZE,
                                  want, PAGE_SIZE),
                    PAGE_SIZE, describe("write page %zu", page));
    }
    expect_size(m->num_page_faults, PAGES, "page faults after writing");
    expect_at_least(the_pager.total_page_outs, PAGES - 8,
                    "page_out calls (dirty victims saved)");
    for (page = 0; page < PAGES; page++) {
        fill_pattern(want, page, 2);
        expect_size(read_virtual(m, 1,
                                 segment->start + (addr32)page * PAGE_SIZE, got,
                                 PAGE_SIZE),
                    PAGE_SIZE, describe("read page %zu", page));
        expect_bytes(got, want, PAGE_SIZE,
                     describe("page %zu read back", page));
    }
    expect_at_least(m->num_page_faults, 2 * PAGES - 8,
                    "page faults after reading back (evicted pages return)");
    expect_int(mmu_remove_process(m, 1), 0, "mmu_remove_process");
    for (page = 0; page < PAGES; page++) {
        fill_pattern(want, page, 2);
        expect_bytes(the_pager.store[page], want, PAGE_SIZE,
                     describe("page %zu in the store", page));
    }
    mmu_delete(m);
    expect_all_frames_free("after mmu_delete");
}

/* ================================================================== */
/* trace.h                                                             */
/* ================================================================== */

static void test_trace_hook_sees_miss_fault_and_frame_then_a_hit(void) {
    mmu *m = new_mmu_with_process(1);
    vm_segmentation *segment =
        grow_testing_segment(m, 1, 2, READ | WRITE, NULL);
    addr32 address = segment->start + 0x10;
    page_table_entry *entry;
    size_t miss, fault, given, i;
    unsigned char byte;

    trace_log_clear();
    trace_set_hook(record_event, &trace_log);
    expect_size(read_virtual(m, 1, address, &byte, 1), 1, "first read");
    entry = entry_of(m, 1, address);
    expect_true(entry && entry->present, "the page is present");

    miss = trace_find(TRACE_TLB_MISS, true, segment->start, false, 0);
    fault = trace_find(TRACE_PAGE_FAULT, true, segment->start, false, 0);
    given = trace_find(TRACE_FRAME_GIVEN, false, 0, true,
                       (addr32)entry->base_addr << NUM_OFFSET_BITS);
    expect_true(miss != SIZE_MAX, "a TLB miss event for the page");
    expect_true(fault != SIZE_MAX, "a page fault event for the page");
    expect_true(given != SIZE_MAX, "a frame given event for the page's frame");
    expect_true(miss < fault, "the TLB miss comes before the page fault");
    expect_true(fault < given, "the page fault comes before the frame given");
    expect_size(trace_log.per_event[TRACE_TLB_HIT], 0,
                "TLB hits on first read");
    for (i = 0; i < trace_log.count && i < TRACE_LOG_SIZE; i++)
        expect_ptr(trace_log.records[i].context, &trace_log,
                   "context handed to the hook");

    trace_log_clear();
    expect_size(read_virtual(m, 1, address, &byte, 1), 1, "second read");
    expect_size(trace_log.per_event[TRACE_TLB_HIT], 1, "TLB hits on reread");
    expect_true(trace_find(TRACE_TLB_HIT, true, segment->start, false, 0) !=
                    SIZE_MAX,
                "the TLB hit names the page");
    expect_size(trace_log.per_event[TRACE_TLB_MISS], 0, "misses on reread");
    expect_size(trace_log.per_event[TRACE_PAGE_WALK], 0, "walks on reread");
    expect_size(trace_log.per_event[TRACE_PAGE_FAULT], 0, "faults on reread");
    expect_size(trace_log.per_event[TRACE_FRAME_GIVEN], 0, "frames on reread");

    trace_set_hook(NULL, NULL);
    trace_log_clear();
    expect_size(read_virtual(m, 1, segment->start + PAGE_SIZE, &byte, 1), 1,
                "read of a new page with no hook");
    expect_size(trace_log.count, 0, "events recorded after the hook was unset");
    mmu_delete(m);
}

static void test_trace_reports_a_segfault_and_names_every_event(void) {
    mmu *m = new_mmu_with_process(1);
    unsigned char byte;
    int event, other;

    trace_log_clear();
    trace_set_hook(record_event, NULL);
    errno = 0;
    expect_size(read_virtual(m, 1, 0x00001000u, &byte, 1), 0,
                "read outside every segment");
    trace_set_hook(NULL, NULL);
    expect_size(trace_log.per_event[TRACE_SEGFAULT], 1, "segfault events");
    expect_true(
        trace_find(TRACE_SEGFAULT, false, 0, false, 0) != SIZE_MAX &&
            trace_log.records[trace_find(TRACE_SEGFAULT, false, 0, false, 0)]
                    .virtual_address == 0x00001000u,
        "the segfault event carries the address 0x1000");

    expect_true(strcmp(trace_event_name(TRACE_TLB_MISS), "TLB miss") == 0,
                "trace_event_name(TRACE_TLB_MISS) is \"TLB miss\"");
    for (event = 0; event < NUM_TRACE_EVENTS; event++) {
        const char *name = trace_event_name(event);
        expect_true(name && name[0],
                    describe("event %d has a non-empty name", event));
        for (other = 0; other < event; other++)
            expect_true(strcmp(name, trace_event_name(other)) != 0,
                        describe("events %d and %d have different names", event,
                                 other));
    }
    mmu_delete(m);
}

/* ================================================================== */
/* mmap.h: creating a mapping                                          */
/* ================================================================== */

static void test_mmap_create_is_lazy_no_fault_before_access(void) {
    char path[PATH_MAX];
    size_t total, page;
    unsigned char byte;
    mmap *map;

    copy_fixture("lorem.txt", path);
    total = kernel_frames_total();
    map = map_file(path);
    expect_size(map->mmu->num_page_faults, 0, "page faults after create");
    expect_size(map->mmu->num_tlb_misses, 0, "TLB misses after create");
    for (page = 0; page < 3; page++)
        expect_true(!map_page_present(map, page),
                    describe("page %zu not present after create", page));
    expect_at_most(total - kernel_frames_free(), 2,
                   "frames in use after create (a directory and at most one "
                   "page table, no data frame)");

    expect_size(mmap_read(map, &byte, 5000, 1), 1, "read of byte 5000");
    expect_size(map->mmu->num_page_faults, 1, "page faults after one read");
    expect_true(map_page_present(map, 1), "page 1 present after the read");
    expect_true(!map_page_present(map, 0), "page 0 still not present");
    expect_true(!map_page_present(map, 2), "page 2 still not present");
    munmap(map);
}

static void expect_segment_pages(const char *fixture, size_t size,
                                 size_t pages) {
    char path[PATH_MAX];
    vm_segmentation *segment;
    mmap *map;

    if (fixture) {
        copy_fixture(fixture, path);
    } else {
        unsigned char *zeros = calloc(1, size + 1);
        if (!zeros)
            setup_failed("calloc");
        write_new_file("sized.bin", zeros, size, path);
        free(zeros);
    }
    map = map_file(path);
    segment = mmap_segment_of(map);
    expect_hex(segment->start, MMAP_REGION_START,
               describe("MMAP start, file of %zu bytes", size));
    expect_hex(map->start_address, segment->start,
               describe("start_address, file of %zu bytes", size));
    expect_hex(map->start_address % PAGE_SIZE, 0,
               describe("start_address page offset, file of %zu bytes", size));
    expect_size(segment->end - segment->start, pages * PAGE_SIZE,
                describe("MMAP segment bytes for a file of %zu bytes", size));
    expect_true(segment->permissions & READ,
                describe("MMAP is readable, file of %zu bytes", size));
    expect_true(segment->permissions & WRITE,
                describe("MMAP is writable, file of %zu bytes", size));
    munmap(map);
}

static void test_mmap_segment_spans_whole_pages_from_the_mmap_start(void) {
    expect_segment_pages("hello.txt", 21, 1);
    expect_segment_pages("lorem.txt", 10000, 3);
    expect_segment_pages("one_page.txt", 4096, 1);
    expect_segment_pages("empty.txt", 0, 0);
    expect_segment_pages(NULL, 4097, 2);
    expect_segment_pages(NULL, 3 * 4096, 3);
}

static void test_mmap_fields_hold_mmu_stream_and_file_length(void) {
    static const struct {
        const char *name;
        size_t length;
    } files[] = {{"hello.txt", 21},
                 {"lorem.txt", 10000},
                 {"one_page.txt", 4096},
                 {"empty.txt", 0}};
    char path[PATH_MAX];
    size_t i;

    expect_size(offsetof(mmap, mmu), 0, "offset of mmu (the first field)");
    expect_true(offsetof(mmap, mmu) < offsetof(mmap, stream) &&
                    offsetof(mmap, stream) < offsetof(mmap, length) &&
                    offsetof(mmap, length) < offsetof(mmap, start_address),
                "mmu, stream, length, start_address come in that order");
    for (i = 0; i < sizeof files / sizeof files[0]; i++) {
        mmap *map;
        copy_fixture(files[i].name, path);
        map = map_file(path);
        expect_size(map->length, files[i].length,
                    describe("length of %s", files[i].name));
        expect_not_null(map->mmu, describe("mmu of %s", files[i].name));
        expect_not_null(map->stream, describe("stream of %s", files[i].name));
        expect_true(map->writable, describe("%s (mode 0644) is mapped writable",
                                            files[i].name));
        expect_not_null(
            map->mmu->page_directories[DEFAULT_PID],
            describe("directory of pid DEFAULT_PID for %s", files[i].name));
        munmap(map);
    }
}

static void test_mmap_create_with_null_path_fails_with_einval(void) {
    errno = 0;
    expect_null(mmap_create(NULL), "mmap_create(NULL)");
    expect_errno(errno, EINVAL, "mmap_create(NULL)");
}

static void test_mmap_create_of_a_missing_file_fails_with_enoent(void) {
    char path[PATH_MAX];

    path_in_work_dir("no_such_file.txt", path);
    errno = 0;
    expect_null(mmap_create(path), "mmap_create of a missing file");
    expect_errno(errno, ENOENT, "mmap_create of a missing file");
}

static void test_mmap_create_of_a_directory_fails_with_eisdir(void) {
    char path[PATH_MAX];

    path_in_work_dir("a_directory", path);
    if (mkdir(path, 0755) != 0)
        setup_failed("mkdir");
    errno = 0;
    expect_null(mmap_create(path), "mmap_create of a directory");
    expect_errno(errno, EISDIR, "mmap_create of a directory");
}

static void
test_mmap_create_of_a_fifo_fails_with_enodev_without_blocking(void) {
    char path[PATH_MAX];

    path_in_work_dir("a_fifo", path);
    if (mkfifo(path, 0644) != 0)
        setup_failed("mkfifo");
    alarm(10); /* opening a FIFO for reading alone would block here */
    errno = 0;
    expect_null(mmap_create(path), "mmap_create of a FIFO");
    expect_errno(errno, ENODEV, "mmap_create of a FIFO");
}

static void test_mmap_create_of_a_character_device_fails_with_enodev(void) {
    struct stat info;

    if (stat("/dev/null", &info) != 0 || !S_ISCHR(info.st_mode))
        setup_failed("/dev/null is not a character device");
    errno = 0;
    expect_null(mmap_create("/dev/null"), "mmap_create(\"/dev/null\")");
    expect_errno(errno, ENODEV, "mmap_create(\"/dev/null\")");
}

static void test_mmap_create_of_an_unreadable_file_fails_with_eacces(void) {
    char path[PATH_MAX];

    copy_fixture("hello.txt", path);
    if (chmod(path, 0000) != 0)
        setup_failed("chmod 0000");
    drop_root_privileges();
    expect_true(access(path, R_OK) != 0,
                "precondition: the file is not readable to this user");
    errno = 0;
    expect_null(mmap_create(path), "mmap_create of a mode 0000 file");
    expect_errno(errno, EACCES, "mmap_create of a mode 0000 file");
}

static void test_empty_file_maps_with_length_0_and_reads_0(void) {
    char path[PATH_MAX];
    unsigned char buffer[10];
    mmap *map;

    copy_fixture("empty.txt", path);
    map = map_file(path);
    expect_size(map->length, 0, "length of an empty file");
    expect_hex(mmap_segment_of(map)->end, mmap_segment_of(map)->start,
               "MMAP segment of an empty file is empty");
    expect_size(mmap_read(map, buffer, 0, sizeof buffer), 0, "read of empty");
    expect_size(mmap_write(map, "x", 0, 1), 0, "write to empty");
    expect_int(mmap_sync(map), 0, "mmap_sync of an empty mapping");
    expect_size(map->mmu->num_page_faults, 0, "page faults");
    munmap(map);
    expect_size(file_size(path), 0, "size of the empty file after munmap");
    expect_all_frames_free("after munmap");
}

static void test_read_only_file_maps_read_only_and_write_is_eacces(void) {
    char path[PATH_MAX];
    unsigned char *fixture, *after, buffer[64];
    size_t size, after_size;
    mmap *map;

    fixture = load_fixture("hello.txt", &size);
    copy_fixture("hello.txt", path);
    if (chmod(path, 0444) != 0)
        setup_failed("chmod 0444");
    drop_root_privileges();
    expect_true(access(path, W_OK) != 0,
                "precondition: the file is not writable to this user");
    expect_true(access(path, R_OK) == 0,
                "precondition: the file is readable to this user");

    map = map_file(path);
    expect_size(map->length, size, "length of the read-only mapping");
    expect_true(!map->writable, "the mapping says it is not writable");
    expect_true(!(mmap_segment_of(map)->permissions & WRITE),
                "the MMAP segment of a read-only mapping has no WRITE");
    expect_size(map->mmu->num_segmentation_faults, 0, "segfaults at first");
    errno = 0;
    expect_size(mmap_write(map, "X", 0, 1), 0,
                "bytes written through a read-only mapping");
    expect_errno(errno, EACCES, "mmap_write through a read-only mapping");
    expect_size(map->mmu->num_segmentation_faults, 1,
                "segfaults after one refused mmap_write");

    errno = 0;
    expect_size(mmu_write_to_virtual_address(map->mmu, map_address(map, 0),
                                             DEFAULT_PID, "Y", 1),
                0, "bytes written by the MMU to the read-only segment");
    expect_errno(errno, EACCES, "MMU write to the read-only segment");
    expect_size(map->mmu->num_segmentation_faults, 2,
                "segfaults after the refused MMU write");

    expect_size(mmap_read(map, buffer, 0, sizeof buffer), size,
                "bytes read through the read-only mapping");
    expect_bytes(buffer, fixture, size, "bytes read through it");
    expect_int(mmap_sync(map), 0, "mmap_sync of a read-only mapping");
    munmap(map);

    after = load_file(path, &after_size);
    expect_size(after_size, size, "file size after munmap");
    expect_bytes(after, fixture, size, "file after munmap (unchanged)");
    free(after);
    free(fixture);
}

static void
test_one_gib_sparse_file_maps_and_its_last_page_is_written_back(void) {
    const size_t size = (size_t)1 << 30;
    char path[PATH_MAX];
    unsigned char byte = 0xEE;
    mmap *map;

    make_sparse_file("one_gib.bin", (off_t)size, path);
    map = map_file(path);
    expect_size(map->length, size, "length of a 1 GiB file");
    expect_size(mmap_segment_of(map)->end - mmap_segment_of(map)->start, size,
                "MMAP segment bytes for 1 GiB");
    expect_size(mmap_read(map, &byte, size - 1, 1), 1, "read of the last byte");
    expect_size(byte, 0, "last byte of a sparse file");
    expect_size(mmap_write(map, "Z", size - 1, 1), 1, "write of the last byte");
    expect_size(mmap_write(map, "M", size / 2, 1), 1, "write of the middle");
    expect_size(map->mmu->num_page_faults, 2, "page faults");
    munmap(map);
    expect_size(file_size(path), size, "size of the file after munmap");
    read_file_at(path, (off_t)(size - 1), &byte, 1);
    expect_size(byte, 'Z', "last byte on disk");
    read_file_at(path, (off_t)(size / 2), &byte, 1);
    expect_size(byte, 'M', "middle byte on disk");
    read_file_at(path, (off_t)(size - 2), &byte, 1);
    expect_size(byte, 0, "byte before the last, on disk");
    expect_all_frames_free("after munmap");
}

static void test_file_filling_the_whole_mmap_region_maps(void) {
    char path[PATH_MAX];
    unsigned char byte = 0xEE;
    mmap *map;

    make_sparse_file("full_region.bin", (off_t)MMAP_REGION_SIZE, path);
    map = map_file(path);
    expect_size(map->length, MMAP_REGION_SIZE, "length of a 1.75 GiB file");
    expect_hex(mmap_segment_of(map)->end, MMAP_REGION_START + MMAP_REGION_SIZE,
               "MMAP end for 1.75 GiB");
    expect_size(mmap_read(map, &byte, MMAP_REGION_SIZE - 1, 1), 1,
                "read of the last byte");
    expect_size(byte, 0, "last byte");
    munmap(map);
    expect_size(file_size(path), MMAP_REGION_SIZE, "file size after munmap");
}

static void test_file_larger_than_the_mmap_region_fails_with_enomem(void) {
    char path[PATH_MAX];

    make_sparse_file("one_byte_too_big.bin", (off_t)MMAP_REGION_SIZE + 1, path);
    errno = 0;
    expect_null(mmap_create(path), "mmap_create of 1.75 GiB + 1 byte");
    expect_errno(errno, ENOMEM, "mmap_create of 1.75 GiB + 1 byte");

    make_sparse_file("two_gib.bin", (off_t)2 << 30, path);
    errno = 0;
    expect_null(mmap_create(path), "mmap_create of 2 GiB");
    expect_errno(errno, ENOMEM, "mmap_create of 2 GiB");
    expect_all_frames_free("after the refusals");
}

/* ================================================================== */
/* mmap.h: reading and writing                                         */
/* ================================================================== */

static void test_mmap_read_of_whole_file_equals_the_file(void) {
    static const char *const names[] = {"hello.txt", "lorem.txt",
                                        "one_page.txt"};
    static unsigned char buffer[10000];
    char path[PATH_MAX];
    size_t i, size;

    for (i = 0; i < 3; i++) {
        unsigned char *fixture = load_fixture(names[i], &size);
        mmap *map;
        copy_fixture(names[i], path);
        map = map_file(path);
        memset(buffer, 0xEE, sizeof buffer);
        expect_size(mmap_read(map, buffer, 0, size), size,
                    describe("bytes read of %s", names[i]));
        expect_bytes(buffer, fixture, size, describe("%s as read", names[i]));
        munmap(map);
        free(fixture);
    }
}

static void test_mmap_read_is_clipped_at_length(void) {
    static unsigned char buffer[20000];
    char path[PATH_MAX];
    unsigned char *fixture;
    size_t size;
    mmap *map;

    fixture = load_fixture("lorem.txt", &size);
    copy_fixture("lorem.txt", path);
    map = map_file(path);
    memset(buffer, 0xEE, sizeof buffer);
    expect_size(mmap_read(map, buffer, 0, sizeof buffer), 10000,
                "bytes read when asking for 20000 of 10000");
    expect_bytes(buffer, fixture, 10000, "bytes read");
    expect_all_bytes(buffer + 10000, 0xEE, 10000, "buffer past the length");

    memset(buffer, 0xEE, sizeof buffer);
    expect_size(mmap_read(map, buffer, 9990, 100), 10,
                "bytes read of 100 at offset 9990");
    expect_bytes(buffer, fixture + 9990, 10, "last 10 bytes");
    expect_all_bytes(buffer + 10, 0xEE, 90, "buffer past the 10 bytes");
    munmap(map);
    free(fixture);
}

static void test_mmap_read_goes_through_the_mmu_tlb_and_fault_counters(void) {
    static unsigned char buffer[10000];
    char path[PATH_MAX];
    mmap *map;

    copy_fixture("lorem.txt", path);
    map = map_file(path);
    expect_size(mmap_read(map, buffer, 0, 1), 1, "read byte 0");
    expect_size(map->mmu->num_page_faults, 1, "page faults after byte 0");
    expect_size(map->mmu->num_tlb_misses, 1, "TLB misses after byte 0");
    expect_size(mmap_read(map, buffer, 1, 1), 1, "read byte 1");
    expect_size(map->mmu->num_page_faults, 1, "page faults after byte 1");
    expect_size(map->mmu->num_tlb_misses, 1, "TLB misses after byte 1 (hit)");
    expect_size(mmap_read(map, buffer, 4096, 1), 1, "read byte 4096");
    expect_size(map->mmu->num_page_faults, 2, "page faults after byte 4096");
    expect_size(map->mmu->num_tlb_misses, 2, "TLB misses after byte 4096");
    expect_size(mmap_read(map, buffer, 0, 10000), 10000, "read all");
    expect_size(map->mmu->num_page_faults, 3, "page faults after reading all");
    expect_size(map->mmu->num_tlb_misses, 3, "TLB misses after reading all");
    expect_size(mmap_read(map, buffer, 0, 10000), 10000, "read all again");
    expect_size(map->mmu->num_page_faults, 3, "page faults after rereading");
    expect_size(map->mmu->num_tlb_misses, 3, "TLB misses after rereading");
    expect_size(mmap_write(map, "w", 9000, 1), 1, "write byte 9000");
    expect_size(map->mmu->num_page_faults, 3, "page faults after a write");
    expect_size(map->mmu->num_segmentation_faults, 0, "segfaults");
    munmap(map);
}

static void test_mmu_read_at_the_mapping_address_returns_the_file_bytes(void) {
    static const struct {
        size_t offset, count;
    } ranges[] = {{0, 100}, {4090, 20}, {9990, 10}, {0, 10000}};
    static unsigned char buffer[10000];
    char path[PATH_MAX];
    unsigned char *fixture;
    size_t size, i;
    mmap *map;

    fixture = load_fixture("lorem.txt", &size);
    copy_fixture("lorem.txt", path);
    map = map_file(path);
    for (i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        memset(buffer, 0xEE, sizeof buffer);
        expect_size(mmu_read_from_virtual_address(
                        map->mmu, map_address(map, ranges[i].offset),
                        DEFAULT_PID, buffer, ranges[i].count),
                    ranges[i].count,
                    describe("MMU read of %zu bytes at offset %zu",
                             ranges[i].count, ranges[i].offset));
        expect_bytes(buffer, fixture + ranges[i].offset, ranges[i].count,
                     describe("MMU read of %zu bytes at offset %zu",
                              ranges[i].count, ranges[i].offset));
    }
    munmap(map);
    free(fixture);
}

static void test_mmu_write_is_seen_by_mmap_read_and_written_back(void) {
    char path[PATH_MAX];
    unsigned char *fixture, *after, got[4];
    size_t size, after_size;
    mmap *map;

    fixture = load_fixture("lorem.txt", &size);
    copy_fixture("lorem.txt", path);
    map = map_file(path);
    expect_size(mmu_write_to_virtual_address(map->mmu, map_address(map, 4094),
                                             DEFAULT_PID, "ABCD", 4),
                4, "MMU write across pages 0 and 1");
    expect_size(mmap_read(map, got, 4094, 4), 4, "mmap_read of those bytes");
    expect_bytes(got, "ABCD", 4, "mmap_read after the MMU write");
    munmap(map);

    after = load_file(path, &after_size);
    expect_size(after_size, size, "file size after munmap");
    memcpy(fixture + 4094, "ABCD", 4);
    expect_bytes(after, fixture, size, "file after munmap");
    free(after);
    free(fixture);
}

static void test_mmap_write_reaches_the_file_at_munmap(void) {
    static const char text[] = "Hello, mapping!";
    char path[PATH_MAX];
    unsigned char *fixture, *after, got[sizeof text];
    size_t size, after_size;
    mmap *map;

    fixture = load_fixture("lorem.txt", &size);
    copy_fixture("lorem.txt", path);
    map = map_file(path);
    expect_size(mmap_write(map, text, 5000, sizeof text - 1), sizeof text - 1,
                "bytes written at offset 5000");
    expect_size(mmap_read(map, got, 5000, sizeof text - 1), sizeof text - 1,
                "bytes read back");
    expect_bytes(got, text, sizeof text - 1, "bytes read back");
    munmap(map);

    after = load_file(path, &after_size);
    expect_size(after_size, size, "file size after munmap");
    memcpy(fixture + 5000, text, sizeof text - 1);
    expect_bytes(after, fixture, size, "file after munmap");
    free(after);
    free(fixture);
}

static void
test_mmap_write_does_not_reach_the_file_before_munmap_or_sync(void) {
    char path[PATH_MAX];
    unsigned char *fixture, *now;
    size_t size, now_size;
    mmap *map;

    fixture = load_fixture("lorem.txt", &size);
    copy_fixture("lorem.txt", path);
    map = map_file(path);
    expect_size(mmap_write(map, "EARLY", 0, 5), 5, "write at offset 0");
    expect_size(mmap_write(map, "LATE", 8000, 4), 4, "write at offset 8000");

    now = load_file(path, &now_size);
    expect_size(now_size, size, "file size while mapped");
    expect_bytes(now, fixture, size, "file while mapped, before any sync");
    free(now);

    munmap(map);
    now = load_file(path, &now_size);
    memcpy(fixture, "EARLY", 5);
    memcpy(fixture + 8000, "LATE", 4);
    expect_bytes(now, fixture, size, "file after munmap");
    free(now);
    free(fixture);
}

static void test_mmap_sync_writes_dirty_pages_and_leaves_them_clean(void) {
    char path[PATH_MAX];
    unsigned char *fixture, *now;
    size_t size, now_size;
    mmap *map;

    fixture = load_fixture("lorem.txt", &size);
    copy_fixture("lorem.txt", path);
    map = map_file(path);
    expect_size(mmap_write(map, "SYNCED", 4100, 6), 6, "write into page 1");
    expect_true(page_dirty(map->mmu, DEFAULT_PID, map_address(map, 4096)),
                "page 1 dirty after the write");
    expect_int(mmap_sync(map), 0, "mmap_sync");

    now = load_file(path, &now_size);
    memcpy(fixture + 4100, "SYNCED", 6);
    expect_size(now_size, size, "file size after sync");
    expect_bytes(now, fixture, size, "file after mmap_sync");
    free(now);
    expect_true(!page_dirty(map->mmu, DEFAULT_PID, map_address(map, 4096)),
                "page 1 clean after mmap_sync");
    expect_true(map_page_present(map, 1), "page 1 still present after sync");
    expect_size(map->mmu->num_page_faults, 1, "page faults");
    munmap(map);
    free(fixture);
}

static void test_munmap_after_sync_does_not_write_a_clean_page_again(void) {
    char path[PATH_MAX];
    unsigned char got[6];
    mmap *map;

    copy_fixture("lorem.txt", path);
    map = map_file(path);
    expect_size(mmap_write(map, "SYNC", 0, 4), 4, "write at 0");
    expect_int(mmap_sync(map), 0, "mmap_sync");
    read_file_at(path, 0, got, 4);
    expect_bytes(got, "SYNC", 4, "file after mmap_sync");

    /* Someone else changes the same page; the mapping has nothing new. */
    write_file_at(path, 100, "OUTSDE", 6);
    munmap(map);
    read_file_at(path, 100, got, 6);
    expect_bytes(got, "OUTSDE", 6,
                 "external change in the synced page after munmap");
    read_file_at(path, 0, got, 4);
    expect_bytes(got, "SYNC", 4, "synced bytes after munmap");
}

static void test_munmap_writes_only_dirty_pages_so_clean_changes_survive(void) {
    static unsigned char buffer[10000];
    char path[PATH_MAX];
    unsigned char *fixture, *after;
    size_t size, after_size;
    mmap *map;

    fixture = load_fixture("lorem.txt", &size);
    copy_fixture("lorem.txt", path);
    map = map_file(path);
    expect_size(mmap_read(map, buffer, 0, size), size, "read all (3 pages)");
    expect_size(mmap_write(map, "DIRTY", 4096, 5), 5, "write into page 1");

    write_file_at(path, 10, "ZERO", 4);   /* clean page 0 */
    write_file_at(path, 8200, "TWO!", 4); /* clean page 2 */
    munmap(map);

    after = load_file(path, &after_size);
    expect_size(after_size, size, "file size");
    memcpy(fixture + 10, "ZERO", 4);
    memcpy(fixture + 4096, "DIRTY", 5);
    memcpy(fixture + 8200, "TWO!", 4);
    expect_bytes(after, fixture, size,
                 "file: external changes in clean pages 0 and 2 survive, "
                 "page 1 has the write");
    free(after);
    free(fixture);
}

static void
test_mmap_write_at_the_end_is_clipped_and_the_file_never_grows(void) {
    char path[PATH_MAX];
    unsigned char *fixture, *after, got[20];
    size_t size, after_size;
    mmap *map;

    fixture = load_fixture("hello.txt", &size);
    copy_fixture("hello.txt", path);
    map = map_file(path);
    expect_size(mmap_write(map, "0123456789ABCDEFGHIJ", 15, 20), 6,
                "bytes written of 20 at offset 15 of 21");
    memset(got, 0xEE, sizeof got);
    expect_size(mmap_read(map, got, 15, 20), 6, "bytes read back");
    expect_bytes(got, "012345", 6, "bytes read back");
    munmap(map);
    expect_size(file_size(path), 21, "file size after munmap");
    after = load_file(path, &after_size);
    memcpy(fixture + 15, "012345", 6);
    expect_bytes(after, fixture, 21, "file after munmap");
    free(after);
    free(fixture);

    copy_fixture("one_page.txt", path);
    map = map_file(path);
    expect_size(mmap_write(map, "0123456789", 4090, 10), 6,
                "bytes written of 10 at offset 4090 of 4096");
    munmap(map);
    expect_size(file_size(path), 4096, "one_page.txt size after munmap");
}

static void
test_bytes_past_eof_in_the_last_page_read_as_zero_through_mmu(void) {
    static unsigned char buffer[PAGE_SIZE];
    char path[PATH_MAX];
    mmap *map;

    dirty_every_frame(); /* the pager must clear the tail, not find it so */
    copy_fixture("hello.txt", path);
    map = map_file(path);
    memset(buffer, 0xEE, sizeof buffer);
    expect_size(mmu_read_from_virtual_address(map->mmu, map_address(map, 21),
                                              DEFAULT_PID, buffer,
                                              PAGE_SIZE - 21),
                PAGE_SIZE - 21, "MMU read of the rest of the last page");
    expect_all_bytes(buffer, 0, PAGE_SIZE - 21, "bytes past end of file");
    errno = 0;
    expect_size(mmu_read_from_virtual_address(map->mmu,
                                              map_address(map, PAGE_SIZE),
                                              DEFAULT_PID, buffer, 1),
                0, "MMU read past the last page of the mapping");
    expect_errno(errno, EFAULT, "MMU read past the last page");
    munmap(map);

    copy_fixture("lorem.txt", path);
    map = map_file(path);
    memset(buffer, 0xEE, sizeof buffer);
    expect_size(mmu_read_from_virtual_address(map->mmu, map_address(map, 10000),
                                              DEFAULT_PID, buffer,
                                              3 * PAGE_SIZE - 10000),
                3 * PAGE_SIZE - 10000, "MMU read of lorem's last page tail");
    expect_all_bytes(buffer, 0, 3 * PAGE_SIZE - 10000,
                     "lorem's bytes past end of file");
    munmap(map);
}

static void
test_mmu_write_past_eof_in_the_last_page_never_grows_the_file(void) {
    char path[PATH_MAX];
    unsigned char *fixture, *after;
    size_t size, after_size;
    mmap *map;

    fixture = load_fixture("hello.txt", &size);
    copy_fixture("hello.txt", path);
    map = map_file(path);
    expect_size(mmu_write_to_virtual_address(map->mmu, map_address(map, 21),
                                             DEFAULT_PID, "TAIL", 4),
                4, "MMU write just past end of file, inside the last page");
    expect_size(mmu_write_to_virtual_address(map->mmu, map_address(map, 0),
                                             DEFAULT_PID, "h", 1),
                1, "MMU write of byte 0");
    expect_int(mmap_sync(map), 0, "mmap_sync");
    expect_size(file_size(path), 21, "file size after sync");
    munmap(map);
    expect_size(file_size(path), 21, "file size after munmap");
    after = load_file(path, &after_size);
    fixture[0] = 'h';
    expect_bytes(after, fixture, 21, "file after munmap");
    free(after);
    free(fixture);
}

static void test_mmap_offset_at_or_past_the_end_gives_0(void) {
    char path[PATH_MAX];
    unsigned char buffer[8], *fixture, *after;
    size_t size, after_size;
    mmap *map;

    fixture = load_fixture("hello.txt", &size);
    copy_fixture("hello.txt", path);
    map = map_file(path);
    memset(buffer, 0xEE, sizeof buffer);
    expect_size(mmap_read(map, buffer, 21, 5), 0, "read at offset 21 of 21");
    expect_size(mmap_read(map, buffer, 22, 5), 0, "read at offset 22 of 21");
    expect_size(mmap_read(map, buffer, 1 << 20, 5), 0, "read at 1 MiB");
    expect_all_bytes(buffer, 0xEE, sizeof buffer, "buffer after the reads");
    expect_size(mmap_write(map, "abcde", 21, 5), 0, "write at offset 21");
    expect_size(mmap_write(map, "abcde", PAGE_SIZE, 5), 0, "write at 4096");
    expect_size(mmap_read(map, buffer, 0, 0), 0, "read of 0 bytes");
    munmap(map);
    after = load_file(path, &after_size);
    expect_size(after_size, size, "file size after munmap");
    expect_bytes(after, fixture, size, "file after munmap");
    free(after);
    free(fixture);
}

static void test_mmap_offset_plus_count_overflow_is_clipped(void) {
    char path[PATH_MAX];
    unsigned char buffer[32], *fixture, *after;
    size_t size, after_size;
    mmap *map;

    fixture = load_fixture("hello.txt", &size);
    copy_fixture("hello.txt", path);
    map = map_file(path);
    memset(buffer, 0xEE, sizeof buffer);
    expect_size(mmap_read(map, buffer, 5, SIZE_MAX), 16,
                "read of SIZE_MAX bytes at offset 5");
    expect_bytes(buffer, fixture + 5, 16, "bytes read");
    expect_all_bytes(buffer + 16, 0xEE, sizeof buffer - 16,
                     "buffer past the bytes read");
    expect_size(mmap_read(map, buffer, SIZE_MAX, 10), 0,
                "read at offset SIZE_MAX");
    expect_size(mmap_read(map, buffer, SIZE_MAX - 2, 10), 0,
                "read at offset SIZE_MAX - 2");
    expect_size(mmap_write(map, "x", 20, SIZE_MAX), 1,
                "write of SIZE_MAX bytes at offset 20");
    expect_size(mmap_write(map, "y", SIZE_MAX - 1, 5), 0,
                "write at offset SIZE_MAX - 1");
    munmap(map);
    after = load_file(path, &after_size);
    expect_size(after_size, 21, "file size after munmap");
    fixture[20] = 'x';
    expect_bytes(after, fixture, 21, "file after munmap");
    free(after);
    free(fixture);
}

static void test_mmap_read_and_write_with_null_map_or_buffer_are_einval(void) {
    char path[PATH_MAX];
    unsigned char buffer[4], *fixture, *after;
    size_t size, after_size;
    mmap *map;

    errno = 0;
    expect_size(mmap_read(NULL, buffer, 0, 4), 0, "mmap_read(NULL map)");
    expect_errno(errno, EINVAL, "mmap_read(NULL map)");
    errno = 0;
    expect_size(mmap_write(NULL, "abcd", 0, 4), 0, "mmap_write(NULL map)");
    expect_errno(errno, EINVAL, "mmap_write(NULL map)");

    fixture = load_fixture("hello.txt", &size);
    copy_fixture("hello.txt", path);
    map = map_file(path);
    errno = 0;
    expect_size(mmap_read(map, NULL, 0, 4), 0, "mmap_read(NULL buffer)");
    expect_errno(errno, EINVAL, "mmap_read(NULL buffer)");
    errno = 0;
    expect_size(mmap_write(map, NULL, 0, 4), 0, "mmap_write(NULL buffer)");
    expect_errno(errno, EINVAL, "mmap_write(NULL buffer)");
    munmap(map);
    after = load_file(path, &after_size);
    expect_size(after_size, size, "file size");
    expect_bytes(after, fixture, size, "file after the refused calls");
    free(after);
    free(fixture);
}

static void
test_mmap_sync_of_null_is_einval_and_munmap_of_null_is_a_no_op(void) {
    errno = 0;
    expect_int(mmap_sync(NULL), -1, "mmap_sync(NULL)");
    expect_errno(errno, EINVAL, "mmap_sync(NULL)");
    munmap(NULL);
}

static void test_munmap_returns_every_frame_to_the_pool(void) {
    static unsigned char buffer[10000];
    char path[PATH_MAX];
    int round;

    copy_fixture("lorem.txt", path);
    for (round = 0; round < 2; round++) {
        mmap *map = map_file(path);
        expect_size(mmap_read(map, buffer, 0, 10000), 10000, "read all");
        expect_size(mmap_write(map, "frame", 4096, 5), 5, "write page 1");
        expect_true(kernel_frames_free() < kernel_frames_total(),
                    "frames are in use while mapped");
        munmap(map);
        expect_all_frames_free(describe("after munmap, round %d", round));
    }
}

/* The number of file descriptors open in this process. */
static size_t open_descriptors(void) {
    size_t count = 0;
    int fd;

    for (fd = 0; fd < 1024; fd++)
        if (fcntl(fd, F_GETFD) != -1)
            count++;
    return count;
}

static void
test_munmap_closes_the_file_and_failed_creates_leave_none_open(void) {
    char path[PATH_MAX], fifo[PATH_MAX], big[PATH_MAX];
    size_t before;
    mmap *map;
    int fd;

    copy_fixture("hello.txt", path);
    path_in_work_dir("a_fifo", fifo);
    if (mkfifo(fifo, 0644) != 0)
        setup_failed("mkfifo");
    make_sparse_file("too_big.bin", (off_t)MMAP_REGION_SIZE + 1, big);
    before = open_descriptors();

    map = map_file(path);
    expect_size(open_descriptors(), before + 1, "descriptors while mapped");
    fd = fileno(map->stream);
    expect_size(mmap_write(map, "J", 0, 1), 1, "write through the map");
    munmap(map);
    errno = 0;
    expect_int(fcntl(fd, F_GETFD), -1,
               "the mapped file's descriptor after "
               "munmap (closed)");
    expect_size(open_descriptors(), before, "descriptors after munmap");

    alarm(10); /* opening a FIFO for reading alone would block here */
    expect_null(mmap_create(work_dir), "mmap_create of a directory");
    expect_null(mmap_create(fifo), "mmap_create of a FIFO");
    expect_null(mmap_create("/dev/null"), "mmap_create of /dev/null");
    expect_null(mmap_create(big), "mmap_create of a file too big");
    expect_size(open_descriptors(), before,
                "descriptors after four failed mmap_create calls");
    expect_all_frames_free("after the failed creates");
}

/* ================================================================== */
/* mmap.h: memory pressure and several maps                            */
/* ================================================================== */

static void test_file_many_times_the_pool_is_written_and_read_back_right(void) {
    enum { PAGES = 1024, FRAMES = 32 }; /* 4 MiB through 128 KiB */
    unsigned char want[PAGE_SIZE], got[PAGE_SIZE];
    char path[PATH_MAX];
    size_t page, faults_after_writes;
    mmap *map;

    setenv("MMAP_FRAMES", "32", 1);
    make_sparse_file("four_mib.bin", (off_t)PAGES * PAGE_SIZE, path);
    map = map_file(path);
    for (page = 0; page < PAGES; page++) {
        fill_pattern(want, page, 7);
        expect_size(mmap_write(map, want, page * PAGE_SIZE, PAGE_SIZE),
                    PAGE_SIZE, describe("write of page %zu", page));
    }
    faults_after_writes = map->mmu->num_page_faults;
    expect_size(faults_after_writes, PAGES,
                "page faults after writing each page once");
    for (page = 0; page < PAGES; page++) {
        fill_pattern(want, page, 7);
        memset(got, 0, sizeof got);
        expect_size(mmap_read(map, got, page * PAGE_SIZE, PAGE_SIZE), PAGE_SIZE,
                    describe("read of page %zu", page));
        expect_bytes(got, want, PAGE_SIZE, describe("page %zu", page));
    }
    expect_at_least(map->mmu->num_page_faults - faults_after_writes,
                    PAGES - FRAMES,
                    "page faults while reading back (evicted pages return)");
    munmap(map);
    expect_all_frames_free("after munmap");
    expect_file_pattern(path, PAGES, 7);
}

static void test_evicted_dirty_page_is_written_back_before_munmap(void) {
    enum { PAGES = 32 };
    char path[PATH_MAX];
    unsigned char got[8], byte;
    size_t page;
    mmap *map;

    setenv("MMAP_FRAMES", "8", 1);
    make_sparse_file("pages.bin", (off_t)PAGES * PAGE_SIZE, path);
    map = map_file(path);
    expect_size(mmap_write(map, "EVICTED", 0, 7), 7, "write into page 0");
    read_file_at(path, 0, got, 7);
    expect_all_bytes(got, 0, 7, "page 0 on disk before any eviction");

    trace_log_clear();
    trace_set_hook(record_event, NULL);
    for (page = 1; page < PAGES; page++)
        expect_size(mmap_read(map, &byte, page * PAGE_SIZE, 1), 1,
                    describe("read page %zu", page));
    trace_set_hook(NULL, NULL);

    expect_true(!map_page_present(map, 0),
                "page 0 evicted after 31 other pages went through 8 frames");
    expect_at_least(trace_log.per_event[TRACE_EVICTION], PAGES - 8,
                    "eviction events");
    expect_at_least(trace_log.per_event[TRACE_WRITE_BACK], 1,
                    "write-back events");
    read_file_at(path, 0, got, 7);
    expect_bytes(got, "EVICTED", 7, "page 0 on disk while still mapped");

    memset(got, 0, sizeof got);
    expect_size(mmap_read(map, got, 0, 7), 7, "read page 0 back");
    expect_bytes(got, "EVICTED", 7, "page 0 faulted back in");
    munmap(map);
    expect_size(file_size(path), PAGES * PAGE_SIZE, "file size after munmap");
}

static void test_evicted_clean_page_is_not_written_back(void) {
    enum { PAGES = 32 };
    char path[PATH_MAX];
    unsigned char got[8], byte;
    size_t page;
    mmap *map;

    setenv("MMAP_FRAMES", "8", 1);
    make_sparse_file("pages.bin", (off_t)PAGES * PAGE_SIZE, path);
    map = map_file(path);
    expect_size(mmap_read(map, &byte, 0, 1), 1, "read page 0");
    write_file_at(path, 100, "OUTSIDE", 7); /* behind the mapping's back */

    trace_log_clear();
    trace_set_hook(record_event, NULL);
    for (page = 1; page < PAGES; page++)
        expect_size(mmap_read(map, &byte, page * PAGE_SIZE, 1), 1,
                    describe("read page %zu", page));
    trace_set_hook(NULL, NULL);
    expect_true(!map_page_present(map, 0), "page 0 evicted");
    expect_size(trace_log.per_event[TRACE_WRITE_BACK], 0,
                "write-back events when every page is clean");
    munmap(map);
    read_file_at(path, 100, got, 7);
    expect_bytes(got, "OUTSIDE", 7, "the external change after munmap");
}

/*
 * Reads and writes of every size, at random and in sequential bursts,
 * through a pool far smaller than the file: read-ahead, whole-page writes,
 * clustered write-back and eviction all at once, checked against a plain
 * copy of the file kept in memory.
 */
static void test_random_reads_and_writes_under_pressure_match_a_model(void) {
    enum { PAGES = 96, STEPS = 3000, MAX_ACCESS = 3 * PAGE_SIZE + 100 };
    static unsigned char model[PAGES * PAGE_SIZE], got[MAX_ACCESS],
        bytes[MAX_ACCESS], disk[PAGE_SIZE];
    char path[PATH_MAX];
    uint64_t state = 0x853C49E6748FEA9Bu;
    size_t step, page, offset = 0, length, i;
    mmap *map;

    setenv("MMAP_FRAMES", "64", 1);
    make_pattern_file("model.bin", PAGES, 9, path);
    for (page = 0; page < PAGES; page++)
        fill_pattern(model + page * PAGE_SIZE, page, 9);
    map = map_file(path);
    for (step = 0; step < STEPS; step++) {
        state ^= state << 13, state ^= state >> 7, state ^= state << 17;
        bool sequential = state % 4 == 0, write = (state >> 8) % 3 == 0;
        length = 1 + (size_t)(state >> 16) % MAX_ACCESS;
        offset = sequential ? offset + PAGE_SIZE
                            : (size_t)(state >> 32) % sizeof model;
        if (offset >= sizeof model)
            offset = 0;
        if (length > sizeof model - offset)
            length = sizeof model - offset;
        if (write) {
            for (i = 0; i < length; i++)
                bytes[i] = (unsigned char)(step + i * 7);
            expect_size(
                mmap_write(map, bytes, offset, length), length,
                describe("step %zu: write %zu at %zu", step, length, offset));
            memcpy(model + offset, bytes, length);
        } else {
            expect_size(
                mmap_read(map, got, offset, length), length,
                describe("step %zu: read %zu at %zu", step, length, offset));
            expect_bytes(
                got, model + offset, length,
                describe("step %zu: %zu bytes at %zu", step, length, offset));
        }
    }
    munmap(map);
    expect_all_frames_free("after munmap");
    for (page = 0; page < PAGES; page++) {
        read_file_at(path, (off_t)(page * PAGE_SIZE), disk, PAGE_SIZE);
        expect_bytes(disk, model + page * PAGE_SIZE, PAGE_SIZE,
                     describe("page %zu of the file after munmap", page));
    }
}

static void test_rereading_a_file_larger_than_the_pool_faults_pages_back(void) {
    enum { PAGES = 64, FRAMES = 8 };
    unsigned char want[PAGE_SIZE], got[PAGE_SIZE];
    char path[PATH_MAX];
    size_t page, pass;
    mmap *map;

    setenv("MMAP_FRAMES", "8", 1);
    make_pattern_file("pattern.bin", PAGES, 3, path);
    map = map_file(path);
    for (pass = 0; pass < 2; pass++) {
        for (page = 0; page < PAGES; page++) {
            fill_pattern(want, page, 3);
            expect_size(mmap_read(map, got, page * PAGE_SIZE, PAGE_SIZE),
                        PAGE_SIZE, describe("read page %zu", page));
            expect_bytes(got, want, PAGE_SIZE,
                         describe("page %zu, pass %zu", page, pass));
        }
        if (pass == 0)
            expect_size(map->mmu->num_page_faults, PAGES,
                        "page faults after the first pass");
    }
    expect_at_least(map->mmu->num_page_faults, 2 * PAGES - FRAMES,
                    "page faults after the second pass (pages came back)");
    munmap(map);
    expect_all_frames_free("after munmap");
    expect_file_pattern(path, PAGES, 3);
}

static void test_two_maps_of_different_files_are_independent(void) {
    char hello_path[PATH_MAX], lorem_path[PATH_MAX];
    unsigned char *hello, *lorem, *after, got[32];
    size_t hello_size, lorem_size, after_size;
    mmap *a, *b;

    hello = load_fixture("hello.txt", &hello_size);
    lorem = load_fixture("lorem.txt", &lorem_size);
    copy_fixture("hello.txt", hello_path);
    copy_fixture("lorem.txt", lorem_path);
    a = map_file(hello_path);
    b = map_file(lorem_path);
    expect_true(a->mmu != b->mmu, "each map has its own MMU");
    expect_hex(a->start_address, b->start_address,
               "both start at the MMAP start of their own address space");

    expect_size(mmap_write(a, "HOWDY", 0, 5), 5, "write through map a");
    expect_size(mmap_read(b, got, 0, 32), 32, "read through map b");
    expect_bytes(got, lorem, 32, "map b after a write through map a");
    expect_size(mmap_read(a, got, 0, hello_size), hello_size, "read map a");
    memcpy(hello, "HOWDY", 5);
    expect_bytes(got, hello, hello_size, "map a");
    expect_size(b->mmu->num_page_faults, 1, "map b's page faults");
    expect_size(a->mmu->num_page_faults, 1, "map a's page faults");

    munmap(a);
    expect_size(mmap_read(b, got, 100, 32), 32, "read map b after munmap(a)");
    expect_bytes(got, lorem + 100, 32, "map b after munmap(a)");
    munmap(b);
    expect_all_frames_free("after both munmaps");

    after = load_file(hello_path, &after_size);
    expect_bytes(after, hello, hello_size, "hello file");
    free(after);
    after = load_file(lorem_path, &after_size);
    expect_size(after_size, lorem_size, "lorem file size");
    expect_bytes(after, lorem, lorem_size, "lorem file unchanged");
    free(after);
    free(hello);
    free(lorem);
}

static void
test_two_maps_of_the_same_file_write_back_only_their_own_pages(void) {
    char path[PATH_MAX];
    unsigned char *lorem, *after, got[16];
    size_t size, after_size;
    mmap *a, *b;

    lorem = load_fixture("lorem.txt", &size);
    copy_fixture("lorem.txt", path);
    a = map_file(path);
    b = map_file(path);
    expect_size(mmap_read(a, got, 4096, 16), 16, "map a reads page 1");
    expect_bytes(got, lorem + 4096, 16, "page 1 through map a");
    expect_size(mmap_read(b, got, 4096, 16), 16, "map b reads page 1");
    expect_bytes(got, lorem + 4096, 16, "page 1 through map b");

    expect_size(mmap_write(a, "AAAA", 0, 4), 4, "map a writes page 0");
    expect_size(mmap_write(b, "BBBB", 8192, 4), 4, "map b writes page 2");
    munmap(a);
    munmap(b);
    expect_all_frames_free("after both munmaps");

    after = load_file(path, &after_size);
    expect_size(after_size, size, "file size");
    memcpy(lorem, "AAAA", 4);
    memcpy(lorem + 8192, "BBBB", 4);
    expect_bytes(after, lorem, size, "file with both maps' writes");
    free(after);
    free(lorem);
}

static void
test_eviction_by_one_map_takes_another_maps_page_and_data_lives(void) {
    enum { B_PAGES = 64 };
    char a_path[PATH_MAX], b_path[PATH_MAX];
    unsigned char *lorem, *after, want[PAGE_SIZE], got[PAGE_SIZE];
    char tag[8];
    size_t size, after_size, page, a_faults;
    mmap *a, *b;

    setenv("MMAP_FRAMES", "16", 1);
    lorem = load_fixture("lorem.txt", &size);
    copy_fixture("lorem.txt", a_path);
    make_pattern_file("pattern.bin", B_PAGES, 5, b_path);
    a = map_file(a_path);
    b = map_file(b_path);

    for (page = 0; page < 3; page++) {
        snprintf(tag, sizeof tag, "A-%zu", page);
        expect_size(mmap_write(a, tag, page * PAGE_SIZE, 3), 3,
                    describe("map a writes page %zu", page));
        memcpy(lorem + page * PAGE_SIZE, tag, 3);
    }
    a_faults = a->mmu->num_page_faults;
    expect_size(a_faults, 3, "map a's page faults");

    for (page = 0; page < B_PAGES; page++) {
        fill_pattern(want, page, 5);
        expect_size(mmap_read(b, got, page * PAGE_SIZE, PAGE_SIZE), PAGE_SIZE,
                    describe("map b reads page %zu", page));
        expect_bytes(got, want, PAGE_SIZE, describe("map b page %zu", page));
    }
    for (page = 0; page < 3; page++)
        expect_true(
            !map_page_present(a, page),
            describe("map a's page %zu was taken by map b's faults", page));

    after = load_file(a_path, &after_size);
    expect_bytes(after, lorem, size,
                 "map a's file while mapped (its dirty pages written back "
                 "at eviction)");
    free(after);

    memset(got, 0, sizeof got);
    expect_size(mmap_read(a, got, 0, PAGE_SIZE), PAGE_SIZE, "map a page 0");
    expect_bytes(got, lorem, PAGE_SIZE, "map a's page 0 after eviction");
    expect_size(mmap_read(a, got, 2 * PAGE_SIZE, size - 2 * PAGE_SIZE),
                size - 2 * PAGE_SIZE, "map a page 2");
    expect_bytes(got, lorem + 2 * PAGE_SIZE, size - 2 * PAGE_SIZE,
                 "map a's page 2 after eviction");
    expect_size(a->mmu->num_page_faults, a_faults + 2,
                "map a's page faults after reading two evicted pages");

    munmap(a);
    munmap(b);
    expect_all_frames_free("after both munmaps");
    after = load_file(a_path, &after_size);
    expect_size(after_size, size, "map a's file size");
    expect_bytes(after, lorem, size, "map a's file after munmap");
    free(after);
    expect_file_pattern(b_path, B_PAGES, 5);
    free(lorem);
}

/* ================================================================== */
/* The harness: the table of tests and the runner                      */
/* ================================================================== */

typedef struct {
    const char *name;
    void (*run)(void);
} test_case;

#define TEST(name)                                                             \
    { #name, test_##name }

static const test_case tests[] = {
    /* types.h, page_table.h */
    TEST(page_table_entry_is_32_bits_with_present_at_bit_0_and_frame_on_top),
    TEST(
        page_directory_entry_is_32_bits_with_present_at_bit_0_and_frame_on_top),
    TEST(address_splits_10_10_12),
    TEST(page_walk_without_alloc_on_empty_directory_returns_null),
    TEST(page_walk_with_alloc_returns_same_non_present_entry),
    TEST(page_walk_links_directory_entry_to_its_table_frame),
    TEST(addresses_in_same_4mib_share_one_page_table),
    TEST(page_directory_delete_returns_directory_and_tables),
    /* tlb.h */
    TEST(tlb_misses_when_empty),
    TEST(tlb_hits_after_add_for_every_address_in_the_page),
    TEST(tlb_replaces_least_recently_used_not_first_in),
    TEST(tlb_add_of_cached_page_updates_in_place_as_most_recent),
    TEST(tlb_invalidate_forgets_only_that_page),
    TEST(tlb_flush_forgets_every_page),
    /* kernel.h */
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
    TEST(kernel_clock_hand_advances_evicting_each_frame_in_turn),
    TEST(kernel_never_evicts_pinned_frames),
    /* segments.h */
    TEST(segmentations_create_lays_out_empty_segments),
    TEST(grow_and_shrink_move_the_end_of_an_upward_segment),
    TEST(grow_and_shrink_move_the_start_of_the_downward_stack),
    TEST(shrink_stops_at_empty),
    TEST(grow_past_limit_fails_with_enomem_and_changes_nothing),
    TEST(find_segment_includes_start_and_excludes_end),
    TEST(segment_name_spells_the_layout_names),
    /* mmu.h */
    TEST(mmu_add_process_gives_a_directory_and_remove_frees_it),
    TEST(mmu_add_process_rejects_bad_pid_and_duplicate),
    TEST(mmu_access_fails_with_einval_for_no_process_or_null_buffer),
    TEST(mmu_demand_zero_page_reads_zeros_even_from_a_used_frame),
    TEST(mmu_write_then_read_back_across_a_page_boundary),
    TEST(mmu_counts_one_page_fault_per_page_brought_in),
    TEST(mmu_counts_one_tlb_miss_per_translation_that_misses),
    TEST(mmu_write_sets_dirty_and_every_access_sets_accessed),
    TEST(mmu_access_outside_every_segment_is_efault_copying_nothing),
    TEST(mmu_write_to_read_only_segment_is_eacces_copying_nothing),
    TEST(mmu_read_of_segment_without_read_is_eacces),
    TEST(mmu_range_crossing_out_of_its_segment_copies_nothing),
    TEST(mmu_pid_switch_flushes_the_tlb),
    TEST(mmu_processes_have_separate_address_spaces),
    TEST(mmu_remove_process_keeps_the_other_process_intact),
    TEST(mmu_delete_returns_every_frame_to_the_pool),
    TEST(mmu_demand_zero_pages_stay_pinned_so_full_pool_is_enomem),
    TEST(mmu_pager_fills_a_page_once_per_fault_with_its_index),
    TEST(mmu_sync_pages_out_only_dirty_pages_and_clears_dirty),
    TEST(mmu_sync_failing_page_out_keeps_page_dirty_and_is_eio),
    TEST(mmu_sequential_fault_reads_ahead_but_counts_each_page_at_its_touch),
    TEST(mmu_random_faults_read_only_the_pages_they_touch),
    TEST(mmu_write_covering_whole_pages_reads_only_the_partial_ends),
    TEST(mmu_sync_writes_neighbouring_dirty_pages_in_one_call),
    TEST(mmu_sync_retries_a_failed_run_page_by_page),
    TEST(mmu_eviction_writes_dirty_neighbours_with_the_victim),
    TEST(mmu_remove_process_writes_dirty_pages_through_the_pager),
    TEST(mmu_remove_process_reports_failed_write_back_and_frees_all),
    TEST(mmu_evicts_backed_pages_under_pressure_and_faults_them_in),
    /* trace.h */
    TEST(trace_hook_sees_miss_fault_and_frame_then_a_hit),
    TEST(trace_reports_a_segfault_and_names_every_event),
    /* mmap.h: creating */
    TEST(mmap_create_is_lazy_no_fault_before_access),
    TEST(mmap_segment_spans_whole_pages_from_the_mmap_start),
    TEST(mmap_fields_hold_mmu_stream_and_file_length),
    TEST(mmap_create_with_null_path_fails_with_einval),
    TEST(mmap_create_of_a_missing_file_fails_with_enoent),
    TEST(mmap_create_of_a_directory_fails_with_eisdir),
    TEST(mmap_create_of_a_fifo_fails_with_enodev_without_blocking),
    TEST(mmap_create_of_a_character_device_fails_with_enodev),
    TEST(mmap_create_of_an_unreadable_file_fails_with_eacces),
    TEST(empty_file_maps_with_length_0_and_reads_0),
    TEST(read_only_file_maps_read_only_and_write_is_eacces),
    TEST(one_gib_sparse_file_maps_and_its_last_page_is_written_back),
    TEST(file_filling_the_whole_mmap_region_maps),
    TEST(file_larger_than_the_mmap_region_fails_with_enomem),
    /* mmap.h: reading and writing */
    TEST(mmap_read_of_whole_file_equals_the_file),
    TEST(mmap_read_is_clipped_at_length),
    TEST(mmap_read_goes_through_the_mmu_tlb_and_fault_counters),
    TEST(mmu_read_at_the_mapping_address_returns_the_file_bytes),
    TEST(mmu_write_is_seen_by_mmap_read_and_written_back),
    TEST(mmap_write_reaches_the_file_at_munmap),
    TEST(mmap_write_does_not_reach_the_file_before_munmap_or_sync),
    TEST(mmap_sync_writes_dirty_pages_and_leaves_them_clean),
    TEST(munmap_after_sync_does_not_write_a_clean_page_again),
    TEST(munmap_writes_only_dirty_pages_so_clean_changes_survive),
    TEST(mmap_write_at_the_end_is_clipped_and_the_file_never_grows),
    TEST(bytes_past_eof_in_the_last_page_read_as_zero_through_mmu),
    TEST(mmu_write_past_eof_in_the_last_page_never_grows_the_file),
    TEST(mmap_offset_at_or_past_the_end_gives_0),
    TEST(mmap_offset_plus_count_overflow_is_clipped),
    TEST(mmap_read_and_write_with_null_map_or_buffer_are_einval),
    TEST(mmap_sync_of_null_is_einval_and_munmap_of_null_is_a_no_op),
    TEST(munmap_returns_every_frame_to_the_pool),
    TEST(munmap_closes_the_file_and_failed_creates_leave_none_open),
    /* mmap.h: memory pressure and several maps */
    TEST(file_many_times_the_pool_is_written_and_read_back_right),
    TEST(evicted_dirty_page_is_written_back_before_munmap),
    TEST(evicted_clean_page_is_not_written_back),
    TEST(rereading_a_file_larger_than_the_pool_faults_pages_back),
    TEST(random_reads_and_writes_under_pressure_match_a_model),
    TEST(two_maps_of_different_files_are_independent),
    TEST(two_maps_of_the_same_file_write_back_only_their_own_pages),
    TEST(eviction_by_one_map_takes_another_maps_page_and_data_lives),
};

#define NUM_TESTS (sizeof tests / sizeof tests[0])

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
    size_t i;

    for (i = 0; i < NUM_TESTS; i++)
        if (strcmp(tests[i].name, name) == 0)
            return &tests[i];
    return NULL;
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

int main(int argc, char **argv) {
    size_t passed = 0, failed = 0, i;
    int arg;

    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (i = 0; i < NUM_TESTS; i++)
            printf("%s\n", tests[i].name);
        return 0;
    }
    for (arg = 1; arg < argc; arg++) {
        if (!find_test(argv[arg])) {
            fprintf(stderr, "mmap_tests: unknown test: %s\n", argv[arg]);
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
            if (run_test(find_test(argv[arg])))
                passed++;
            else
                failed++;
        }
    } else {
        for (i = 0; i < NUM_TESTS; i++) {
            if (run_test(&tests[i]))
                passed++;
            else
                failed++;
        }
    }
    printf("%zu passed, %zu failed\n", passed, failed);
    return failed ? 1 : 0;
}
