/*
 * mmap_demo.c: maps a file, writes to it and reads it all through the
 * simulated MMU, unmaps it, and shows what happened: the segments, faults
 * (major and minor) and TLB hits, resident and dirty pages, evictions, the
 * pager's I/O, and what went back to the file. With --trace, every event in
 * words as it happens. The default run uses a small pool, so that its file
 * is read ahead and evicted, a dirty page included. --sharing and --fork
 * tell the stories of scenarios/sharing.scn and fork_story.scn through the
 * playground's engine (mmap_demo_story.c); this file also holds the
 * command line and the default run's trace printer.
 */
/* mkdtemp, and fseeko with 64-bit offsets. */
#define _POSIX_C_SOURCE 200809L
#define _FILE_OFFSET_BITS 64

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel.h"
#include "mmap.h"
#include "mmap_demo.h"
#include "page_cache.h"
#include "page_table.h"
#include "segments.h"
#include "tlb.h"
#include "trace.h"
#include "types.h"
#include "vma.h"

#define USAGE                                                                  \
    "usage: mmap_demo [FILE] [--write OFFSET TEXT] [--trace]\n"                \
    "       mmap_demo --sharing [FILE] [--trace]\n"                         \
    "       mmap_demo --fork [--trace]\n"

/*
 * The pool the default run asks for when MMAP_FRAMES is not set: 30 pages
 * of the file fit beside the page directory and the page table, so the 48
 * pages are evicted in turn. A fault reads at most 1/MMU_READ_AHEAD_SHARE
 * of the pool, so a pool under DEMO_FRAMES reads nothing ahead.
 */
#define DEMO_FRAMES (2 * MMU_READ_AHEAD_SHARE)
#define DEMO_FRAMES_TEXT "32"
typedef char demo_frames_text_is_demo_frames[DEMO_FRAMES == 32 ? 1 : -1];
/* Frames of a small mapping that are not pages: the directory and a table. */
#define TABLE_FRAMES 2

/* What the default run writes when no --write is given, before it reads. */
#define DEFAULT_WRITE_TEXT "HELLO"
#define DEFAULT_WRITE_OFFSET 0

/* Bytes per mmap_read; not a page multiple, so some reads span two pages. */
#define READ_CHUNK 1000

/* The excerpt of what was read: at most this many bytes and lines. */
#define EXCERPT_BYTES 200
#define EXCERPT_LINES 3
/* Output columns of one excerpt line before it is wrapped. */
#define EXCERPT_WIDTH 72

/* The page map: pages per line, and characters at most before compressing. */
#define MAP_LINE 64
#define MAP_MAX_CELLS (16 * MAP_LINE)

/* Inner width of the segment picture's boxes. */
#define BOX_WIDTH 39
/* Columns of the report's lines, for the list of empty segments. */
#define REPORT_WIDTH 78

/* Bytes of a --write shown back, at most. */
#define WRITE_SHOWN 40

/* The mapping's pages, one cell per `pages_per_cell` pages. */
typedef struct {
    size_t num_pages;
    size_t pages_per_cell;
    size_t num_cells;
    size_t resident; /* with a frame: mapped or read ahead */
    size_t dirty;
    size_t cached; /* read ahead, not touched yet */
    char cells[MAP_MAX_CELLS];
} page_map;

/* What the report needs from the mapping, taken just before munmap. */
typedef struct {
    vm_segmentations segments;
    size_t page_faults;
    size_t tlb_misses;
    size_t segmentation_faults;
    size_t frames_free;
    size_t frames_total;
    page_map map;
} snapshot;

/* The counts that only exist once munmap is done. */
typedef struct {
    size_t write_backs_before; /* by eviction, before munmap */
    size_t write_backs_by_unmap;
    size_t written_page_saved_before; /* by eviction, before munmap */
    size_t frames_free;
    size_t frames_total;
} unmap_result;

/* The ending of a count's noun: "1 page", "2 pages". */
const char *demo_plural(size_t count) {
    return count == 1 ? "" : "s";
}

/* Says what is wrong with the arguments, then how to call us, and exits. */
static void exit_with_usage(const char *problem, const char *argument) {
    fprintf(stderr, "mmap_demo: '%s': %s\n" USAGE, argument, problem);
    exit(2);
}

/* A decimal or 0x-prefixed hexadecimal byte offset; nothing else. */
static bool parse_offset(const char *text, size_t *offset) {
    if (!isdigit((unsigned char)text[0]))
        return false;
    int base = text[0] == '0' && (text[1] == 'x' || text[1] == 'X') ? 16 : 10;
    char *end;
    errno = 0;
    unsigned long long value = strtoull(text, &end, base);
    if (errno != 0 || end == text || *end != '\0' || value > SIZE_MAX)
        return false;
    *offset = (size_t)value;
    return true;
}

