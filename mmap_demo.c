/*
 * mmap_demo.c: maps a file, reads it (and writes to it) through the simulated
 * MMU, unmaps it, and shows what happened: the segments, faults and TLB hits,
 * resident and dirty pages, and what went back to the file.
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
#include "page_table.h"
#include "segments.h"
#include "tlb.h"
#include "trace.h"
#include "types.h"

#define USAGE "usage: mmap_demo [FILE] [--write OFFSET TEXT] [--trace]\n"

/* Mapped when no FILE is named: a copy of it, so the tree stays untouched. */
#define DEFAULT_FILE "test_files/lorem.txt"

/* Bytes per mmap_read; not a page multiple, so some reads span two pages. */
#define READ_CHUNK 1000

/* The excerpt of what was read: at most this many bytes and lines. */
#define EXCERPT_BYTES 160
#define EXCERPT_LINES 3
/* Output columns of one excerpt line before it is wrapped. */
#define EXCERPT_WIDTH 72

/* The page map: pages per line, and characters at most before compressing. */
#define MAP_LINE 64
#define MAP_MAX_CELLS (16 * MAP_LINE)

/* Inner width of the segment picture's boxes. */
#define BOX_WIDTH 39

/* Bytes of a --write shown back, at most. */
#define WRITE_SHOWN 40

typedef struct {
    const char *path; /* NULL: a copy of DEFAULT_FILE */
    bool write;
    size_t write_offset;
    const char *write_text;
    bool trace;
} options;

/* What the trace hook has seen, and whether it prints each event. */
typedef struct {
    bool print;
    size_t events[NUM_TRACE_EVENTS];
} event_log;

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
    size_t evictions;
    size_t frames_free;
    size_t frames_total;
} unmap_result;

