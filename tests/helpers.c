/*
 * tests/helpers.c: what the suites of mmap_tests share (see helpers.h).
 */
#include "helpers.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int message_fd = -1;        /* the child's end of its pipe */
char fixture_dir[PATH_MAX]; /* test_files/, absolute */
char work_dir[PATH_MAX];    /* this test's temporary directory */

/* ------------------------------------------------------------------ */
/* The harness: failing a check                                        */
/* ------------------------------------------------------------------ */

void fail(const char *file, int line, const char *format, ...) {
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

const char *describe(const char *format, ...) {
    static char buffers[4][256];
    static unsigned next;
    char *buffer = buffers[next++ % 4];
    va_list args;

    va_start(args, format);
    vsnprintf(buffer, sizeof buffers[0], format, args);
    va_end(args);
    return buffer;
}

const char *errno_name(int error) {
    switch (error) {
    case 0: return "0 (none)";
    case EINVAL: return "EINVAL";
    case ENOENT: return "ENOENT";
    case EISDIR: return "EISDIR";
    case ENODEV: return "ENODEV";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case EFAULT: return "EFAULT";
    case ENXIO: return "ENXIO";
    case EBADF: return "EBADF";
    case EDOM: return "EDOM";
    case ENOMEM: return "ENOMEM";
    case EEXIST: return "EEXIST";
    case EIO: return "EIO";
    case ENOSPC: return "ENOSPC";
    case EFBIG: return "EFBIG";
    case EOVERFLOW: return "EOVERFLOW";
    case ENOTTY: return "ENOTTY";
    default: return strerror(error);
    }
}

void check_bytes(const char *file, int line, const void *got, const void *want,
                 size_t n, const char *what) {
    const unsigned char *g = got, *w = want;
    size_t i;

    for (i = 0; i < n; i++)
        if (g[i] != w[i])
            fail(file, line,
                 "%s: bytes differ at offset %zu of %zu: expected 0x%02x, "
                 "got 0x%02x",
                 what, i, n, w[i], g[i]);
}

void check_all_bytes(const char *file, int line, const void *got,
                     unsigned char value, size_t n, const char *what) {
    const unsigned char *g = got;
    size_t i;

    for (i = 0; i < n; i++)
        if (g[i] != value)
            fail(file, line, "%s: byte %zu of %zu: expected 0x%02x, got 0x%02x",
                 what, i, n, value, g[i]);
}

/* ------------------------------------------------------------------ */
/* Files in the test's temporary directory                             */
/* ------------------------------------------------------------------ */

void join_path(char *path, const char *directory, const char *name) {
    int length = snprintf(path, PATH_MAX, "%s/%s", directory, name);

    if (length < 0 || length >= PATH_MAX)
        fail(__FILE__, __LINE__, "setup: path too long: %s/%s", directory,
             name);
}

void path_in_work_dir(const char *name, char *path) {
    join_path(path, work_dir, name);
}

unsigned char *load_file(const char *path, size_t *size) {
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

unsigned char *load_fixture(const char *name, size_t *size) {
    char path[PATH_MAX];

    join_path(path, fixture_dir, name);
    return load_file(path, size);
}

void write_new_file(const char *name, const void *bytes, size_t size,
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

void copy_fixture(const char *name, char *path) {
    size_t size;
    unsigned char *bytes = load_fixture(name, &size);

    write_new_file(name, bytes, size, path);
    free(bytes);
}

void check_file_contents(const char *file, int line, const char *path,
                             const void *want, size_t size, const char *what) {
    size_t got_size;
    unsigned char *got = load_file(path, &got_size);

    if (got_size != size)
        fail(file, line, "%s: expected a file of %zu bytes, got %zu", what,
             size, got_size);
    check_bytes(file, line, got, want, size, what);
    free(got);
}

void make_sparse_file(const char *name, off_t size, char *path) {
    int fd;

    path_in_work_dir(name, path);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        setup_failed(describe("open %s", path));
    if (ftruncate(fd, size) != 0)
        setup_failed(describe("ftruncate %s", path));
    close(fd);
}

void make_pattern_file(const char *name, size_t num_pages, unsigned salt,
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

void write_file_at(const char *path, off_t offset, const void *bytes,
                          size_t n) {
    int fd = open(path, O_WRONLY);

    if (fd < 0)
        setup_failed(describe("open %s", path));
    if (pwrite(fd, bytes, n, offset) != (ssize_t)n)
        setup_failed(describe("pwrite %s", path));
    close(fd);
}

void read_file_at(const char *path, off_t offset, void *bytes,
                         size_t n) {
    int fd = open(path, O_RDONLY);

    if (fd < 0)
        setup_failed(describe("open %s", path));
    if (pread(fd, bytes, n, offset) != (ssize_t)n)
        setup_failed(describe("pread %s", path));
    close(fd);
}

size_t file_size(const char *path) {
    struct stat info;

    if (stat(path, &info) != 0)
        setup_failed(describe("stat %s", path));
    return (size_t)info.st_size;
}

void expect_file_pattern(const char *path, size_t num_pages,
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

/* ------------------------------------------------------------------ */
/* Grandchildren                                                       */
/* ------------------------------------------------------------------ */

/* Seconds a grandchild may take; it must end before its test's alarm. */
#define GRANDCHILD_TIMEOUT_SECONDS 30

/* Where a pipe's text goes: a buffer, filled up to its last byte. */
typedef struct {
    int fd; /* the read end; -1 once it has ended */
    char *text;
    size_t length;
} pipe_reader;

/* Reads what is there; false once the pipe has ended. */
static bool read_some(pipe_reader *reader) {
    char scrap[512];
    size_t room = MESSAGE_SIZE - 1 - reader->length;
    ssize_t got;

    if (room > 0)
        got = read(reader->fd, reader->text + reader->length, room);
    else
        got = read(reader->fd, scrap, sizeof scrap); /* cut: drain the rest */
    if (got < 0 && errno == EINTR)
        return true;
    if (got <= 0) {
        close(reader->fd);
        reader->fd = -1;
        return false;
    }
    if (room > 0)
        reader->length += (size_t)got;
    reader->text[reader->length] = '\0';
    return true;
}

/*
 * Reads both pipes to their end at once, so that a grandchild that writes
 * much to one never waits for us while we wait on the other.
 */
static void read_both(pipe_reader *a, pipe_reader *b) {
    while (a->fd >= 0 || b->fd >= 0) {
        struct pollfd fds[2] = {{a->fd, POLLIN, 0}, {b->fd, POLLIN, 0}};

        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            setup_failed("poll the grandchild's pipes");
        }
        if (a->fd >= 0 && fds[0].revents)
            read_some(a);
        if (b->fd >= 0 && fds[1].revents)
            read_some(b);
    }
}

void run_in_grandchild(void (*body)(const void *argument), const void *argument,
                       bool capture_stderr, grandchild *result) {
    int failure_pipe[2], stderr_pipe[2] = {-1, -1};
    pipe_reader failure, errors;
    pid_t pid;

    memset(result, 0, sizeof *result);
    if (pipe(failure_pipe) != 0)
        setup_failed("pipe for a grandchild");
    if (capture_stderr && pipe(stderr_pipe) != 0)
        setup_failed("pipe for a grandchild's stderr");
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid < 0)
        setup_failed("fork a grandchild");
    if (pid == 0) {
        /* Our checks report to our parent, never to the runner. */
        close(message_fd);
        close(failure_pipe[0]);
        message_fd = failure_pipe[1];
        if (capture_stderr) {
            close(stderr_pipe[0]);
            if (dup2(stderr_pipe[1], STDERR_FILENO) < 0)
                setup_failed("dup2 the grandchild's stderr");
            close(stderr_pipe[1]);
        }
        alarm(GRANDCHILD_TIMEOUT_SECONDS);
        body(argument);
        expect_size(kernel_frames_free(), kernel_frames_total(),
                    "free frames when the grandchild's body has returned (all "
                    "of them)");
        _exit(0);
    }
    close(failure_pipe[1]);
    failure = (pipe_reader){failure_pipe[0], result->failure, 0};
    errors = (pipe_reader){-1, result->errors, 0};
    if (capture_stderr) {
        close(stderr_pipe[1]);
        errors.fd = stderr_pipe[0];
    }
    read_both(&failure, &errors);
    while (waitpid(pid, &result->status, 0) < 0)
        if (errno != EINTR)
            setup_failed("waitpid for a grandchild");
}

const char *describe_wait_status(int status) {
    if (WIFEXITED(status))
        return describe("exited with status %d", WEXITSTATUS(status));
    if (WIFSIGNALED(status))
        return describe("was killed by signal %d (%s)", WTERMSIG(status),
                        strsignal(WTERMSIG(status)));
    return describe("ended with wait status 0x%x", (unsigned)status);
}

void check_grandchild_passed(const char *file, int line,
                             const grandchild *result, const char *what) {
    if (result->failure[0])
        fail(file, line, "%s: in its grandchild: %s", what, result->failure);
    if (!WIFEXITED(result->status) || WEXITSTATUS(result->status) != 0)
        fail(file, line,
             "%s: expected its grandchild to exit with status 0, but it %s%s%s",
             what, describe_wait_status(result->status),
             result->errors[0] ? "; its stderr: " : "", result->errors);
}

/* ------------------------------------------------------------------ */
/* Pages of a pattern                                                  */
/* ------------------------------------------------------------------ */

/* Page `page` of pattern `salt`: every page of a file differs. */
void fill_pattern(unsigned char *bytes, size_t page, unsigned salt) {
    uint32_t tag = (uint32_t)page;
    size_t i;

    for (i = 0; i < PAGE_SIZE; i++)
        bytes[i] = (unsigned char)(page * 37 + i * 13 + salt);
    memcpy(bytes, &tag, sizeof tag);
}

/* ------------------------------------------------------------------ */
/* MMU helpers                                                         */
/* ------------------------------------------------------------------ */

mmu *new_mmu_with_process(size_t pid) {
    mmu *m = mmu_create();

    expect_not_null(m, "mmu_create()");
    expect_int(mmu_add_process(m, pid), 0,
               describe("mmu_add_process(m, %zu)", pid));
    return m;
}

/* Grows the TESTING segment of `pid` to `num_pages` pages for a test. */
vm_segmentation *grow_testing_segment(mmu *m, size_t pid, uint32_t num_pages,
                                      uint32_t permissions, pager *backing) {
    vm_segmentation *segment = &m->segmentations[pid]->segments[TESTING];

    segment->permissions = permissions;
    segment->backing = backing;
    expect_int(grow_segment(segment, num_pages), 0,
               describe("grow_segment(TESTING, %u)", num_pages));
    expect_size(segment->end - segment->start, (size_t)num_pages * PAGE_SIZE,
                "size of the grown TESTING segment");
    return segment;
}

size_t read_virtual(mmu *m, size_t pid, addr32 address, void *buffer,
                    size_t n) {
    return mmu_read_from_virtual_address(m, address, pid, buffer, n);
}

/* The page-table entry of `address`, or NULL when it has no page table. */
page_table_entry *entry_of(mmu *m, size_t pid, addr32 address) {
    return page_table_walk(m->page_directories[pid], address, false);
}

bool page_present(mmu *m, size_t pid, addr32 address) {
    page_table_entry *entry = entry_of(m, pid, address);

    return entry && entry->present;
}

bool page_dirty(mmu *m, size_t pid, addr32 address) {
    page_table_entry *entry = entry_of(m, pid, address);

    return entry && entry->dirty;
}

/* ------------------------------------------------------------------ */
/* Mappings of vm.h                                                    */
/* ------------------------------------------------------------------ */

int open_file(const char *path, int flags) {
    int fd = open(path, flags);

    if (fd < 0)
        setup_failed(describe("open %s", path));
    return fd;
}

int open_fixture_copy(const char *name, int flags, char *path) {
    copy_fixture(name, path);
    return open_file(path, flags);
}

unsigned char *fixture_bytes(const char *name) {
    size_t size;

    return load_fixture(name, &size);
}

addr32 check_mapped(const char *file, int line, mmu *m, size_t pid,
                    addr32 addr, size_t length, int prot, int flags, int fd,
                    off_t offset) {
    addr32 got;

    errno = 0;
    got = vm_mmap(m, pid, addr, length, prot, flags, fd, offset);
    if (got == VM_MAP_FAILED)
        fail(file, line,
             "vm_mmap(pid %zu, addr 0x%x, length %zu, prot 0x%x, flags 0x%x, "
             "fd %d, offset %lld): expected an address, got VM_MAP_FAILED "
             "(errno %s)",
             pid, (unsigned)addr, length, (unsigned)prot, (unsigned)flags, fd,
             (long long)offset, errno_name(errno));
    return got;
}

size_t write_virtual(mmu *m, size_t pid, addr32 address, const void *buffer,
                     size_t n) {
    return mmu_write_to_virtual_address(m, address, pid, buffer, n);
}

addr32 frame_mapped_at(mmu *m, size_t pid, addr32 address) {
    page_table_entry *entry = entry_of(m, pid, address);

    return entry && entry->present ? (addr32)entry->base_addr
                                         << NUM_OFFSET_BITS
                                   : 0;
}

/* ------------------------------------------------------------------ */
/* The trace log                                                       */
/* ------------------------------------------------------------------ */

struct trace_log trace_log;

void record_event(const trace_record *record, void *context) {
    if (record->event < NUM_TRACE_EVENTS)
        trace_log.per_event[record->event]++;
    if (trace_log.count < TRACE_LOG_SIZE) {
        trace_log.records[trace_log.count].record = *record;
        trace_log.records[trace_log.count].context = context;
    }
    trace_log.count++;
}

void trace_log_clear(void) {
    memset(&trace_log, 0, sizeof trace_log);
}

size_t times_page_was_read(size_t page) {
    size_t count = 0, i;

    if (trace_log.count > TRACE_LOG_SIZE)
        fail(__FILE__, __LINE__, "setup: %zu events overflowed the trace log",
             trace_log.count);
    for (i = 0; i < trace_log.count; i++) {
        const trace_record *record = &trace_log.records[i].record;
        if (record->event == TRACE_PAGER_READ && record->page <= page &&
            page < record->page + record->pages)
            count++;
    }
    return count;
}

/* ------------------------------------------------------------------ */
/* The frame pool                                                      */
/* ------------------------------------------------------------------ */

/*
 * Leaves 0xFF in every frame of the pool and returns them all, so that a
 * frame later handed out holds garbage unless someone clears it: a fresh
 * pool is zeroed host memory, which would hide a missing clear.
 */
void dirty_every_frame(void) {
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

void expect_all_frames_free(const char *when) {
    expect_size(kernel_frames_free(), kernel_frames_total(),
                describe("free frames %s (all of them)", when));
}

void limit_file_size(size_t bytes, struct rlimit *old_limit) {
    struct rlimit limit;

    if (getrlimit(RLIMIT_FSIZE, old_limit) != 0)
        setup_failed("getrlimit");
    limit = *old_limit;
    limit.rlim_cur = (rlim_t)bytes;
    signal(SIGXFSZ, SIG_IGN);
    if (setrlimit(RLIMIT_FSIZE, &limit) != 0)
        setup_failed("setrlimit");
}

void restore_file_size_limit(const struct rlimit *old_limit) {
    if (setrlimit(RLIMIT_FSIZE, old_limit) != 0)
        setup_failed("setrlimit back");
}

bool read_to_end_of(int fd, char *buffer, size_t size) {
    char spill[4096];
    size_t length = 0;
    bool fitted = true;
    ssize_t got;

    for (;;) {
        if (length < size - 1)
            got = read(fd, buffer + length, size - 1 - length);
        else
            got = read(fd, spill, sizeof spill);
        if (got == 0 || (got < 0 && errno != EINTR))
            break;
        if (got > 0 && length < size - 1)
            length += (size_t)got;
        else if (got > 0)
            fitted = false;
    }
    buffer[length] = '\0';
    return fitted;
}

/* The repository root, `root` (PATH_MAX bytes): the parent of test_files/. */
void repository_root(char *root) {
    char *slash;

    snprintf(root, PATH_MAX, "%s", fixture_dir);
    slash = strrchr(root, '/');
    if (!slash || slash == root)
        fail(__FILE__, __LINE__, "setup: test_files/ has no parent: %s",
             fixture_dir);
    *slash = '\0';
}

uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