/* Fills `opts` from the command line, or exits with the usage line. */
static void parse_arguments(int argc, char **argv, options *opts) {
    *opts = (options){0};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            fputs(USAGE, stdout);
            exit(0);
        } else if (strcmp(arg, "--trace") == 0) {
            opts->trace = true;
        } else if (strcmp(arg, "--sharing") == 0) {
            opts->sharing = true;
        } else if (strcmp(arg, "--fork") == 0) {
            opts->fork = true;
        } else if (strcmp(arg, "--write") == 0) {
            if (opts->write)
                exit_with_usage("only one --write may be given", arg);
            if (i + 2 >= argc)
                exit_with_usage("needs OFFSET and TEXT", arg);
            if (!parse_offset(argv[i + 1], &opts->write_offset))
                exit_with_usage("OFFSET must be a number of bytes",
                                argv[i + 1]);
            opts->write = true;
            opts->write_text = argv[i + 2];
            i += 2;
        } else if (arg[0] == '-') {
            exit_with_usage("unknown option", arg);
        } else if (opts->path) {
            exit_with_usage("only one FILE may be given", arg);
        } else {
            opts->path = arg;
        }
    }
    if (opts->sharing && opts->write)
        exit_with_usage("--sharing makes its own writes", "--write");
    if (opts->fork && (opts->sharing || opts->write || opts->path))
        exit_with_usage("--fork maps anonymous memory and writes it itself",
                        opts->path ? opts->path
                                   : opts->write ? "--write" : "--sharing");
}

/*
 * Sets MMAP_FRAMES to `frames` unless the user did, before the first
 * library call, which reads it.
 */
static void choose_small_pool(options *opts, const char *frames) {
    const char *setting = getenv("MMAP_FRAMES");
    if ((!setting || !*setting) && setenv("MMAP_FRAMES", frames, 1) == 0)
        opts->small_pool = true;
}

/*
 * The default run's settings: a small pool unless MMAP_FRAMES says
 * otherwise (set before the first library call, which reads it), and a
 * write before the reads unless --write names one.
 */
static void choose_default_run(options *opts) {
    choose_small_pool(opts, DEMO_FRAMES_TEXT);
    if (!opts->write) {
        opts->write = true;
        opts->write_offset = DEFAULT_WRITE_OFFSET;
        opts->write_text = DEFAULT_WRITE_TEXT;
    }
}
/* Copies the file at `from` to a new file at `to`; false with errno. */
static bool copy_file(const char *from, const char *to) {
    FILE *in = fopen(from, "rb");
    if (!in)
        return false;
    FILE *out = fopen(to, "wb");
    if (!out) {
        int failure = errno;
        fclose(in);
        errno = failure;
        return false;
    }
    char buffer[8192];
    size_t got;
    bool ok = true;
    while (ok && (got = fread(buffer, 1, sizeof buffer, in)) > 0)
        ok = fwrite(buffer, 1, got, out) == got;
    int failure = errno;
    ok = ok && !ferror(in);
    fclose(in);
    ok = fclose(out) == 0 && ok;
    if (!ok)
        errno = failure ? failure : EIO;
    return ok;
}

/*
 * Makes a temporary directory `dir` holding a copy of DEFAULT_FILE at
 * `path` (both PATH_MAX bytes). Prints why and returns false on failure.
 */
static bool demo_make_default_copy(char *dir, char *path) {
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    if (snprintf(dir, PATH_MAX, "%s/mmap_demo.XXXXXX", tmp) >= PATH_MAX) {
        fprintf(stderr, "mmap_demo: %s: %s\n", tmp, strerror(ENAMETOOLONG));
        return false;
    }
    if (!mkdtemp(dir)) {
        fprintf(stderr, "mmap_demo: %s: %s\n", dir, strerror(errno));
        return false;
    }
    const char *name = strrchr(DEFAULT_FILE, '/') + 1;
    bool fits = snprintf(path, PATH_MAX, "%s/%s", dir, name) < PATH_MAX;
    if (!fits)
        errno = ENAMETOOLONG;
    if (!fits || !copy_file(DEFAULT_FILE, path)) {
        fprintf(stderr,
                "mmap_demo: %s: %s (run it from the repository root, or "
                "name a FILE)\n",
                DEFAULT_FILE, strerror(errno));
        unlink(path);
        rmdir(dir);
        return false;
    }
    return true;
}

/* Removes the copy and its directory; says so if it cannot. */
static void demo_remove_default_copy(const char *dir, const char *path) {
    if (unlink(path) != 0 || rmdir(dir) != 0)
        fprintf(stderr, "mmap_demo: cannot remove %s: %s\n", dir,
                strerror(errno));
}

/*
 * Whether `address` lies in the mapped file, and if so, which page of it.
 * Only the hook's context says where the mapping is.
 */
static bool page_of_file(const event_log *log, addr32 address, size_t *page) {
    if (log->num_pages == 0 || address < log->start_address)
        return false;
    *page = (address - log->start_address) / PAGE_SIZE;
    return *page < log->num_pages;
}

/* An address inside a page: "va 0x400003e8 (page 0 of the file)". */
static void print_address(const event_log *log, addr32 address) {
    size_t page;
    printf("va 0x%08x", address);
    if (page_of_file(log, address, &page))
        printf(" (page %zu of the file)", page);
}

/* A whole page: "page 3 of the file (va 0x40003000)". */
static void print_page(const event_log *log, addr32 address) {
    size_t page;
    if (page_of_file(log, address, &page))
        printf("page %zu of the file (va 0x%08x)", page,
               PAGE_ROUND_DOWN(address));
    else
        printf("the page at va 0x%08x", PAGE_ROUND_DOWN(address));
}

/* A page named short, where the line has no room: "page 3 (va ...)". */
static void print_page_short(const event_log *log, addr32 address) {
    size_t page;
    if (page_of_file(log, address, &page))
        printf("page %zu (va 0x%08x)", page, PAGE_ROUND_DOWN(address));
    else
        printf("va 0x%08x", PAGE_ROUND_DOWN(address));
}

