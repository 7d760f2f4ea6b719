/*
 * replay.c: a trace of page references, parsed once and replayed through
 * the simulated machine per policy and pool size (replay.h), with the
 * runs' figures as JSON for the web page.
 *
 * Parsing numbers each distinct (process, page) in the order it first
 * appears, through a hash table, so a run touches arrays only. A run
 * builds a fresh MMU whose processes' HEAP segments hold the trace's
 * pages, backed by a store that only counts what it writes, pins their
 * page tables so that the pool's frames are the trace's alone, and
 * registers the future (each page's next use) for opt. Left out: parsing
 * in pieces (the whole text is in memory), lackey's addresses past 2^64.
 */
#include "replay.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmu.h"
#include "page_table.h"
#include "segments.h"

#define NO_USE SIZE_MAX
#define CACHE_LINE 64 /* the host's, for page_address */

/* One reference: a page index and whether it writes. */
typedef struct {
    uint32_t page;
    bool write;
} reference;

/* A distinct page: its process, its name in the trace, its place there. */
typedef struct {
    uint64_t name;  /* the page number as the trace gave it */
    uint32_t pid;
    uint32_t local; /* its index among its process's pages */
} trace_page;

struct replay_trace {
    reference *references;
    size_t *next_of; /* per reference: the next one to its page, or NO_USE */
    size_t count, room;
    trace_page *pages;
    size_t page_count, page_room;
    uint32_t *index; /* hash buckets: page index + 1, 0 empty */
    size_t index_mask;
    size_t pid_pages[MAX_PROCESS_ID]; /* distinct pages per process */
    bool addresses; /* names are page numbers of addresses: shown in hex */
};

/* ------------------------------------------------------------------ */
/* Parsing                                                            */
/* ------------------------------------------------------------------ */

static size_t bucket_of(const replay_trace *trace, uint64_t name,
                        uint32_t pid) {
    uint64_t mixed = (name ^ ((uint64_t)pid << 52)) * 0x9E3779B97F4A7C15ull;
    return (size_t)(mixed >> 20) & trace->index_mask;
}

/* Doubles the hash table; false with errno ENOMEM. */
static bool index_grow(replay_trace *trace) {
    size_t buckets = trace->index ? 2 * (trace->index_mask + 1) : 1024;
    uint32_t *index = calloc(buckets, sizeof *index);
    if (!index) {
        errno = ENOMEM;
        return false;
    }
    free(trace->index);
    trace->index = index;
    trace->index_mask = buckets - 1;
    for (size_t i = 0; i < trace->page_count; i++) {
        size_t at = bucket_of(trace, trace->pages[i].name, trace->pages[i].pid);
        while (index[at])
            at = (at + 1) & trace->index_mask;
        index[at] = (uint32_t)i + 1;
    }
    return true;
}

/* Grows `*array` of `*room` items of `size` to hold one more; ENOMEM. */
static bool room_for_one(void *array, size_t *room, size_t used, size_t size) {
    if (used < *room)
        return true;
    size_t more = *room ? 2 * *room : 256;
    void *grown = realloc(*(void **)array, more * size);
    if (!grown) {
        errno = ENOMEM;
        return false;
    }
    *(void **)array = grown;
    *room = more;
    return true;
}

/* The index of page `name` of `pid`, numbered now if new; -1: errno. */
static long page_index(replay_trace *trace, uint64_t name, uint32_t pid) {
    if (2 * (trace->page_count + 1) > trace->index_mask + 1 &&
        !index_grow(trace))
        return -1;
    size_t at = bucket_of(trace, name, pid);
    for (; trace->index[at]; at = (at + 1) & trace->index_mask) {
        const trace_page *page = &trace->pages[trace->index[at] - 1];
        if (page->name == name && page->pid == pid)
            return (long)trace->index[at] - 1;
    }
    if (trace->pid_pages[pid] >= REPLAY_MAX_PAGES) {
        errno = EINVAL;
        return -1;
    }
    if (!room_for_one(&trace->pages, &trace->page_room, trace->page_count,
                      sizeof *trace->pages))
        return -1;
    trace->pages[trace->page_count] =
        (trace_page){name, pid, (uint32_t)trace->pid_pages[pid]++};
    trace->index[at] = (uint32_t)++trace->page_count;
    return (long)trace->page_count - 1;
}