/* The ending of a count's noun: "1 page", "2 pages". */
static const char *plural(size_t count) {
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
static bool make_default_copy(char *dir, char *path) {
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

static void remove_default_copy(const char *dir, const char *path) {
    if (unlink(path) != 0 || rmdir(dir) != 0)
        fprintf(stderr, "mmap_demo: cannot remove %s: %s\n", dir,
                strerror(errno));
}

/* The trace hook: counts every event and, with --trace, prints it. */
static void log_event(const trace_record *record, void *context) {
    event_log *log = context;
    enum trace_event event = record->event;
    addr32 virtual_address = record->virtual_address;
    addr32 physical_address = record->physical_address;
    assert((unsigned)event < NUM_TRACE_EVENTS);
    log->events[event]++;
    if (!log->print || ferror(stdout))
        return;
    printf("  %-12s", trace_event_name(event));
    switch (event) {
    case TRACE_PAGE_WALK:
        if (physical_address)
            printf("va 0x%08x -> frame 0x%08x\n", virtual_address,
                   physical_address);
        else
            printf("va 0x%08x -> not present\n", virtual_address);
        break;
    case TRACE_FRAME_GIVEN:
    case TRACE_EVICTION: printf("pa 0x%08x\n", physical_address); break;
    case TRACE_WRITE_BACK:
        printf("va 0x%08x pa 0x%08x\n", virtual_address, physical_address);
        break;
    default: printf("va 0x%08x\n", virtual_address); break;
    }
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
static void print_quoted(const char *bytes, size_t shown, size_t length) {
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
        printf("    | ... (%zu more byte%s)\n", total - i, plural(total - i));
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
static bool read_file_bytes(const char *path, size_t offset, char *bytes,
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
    if (!read_file_bytes(path, offset, bytes, shown)) {
        printf("(cannot read them: %s)", strerror(errno));
        return false;
    }
    print_quoted(bytes, shown, length);
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
    print_quoted(back, got, wrote);
    printf("\n  in the file on disk: ");
    if (!print_file_bytes(path, offset, wrote, text))
        printf("  (not yet: the page is dirty in its frame)");
    else if (log->events[TRACE_WRITE_BACK] > 0)
        printf("  (already: its page was evicted and written back)");
    printf("\n");
}

/*
 * Applies the --write and reports how many bytes went in (clipped at the
 * file's end) or why none did. Returns the number of bytes written.
 */
static size_t write_text(mmap *m, const options *opts, const char *path,
                         const event_log *log) {
    const char *text = opts->write_text;
    size_t offset = opts->write_offset, length = strlen(text);
    printf("Writing ");
    print_quoted(text, length < WRITE_SHOWN ? length : WRITE_SHOWN, length);
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
        printf("  wrote %zu byte%s", wrote, plural(wrote));
        if (wrote < length)
            printf(" of %zu: clipped at the end of the file (%zu bytes)",
                   length, m->length);
        printf("\n");
    }
    if (wrote > 0)
        print_both_copies(m, path, offset, text, wrote, log);
    return wrote;
}

/*
 * The character for one page: '.' not resident, 'c' read ahead but not
 * touched yet, 'r' mapped and clean, 'D' mapped and dirty.
 */
static char classify_page(mmap *m, addr32 address) {
    page_table_entry *entry =
        page_table_walk(m->mmu->page_directories[DEFAULT_PID], address, false);
    if (entry && entry->cached)
        return 'c';
    if (!entry || !entry->present)
        return '.';
    return entry->dirty ? 'D' : 'r';
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
    printf("Unmapping it with munmap:\n");
    result->write_backs_before = log->events[TRACE_WRITE_BACK];
    munmap(m);
    result->write_backs_by_unmap =
        log->events[TRACE_WRITE_BACK] - result->write_backs_before;
    result->evictions = log->events[TRACE_EVICTION];
    result->frames_free = kernel_frames_free();
    result->frames_total = kernel_frames_total();
    printf("  done\n");
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

static void print_box_line(const char *left) {
    printf("  %-10s  +", left);
    for (int i = 0; i < BOX_WIDTH; i++)
        putchar('-');
    printf("+\n");
}

/* One segment's row inside its box, with a pointer to the file if here. */
static void print_segment_row(const vm_segmentation *segment, int index,
                              const char *address, const char *file) {
    uint32_t pages = (segment->end - segment->start) / PAGE_SIZE;
    char size[24], perm[4];
    if (pages == 0)
        snprintf(size, sizeof size, "empty");
    else
        snprintf(size, sizeof size, "%u page%s", pages, plural(pages));
    perm[0] = segment->permissions & READ ? 'r' : '-';
    perm[1] = segment->permissions & WRITE ? 'w' : '-';
    perm[2] = segment->permissions & EXEC ? 'x' : '-';
    perm[3] = '\0';
    char row[64];
    snprintf(row, sizeof row, " %-8s %-12s %s  grows %s", segment_name(index),
             size, perm, segment->grows_down ? "down" : "up");
    printf("  %-10s  |%-*s|%s%s\n", address, BOX_WIDTH, row,
           file ? "  <- " : "", file ? file : "");
}

/*
 * The address space as a column, highest address first. A segment with
 * pages is a box between its end (top) and start (bottom); an empty one is
 * a single row at the address where it would start growing.
 */
static void print_segments(const snapshot *shot, const char *file_name) {
    printf("\n1. Address space of process %d, highest address first\n",
           DEFAULT_PID);
    printf("   An empty segment is shown at its start. A segment with pages "
           "spans\n   [start, end): end, at the top, is one past its last "
           "byte.\n\n");
    int order[NUM_SEGMENTS];
    sort_segments(&shot->segments, order);
    char address[16];
    print_box_line("");
    for (int i = 0; i < NUM_SEGMENTS; i++) {
        const vm_segmentation *segment = &shot->segments.segments[order[i]];
        const char *file = order[i] == MMAP ? file_name : NULL;
        if (segment->start == segment->end) {
            snprintf(address, sizeof address, "0x%08x", segment->start);
            print_segment_row(segment, order[i], address, file);
            continue;
        }
        snprintf(address, sizeof address, "0x%08x", segment->end);
        if (i > 0)
            print_box_line(address);
        else
            printf("  %-10s  |%*s|\n", address, BOX_WIDTH, "");
        print_segment_row(segment, order[i], "", file);
        snprintf(address, sizeof address, "0x%08x", segment->start);
        print_box_line(address);
    }
    print_box_line("");
}

/* Starts one line of a table of counts; the caller adds a note. */
static void print_count(const char *label, size_t value) {
    printf("  %-30s %6zu  ", label, value);
}

static void print_counters(const snapshot *shot, const event_log *log) {
    size_t hits = log->events[TRACE_TLB_HIT];
    size_t translations = hits + log->events[TRACE_TLB_MISS];
    printf("\n2. What the MMU counted\n\n");
    print_count("page faults", shot->page_faults);
    printf("(one per page brought into a frame)\n");
    print_count("TLB misses", shot->tlb_misses);
    printf("(each one costs a page walk)\n");
    print_count("TLB hits", hits);
    if (translations > 0)
        printf("(%.1f%% of %zu translation%s)\n",
               100.0 * (double)hits / (double)translations, translations,
               plural(translations));
    else
        printf("(nothing was translated)\n");
    print_count("segmentation faults", shot->segmentation_faults);
    printf("(accesses the segments refused)\n");
    printf("\n  A translation is one page touched by one access; the TLB "
           "keeps the last %d.\n",
           TLB_SIZE);
}

static void print_page_map(const page_map *map) {
    printf("\n3. Pages of the mapping just before munmap\n\n");
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
    printf("\n  . not resident   c read ahead, not touched yet\n"
           "  r resident, clean   D resident, dirty\n");
    if (map->pages_per_cell > 1)
        printf("  each character stands for %zu pages: D if any is dirty, "
               "else r if any is resident, else c if any is read ahead\n",
               map->pages_per_cell);
    printf("  %zu page%s: %zu resident (%zu dirty, %zu read ahead), %zu not "
           "resident\n",
           map->num_pages, plural(map->num_pages), map->resident, map->dirty,
           map->cached, map->num_pages - map->resident);
}

static void print_write_back(const snapshot *shot, const unmap_result *result) {
    size_t in_use = shot->frames_total - shot->frames_free;
    printf("\n4. Write-back and frames\n\n");
    print_count("pages written back by munmap", result->write_backs_by_unmap);
    printf("(only dirty pages are written)\n");
    print_count("pages written back on eviction", result->write_backs_before);
    printf("(%zu eviction%s before munmap)\n", result->evictions,
           plural(result->evictions));
    print_count("frames in use before munmap", in_use);
    size_t tables = in_use - shot->map.resident;
    printf("(%zu file page%s, %zu page-table page%s)\n", shot->map.resident,
           plural(shot->map.resident), tables, plural(tables));
    print_count("frames free before munmap", shot->frames_free);
    printf("(of %zu)\n", shot->frames_total);
    print_count("frames free after munmap", result->frames_free);
    printf("(of %zu)\n", result->frames_total);
}

/* Shows where the written bytes ended up, once munmap is done. */
static void print_written_bytes(const char *path, const options *opts,
                                size_t wrote) {
    printf("\n  After munmap the file on disk holds ");
    print_file_bytes(path, opts->write_offset, wrote, NULL);
    printf(" at offset %zu.\n", opts->write_offset);
}

/* How to see what this run did not show. */
static void print_eviction_hint(void) {
    printf("\n  Nothing was evicted. To watch evictions, map a file of more "
           "than %d pages\n  into a pool of %d frames, two of which hold "
           "page tables:\n    MMAP_FRAMES=%d ./mmap_demo FILE\n",
           KERNEL_MIN_FRAMES - 2, KERNEL_MIN_FRAMES, KERNEL_MIN_FRAMES);
}

/* The report, from what was seen before and after munmap. */
static void print_report(const snapshot *shot, const event_log *log,
                         const unmap_result *result, const char *path,
                         const options *opts, size_t wrote) {
    const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    print_segments(shot, name);
    print_counters(shot, log);
    print_page_map(&shot->map);
    print_write_back(shot, result);
    if (wrote > 0)
        print_written_bytes(path, opts, wrote);
    if (result->evictions == 0)
        print_eviction_hint();
}

/* Maps the file at `path`, reads it, writes to it, unmaps it, reports. */
static int run_demo(const char *path, const options *opts) {
    event_log log = {.print = opts->trace};
    trace_set_hook(log_event, &log);
    printf("Mapping %s with mmap_create:\n", path);
    if (!opts->path)
        printf("  (a copy of %s, removed at the end)\n", DEFAULT_FILE);
    mmap *m = mmap_create(path);
    if (!m) {
        fprintf(stderr, "mmap_demo: %s: %s\n", path, strerror(errno));
        trace_set_hook(NULL, NULL);
        return 1;
    }
    size_t pages = (m->length + PAGE_SIZE - 1) / PAGE_SIZE;
    printf("  %zu byte%s (%zu page%s) at virtual address 0x%08lx, %s;\n"
           "  no page of the file is read yet\n",
           m->length, plural(m->length), pages, plural(pages),
           (unsigned long)m->start_address,
           m->writable ? "read-write" : "read-only");

    bool read_ok = read_whole_file(m);
    size_t wrote = opts->write ? write_text(m, opts, path, &log) : 0;
    snapshot shot;
    take_snapshot(m, &shot);
    unmap_result result;
    unmap(m, &log, &result);
    trace_set_hook(NULL, NULL);

    print_report(&shot, &log, &result, path, opts, wrote);
    return read_ok ? 0 : 1;
}

int main(int argc, char **argv) {
    options opts;
    parse_arguments(argc, argv, &opts);
    if (opts.path)
        return run_demo(opts.path, &opts);
    /* A reader that goes away early (| head) must not stop the cleanup. */
    signal(SIGPIPE, SIG_IGN);
    char dir[PATH_MAX], copy[PATH_MAX];
    if (!make_default_copy(dir, copy))
        return 1;
    int status = run_demo(copy, &opts);
    remove_default_copy(dir, copy);
    return status;
}