/*
 * The page an eviction or a write-back is about. The record of a page of
 * the page cache names it under the first process that maps it; when none
 * does (it was read ahead, or every mapper has gone), only by its number.
 */
static void print_record_page(const event_log *log, const trace_record *r,
                              bool short_form) {
    if (r->virtual_address == 0)
        printf("page %zu%s (mapped by no process)", r->page,
               short_form ? "" : " of the file");
    else if (short_form)
        print_page_short(log, r->virtual_address);
    else
        print_page(log, r->virtual_address);
}

/* What a frame is given to (the directory, a table, a page) and which. */
static void print_frame_given(const event_log *log, const trace_record *r) {
    switch (r->use) {
    case TRACE_FRAME_DIRECTORY: printf("the page directory"); break;
    case TRACE_FRAME_TABLE:
        printf("the page table for 0x%08x-0x%08x", r->virtual_address,
               r->virtual_address + (addr32)(TABLE_SPAN - 1));
        break;
    case TRACE_FRAME_ZERO_PAGE:
        printf("a demand-zero page (va 0x%08x)", r->virtual_address);
        break;
    case TRACE_FRAME_COPY:
        printf("a private copy of a page (va 0x%08x)", r->virtual_address);
        break;
    case TRACE_FRAME_PAGE:
        printf("page %zu of the file", r->page);
        if (r->virtual_address) /* else a page of the page cache */
            printf(" (va 0x%08x)", r->virtual_address);
        break;
    }
    printf(" gets frame 0x%08x", r->physical_address);
    if (r->use == TRACE_FRAME_PAGE && !r->virtual_address)
        printf(" in the page cache");
    if (r->use == TRACE_FRAME_PAGE && log->frame_read_ahead)
        printf(", read ahead");
    printf("\n");
}

/* How a fault is served, by its kind (enum trace_fault). */
static const char *const fault_kind_names[NUM_FAULT_KINDS] = {
    [TRACE_FAULT_MAJOR] = "major, read from the file",
    [TRACE_FAULT_MINOR] = "minor, in the page cache already, only mapped now",
    [TRACE_FAULT_ZERO] = "zero-fill, a cleared frame, nothing read",
    [TRACE_FAULT_COPY] = "copy-on-write, copied into a frame of its own",
    [TRACE_FAULT_SWAP] = "swap-in, an anonymous page read back from swap",
};

/*
 * The page an eviction takes out, its frame, the page it makes room for,
 * and whether it had to be written back first.
 */
static void print_eviction(const event_log *log, const trace_record *r) {
    size_t page;
    print_record_page(log, r, true);
    printf(" leaves frame 0x%08x for ", r->physical_address);
    switch (r->room_for.use) {
    case TRACE_FRAME_PAGE:
        if (page_of_file(log, r->room_for.virtual_address, &page))
            printf("page %zu", page);
        else
            printf("va 0x%08x", r->room_for.virtual_address);
        break;
    case TRACE_FRAME_ZERO_PAGE: printf("a demand-zero page"); break;
    case TRACE_FRAME_COPY: printf("a private copy of a page"); break;
    case TRACE_FRAME_TABLE: printf("a page table"); break;
    case TRACE_FRAME_DIRECTORY: printf("a page directory"); break;
    }
    printf(r->dirty ? "; dirty, written back first\n"
                    : "; clean, not written\n");
}

/* One call of the pager: which pages of the file, and how many bytes. */
static void print_pager_call(const trace_record *r) {
    if (r->pages == 1)
        printf("page %zu", r->page);
    else
        printf("pages %zu-%zu", r->page, r->page + r->pages - 1);
    printf(" of the file, %zu byte%s, in one I/O call\n", r->bytes,
           demo_plural(r->bytes));
}

/* The translation events: TLB, page walk, segmentation fault. */
static void print_translation(const event_log *log, const trace_record *r) {
    print_address(log, r->virtual_address);
    switch (r->event) {
    case TRACE_TLB_HIT: printf(": in the TLB\n"); break;
    case TRACE_TLB_MISS: printf(": not in the TLB\n"); break;
    case TRACE_PAGE_WALK:
        if (r->physical_address)
            printf(": present, in frame 0x%08x\n", r->physical_address);
        else
            printf(": not present\n");
        break;
    default: printf(": refused by the segments\n"); break;
    }
}

/* Prints one event in words, on one line. */
static void print_event(const event_log *log, const trace_record *r) {
    printf("  %-13s", trace_event_name(r->event));
    switch (r->event) {
    case TRACE_PAGE_FAULT:
        print_page(log, r->virtual_address);
        printf(": %s\n", fault_kind_names[r->fault]);
        break;
    case TRACE_FRAME_GIVEN: print_frame_given(log, r); break;
    case TRACE_EVICTION: print_eviction(log, r); break;
    case TRACE_WRITE_BACK:
        print_record_page(log, r, false);
        printf(" from frame 0x%08x to the file\n", r->physical_address);
        break;
    case TRACE_PAGER_READ:
    case TRACE_PAGER_WRITE: print_pager_call(r); break;
    case TRACE_BUS_ERROR:
        print_page(log, r->virtual_address);
        printf(": wholly past the end of the file (Linux's SIGBUS)\n");
        break;
    case TRACE_SWAP_OUT:
        printf("a page written to swap slot %zu\n", r->page);
        break;
    case TRACE_SWAP_IN:
        printf("a page read back from swap slot %zu\n", r->page);
        break;
    case TRACE_WRITE_IN_PLACE:
        print_page(log, r->virtual_address);
        printf(": the last sharer of frame 0x%08x writes it, no copy\n",
               r->physical_address);
        break;
    default: print_translation(log, r); break;
    }
}