/* Appends a reference to page `name` of `pid`; false with errno. */
static bool add_reference(replay_trace *trace, uint64_t name, uint32_t pid,
                          bool write) {
    long page = page_index(trace, name, pid);
    if (page < 0 || !room_for_one(&trace->references, &trace->room,
                                  trace->count, sizeof *trace->references))
        return false;
    trace->references[trace->count++] = (reference){(uint32_t)page, write};
    return true;
}

static const char *skip_blanks(const char *at, const char *end) {
    while (at < end && (*at == ' ' || *at == '\t' || *at == '\r'))
        at++;
    return at;
}

/* A hexadecimal number at `*at` (0x optional); false if none. */
static bool read_hex(const char **at, const char *end, uint64_t *value) {
    const char *p = *at;
    if (end - p > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        p += 2;
    const char *digits = p;
    uint64_t number = 0;
    for (; p < end; p++) {
        int c = *p, digit = c >= '0' && c <= '9'   ? c - '0'
                            : c >= 'a' && c <= 'f' ? c - 'a' + 10
                            : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                   : -1;
        if (digit < 0)
            break;
        number = number << 4 | (uint64_t)digit;
    }
    *at = p;
    *value = number;
    return p > digits;
}

/* A decimal number at `*at`; false if none. */
static bool read_decimal(const char **at, const char *end, uint64_t *value) {
    const char *p = *at;
    uint64_t number = 0;
    for (; p < end && *p >= '0' && *p <= '9'; p++)
        number = number * 10 + (uint64_t)(*p - '0');
    bool any = p > *at;
    *at = p;
    *value = number;
    return any;
}

/* valgrind lackey: "I  addr,size", " L addr,size", " S ...", " M ...". */
static bool parse_lackey(replay_trace *trace, const char *at, const char *end,
                         bool *done) {
    char kind = at[0] == 'I' ? 'I' : at[1];
    at = skip_blanks(at + (kind == 'I' ? 1 : 2), end);
    uint64_t address;
    if (!read_hex(&at, end, &address) || at >= end || *at != ',')
        return false;
    trace->addresses = true;
    *done = add_reference(trace, address / PAGE_SIZE, 0,
                          kind == 'S' || kind == 'M');
    return true;
}

/* "R hexaddr [pid]" or "W hexaddr [pid]". */
static bool parse_address(replay_trace *trace, const char *at, const char *end,
                          bool *done) {
    bool write = *at == 'W' || *at == 'w';
    uint64_t address, pid = 0;
    at = skip_blanks(at + 1, end);
    if (!read_hex(&at, end, &address))
        return false;
    at = skip_blanks(at, end);
    if (at < end && (!read_decimal(&at, end, &pid) || pid >= MAX_PROCESS_ID))
        return false;
    if (skip_blanks(at, end) != end)
        return false;
    trace->addresses = true;
    *done = add_reference(trace, address / PAGE_SIZE, (uint32_t)pid, write);
    return true;
}

/* Page numbers separated by commas or blanks, each maybe with a "w". */
static bool parse_numbers(replay_trace *trace, const char *at, const char *end,
                          bool *done) {
    *done = true;
    while ((at = skip_blanks(at, end)) < end) {
        uint64_t page;
        if (!read_decimal(&at, end, &page))
            return false;
        bool write = at < end && (*at == 'w' || *at == 'W');
        at += write;
        if (!add_reference(trace, page, 0, write)) {
            *done = false;
            return true;
        }
        const char *after = at;
        at = skip_blanks(at, end);
        if (at < end && *at == ',')
            at++;
        else if (at < end && at == after)
            return false; /* neither a comma nor a blank after the number */
    }
    return true;
}

/* One line, comments and "==pid==" lines skipped; false: not a form. */
static bool parse_line(replay_trace *trace, const char *line, const char *end,
                       bool *done) {
    const char *comment = memchr(line, '#', (size_t)(end - line));
    if (comment)
        end = comment;
    *done = true;
    if (end - line >= 2 && line[0] == '=' && line[1] == '=')
        return true;
    if (end - line >= 3 && ((line[0] == 'I' && line[1] == ' ') ||
                            (line[0] == ' ' && line[1] && strchr("LSM", line[1]) &&
                             line[2] == ' ')))
        return parse_lackey(trace, line, end, done);
    const char *at = skip_blanks(line, end);
    if (at == end)
        return true;
    if (end - at > 1 && strchr("RrWw", *at) &&
        (at[1] == ' ' || at[1] == '\t'))
        return parse_address(trace, at, end, done);
    return parse_numbers(trace, at, end, done);
}

/*
 * Each reference's next one to the same page, for opt and the steps: a
 * property of the trace, found once, backwards. False: no memory.
 */
static bool link_next_uses(replay_trace *trace) {
    size_t *latest = malloc((trace->page_count + 1) * sizeof *latest);
    trace->next_of = malloc(trace->count * sizeof *trace->next_of);
    if (!latest || !trace->next_of) {
        free(latest);
        return false;
    }
    for (size_t page = 0; page < trace->page_count; page++)
        latest[page] = NO_USE;
    for (size_t i = trace->count; i-- > 0;) {
        uint32_t page = trace->references[i].page;
        trace->next_of[i] = latest[page];
        latest[page] = i;
    }
    free(latest);
    return true;
}

static void say(char *error, size_t size, const char *format, ...) {
    if (!error || size == 0)
        return;
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(error, size, format, arguments);
    va_end(arguments);
}

replay_trace *replay_parse(const char *text, char *error, size_t error_size) {
    replay_trace *trace = calloc(1, sizeof *trace);
    if (!trace || !text) {
        free(trace);
        errno = trace ? EINVAL : ENOMEM;
        say(error, error_size, "no trace");
        return NULL;
    }
    size_t line_number = 1;
    for (const char *line = text; *line; line_number++) {
        const char *end = strchr(line, '\n');
        if (!end)
            end = line + strlen(line);
        bool done;
        if (!parse_line(trace, line, end, &done) || !done) {
            int failure = done ? EINVAL : errno;
            say(error, error_size, "line %zu: %s", line_number,
                failure == EINVAL ? "not a reference, an R/W line or a "
                                    "lackey line"
                                  : strerror(failure));
            replay_trace_free(trace);
            errno = failure;
            return NULL;
        }
        line = *end ? end + 1 : end;
    }
    if (trace->count == 0) {
        say(error, error_size, "no reference in the trace");
        replay_trace_free(trace);
        errno = EINVAL;
        return NULL;
    }
    if (!link_next_uses(trace)) {
        replay_trace_free(trace);
        errno = ENOMEM;
        return NULL;
    }
    return trace;
}

void replay_trace_free(replay_trace *trace) {
    if (!trace)
        return;
    free(trace->references);
    free(trace->next_of);
    free(trace->pages);
    free(trace->index);
    free(trace);
}

size_t replay_trace_references(const replay_trace *trace) {
    return trace->count;
}

size_t replay_trace_pages(const replay_trace *trace) {
    return trace->page_count;
}

void replay_page_name(const replay_trace *trace, size_t page, char *text,
                      size_t size) {
    const trace_page *record = &trace->pages[page];
    int length = snprintf(text, size, trace->addresses ? "0x%llx" : "%llu",
                          (unsigned long long)record->name);
    if (record->pid != 0 && length >= 0 && (size_t)length < size)
        snprintf(text + length, size - (size_t)length, "@%u", record->pid);
}

/* ------------------------------------------------------------------ */
/* Runs                                                               */
/* ------------------------------------------------------------------ */

/* The store behind the trace's pages: zeros in, writes counted. */
typedef struct {
    pager base;
    size_t pages_written;
} replay_store;

static int store_page_in(pager *self, size_t page, void *const frames[],
                         size_t count) {
    (void)self;
    (void)page;
    for (size_t i = 0; i < count; i++)
        memset(frames[i], 0, PAGE_SIZE);
    return 0;
}

static int store_page_out(pager *self, size_t page, const void *const frames[],
                          size_t count) {
    (void)page;
    (void)frames;
    ((replay_store *)self)->pages_written += count;
    return 0;
}

/* What one run keeps beside the machine. */
typedef struct {
    const replay_trace *trace;
    mmu *machine;
    replay_store store;
    const size_t *next_of; /* per reference: the next one to its page */
    size_t *page_next;     /* per page: its next use from here on */
    addr32 *address_of;    /* per page: the address its references touch */
    uint32_t *frame_page;  /* per frame: the page in it + 1, 0: none */
    size_t total;          /* the pool's frames this run */
    replay_frame *before, *after; /* step views, `total` each */
} run_state;

/*
 * The address a reference to `page` touches. Each page's byte lies in a
 * cache line of its own (its index modulo the lines of a page): at one
 * offset, every page's byte would fall in one set of the host's cache,
 * and the replay would time the host's cache conflicts.
 */
static addr32 page_address(const run_state *run, size_t page) {
    const trace_page *record = &run->trace->pages[page];
    const vm_segmentation *heap =
        &run->machine->segmentations[record->pid]->segments[HEAP];
    return heap->start + (addr32)record->local * PAGE_SIZE +
           (addr32)(record->local % (PAGE_SIZE / CACHE_LINE)) * CACHE_LINE;
}

/* The page's entry: page_address without its offset in the page. */
static addr32 page_start(const run_state *run, size_t page) {
    return PAGE_ROUND_DOWN(page_address(run, page));
}

/* The entry of trace page `page` in its process. */
static page_table_entry *page_entry(const run_state *run, size_t page) {
    return page_table_walk(
        run->machine->page_directories[run->trace->pages[page].pid],
        page_start(run, page), false);
}

/* opt's question, from the pool: when is the page in `frame` used next? */
static size_t next_use(void *context, size_t frame) {
    run_state *run = context;
    uint32_t page = run->frame_page[frame];
    return page ? run->page_next[page - 1] : NO_USE;
}

/* The page tables of `pid`'s `pages` pages: made now and pinned. */
static bool pin_tables(mmu *machine, size_t pid, size_t pages) {
    page_directory *directory = machine->page_directories[pid];
    addr32 start = machine->segmentations[pid]->segments[HEAP].start;
    for (size_t page = 0; page < pages; page += NUM_ENTRIES) {
        addr32 address = start + (addr32)page * PAGE_SIZE;
        if (!page_table_walk(directory, address, true))
            return false;
        const page_directory_entry *entry =
            &directory->entries[PAGE_DIRECTORY_INDEX(address)];
        kernel_set_frame_owner((addr32)entry->base_addr << NUM_OFFSET_BITS,
                               NULL, 0);
    }
    return true;
}

/* The frames a trace needs beside its pages: directories and tables. */
static size_t frames_for_tables(const replay_trace *trace) {
    size_t frames = 0;
    for (size_t pid = 0; pid < MAX_PROCESS_ID; pid++)
        if (trace->pid_pages[pid])
            frames += 1 + (trace->pid_pages[pid] + NUM_ENTRIES - 1) / NUM_ENTRIES;
    return frames;
}

/* A machine with the trace's processes, their pages in HEAP; errno. */
static mmu *machine_for(run_state *run) {
    const replay_trace *trace = run->trace;
    mmu *machine = mmu_create();
    if (!machine)
        return NULL;
    for (size_t pid = 0; pid < MAX_PROCESS_ID; pid++) {
        size_t pages = trace->pid_pages[pid];
        if (!pages)
            continue;
        if (mmu_add_process(machine, pid) != 0)
            goto failed;
        vm_segmentation *heap = &machine->segmentations[pid]->segments[HEAP];
        if (grow_segment(heap, (uint32_t)pages) != 0)
            goto failed;
        heap->backing = &run->store.base;
        if (!pin_tables(machine, pid, pages))
            goto failed;
    }
    return machine;
failed:;
    int failure = errno;
    mmu_delete(machine);
    errno = failure;
    return NULL;
}

/* The pages in frames, by frame number, into `view`; how many. */
static size_t frames_view(const run_state *run, replay_frame *view) {
    size_t count = 0;
    for (size_t frame = 1; frame <= run->total; frame++) {
        uint32_t page = run->frame_page[frame];
        if (!page)
            continue;
        const page_table_entry *entry = page_entry(run, page - 1);
        if (!entry || !entry->present ||
            page_table_entry_frame(entry) >> NUM_OFFSET_BITS != frame)
            continue;
        replay_frame *shown = &view[count++];
        *shown = (replay_frame){.frame = frame,
                                .page = page - 1,
                                .referenced = entry->accessed,
                                .dirty = entry->dirty};
        kernel_policy_describe(frame, shown->note, sizeof shown->note);
    }
    return count;
}

/* Reports reference `i` to `step`, comparing the frames before and after. */
static void report_step(run_state *run, const replay_result *result, size_t i,
                        size_t shown_before, bool fault, replay_step_fn step,
                        void *context) {
    const reference *ref = &run->trace->references[i];
    replay_step view = {.index = i, .page = ref->page, .write = ref->write,
                        .fault = fault, .frames = run->after,
                        .victim_next_use = NO_USE};
    view.frame_count = frames_view(run, run->after);
    for (size_t b = 0; b < shown_before && !view.evicted; b++) {
        bool kept = false;
        for (size_t a = 0; a < view.frame_count && !kept; a++)
            kept = run->after[a].page == run->before[b].page;
        if (!kept) {
            view.evicted = true;
            view.victim = run->before[b];
            view.victim_next_use = run->page_next[run->before[b].page];
        }
    }
    step(context, result, &view);
}

/*
 * Replays reference `i`: one byte read or written; false with errno. With
 * `ahead` (opt, steps), notes which frame a fault gave the page.
 */
static bool replay_reference(run_state *run, size_t i, bool ahead,
                             bool *fault) {
    const reference *ref = &run->trace->references[i];
    size_t pid = run->trace->pages[ref->page].pid;
    addr32 address = run->address_of[ref->page];
    size_t faults = run->machine->num_page_faults;
    unsigned char byte = 0;
    size_t done =
        ref->write
            ? mmu_write_to_virtual_address(run->machine, address, pid, &byte, 1)
            : mmu_read_from_virtual_address(run->machine, address, pid, &byte, 1);
    if (done != 1)
        return false;
    *fault = run->machine->num_page_faults != faults;
    if (*fault && ahead) {
        const page_table_entry *entry = page_entry(run, ref->page);
        run->frame_page[page_table_entry_frame(entry) >> NUM_OFFSET_BITS] =
            ref->page + 1;
    }
    return true;
}

/*
 * The run's pool, machine and policy; false with errno. The policy starts
 * once the page tables are pinned, so that it never saw them: FIFO's first
 * page is its first load.
 */
static bool run_begin(run_state *run, kernel_policy policy, size_t frames) {
    kernel_future future = {next_use, run};
    kernel_set_future(policy == KERNEL_POLICY_OPT ? &future : NULL);
    run->total = frames + frames_for_tables(run->trace);
    if (kernel_set_frames(run->total) != 0)
        return false;
    memset(run->frame_page, 0, (run->total + 1) * sizeof *run->frame_page);
    for (size_t page = 0; page < run->trace->page_count; page++)
        run->page_next[page] = NO_USE;
    run->store = (replay_store){{store_page_in, store_page_out, true}, 0};
    run->machine = machine_for(run);
    if (!run->machine)
        return false;
    if (kernel_set_policy(policy) != 0) {
        int failure = errno;
        mmu_delete(run->machine);
        errno = failure;
        return false;
    }
    for (size_t page = 0; page < run->trace->page_count; page++)
        run->address_of[page] = page_address(run, page);
    assert(kernel_frames_free() == frames); /* the trace's pages' alone */
    return true;
}

/* One run of the trace; false with errno. */
static bool run_once(run_state *run, replay_result *result,
                     replay_step_fn step, void *context) {
    if (!run_begin(run, result->policy, result->frames))
        return false;
    const replay_trace *trace = run->trace;
    /* Only opt and the steps look ahead: the others skip the store. */
    bool ahead = result->policy == KERNEL_POLICY_OPT || step;
    bool ok = true;
    size_t i = 0;
    for (; i < trace->count && ok; i++) {
        size_t shown = step ? frames_view(run, run->before) : 0;
        bool fault = false;
        ok = replay_reference(run, i, ahead, &fault);
        if (!ahead)
            continue;
        run->page_next[trace->references[i].page] = run->next_of[i];
        result->faults = run->machine->num_page_faults;
        result->references = i + 1;
        if (ok && step)
            report_step(run, result, i, shown, fault, step, context);
    }
    /* The machine counts the faults: each takes a frame, none reads ahead. */
    result->faults = run->machine->num_page_faults;
    result->references = i;
    result->hits = result->references - result->faults;
    result->writebacks = run->store.pages_written;
    result->tlb_misses = run->machine->num_tlb_misses;
    int failure = errno;
    mmu_delete(run->machine);
    run->machine = NULL;
    errno = failure;
    return ok;
}

/*
 * The pool ready for runs of up to `frames` frames besides the tables: set
 * up now if it was not (KERNEL_DEFAULT_FRAMES at least, so that a later
 * replay finds room), with the clock in force. 0, or -1 with errno.
 */
static int pool_ready_for(size_t frames) {
    kernel_set_future(NULL);
    if (kernel_set_policy(KERNEL_POLICY_CLOCK) != 0)
        return -1;
    size_t wanted = frames > KERNEL_DEFAULT_FRAMES ? frames : KERNEL_DEFAULT_FRAMES;
    if (kernel_set_frames(wanted) != 0 &&
        (errno != EINVAL || kernel_set_frames(frames) != 0))
        return -1;
    return kernel_frames_capacity() == 0 ? -1 : 0;
}

/* The tables a run keeps beside the machine, sized by the pool; errno. */
static bool run_tables(run_state *run, size_t capacity) {
    const replay_trace *trace = run->trace;
    run->next_of = trace->next_of;
    run->page_next = malloc((trace->page_count + 1) * sizeof *run->page_next);
    run->address_of = malloc((trace->page_count + 1) * sizeof *run->address_of);
    run->frame_page = calloc(capacity + 1, sizeof *run->frame_page);
    run->before = calloc(capacity + 1, sizeof *run->before);
    run->after = calloc(capacity + 1, sizeof *run->after);
    if (!run->page_next || !run->address_of || !run->frame_page ||
        !run->before || !run->after) {
        errno = ENOMEM;
        return false;
    }
    return true;
}

static void run_tables_free(run_state *run) {
    free(run->page_next);
    free(run->address_of);
    free(run->frame_page);
    free(run->before);
    free(run->after);
}

/* Each policy's runs, sizes rising: those with more faults than fewer had. */
static void mark_belady(replay_result *results, size_t policy_count,
                        size_t sizes) {
    for (size_t p = 0; p < policy_count; p++) {
        size_t fewest = SIZE_MAX;
        for (size_t s = 0; s < sizes; s++) {
            replay_result *result = &results[p * sizes + s];
            result->belady = result->faults > fewest;
            if (result->faults < fewest)
                fewest = result->faults;
        }
    }
}

int replay_runs(const replay_trace *trace, const kernel_policy *policies,
                size_t policy_count, size_t frames_from, size_t frames_to,
                replay_result *results, replay_step_fn step, void *context) {
    if (!trace || !policies || !results || policy_count == 0 ||
        frames_from < 1 || frames_from > frames_to ||
        frames_to > KERNEL_MAX_FRAMES - frames_for_tables(trace)) {
        errno = EINVAL;
        return -1;
    }
    if (pool_ready_for(frames_to + frames_for_tables(trace)) != 0)
        return -1;
    run_state run = {.trace = trace};
    bool ok = run_tables(&run, kernel_frames_capacity());
    size_t sizes = frames_to - frames_from + 1;
    for (size_t p = 0; p < policy_count && ok; p++) {
        for (size_t s = 0; s < sizes && ok; s++) {
            replay_result *result = &results[p * sizes + s];
            *result = (replay_result){.policy = policies[p],
                                      .frames = frames_from + s};
            ok = run_once(&run, result, step, context);
        }
    }
    int failure = errno;
    run_tables_free(&run);
    kernel_set_future(NULL);
    kernel_set_policy(KERNEL_POLICY_CLOCK);
    if (!ok) {
        errno = failure;
        return -1;
    }
    mark_belady(results, policy_count, sizes);
    return 0;
}

size_t replay_policies(const char *names, kernel_policy *policies) {
    if (names && strcmp(names, "all") == 0) {
        for (int which = 0; which < KERNEL_POLICY_COUNT; which++)
            policies[which] = (kernel_policy)which;
        return KERNEL_POLICY_COUNT;
    }
    size_t count = 0;
    for (const char *at = names; at && *at;) {
        size_t length = strcspn(at, ",");
        char name[16];
        int which = -1;
        if (length < sizeof name) {
            memcpy(name, at, length);
            name[length] = '\0';
            which = kernel_policy_from_name(name);
        }
        for (size_t i = 0; i < count && which >= 0; i++)
            if (policies[i] == (kernel_policy)which)
                which = -1;
        if (which < 0) {
            errno = EINVAL;
            return 0;
        }
        policies[count++] = (kernel_policy)which;
        at += length + (at[length] == ',');
    }
    if (count == 0)
        errno = EINVAL;
    return count;
}

/* ------------------------------------------------------------------ */
/* JSON                                                               */
/* ------------------------------------------------------------------ */

/* Text that grows as it is written; `failed` once memory ran out. */
typedef struct {
    char *text;
    size_t length, room;
    bool failed;
} json_text;

static void emit(json_text *out, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static void emit(json_text *out, const char *format, ...) {
    for (int attempt = 0; attempt < 2 && !out->failed; attempt++) {
        va_list arguments;
        va_start(arguments, format);
        int wanted = vsnprintf(out->text ? out->text + out->length : NULL,
                               out->room - out->length, format, arguments);
        va_end(arguments);
        if (wanted < 0) {
            out->failed = true;
        } else if ((size_t)wanted < out->room - out->length) {
            out->length += (size_t)wanted;
            return;
        } else {
            size_t room = 2 * (out->room + (size_t)wanted) + 64;
            char *grown = realloc(out->text, room);
            if (!grown)
                out->failed = true;
            else
                out->text = grown, out->room = room;
        }
    }
}

static void emit_frame(json_text *out, const replay_trace *trace,
                       const replay_frame *frame) {
    char name[48];
    replay_page_name(trace, frame->page, name, sizeof name);
    emit(out,
         "{\"frame\":%zu,\"page\":\"%s\",\"referenced\":%s,\"dirty\":%s,"
         "\"note\":\"%s\"}",
         frame->frame, name, frame->referenced ? "true" : "false",
         frame->dirty ? "true" : "false", frame->note);
}

/* What the steps of the runs collect: the JSON of each run's. */
typedef struct {
    json_text *per_run; /* indexed as the results are */
    const replay_result *results;
    const replay_trace *trace;
} json_steps;

static void collect_step(void *context, const replay_result *run,
                         const replay_step *step) {
    json_steps *all = context;
    json_text *out = &all->per_run[run - all->results];
    char name[48];
    replay_page_name(all->trace, step->page, name, sizeof name);
    emit(out, "%s{\"index\":%zu,\"page\":\"%s\",\"write\":%s,\"fault\":%s,"
              "\"frames\":[",
         step->index == 0 ? "" : ",", step->index, name,
         step->write ? "true" : "false", step->fault ? "true" : "false");
    for (size_t i = 0; i < step->frame_count; i++) {
        emit(out, "%s", i ? "," : "");
        emit_frame(out, all->trace, &step->frames[i]);
    }
    emit(out, "],\"evicted\":");
    if (step->evicted) {
        emit_frame(out, all->trace, &step->victim);
        if (step->victim_next_use != NO_USE)
            emit(out, ",\"victim_next_use\":%zu", step->victim_next_use);
    } else {
        emit(out, "null");
    }
    emit(out, "}");
}

static void emit_result(json_text *out, const replay_result *result,
                        const char *steps) {
    double rate = result->references
                      ? (double)result->hits / (double)result->references
                      : 0.0;
    emit(out,
         "{\"policy\":\"%s\",\"frames\":%zu,\"references\":%zu,"
         "\"faults\":%zu,\"hits\":%zu,\"hit_rate\":%.4f,\"writebacks\":%zu,"
         "\"tlb_misses\":%zu,\"belady\":%s",
         kernel_policy_name(result->policy), result->frames,
         result->references, result->faults, result->hits, rate,
         result->writebacks, result->tlb_misses,
         result->belady ? "true" : "false");
    if (steps)
        emit(out, ",\"steps\":[%s]", steps);
    emit(out, "}");
}

/* The JSON of every run, one object a line; NULL with errno ENOMEM. */
static char *runs_json(const replay_result *results, size_t count,
                       const json_text *steps) {
    json_text out = {0};
    emit(&out, "[");
    for (size_t i = 0; i < count; i++) {
        emit(&out, "%s\n", i ? "," : "");
        emit_result(&out, &results[i],
                    steps ? (steps[i].text ? steps[i].text : "") : NULL);
    }
    emit(&out, "\n]\n");
    if (out.failed) {
        free(out.text);
        errno = ENOMEM;
        return NULL;
    }
    return out.text;
}

/* {"error": "..."}, for a trace the page should say is wrong. */
static char *error_json(const char *error) {
    json_text out = {0};
    emit(&out, "{\"error\":\"%s\"}\n", error);
    if (out.failed) {
        free(out.text);
        errno = ENOMEM;
        return NULL;
    }
    return out.text;
}

char *replay_json(const char *trace_text, const char *policy_names,
                  size_t frames_from, size_t frames_to, bool steps) {
    char error[128];
    replay_trace *trace = replay_parse(trace_text, error, sizeof error);
    if (!trace)
        return errno == EINVAL ? error_json(error) : NULL;
    kernel_policy policies[KERNEL_POLICY_COUNT];
    size_t policy_count = replay_policies(policy_names, policies);
    size_t sizes = frames_to >= frames_from ? frames_to - frames_from + 1 : 0;
    size_t count = policy_count * sizes;
    replay_result *results = calloc(count + 1, sizeof *results);
    json_steps all = {calloc(count + 1, sizeof *all.per_run), results, trace};
    char *json = NULL;
    if (!results || !all.per_run)
        errno = ENOMEM;
    else if (policy_count > 0 &&
             replay_runs(trace, policies, policy_count, frames_from, frames_to,
                         results, steps ? collect_step : NULL, &all) == 0)
        json = runs_json(results, count, steps ? all.per_run : NULL);
    int failure = errno;
    for (size_t i = 0; all.per_run && i < count; i++) {
        failure = all.per_run[i].failed ? ENOMEM : failure;
        free(all.per_run[i].text);
    }
    free(all.per_run);
    free(results);
    replay_trace_free(trace);
    errno = failure;
    return json;
}
