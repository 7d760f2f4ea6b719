/*
 * tests/helpers.c: what the suites of mmap_tests share (see helpers.h).
 */
#include "helpers.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
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
    case ENOMEM: return "ENOMEM";
    case EEXIST: return "EEXIST";
    case EIO: return "EIO";
    case ENOSPC: return "ENOSPC";
    case EFBIG: return "EFBIG";
    case EOVERFLOW: return "EOVERFLOW";
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