/* Adds one call of the pager to the count of its direction. */
static void count_io(io_count *io, const trace_record *r) {
    io->calls++;
    io->pages += r->pages;
    io->bytes += r->bytes;
}

/* Counts one event, and the details the report splits it by. */
static void count_event(event_log *log, const trace_record *r) {
    log->events[r->event]++;
    switch (r->event) {
    case TRACE_PAGE_FAULT:
        assert((unsigned)r->fault < NUM_FAULT_KINDS);
        log->faults[r->fault]++;
        log->fault_frame_pending = false;
        break;
    case TRACE_PAGE_WALK:
        /* A fault follows: its page gets the first frame given. */
        log->fault_frame_pending = r->physical_address == 0;
        break;
    case TRACE_FRAME_GIVEN:
        if (r->use == TRACE_FRAME_PAGE || r->use == TRACE_FRAME_ZERO_PAGE) {
            log->frame_read_ahead = !log->fault_frame_pending;
            log->fault_frame_pending = false;
        }
        break;
    case TRACE_EVICTION: log->dirty_evictions += r->dirty; break;
    case TRACE_PAGER_READ: count_io(&log->reads, r); break;
    case TRACE_PAGER_WRITE: count_io(&log->writes, r); break;
    case TRACE_WRITE_BACK:
        if (log->watching &&
            PAGE_ROUND_DOWN(r->virtual_address) == log->written_page)
            log->written_page_saved++;
        break;
    default: break;
    }
}

/* The trace hook: counts every event and, with --trace, prints it. */
static void demo_log_event(const trace_record *record, void *context) {
    event_log *log = context;
    assert((unsigned)record->event < NUM_TRACE_EVENTS);
    count_event(log, record);
    if (log->print && !ferror(stdout))
        print_event(log, record);
}

/* Prints one byte as it would appear in C source, and returns its width. */
static int print_escaped_byte(unsigned char byte) {
    switch (byte) {
    case '\n': return printf("\\n");
    case '\t': return printf("\\t");
    case '\r': return printf("\\r");
    case '\\': return printf("\\\\");
    case '"': return printf("\\\"");
    }
    if (isprint(byte))
        return printf("%c", byte);
    return printf("\\x%02x", byte);
}

/*
 * Prints the first `shown` of `length` bytes in quotes, escaped, and says
 * how many there are in all when that is more.
 */
void demo_print_quoted(const char *bytes, size_t shown, size_t length) {
    putchar('"');
    for (size_t i = 0; i < shown; i++)
        print_escaped_byte((unsigned char)bytes[i]);
    putchar('"');
    if (shown < length)
        printf("... (%zu bytes)", length);
}

/*
 * Prints the start of what was read behind "| ", a line of the file to a
 * line of output, wrapped at EXCERPT_WIDTH columns; EXCERPT_LINES lines of
 * output at most, so binary files stay short too.
 */
static void print_excerpt(const char *bytes, size_t length, size_t total) {
    size_t i = 0;
    for (int line = 0; line < EXCERPT_LINES && i < length; line++) {
        printf("    | ");
        int column = 0;
        while (i < length && bytes[i] != '\n' && column < EXCERPT_WIDTH)
            column += print_escaped_byte((unsigned char)bytes[i++]);
        if (i < length && bytes[i] == '\n')
            i++;
        putchar('\n');
    }
    if (i < total)
        printf("    | ... (%zu more byte%s)\n", total - i,
               demo_plural(total - i));
}

/*
 * Reads the whole mapping with mmap_read, READ_CHUNK bytes at a time, and
 * shows how it begins. Returns false, having said why, if a read fell short.
 */
static bool read_whole_file(mmap *m) {
    printf("Reading all of it through the MMU, %d bytes per mmap_read:\n",
           READ_CHUNK);
    char chunk[READ_CHUNK], excerpt[EXCERPT_BYTES];
    size_t excerpt_length = 0, offset = 0;
    while (offset < m->length) {
        errno = 0;
        size_t got = mmap_read(m, chunk, offset, sizeof chunk);
        if (excerpt_length < EXCERPT_BYTES) {
            size_t take = EXCERPT_BYTES - excerpt_length;
            take = take < got ? take : got;
            memcpy(excerpt + excerpt_length, chunk, take);
            excerpt_length += take;
        }
        offset += got;
        if (got == 0 || (got < sizeof chunk && offset < m->length)) {
            printf("  mmap_read stopped at byte %zu of %zu: %s\n", offset,
                   m->length, strerror(errno));
            return false;
        }
    }
    if (m->length == 0) {
        printf("  nothing to read: the file is empty\n");
        return true;
    }
    printf("  read %zu bytes; they begin:\n", offset);
    print_excerpt(excerpt, excerpt_length, m->length);
    return true;
}

/* Reads `length` bytes at `offset` of the file at `path` with stdio. */
bool demo_read_file_bytes(const char *path, size_t offset, char *bytes,
                          size_t length) {
    FILE *file = fopen(path, "rb");
    if (!file)
        return false;
    bool ok = fseeko(file, (off_t)offset, SEEK_SET) == 0 &&
              fread(bytes, 1, length, file) == length;
    if (!ok && errno == 0)
        errno = EIO;
    fclose(file);
    return ok;
}

/*
 * Shows the `length` bytes at `offset` of the file on disk (the first
 * WRITE_SHOWN of them) and returns whether those are `expected`.
 */
static bool print_file_bytes(const char *path, size_t offset, size_t length,
                             const char *expected) {
    char bytes[WRITE_SHOWN];
    size_t shown = length < WRITE_SHOWN ? length : WRITE_SHOWN;
    errno = 0;
    if (!demo_read_file_bytes(path, offset, bytes, shown)) {
        printf("(cannot read them: %s)", strerror(errno));
        return false;
    }
    demo_print_quoted(bytes, shown, length);
    return expected && memcmp(bytes, expected, shown) == 0;
}

/*
 * Shows the written bytes through the mapping and in the file on disk,
 * where they only arrive when their page is written back.
 */
static void print_both_copies(mmap *m, const char *path, size_t offset,
                              const char *text, size_t wrote,
                              const event_log *log) {
    char back[WRITE_SHOWN];
    size_t shown = wrote < WRITE_SHOWN ? wrote : WRITE_SHOWN;
    size_t got = mmap_read(m, back, offset, shown);
    printf("  through the mapping: ");
    demo_print_quoted(back, got, wrote);
    printf("\n  in the file on disk: ");
    if (!print_file_bytes(path, offset, wrote, text))
        printf("  (not yet: the page is dirty in its frame)");
    else if (log->written_page_saved > 0)
        printf("  (already: its page was evicted and written back)");
    printf("\n");
}

/*
 * Applies the write and reports how many bytes went in (clipped at the
 * file's end) or why none did. Returns the number of bytes written. The
 * log counts the write-backs of the first page written from now on.
 */
static size_t write_text(mmap *m, const options *opts, const char *path,
                         event_log *log) {
    const char *text = opts->write_text;
    size_t offset = opts->write_offset, length = strlen(text);
    log->watching = offset < m->length;
    log->written_page = PAGE_ROUND_DOWN(m->start_address + offset);
    printf("Writing ");
    demo_print_quoted(text, length < WRITE_SHOWN ? length : WRITE_SHOWN,
                      length);
    printf(" at offset %zu with mmap_write%s:\n", offset,
           !opts->path   ? " (only the copy changes)"
           : m->writable ? " (this changes the file itself)"
                         : "");
    errno = 0;
    size_t wrote = mmap_write(m, text, offset, length);
    if (wrote == 0 && length > 0 && offset < m->length) {
        printf("  refused: %s%s\n", strerror(errno),
               m->writable ? "" : " (the file is mapped read-only)");
    } else if (wrote == 0 && length > 0) {
        printf("  wrote 0 bytes: offset %zu is at or past the end of the "
               "file (%zu bytes),\n  and a mapping never grows its file\n",
               offset, m->length);
    } else {
        printf("  wrote %zu byte%s", wrote, demo_plural(wrote));
        if (wrote < length)
            printf(" of %zu: clipped at the end of the file (%zu bytes)",
                   length, m->length);
        printf("\n");
    }
    if (wrote > 0)
        print_both_copies(m, path, offset, text, wrote, log);
    return wrote;
}

/* Whether the page of the mapping at `address` waits in the page cache. */
static bool in_page_cache(mmap *m, addr32 address) {
    vm_areas *areas = m->mmu->areas[DEFAULT_PID];
    vm_area *area = areas ? vma_find(areas, address) : NULL;
    return area && area->file &&
           page_cache_has(area->file, area->first_page +
                                          (address - area->start) / PAGE_SIZE);
}

/*
 * The character for one page: '.' not resident, 'c' read ahead but not
 * touched yet (in the page cache, or in its entry for a segment's pager),
 * 'r' mapped and clean, 'D' mapped and dirty.
 */
static char classify_page(mmap *m, addr32 address) {
    page_table_entry *entry =
        page_table_walk(m->mmu->page_directories[DEFAULT_PID], address, false);
    if (entry && entry->present)
        return entry->dirty ? 'D' : 'r';
    if ((entry && entry->cached) || in_page_cache(m, address))
        return 'c';
    return '.';
}

/* Which state a cell of several pages shows: the strongest of them. */
static int cell_rank(char state) {
    return state == 'D' ? 3 : state == 'r' ? 2 : state == 'c' ? 1 : 0;
}

/*
 * Reads the page-table entry of every page of the mapping (never writing
 * one) into `map`. A file of more than MAP_MAX_CELLS pages gets one cell
 * per group of pages: 'D' if any of them is dirty, else 'r' if any is
 * mapped, else 'c' if any is read ahead, else '.'.
 */
static void record_page_map(mmap *m, page_map *map) {
    size_t pages = (m->length + PAGE_SIZE - 1) / PAGE_SIZE;
    *map = (page_map){.num_pages = pages, .pages_per_cell = 1};
    if (pages > MAP_MAX_CELLS)
        map->pages_per_cell = (pages + MAP_MAX_CELLS - 1) / MAP_MAX_CELLS;
    map->num_cells = (pages + map->pages_per_cell - 1) / map->pages_per_cell;
    memset(map->cells, '.', map->num_cells);
    for (size_t page = 0; page < pages; page++) {
        char state =
            classify_page(m, (addr32)(m->start_address + page * PAGE_SIZE));
        char *cell = &map->cells[page / map->pages_per_cell];
        if (state != '.')
            map->resident++;
        if (state == 'D')
            map->dirty++;
        if (state == 'c')
            map->cached++;
        if (cell_rank(state) > cell_rank(*cell))
            *cell = state;
    }
}

/* Records what the report shows of the mapping, while it still exists. */
static void take_snapshot(mmap *m, snapshot *shot) {
    shot->segments = *m->mmu->segmentations[DEFAULT_PID];
    shot->page_faults = m->mmu->num_page_faults;
    shot->tlb_misses = m->mmu->num_tlb_misses;
    shot->segmentation_faults = m->mmu->num_segmentation_faults;
    shot->frames_free = kernel_frames_free();
    shot->frames_total = kernel_frames_total();
    record_page_map(m, &shot->map);
}

/* Unmaps `m`, counting the write-backs that munmap does itself. */
static void unmap(mmap *m, event_log *log, unmap_result *result) {
    printf("Unmapping it with munmap.\n");
    result->write_backs_before = log->events[TRACE_WRITE_BACK];
    result->written_page_saved_before = log->written_page_saved;
    munmap(m);
    result->write_backs_by_unmap =
        log->events[TRACE_WRITE_BACK] - result->write_backs_before;
    result->frames_free = kernel_frames_free();
    result->frames_total = kernel_frames_total();
}

/* Segment indices sorted by address, highest first. */
static void sort_segments(const vm_segmentations *segments, int *order) {
    for (int i = 0; i < NUM_SEGMENTS; i++) {
        int j = i;
        while (j > 0 && segments->segments[order[j - 1]].start <
                            segments->segments[i].start) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
}

/* A box's top or bottom edge, with an address to its left. */
static void print_box_line(const char *left) {
    printf("  %-10s  +", left);
    for (int i = 0; i < BOX_WIDTH; i++)
        putchar('-');
    printf("+\n");
}

/* A segment's permissions as "rw-" in `perm`, 4 bytes. */
static void permission_string(uint32_t permissions, char *perm) {
    perm[0] = permissions & READ ? 'r' : '-';
    perm[1] = permissions & WRITE ? 'w' : '-';
    perm[2] = permissions & EXEC ? 'x' : '-';
    perm[3] = '\0';
}

/* A segment with pages as a box: end on top, start at the bottom. */
static void print_segment_box(const vm_segmentation *segment, int index,
                              const char *file) {
    uint32_t pages = (segment->end - segment->start) / PAGE_SIZE;
    char address[16], size[24], perm[4], row[64];
    snprintf(size, sizeof size, "%u page%s", pages, demo_plural(pages));
    permission_string(segment->permissions, perm);
    snprintf(row, sizeof row, " %-8s %-12s %s  grows %s", segment_name(index),
             size, perm, segment->grows_down ? "down" : "up");
    snprintf(address, sizeof address, "0x%08x", segment->end);
    print_box_line(address);
    printf("  %-10s  |%-*s|%s%s\n", "", BOX_WIDTH, row, file ? "  <- " : "",
           file ? file : "");
    snprintf(address, sizeof address, "0x%08x", segment->start);
    print_box_line(address);
}

/*
 * Lists the empty segments order[first] .. order[end - 1], each with its
 * permissions and the address where it would start growing, on as few
 * lines of REPORT_WIDTH columns as they fit.
 */
static void print_empty_segments(const vm_segmentations *segments,
                                 const int *order, int first, int end) {
    int column = printf("  %-10s  ", "empty:");
    for (int i = first; i < end; i++) {
        const vm_segmentation *segment = &segments->segments[order[i]];
        char item[64], perm[4];
        permission_string(segment->permissions, perm);
        int width = snprintf(item, sizeof item, "%s %s 0x%08x%s%s",
                             segment_name(order[i]), perm, segment->start,
                             segment->grows_down ? " grows down" : "",
                             i + 1 < end ? "," : "");
        if (i > first && column + 1 + width > REPORT_WIDTH)
            column = printf("\n  %-10s  ", "") - 1;
        else if (i > first)
            column += printf(" ");
        column += printf("%s", item);
    }
    printf("\n");
}

/*
 * The address space as a column, highest address first: a segment with
 * pages is a box between its end (top) and start (bottom); the empty
 * segments between them share a line or two.
 */
static void print_segments(const snapshot *shot, const char *file_name) {
    printf("\n1. Address space of process %d, highest address first\n"
           "   a box spans [start, end), end on top; an empty segment shows "
           "its start\n",
           DEFAULT_PID);
    int order[NUM_SEGMENTS];
    sort_segments(&shot->segments, order);
    for (int i = 0; i < NUM_SEGMENTS;) {
        const vm_segmentation *segment = &shot->segments.segments[order[i]];
        int end = i;
        while (end < NUM_SEGMENTS &&
               shot->segments.segments[order[end]].start ==
                   shot->segments.segments[order[end]].end)
            end++;
        if (end > i) {
            print_empty_segments(&shot->segments, order, i, end);
            i = end;
            continue;
        }
        print_segment_box(segment, order[i],
                          order[i] == MMAP ? file_name : NULL);
        i++;
    }
}

/* Starts one line of a table of counts; the caller adds a note. */
static void print_count(const char *label, size_t value) {
    printf("  %-30s %6zu  ", label, value);
}

/* The faults, split by kind; a fault is counted at a page's first touch. */
static void print_faults(const snapshot *shot, const event_log *log) {
    print_count("page faults", shot->page_faults);
    printf("(one per page, at its first touch)\n");
    print_count("  major faults", log->faults[TRACE_FAULT_MAJOR]);
    printf("(read from the file; may read ahead)\n");
    print_count("  minor faults", log->faults[TRACE_FAULT_MINOR]);
    printf("(read ahead earlier: only mapped now)\n");
    if (log->faults[TRACE_FAULT_ZERO] > 0) {
        print_count("  zero-fill faults", log->faults[TRACE_FAULT_ZERO]);
        printf("(demand-zero: a cleared frame)\n");
    }
    if (log->faults[TRACE_FAULT_COPY] > 0) {
        print_count("  copy-on-write faults", log->faults[TRACE_FAULT_COPY]);
        printf("(a private page copied at its first write)\n");
    }
}

/* Section 2: the MMU's counters, and the faults and TLB hits the log saw. */
static void print_counters(const snapshot *shot, const event_log *log) {
    size_t hits = log->events[TRACE_TLB_HIT];
    size_t translations = hits + log->events[TRACE_TLB_MISS];
    printf("\n2. What the MMU counted\n");
    print_faults(shot, log);
    print_count("TLB misses", shot->tlb_misses);
    printf("(each one costs a page walk)\n");
    print_count("TLB hits", hits);
    if (translations > 0)
        printf("(%.1f%% of %zu translation%s)\n",
               100.0 * (double)hits / (double)translations, translations,
               demo_plural(translations));
    else
        printf("(nothing was translated)\n");
    print_count("segmentation faults", shot->segmentation_faults);
    printf("(accesses the segments refused)\n");
    printf("  A translation is one page touched by one access; the TLB keeps "
           "the last %d.\n",
           TLB_SIZE);
}

/* Section 3: the pages with a frame just before munmap, and the dirty ones. */
static void print_page_map(const page_map *map) {
    printf("\n3. Pages of the mapping just before munmap\n");
    if (map->num_pages == 0) {
        printf("  (no pages: the file is empty)\n");
        return;
    }
    int width = snprintf(NULL, 0, "%zu", map->num_pages - 1);
    width = width < 4 ? 4 : width;
    for (size_t cell = 0; cell < map->num_cells; cell += MAP_LINE) {
        size_t count = map->num_cells - cell;
        count = count < MAP_LINE ? count : MAP_LINE;
        printf("  page %*zu  %.*s\n", width, cell * map->pages_per_cell,
               (int)count, map->cells + cell);
    }
    printf("  . not resident   c read ahead, untouched   r resident   "
           "D resident, dirty\n");
    if (map->pages_per_cell > 1)
        printf("  each character stands for %zu pages: D if any is dirty, "
               "else r if any is\n  resident, else c if any is read ahead\n",
               map->pages_per_cell);
    printf("  %zu page%s: %zu resident (%zu dirty, %zu read ahead), %zu not "
           "resident\n",
           map->num_pages, demo_plural(map->num_pages), map->resident,
           map->dirty, map->cached, map->num_pages - map->resident);
}

/* The pager's calls one way: each is one I/O call of the file. */
static void print_io(const char *label, const io_count *io) {
    print_count(label, io->calls);
    printf("(%zu page%s, %zu byte%s)\n", io->pages, demo_plural(io->pages),
           io->bytes, demo_plural(io->bytes));
}

/*
 * Section 4: what left memory and how (evictions, write-backs, the
 * pager's calls), and the frames in use.
 */
static void print_write_back(const snapshot *shot, const event_log *log,
                             const unmap_result *result) {
    size_t in_use = shot->frames_total - shot->frames_free;
    size_t tables = in_use - shot->map.resident;
    printf("\n4. Evictions, write-back, the pager's I/O and the frames\n");
    print_count("evictions", log->events[TRACE_EVICTION]);
    if (log->events[TRACE_EVICTION] > 0)
        printf("(%zu of them dirty: written back first)\n",
               log->dirty_evictions);
    else
        printf("(the pool never ran out of frames)\n");
    print_count("pages written back on eviction", result->write_backs_before);
    printf("(dirty neighbours go along)\n");
    print_count("pages written back by munmap", result->write_backs_by_unmap);
    printf("(only dirty pages are written)\n");
    print_io("pager reads (I/O calls)", &log->reads);
    print_io("pager writes (I/O calls)", &log->writes);
    print_count("frames in use before munmap", in_use);
    printf("(%zu file page%s, %zu page-table page%s)\n", shot->map.resident,
           demo_plural(shot->map.resident), tables, demo_plural(tables));
    print_count("frames free before munmap", shot->frames_free);
    printf("(of %zu; %zu after munmap)\n", shot->frames_total,
           result->frames_free);
}

/* Shows where the written bytes ended up, once munmap is done. */
static void print_written_bytes(const char *path, const options *opts,
                                size_t wrote, const unmap_result *result) {
    printf("  After munmap the file holds ");
    print_file_bytes(path, opts->write_offset, wrote, NULL);
    printf(" at offset %zu (%s)\n", opts->write_offset,
           result->written_page_saved_before > 0 ? "written back on eviction"
                                                 : "written back by munmap");
}

/* How to see what this run did not show: eviction, read-ahead. */
static void print_hints(const event_log *log, const page_map *map,
                        size_t frames_total) {
    if (log->events[TRACE_EVICTION] == 0)
        printf("\n  Nothing was evicted: the pool held every page. To watch "
               "eviction and\n  read-ahead, map a file of more than %d pages "
               "into %d frames (a smaller\n  pool reads nothing ahead): "
               "MMAP_FRAMES=%d ./mmap_demo FILE, or run\n  ./mmap_demo "
               "with no FILE and MMAP_FRAMES unset.\n",
               DEMO_FRAMES - TABLE_FRAMES, DEMO_FRAMES, DEMO_FRAMES);
    else if (log->faults[TRACE_FAULT_MINOR] == 0 && map->num_pages > 1 &&
             frames_total < DEMO_FRAMES)
        printf("\n  Nothing was read ahead: a fault reads at most 1/%d of "
               "the pool, so a pool\n  under %d frames reads one page at a "
               "time.\n",
               MMU_READ_AHEAD_SHARE, DEMO_FRAMES);
}

/* The report, from what was seen before and after munmap. */
static void print_report(const snapshot *shot, const event_log *log,
                         const unmap_result *result, const char *path,
                         const options *opts, size_t wrote) {
    const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    print_segments(shot, name);
    print_counters(shot, log);
    print_page_map(&shot->map);
    print_write_back(shot, log, result);
    if (wrote > 0)
        print_written_bytes(path, opts, wrote, result);
    print_hints(log, &shot->map, shot->frames_total);
}

/* The pool's size, and who chose it. */
static void print_pool(const options *opts) {
    const char *setting = getenv("MMAP_FRAMES");
    printf("  frame pool: %zu frames", kernel_frames_total());
    if (opts->small_pool)
        printf(" (MMAP_FRAMES=%s, set by the demo to show eviction)\n",
               setting);
    else if (setting && *setting)
        printf(" (MMAP_FRAMES=%s)\n", setting);
    else
        printf(" (the default; MMAP_FRAMES sets it)\n");
}

/*
 * Says why mmap_create failed with errno `failure`, in terms a student can
 * act on: a pool that cannot be set up is MMAP_FRAMES's doing.
 */
static void demo_explain_create_failure(const char *path, int failure) {
    const char *setting = getenv("MMAP_FRAMES");
    bool no_pool =
        (failure == EINVAL || failure == ENOMEM) && kernel_frames_total() == 0;
    if (no_pool && failure == EINVAL && setting)
        fprintf(stderr,
                "mmap_demo: MMAP_FRAMES='%s' is not a whole number of frames "
                "(digits only, e.g. MMAP_FRAMES=%d)\n",
                setting, DEMO_FRAMES);
    else if (no_pool && failure == ENOMEM)
        fprintf(stderr,
                "mmap_demo: the frame pool (MMAP_FRAMES=%s, 4 KiB a frame) "
                "could not be reserved: lower MMAP_FRAMES\n",
                setting && *setting ? setting : "unset: the default");
    else
        fprintf(stderr, "mmap_demo: %s: %s\n", path, strerror(failure));
}

/* Says what was mapped, and sets the log up to name its pages. */
static void describe_mapping(mmap *m, const options *opts, event_log *log) {
    size_t pages = (m->length + PAGE_SIZE - 1) / PAGE_SIZE;
    log->start_address = m->start_address;
    log->num_pages = pages;
    printf("  %zu byte%s (%zu page%s) at virtual address 0x%08lx, %s;\n"
           "  no page of the file is read yet\n",
           m->length, demo_plural(m->length), pages, demo_plural(pages),
           (unsigned long)m->start_address,
           m->writable ? "read-write" : "read-only");
    print_pool(opts);
}

/*
 * Maps the file at `path`, writes to it, reads it all, unmaps it, and
 * reports. The write comes first, so that the page it dirties meets the
 * pressure of the reads that follow.
 */
static int run_demo(const char *path, const options *opts) {
    event_log log = {.print = opts->trace};
    trace_set_hook(demo_log_event, &log);
    printf("Mapping %s with mmap_create:\n", path);
    if (!opts->path)
        printf("  (a copy of %s, removed at the end)\n", DEFAULT_FILE);
    mmap *m = mmap_create(path);
    if (!m) {
        int failure = errno;
        trace_set_hook(NULL, NULL);
        demo_explain_create_failure(path, failure);
        return 1;
    }
    describe_mapping(m, opts, &log);
    size_t wrote = opts->write ? write_text(m, opts, path, &log) : 0;
    bool read_ok = read_whole_file(m);
    snapshot shot;
    take_snapshot(m, &shot);
    unmap_result result;
    unmap(m, &log, &result);
    trace_set_hook(NULL, NULL);

    print_report(&shot, &log, &result, path, opts, wrote);
    return read_ok ? 0 : 1;
}

/* The mode the options chose, on the file at `path`. */
static int run_mode(const char *path, const options *opts) {
    return opts->sharing ? demo_run_sharing(path, opts) : run_demo(path, opts);
}

/*
 * Runs the demo on FILE, or on a copy of DEFAULT_FILE (with, for the
 * default run, its small pool and write). The status is 0 when every step
 * worked.
 */
int main(int argc, char **argv) {
    options opts;
    parse_arguments(argc, argv, &opts);
    if (opts.fork)
        return demo_run_fork(&opts); /* fork_story.scn sets its pool */
    if (opts.path)
        return run_mode(opts.path, &opts);
    if (!opts.sharing)
        choose_default_run(&opts);
    /* A reader that goes away early (| head) must not stop the cleanup. */
    signal(SIGPIPE, SIG_IGN);
    char dir[PATH_MAX], copy[PATH_MAX];
    if (!demo_make_default_copy(dir, copy))
        return 1;
    int status = run_mode(copy, &opts);
    demo_remove_default_copy(dir, copy);
    return status;
}
