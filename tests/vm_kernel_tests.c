/*
 * tests/vm_kernel_tests.c: vm.h against the host kernel. One random
 * sequence of operations runs twice: through vm.h, on mappings spread over
 * several processes of one simulated MMU, and through the host's own mmap,
 * munmap, mprotect and msync (tests/host_mappings.c), on a twin of every
 * mapping in this process. Every read must return the same bytes, every
 * access one side refuses the other must refuse, every call must return
 * the same value and errno, and when all is unmapped the files must hold
 * the same bytes.
 *
 * Each side maps its own copies of two files, A and B (B ends inside a
 * page, and one mapping of it runs pages past its end). Mappings of one
 * file share a page cache on each side (the host's for its copies, ours
 * for ours), so a write through a shared mapping reaches the other shared
 * mappings and the private ones that have not written that page; there
 * are anonymous mappings, private and shared, as well. Each process lays
 * its mappings out in order from the MMAP region's start (placed by the
 * address hint), some back to back, some a page or two apart; its twins
 * lie the same way from a host address, so that one range means the same
 * on both sides, across mappings and the gaps between them.
 *
 * The generator, from a fixed seed (splitmix64), picks one operation at a
 * time, by weight out of 100, and its range: mostly inside one mapping
 * (pages it no longer maps included), else in one process's layout, from
 * a mapping's end on into what follows it, or anywhere:
 *   34 read: 1-16, up to 600 or up to 8192 bytes, anywhere, just before a
 *      page's end, at the file's end or at a page's start: it may cross
 *      pages and mappings, read the zeros past the file's end in its last
 *      page, or reach a page wholly past the end;
 *   28 write: the same, of random bytes, kept off the bytes past a file's
 *      end in its last page of a shared mapping (they are not the file's,
 *      and the host zeroes them whenever it writes the page back);
 *   10 msync: 1-3 pages (up to 4 in a layout), VM_MS_SYNC, VM_MS_ASYNC or
 *      neither, a third of the time with VM_MS_INVALIDATE, the length
 *      sometimes not a whole number of pages;
 *   12 mprotect: the same ranges, to NONE, READ or READ|WRITE (never WRITE
 *      or EXEC alone, which x86 Linux lets read and this MMU does not);
 *    4 munmap: 1-2 pages (up to 3 in a layout);
 *    6 remap: VM_MAP_FIXED over 1-3 pages of a layout, gaps included: half
 *      the time what the scenario first mapped there (the same file
 *      pages, or fresh anonymous memory), else any of A, B or anonymous
 *      memory, shared or private, from a random page of the file (up to
 *      one past its end), with a random protection;
 *    6 a call the arguments make fail (an address not page-aligned, a
 *      length of 0, both sync flags, unknown bits).
 * Every 25 operations, and at the end, every page of every layout is read
 * on both sides, and half the time so are the pages that munmap or a
 * remap is about to take away. After an msync that succeeds, our file
 * must hold, for the shared file pages of the range, what the host's pages
 * hold (the host's file read through its page cache).
 *
 * Each test runs six seeds: 1-6 with three processes and 400 operations,
 * and 101-106 in a pool of 16 frames, two processes and 300 operations,
 * with anonymous memory and private copies unlimited (they go to swap),
 * so that file pages are evicted and read again, and anonymous pages
 * swapped out and read back. Every
 * other seed runs with a trace hook set, which sends every access the
 * MMU's general way. The test then fails if its seeds never reached some
 * kind of outcome (a refused write, an msync of a hole, an eviction...),
 * so that a change to the generator cannot quietly take its reach away.
 *
 * What may differ, as vm.h says: an access that breaks a protection
 * anywhere is refused whole here (nothing copied) where the host copies up
 * to the page that faults, so a refused access is compared as refused, and
 * a refused write is repaired by writing on our side what the host wrote;
 * an access that reaches a page wholly past the file's end stops there on
 * both sides, with the same bytes copied (EFAULT here, SIGBUS there); a
 * failed mprotect changes nothing here, where the host may have changed
 * the pages before the hole, so the test sets those back. The test keeps a
 * model of each page (what maps it, its protection, whether our frame is
 * pinned) only to generate and to know which of these cases applies, and
 * checks the host against it too, so a wrong model fails rather than
 * hides a difference.
 *
 * A failure names the scenario, the seed, the operation's index and what
 * it was. VM_KERNEL_TRACE=1 in the environment prints every operation and
 * both sides' results to stderr, and what the generator reached.
 */
#include "helpers.h"
#include "host_mappings.h"
#include "vm.h"

#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define NUM_FILES 2
#define NO_FILE (-1)
#define MAX_PROCESSES 3
#define MAX_MAPPINGS 12
#define MAX_LAYOUT_PAGES 24
#define MAX_ACCESS (2 * PAGE_SIZE)
#define SWEEP_EVERY 25

/* A page's protection in the model when nothing maps it. */
#define UNMAPPED (-1)

/* Our processes: distinct pids of one MMU, a high one among them. */
static const size_t process_pids[MAX_PROCESSES] = {5, 17, 1000};

/* ------------------------------------------------------------------ */
/* Scenarios: files, processes, mappings                               */
/* ------------------------------------------------------------------ */

/* One mapping, as both sides make it at the start. */
typedef struct {
    int file;          /* 0 (A) or 1 (B), or NO_FILE: anonymous */
    size_t process;    /* index into process_pids */
    int flags;         /* VM_MAP_SHARED or VM_MAP_PRIVATE */
    int prot;          /* at first */
    size_t first_page; /* of the file */
    size_t pages;
    size_t short_by; /* the length asked for is this much under whole pages */
    size_t gap;      /* pages left unmapped before it in its process */
} mapping_plan;

typedef struct {
    const char *name;
    size_t file_sizes[NUM_FILES];
    size_t num_processes;
    const mapping_plan *plans;
    size_t num_plans;
    size_t operations;
    size_t pinned_budget; /* our pinned pages at most (anonymous, copies) */
} scenario;

#define SHARED VM_MAP_SHARED
#define PRIVATE VM_MAP_PRIVATE

/* A: 4 pages; B: 2 pages and 1234 bytes. Three processes. */
static const mapping_plan default_plans[] = {
    /* file, process, flags, prot, first page, pages, short by, gap */
    {0, 0, SHARED, RW, 0, 4, 0, 0},
    {0, 1, SHARED, RW, 1, 3, 100, 0},
    {0, 2, PRIVATE, RW, 0, 4, 0, 0},
    /* right after mapping 1; its page 3 wholly past B's end */
    {1, 1, PRIVATE, RW, 0, 4, 4095, 0},
    /* right after mapping 2 */
    {NO_FILE, 2, SHARED, RW, 0, 2, 1, 0},
    /* right after mapping 0 */
    {NO_FILE, 0, PRIVATE, RW, 0, 3, 0, 0},
    /* its pages 3 and 4 wholly past B's end */
    {1, 0, SHARED, RW, 0, 5, 0, 1},
    {0, 1, PRIVATE, VM_PROT_READ, 2, 2, 0, 1},
    {1, 2, SHARED, VM_PROT_READ, 1, 2, 0, 1},
    {0, 0, SHARED, VM_PROT_READ, 3, 1, 0, 2},
    /* right after mapping 8: wholly past B's end */
    {1, 2, PRIVATE, RW, 3, 1, 0, 0},
};

static const scenario default_scenario = {
    .name = "3 processes",
    .file_sizes = {4 * PAGE_SIZE, 2 * PAGE_SIZE + 1234},
    .num_processes = 3,
    .plans = default_plans,
    .num_plans = sizeof default_plans / sizeof default_plans[0],
    .operations = 400,
    .pinned_budget = SIZE_MAX,
};

/*
 * A: 6 pages; B: 3 pages and 1234 bytes. Two processes, with two frames
 * each for the directory and the table: 12 frames left for 10 pages of
 * files and up to 9 of anonymous memory and private copies, which go to
 * swap, so that all of them are evicted and read again.
 */
static const mapping_plan small_plans[] = {
    /* file, process, flags, prot, first page, pages, short by, gap */
    {0, 0, SHARED, RW, 0, 3, 0, 0},
    {0, 1, PRIVATE, RW, 1, 3, 0, 0},
    /* its page 2 wholly past B's end */
    {1, 1, SHARED, RW, 2, 3, 0, 1},
    {1, 0, PRIVATE, RW, 0, 3, 17, 0},
    {0, 1, SHARED, VM_PROT_READ, 4, 2, 0, 0},
    {NO_FILE, 0, PRIVATE, RW, 0, 1, 0, 1},
    {NO_FILE, 1, SHARED, RW, 0, 2, 0, 1},
    /* B's last page, the file ending inside it */
    {1, 0, SHARED, RW, 3, 1, 0, 0},
    {0, 0, SHARED, RW, 3, 3, 0, 2},
};

static const scenario small_scenario = {
    .name = "16 frames",
    .file_sizes = {6 * PAGE_SIZE, 3 * PAGE_SIZE + 1234},
    .num_processes = 2,
    .plans = small_plans,
    .num_plans = sizeof small_plans / sizeof small_plans[0],
    .operations = 300,
    .pinned_budget = SIZE_MAX, /* anonymous pages go to swap */
};

/* ------------------------------------------------------------------ */
/* A run: both sides and the model                                     */
/* ------------------------------------------------------------------ */

/* A mapping of the scenario, where its process's layout put it. */
typedef struct {
    mapping_plan plan;
    size_t index; /* in the scenario */
    size_t start; /* its first page in its process's layout */
} mapping;

/* What the test knows of one page of a layout. */
typedef struct {
    int prot;             /* UNMAPPED when nothing maps it */
    int file;             /* 0 (A), 1 (B), or NO_FILE: anonymous */
    int flags;            /* VM_MAP_SHARED or VM_MAP_PRIVATE */
    size_t file_page;     /* which page of the file it maps */
    bool pinned;          /* our frame cannot be evicted */
    const mapping *first; /* the scenario's mapping there, NULL in a gap */
    unsigned made;        /* which call mapped it: a new one, a new number */
} page_state;

/*
 * One process's pages: the scenario's mappings in order, gaps between
 * some. Page `p` of the layout is at ours + p * PAGE_SIZE in our process
 * and at host + p * PAGE_SIZE on the host.
 */
typedef struct {
    size_t pid;
    addr32 ours;
    unsigned char *host;
    size_t pages;
    page_state page[MAX_LAYOUT_PAGES];
} layout;

/* What the generator has made happen, over all the runs of a test. */
enum outcome {
    READ_WHOLE,
    READ_ZEROS_PAST_END,
    READ_ACROSS_MAPPINGS,
    READ_REFUSED,
    READ_STOPPED_AT_END,
    WRITE_WHOLE,
    WRITE_ACROSS_MAPPINGS,
    WRITE_REFUSED,
    WRITE_STOPPED_AT_END,
    WRITE_PRIVATE_COPY,
    MSYNC_DONE,
    MSYNC_INVALIDATE,
    MSYNC_OF_A_HOLE,
    MPROTECT_DONE,
    MPROTECT_ACROSS_MAPPINGS,
    MPROTECT_OF_A_HOLE,
    MUNMAP_DONE,
    REMAP_DONE,
    REMAP_OF_ANOTHER_KIND,
    CALL_REFUSED,
    POOL_FULL,
    EVICTION,
    NUM_OUTCOMES
};

static const char *const outcome_names[NUM_OUTCOMES] = {
    "a whole read",
    "a read of the bytes past a file's end in its last page",
    "a whole read across two mappings",
    "a refused read",
    "a read stopped at the end of a file",
    "a whole write",
    "a whole write across two mappings",
    "a refused write",
    "a write stopped at the end of a file",
    "a write to a private file page",
    "an msync",
    "an msync with VM_MS_INVALIDATE",
    "an msync of a range with a hole",
    "an mprotect",
    "an mprotect across two mappings",
    "an mprotect of a range with a hole",
    "a partial munmap",
    "a VM_MAP_FIXED remap",
    "a VM_MAP_FIXED remap by another file or kind",
    "a call refused for its arguments",
    "a pool with no free frame",
    "an eviction (seen by a trace hook)",
};

typedef struct {
    size_t count[NUM_OUTCOMES];
} coverage;

typedef struct {
    const scenario *scenario;
    unsigned seed;
    uint64_t random;
    size_t op;       /* the operation under way */
    char doing[256]; /* what it is, for messages */
    bool trace;      /* VM_KERNEL_TRACE */
    coverage *coverage;
    mmu *mmu;
    int our_fds[NUM_FILES], host_fds[NUM_FILES]; /* read-only, for checks */
    char our_paths[NUM_FILES][PATH_MAX], host_paths[NUM_FILES][PATH_MAX];
    mapping maps[MAX_MAPPINGS];
    size_t num_maps;
    layout layouts[MAX_PROCESSES];
    size_t pinned;  /* pages of the model marked pinned */
    unsigned calls; /* mappings made so far: page_state.made */
} run;

static void disagree(const run *r, const char *file, int line,
                     const char *format, ...)
    __attribute__((noreturn, format(printf, 4, 5)));

/* Fails the test, naming the scenario, the seed and the operation. */
static void disagree(const run *r, const char *file, int line,
                     const char *format, ...) {
    char what[MESSAGE_SIZE];
    va_list args;

    va_start(args, format);
    vsnprintf(what, sizeof what, format, args);
    va_end(args);
    fail(file, line, "%s, seed %u, operation %zu (%s): %s", r->scenario->name,
         r->seed, r->op, r->doing, what);
}

#define expect_agree(r, condition, ...)                                        \
    do {                                                                       \
        if (!(condition))                                                      \
            disagree((r), __FILE__, __LINE__, __VA_ARGS__);                    \
    } while (0)

/* splitmix64: the same seed gives the same operations everywhere. */
static uint64_t next_random(run *r) {
    return splitmix64(&r->random);
}

/* A number from 0 to n - 1. */
static size_t pick(run *r, size_t n) {
    return (size_t)(next_random(r) % n);
}

static void set_doing(run *r, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static void set_doing(run *r, const char *format, ...) {
    va_list args;

    va_start(args, format);
    vsnprintf(r->doing, sizeof r->doing, format, args);
    va_end(args);
    if (r->trace)
        fprintf(stderr, "[%s seed %u] %zu: %s\n", r->scenario->name, r->seed,
                r->op, r->doing);
}

static void note(run *r, enum outcome outcome) {
    r->coverage->count[outcome]++;
}

static layout *layout_of(run *r, const mapping *m) {
    return &r->layouts[m->plan.process];
}

/* "A shared", "anonymous private" */
static const char *kind_name(int file, int flags) {
    return describe("%s %s",
                    file == NO_FILE ? "anonymous"
                    : file          ? "B"
                                    : "A",
                    flags == VM_MAP_SHARED ? "shared" : "private");
}

/* "pid 5, offset 0x2010 (A shared, file page 3, prot 3)" */
static const char *where(const layout *l, size_t offset) {
    const page_state *p = &l->page[offset / PAGE_SIZE];

    if (p->prot == UNMAPPED)
        return describe("pid %zu, offset 0x%zx (nothing mapped)", l->pid,
                        offset);
    return describe(
        "pid %zu, offset 0x%zx (%s%s, prot %d)", l->pid, offset,
        kind_name(p->file, p->flags),
        p->file == NO_FILE ? "" : describe(", file page %zu", p->file_page),
        p->prot);
}

static int prot_at(const layout *l, size_t page) {
    return l->page[page].prot;
}

/*
 * Where the file ends, in bytes from the start of layout page `page`:
 * SIZE_MAX where no file is mapped, 0 when the page lies wholly past the
 * end.
 */
static size_t file_end_from(const run *r, const layout *l, size_t page) {
    const page_state *p = &l->page[page];
    size_t size, skip = p->file_page * PAGE_SIZE;

    if (p->prot == UNMAPPED || p->file == NO_FILE)
        return SIZE_MAX;
    size = r->scenario->file_sizes[p->file];
    return size > skip ? size - skip : 0;
}

static bool private_file_page(const layout *l, size_t page) {
    const page_state *p = &l->page[page];

    return p->prot != UNMAPPED && p->file != NO_FILE &&
           p->flags == VM_MAP_PRIVATE;
}

static bool shared_file_page(const layout *l, size_t page) {
    const page_state *p = &l->page[page];

    return p->prot != UNMAPPED && p->file != NO_FILE &&
           p->flags == VM_MAP_SHARED;
}

/* Whether pages first..first+count-1 were mapped by more than one call. */
static bool across_mappings(const layout *l, size_t first, size_t count) {
    size_t page;

    for (page = first + 1; page < first + count; page++)
        if (l->page[page].made != l->page[first].made)
            return true;
    return false;
}

/* Fails unless the host maps nothing where the model maps nothing. */
static void expect_host_holes(const run *r, const layout *l, size_t first,
                              size_t count) {
    size_t page;

    for (page = first; page < first + count && page < l->pages; page++)
        if (prot_at(l, page) == UNMAPPED &&
            host_page_is_mapped(l->host + page * PAGE_SIZE))
            disagree(r, __FILE__, __LINE__,
                     "setup: the host has mapped something else at %s, where "
                     "the test maps nothing; the comparison cannot go on",
                     where(l, page * PAGE_SIZE));
}

/*
 * Pages first..first+count-1 of `l` are now what one call mapped: `file`
 * from `file_page` on (NO_FILE: anonymous), or nothing with UNMAPPED.
 */
static void replace_pages(run *r, layout *l, size_t first, size_t count,
                          int prot, int file, int flags, size_t file_page) {
    size_t page;

    r->calls++;
    for (page = first; page < first + count; page++) {
        page_state *p = &l->page[page];

        if (p->pinned)
            r->pinned--;
        p->pinned = false;
        p->prot = prot;
        p->file = file;
        p->flags = flags;
        p->file_page = file_page + (page - first);
        p->made = r->calls;
    }
}

/* ------------------------------------------------------------------ */
/* Accesses                                                            */
/* ------------------------------------------------------------------ */

/* What the model expects of an access. */
typedef struct {
    size_t stop;        /* bytes before the first page that refuses it */
    bool at_the_end;    /* that page lies past the file's end (SIGBUS) */
    bool by_protection; /* some page of it is unmapped or protected */
} outlook;

static outlook foresee(const run *r, const layout *l, size_t offset, size_t n,
                       bool write) {
    int need = write ? RW : VM_PROT_READ;
    outlook o = {n, false, false};
    size_t page;

    for (page = offset / PAGE_SIZE; page * PAGE_SIZE < offset + n; page++) {
        int prot = prot_at(l, page);
        bool refused = prot == UNMAPPED || (prot & need) != need;
        bool past = !refused && file_end_from(r, l, page) == 0;

        if ((refused || past) && o.stop == n) {
            o.stop = page * PAGE_SIZE > offset ? page * PAGE_SIZE - offset : 0;
            o.at_the_end = past;
        }
        o.by_protection = o.by_protection || refused;
    }
    return o;
}

/* Whether touching the page (writing it, with `write`) would pin it. */
static bool would_pin(const layout *l, size_t page, bool write) {
    const page_state *p = &l->page[page];

    return p->prot != UNMAPPED && !p->pinned &&
           (p->file == NO_FILE || (write && p->flags == VM_MAP_PRIVATE));
}

/*
 * Pages the access would pin that are not pinned yet: anonymous pages
 * touched, private file pages written.
 */
static size_t new_pins(const layout *l, size_t offset, size_t n, bool write) {
    size_t page, count = 0;

    for (page = offset / PAGE_SIZE; page * PAGE_SIZE < offset + n; page++)
        count += would_pin(l, page, write);
    return count;
}

static void pin(run *r, layout *l, size_t offset, size_t n, bool write) {
    size_t page;

    for (page = offset / PAGE_SIZE; n > 0 && page * PAGE_SIZE < offset + n;
         page++) {
        if (!would_pin(l, page, write))
            continue;
        l->page[page].pinned = true;
        r->pinned++;
    }
}

/* Whether the access would pin more pages than the budget allows. */
static bool over_budget(const run *r, const layout *l, size_t offset, size_t n,
                        bool write) {
    return r->pinned + new_pins(l, offset, n, write) >
           r->scenario->pinned_budget;
}

/*
 * Picks where an access goes, in `*l`: two times in three inside one
 * mapping of the scenario, else in its process's layout, mostly from just
 * before that mapping's end, on into whatever follows it.
 */
static void pick_access(run *r, layout **l, size_t *offset, size_t *n) {
    mapping *m = &r->maps[pick(r, r->num_maps)];
    size_t first = m->start, pages = m->plan.pages, start, end;
    size_t way = pick(r, 4);

    *l = layout_of(r, m);
    end = file_end_from(r, *l, m->start);
    if (pick(r, 3) == 0) {
        first = 0;
        pages = (*l)->pages;
        way = pick(r, 3) ? 4 : 0;
    }
    switch (way) {
    case 0: start = pick(r, pages * PAGE_SIZE); break;
    case 1:
        start = pick(r, pages) * PAGE_SIZE + PAGE_SIZE - 1 - pick(r, 64);
        break;
    case 2:
        start = (m->start - first) * PAGE_SIZE +
                (end < m->plan.pages * PAGE_SIZE ? end : 0) + pick(r, 200);
        start = start >= 100 ? start - 100 : 0;
        break;
    case 3: start = pick(r, pages) * PAGE_SIZE; break;
    default:
        start = (m->start + m->plan.pages) * PAGE_SIZE - 1 - pick(r, 64);
        break;
    }
    switch (pick(r, 3)) {
    case 0: *n = 1 + pick(r, 16); break;
    case 1: *n = 1 + pick(r, 600); break;
    default: *n = 1 + pick(r, MAX_ACCESS); break;
    }
    start = start < pages * PAGE_SIZE ? start : pages * PAGE_SIZE - 1;
    *offset = first * PAGE_SIZE + start;
    if (*n > (first + pages) * PAGE_SIZE - *offset)
        *n = (first + pages) * PAGE_SIZE - *offset;
}

/*
 * Where the bytes past a shared file mapping's end begin in layout page
 * `page`, as an offset in the layout; SIZE_MAX if the page has none.
 */
static size_t tail_of(const run *r, const layout *l, size_t page) {
    size_t end = file_end_from(r, l, page);

    if (!shared_file_page(l, page) || end == 0 || end >= PAGE_SIZE)
        return SIZE_MAX;
    return page * PAGE_SIZE + end;
}

/*
 * A write keeps off the bytes past a file's end in the last page of a
 * shared mapping: it ends before them, or starts after them. Returns false
 * when nothing is left to write.
 */
static bool keep_off_the_tails(const run *r, const layout *l, size_t *offset,
                               size_t *n) {
    size_t page;

    for (page = *offset / PAGE_SIZE; page * PAGE_SIZE < *offset + *n; page++) {
        size_t tail = tail_of(r, l, page), tail_end = (page + 1) * PAGE_SIZE;

        if (tail == SIZE_MAX || *offset + *n <= tail)
            continue;
        if (*offset < tail) {
            *n = tail - *offset;
            return true;
        }
        if (*offset + *n <= tail_end)
            return false;
        *n -= tail_end - *offset;
        *offset = tail_end;
    }
    return true;
}
/*
 * Checks one access's results on both sides against each other and the
 * host's against the model; a write refused here but partly done by the
 * host is finished here. Returns the bytes both sides now agree were
 * copied.
 */
static size_t settle_access(run *r, layout *l, size_t offset, size_t n,
                            bool write, size_t ours, int our_errno, size_t host,
                            int host_signal, const unsigned char *bytes) {
    outlook o = foresee(r, l, offset, n, write);
    int want_signal = o.stop == n ? 0 : o.at_the_end ? SIGBUS : SIGSEGV;
    const char *kind = write ? "write" : "read";

    if (r->trace)
        fprintf(stderr,
                "    ours: %zu bytes (errno %s); host: %zu bytes "
                "(signal %d)\n",
                ours, errno_name(our_errno), host, host_signal);
    expect_agree(r, host == o.stop && host_signal == want_signal,
                 "the host's %s copied %zu bytes with signal %d, where the "
                 "test's model of the pages says %zu bytes with signal %d: "
                 "a bug in the test",
                 kind, host, host_signal, o.stop, want_signal);
    if (host == n) {
        expect_agree(r, ours == n,
                     "the host's %s copied all %zu bytes, ours %zu (errno %s)",
                     kind, n, ours, errno_name(our_errno));
        return n;
    }
    expect_agree(r, ours < n,
                 "the host refused this %s after %zu bytes (signal %d), ours "
                 "copied all %zu",
                 kind, host, host_signal, n);
    if (!o.by_protection) {
        expect_agree(r, ours == host && our_errno == ENXIO &&
                            host_signal == SIGBUS,
                     "the %s reaches a page wholly past the file's end: the "
                     "host copied %zu bytes before it (signal %d, SIGBUS "
                     "expected), so ours must stop there with ENXIO, but it "
                     "copied %zu (errno %s)",
                     kind, host, host_signal, ours, errno_name(our_errno));
        note(r, write ? WRITE_STOPPED_AT_END : READ_STOPPED_AT_END);
        return ours;
    }
    expect_agree(r,
                 ours <= host && (our_errno == EACCES || our_errno == EFAULT),
                 "the %s breaks a page's protection: the host copied %zu "
                 "bytes before its signal %d; ours must refuse with EACCES "
                 "or EFAULT, having copied no more, but it copied %zu "
                 "(errno %s)",
                 kind, host, host_signal, ours, errno_name(our_errno));
    if (write && ours < host) {
        size_t done = mmu_write_to_virtual_address(
            r->mmu, l->ours + (addr32)(offset + ours), l->pid, bytes + ours,
            host - ours);

        expect_agree(r, done == host - ours,
                     "writing here the %zu bytes the host wrote before its "
                     "fault, from offset %zu: ours wrote %zu (errno %s)",
                     host - ours, offset + ours, done, errno_name(errno));
    }
    note(r, write ? WRITE_REFUSED : READ_REFUSED);
    return write ? host : ours;
}

/* Notes what a whole access reached. */
static void note_whole(run *r, const layout *l, size_t offset, size_t n,
                       bool write) {
    size_t first = offset / PAGE_SIZE, last = (offset + n - 1) / PAGE_SIZE;
    size_t end = file_end_from(r, l, last);

    note(r, write ? WRITE_WHOLE : READ_WHOLE);
    if (across_mappings(l, first, last - first + 1))
        note(r, write ? WRITE_ACROSS_MAPPINGS : READ_ACROSS_MAPPINGS);
    if (!write && end != SIZE_MAX && offset + n > last * PAGE_SIZE + end)
        note(r, READ_ZEROS_PAST_END);
}

/* Reads [offset, offset + n) of layout `l` on both sides and compares. */
static void read_both(run *r, layout *l, size_t offset, size_t n) {
    static unsigned char ours[MAX_ACCESS], host[MAX_ACCESS];
    size_t got, host_got, same, i;
    int our_errno, host_signal;

    memset(ours, 0xA5, n);
    memset(host, 0x5A, n);
    errno = 0;
    got = mmu_read_from_virtual_address(r->mmu, l->ours + (addr32)offset,
                                        l->pid, ours, n);
    our_errno = errno;
    host_got = host_mapping_read(l->host + offset, host, n, &host_signal);
    same = settle_access(r, l, offset, n, false, got, our_errno, host_got,
                         host_signal, NULL);
    for (i = 0; i < same; i++)
        expect_agree(r, ours[i] == host[i],
                     "byte %zu of the read, at %s: host 0x%02x, ours 0x%02x", i,
                     where(l, offset + i), host[i], ours[i]);
    if (same == n)
        note_whole(r, l, offset, n, false);
    pin(r, l, offset, got > host_got ? got : host_got, false);
}

static void write_both(run *r, layout *l, size_t offset, size_t n) {
    static unsigned char bytes[MAX_ACCESS];
    size_t got, host_got, done, i;
    int our_errno, host_signal;

    for (i = 0; i < n; i++)
        bytes[i] = (unsigned char)next_random(r);
    errno = 0;
    got = mmu_write_to_virtual_address(r->mmu, l->ours + (addr32)offset, l->pid,
                                       bytes, n);
    our_errno = errno;
    host_got = host_mapping_write(l->host + offset, bytes, n, &host_signal);
    done = settle_access(r, l, offset, n, true, got, our_errno, host_got,
                         host_signal, bytes);
    if (done == n)
        note_whole(r, l, offset, n, true);
    for (i = 0; i < done; i += PAGE_SIZE - (offset + i) % PAGE_SIZE)
        if (private_file_page(l, (offset + i) / PAGE_SIZE))
            note(r, WRITE_PRIVATE_COPY);
    pin(r, l, offset, done, true);
}

/*
 * A read or a write of a random range. A write that would only touch the
 * bytes past a shared file's end, or an access that would pin more pages
 * than the budget allows, does nothing.
 */
static void do_access(run *r, bool write) {
    layout *l;
    size_t offset, n;

    pick_access(r, &l, &offset, &n);
    if (write && !keep_off_the_tails(r, l, &offset, &n))
        return;
    if (over_budget(r, l, offset, n, write))
        return;
    set_doing(r, "%s of %zu bytes at %s", write ? "write" : "read", n,
              where(l, offset));
    expect_host_holes(r, l, offset / PAGE_SIZE, 3);
    if (write)
        write_both(r, l, offset, n);
    else
        read_both(r, l, offset, n);
}

/* Reads layout pages first..first+count-1 on both sides, within budget. */
static void read_pages(run *r, layout *l, size_t first, size_t count,
                       const char *why) {
    size_t page;

    expect_host_holes(r, l, first, count);
    for (page = first; page < first + count; page++) {
        if (over_budget(r, l, page * PAGE_SIZE, PAGE_SIZE, false))
            continue;
        set_doing(r, "%s: reading %s", why, where(l, page * PAGE_SIZE));
        read_both(r, l, page * PAGE_SIZE, PAGE_SIZE);
    }
}

/* Reads every page of every layout on both sides, within the budget. */
static void sweep(run *r, const char *why) {
    size_t i;

    for (i = 0; i < r->scenario->num_processes; i++)
        read_pages(r, &r->layouts[i], 0, r->layouts[i].pages, why);
}

/*
 * Half the time, before pages are unmapped or mapped anew, reads them on
 * both sides: a wrong byte in a private page is seen before it goes.
 */
static void take_a_last_look(run *r, layout *l, size_t first, size_t count) {
    if (pick(r, 2) == 0)
        read_pages(r, l, first, count, "before they go");
}

/* ------------------------------------------------------------------ */
/* Calls                                                               */
/* ------------------------------------------------------------------ */

/*
 * Descriptors of file `file` for one vm_mmap and its twin, -1 for
 * anonymous memory; each call opens the file afresh and the mapping keeps
 * its own, so close_descriptors follows the call.
 */
static void open_descriptors(const run *r, int file, int *ours, int *host) {
    *ours = file == NO_FILE ? -1 : open_file(r->our_paths[file], O_RDWR);
    *host = file == NO_FILE ? -1 : open_file(r->host_paths[file], O_RDWR);
}

static void close_descriptors(int ours, int host) {
    if (ours >= 0)
        close(ours);
    if (host >= 0)
        close(host);
}

/* Checks that both sides returned the same, and the same errno. */
static void expect_same_result(const run *r, const char *call, int ours,
                               int our_errno, int host, int host_errno) {
    if (r->trace)
        fprintf(stderr, "    ours: %d (errno %s); host: %d (errno %s)\n", ours,
                ours ? errno_name(our_errno) : "-", host,
                host ? errno_name(host_errno) : "-");
    expect_agree(r, ours == host && (ours == 0 || our_errno == host_errno),
                 "%s: the host returned %d%s%s, ours %d%s%s", call, host,
                 host ? " with errno " : "", host ? errno_name(host_errno) : "",
                 ours, ours ? " with errno " : "",
                 ours ? errno_name(our_errno) : "");
}

/* Whether the model maps nothing at a page of first..first+count-1. */
static bool range_has_hole(const layout *l, size_t first, size_t count) {
    size_t page;

    for (page = first; page < first + count; page++)
        if (prot_at(l, page) == UNMAPPED)
            return true;
    return false;
}

/*
 * Picks a range of pages: three times in four 1 to `most` pages inside
 * one mapping, else 1 to `most` + 1 pages in its process's layout: from
 * anywhere, or from the mapping's last page on into what follows it.
 */
static void pick_range(run *r, size_t most, layout **l, size_t *first,
                       size_t *count) {
    mapping *m = &r->maps[pick(r, r->num_maps)];
    size_t from = m->start, pages = m->plan.pages;

    *l = layout_of(r, m);
    *first = from + pick(r, pages);
    *count = 1 + pick(r, most);
    if (pick(r, 4) == 0) {
        from = 0;
        pages = (*l)->pages;
        *first = pick(r, 2) ? m->start + m->plan.pages - 1 : pick(r, pages);
        *count = 1 + pick(r, most + 1);
        if (*first == m->start + m->plan.pages - 1 && *count == 1)
            *count = 2;
    }
    if (*count > from + pages - *first)
        *count = from + pages - *first;
}

/* The length for `count` pages: now and then not a whole number of them. */
static size_t pick_length(run *r, size_t count) {
    return count * PAGE_SIZE - (pick(r, 4) == 0 ? pick(r, PAGE_SIZE) : 0);
}

/*
 * After a successful msync, our file holds what the pages of shared file
 * mappings in the range hold: the host's file read through its page
 * cache, which is what the host's mappings hold.
 */
static void expect_file_synced(const run *r, const layout *l, size_t first,
                               size_t count) {
    static unsigned char ours[PAGE_SIZE], host[PAGE_SIZE];
    size_t page, i;

    for (page = first; page < first + count; page++) {
        size_t end = file_end_from(r, l, page);
        size_t n = end < PAGE_SIZE ? end : PAGE_SIZE;
        int file = l->page[page].file;
        off_t at = (off_t)(l->page[page].file_page * PAGE_SIZE);

        if (!shared_file_page(l, page) || n == 0)
            continue;
        if (pread(r->our_fds[file], ours, n, at) != (ssize_t)n ||
            pread(r->host_fds[file], host, n, at) != (ssize_t)n)
            setup_failed("pread of a file after msync");
        for (i = 0; i < n; i++)
            expect_agree(r, ours[i] == host[i],
                         "after msync, byte %zu of file %c: the host's pages "
                         "hold 0x%02x, our file 0x%02x",
                         (size_t)at + i, 'A' + file, host[i], ours[i]);
    }
}

static void do_msync(run *r) {
    static const int kinds[] = {VM_MS_SYNC, VM_MS_ASYNC, 0};
    layout *l;
    size_t first, count, length;
    int flags, ours, our_errno, host;

    pick_range(r, 3, &l, &first, &count);
    length = pick_length(r, count);
    flags = kinds[pick(r, 3)] | (pick(r, 3) == 0 ? VM_MS_INVALIDATE : 0);
    set_doing(r, "msync of %zu bytes from %s, flags 0x%x", length,
              where(l, first * PAGE_SIZE), (unsigned)flags);
    expect_host_holes(r, l, first, count);
    errno = 0;
    ours = vm_msync(r->mmu, l->pid, l->ours + (addr32)(first * PAGE_SIZE),
                    length, flags);
    our_errno = errno;
    host = host_mapping_sync(l->host + first * PAGE_SIZE, length, flags);
    expect_same_result(r, "msync", ours, our_errno, host, errno);
    expect_agree(r, (host != 0) == range_has_hole(l, first, count),
                 "the host's msync returned %d, where the test's model says "
                 "%s: a bug in the test",
                 host, range_has_hole(l, first, count) ? "a hole" : "none");
    if (host != 0) {
        note(r, MSYNC_OF_A_HOLE);
        return;
    }
    note(r, flags & VM_MS_INVALIDATE ? MSYNC_INVALIDATE : MSYNC_DONE);
    expect_file_synced(r, l, first, count);
}

static const int protections[] = {VM_PROT_NONE, VM_PROT_READ, RW, RW, RW};
#define NUM_PROTECTIONS (sizeof protections / sizeof protections[0])

/*
 * After an mprotect that failed on both sides, the host's pages before
 * the hole may have the new protection; ours changed nothing (vm.h), so
 * the host's get back what the model says.
 */
static void restore_host_protections(const layout *l, size_t first,
                                     size_t count) {
    size_t page;

    for (page = first; page < first + count; page++)
        if (prot_at(l, page) != UNMAPPED &&
            host_mapping_protect(l->host + page * PAGE_SIZE, PAGE_SIZE,
                                 prot_at(l, page)) != 0)
            setup_failed("mprotect on the host, setting a page back");
}

static void do_mprotect(run *r) {
    layout *l;
    size_t first, count, length, page;
    int prot = protections[pick(r, NUM_PROTECTIONS)], ours, our_errno, host;

    pick_range(r, 3, &l, &first, &count);
    length = pick_length(r, count);
    set_doing(r, "mprotect of %zu bytes from %s to %d", length,
              where(l, first * PAGE_SIZE), prot);
    expect_host_holes(r, l, first, count);
    errno = 0;
    ours = vm_mprotect(r->mmu, l->pid, l->ours + (addr32)(first * PAGE_SIZE),
                       length, prot);
    our_errno = errno;
    host = host_mapping_protect(l->host + first * PAGE_SIZE, length, prot);
    expect_same_result(r, "mprotect", ours, our_errno, host, errno);
    expect_agree(r, (host != 0) == range_has_hole(l, first, count),
                 "the host's mprotect returned %d, where the test's model "
                 "says %s: a bug in the test",
                 host, range_has_hole(l, first, count) ? "a hole" : "none");
    if (host != 0) {
        restore_host_protections(l, first, count);
        note(r, MPROTECT_OF_A_HOLE);
        return;
    }
    for (page = first; page < first + count; page++)
        l->page[page].prot = prot;
    note(r, MPROTECT_DONE);
    if (across_mappings(l, first, count))
        note(r, MPROTECT_ACROSS_MAPPINGS);
}

static void do_munmap(run *r) {
    layout *l;
    size_t first, count, length;
    int ours, our_errno, host;

    pick_range(r, 2, &l, &first, &count);
    length = pick_length(r, count);
    take_a_last_look(r, l, first, count);
    set_doing(r, "munmap of %zu bytes from %s", length,
              where(l, first * PAGE_SIZE));
    expect_host_holes(r, l, first, count);
    errno = 0;
    ours = vm_munmap(r->mmu, l->pid, l->ours + (addr32)(first * PAGE_SIZE),
                     length);
    our_errno = errno;
    host = host_mapping_unmap(l->host + first * PAGE_SIZE, length);
    expect_same_result(r, "munmap", ours, our_errno, host, errno);
    expect_agree(r, host == 0, "the host's munmap failed: a bug in the test");
    replace_pages(r, l, first, count, UNMAPPED, NO_FILE, 0, 0);
    note(r, MUNMAP_DONE);
}

/* A new mapping's kind: `*file` (NO_FILE: anonymous), flags, first page. */
typedef struct {
    int file;
    int flags;
    size_t file_page;
} mapping_kind;

/*
 * Half the time what the scenario first mapped at `page` (if anything),
 * else any kind, from any page of the file up to one past its end.
 */
static mapping_kind pick_kind(run *r, const layout *l, size_t page) {
    const mapping *m = l->page[page].first;
    mapping_kind kind;
    size_t pages;

    if (m && pick(r, 2) == 0) {
        kind.file = m->plan.file;
        kind.flags = m->plan.flags;
        kind.file_page = m->plan.first_page + (page - m->start);
    } else {
        kind.file = (int)pick(r, NUM_FILES + 1) - 1;
        kind.flags = pick(r, 2) ? VM_MAP_SHARED : VM_MAP_PRIVATE;
        pages = kind.file == NO_FILE
                    ? 0
                    : (r->scenario->file_sizes[kind.file] + PAGE_SIZE - 1) /
                          PAGE_SIZE;
        kind.file_page = kind.file == NO_FILE ? 0 : pick(r, pages + 1);
    }
    if (kind.file == NO_FILE)
        kind.file_page = 0;
    return kind;
}

/* Maps 1 to 3 pages of a layout anew, over what is there. */
static void do_remap(run *r) {
    mapping *m = &r->maps[pick(r, r->num_maps)];
    layout *l = layout_of(r, m);
    size_t first = pick(r, l->pages), count = 1 + pick(r, 3), length;
    int prot = protections[pick(r, NUM_PROTECTIONS)];
    mapping_kind kind = pick_kind(r, l, first);
    int flags = kind.flags | VM_MAP_FIXED |
                (kind.file == NO_FILE ? VM_MAP_ANONYMOUS : 0);
    off_t offset = (off_t)(kind.file_page * PAGE_SIZE);
    addr32 ours, want_ours = l->ours + (addr32)(first * PAGE_SIZE);
    unsigned char *want_host = l->host + first * PAGE_SIZE;
    int our_fd, host_fd;

    count = count < l->pages - first ? count : l->pages - first;
    length = pick_length(r, count);
    take_a_last_look(r, l, first, count);
    set_doing(r,
              "mmap with VM_MAP_FIXED of %zu bytes at %s: %s, offset %zu, "
              "prot %d",
              length, where(l, first * PAGE_SIZE),
              kind_name(kind.file, kind.flags), (size_t)offset, prot);
    expect_host_holes(r, l, first, count);
    open_descriptors(r, kind.file, &our_fd, &host_fd);
    errno = 0;
    ours =
        vm_mmap(r->mmu, l->pid, want_ours, length, prot, flags, our_fd, offset);
    expect_agree(r, ours == want_ours,
                 "ours returned 0x%x (errno %s), where it should map at 0x%x",
                 ours, errno_name(errno), want_ours);
    if (host_mapping_map(want_host, length, prot, flags, host_fd, offset) !=
        want_host)
        setup_failed("mmap with MAP_FIXED on the host");
    close_descriptors(our_fd, host_fd);
    if (!l->page[first].first || kind.file != l->page[first].first->plan.file ||
        kind.flags != l->page[first].first->plan.flags)
        note(r, REMAP_OF_ANOTHER_KIND);
    replace_pages(r, l, first, count, prot, kind.file, kind.flags,
                  kind.file_page);
    note(r, REMAP_DONE);
}

/* Makes call `kind` of do_refused_call on our side (host: false) or the
 * host's. */
static int make_refused_call(run *r, const layout *l, size_t page, size_t skew,
                             size_t kind, bool host) {
    addr32 ours = l->ours + (addr32)(page * PAGE_SIZE);
    unsigned char *at = l->host + page * PAGE_SIZE;
    int sync_both = VM_MS_SYNC | VM_MS_ASYNC;

    switch (kind) {
    case 0:
        return host ? host_mapping_unmap(at + skew, PAGE_SIZE)
                    : vm_munmap(r->mmu, l->pid, ours + skew, PAGE_SIZE);
    case 1:
        return host ? host_mapping_unmap(at, 0)
                    : vm_munmap(r->mmu, l->pid, ours, 0);
    case 2:
        return host ? host_mapping_protect(at + skew, PAGE_SIZE, RW)
                    : vm_mprotect(r->mmu, l->pid, ours + skew, PAGE_SIZE, RW);
    case 3:
        return host ? host_mapping_protect(at, 0, VM_PROT_NONE)
                    : vm_mprotect(r->mmu, l->pid, ours, 0, VM_PROT_NONE);
    case 4:
        return host ? host_mapping_protect(at, PAGE_SIZE, 0x10)
                    : vm_mprotect(r->mmu, l->pid, ours, PAGE_SIZE, 0x10);
    case 5:
        return host ? host_mapping_sync(at + skew, PAGE_SIZE, VM_MS_SYNC)
                    : vm_msync(r->mmu, l->pid, ours + skew, PAGE_SIZE,
                               VM_MS_SYNC);
    case 6:
        return host ? host_mapping_sync(at, PAGE_SIZE, sync_both)
                    : vm_msync(r->mmu, l->pid, ours, PAGE_SIZE, sync_both);
    case 7:
        return host ? host_mapping_sync(at, PAGE_SIZE, 0x8)
                    : vm_msync(r->mmu, l->pid, ours, PAGE_SIZE, 0x8);
    default:
        return host ? host_mapping_sync(at, 0, VM_MS_INVALIDATE)
                    : vm_msync(r->mmu, l->pid, ours, 0, VM_MS_INVALIDATE);
    }
}

/*
 * A call that its arguments make fail: an address not page-aligned, a
 * munmap of length 0, unknown bits, both sync flags; or, with a length
 * of 0, an mprotect or an msync that does nothing.
 */
static void do_refused_call(run *r) {
    static const char *const calls[] = {"munmap",   "munmap",   "mprotect",
                                        "mprotect", "mprotect", "msync",
                                        "msync",    "msync",    "msync"};
    layout *l = &r->layouts[pick(r, r->scenario->num_processes)];
    size_t page = pick(r, l->pages), kind = pick(r, 9);
    size_t skew = 1 + pick(r, PAGE_SIZE - 1);
    int ours, our_errno, host;

    set_doing(r, "%s, refused call %zu, at %s (skew %zu)", calls[kind], kind,
              where(l, page * PAGE_SIZE), skew);
    errno = 0;
    ours = make_refused_call(r, l, page, skew, kind, false);
    our_errno = errno;
    errno = 0;
    host = make_refused_call(r, l, page, skew, kind, true);
    expect_same_result(r, calls[kind], ours, our_errno, host, errno);
    expect_agree(r,
                 host == (kind == 3 || kind == 8 ? 0 : -1) &&
                     (host == 0 || errno == EINVAL),
                 "the host's %s returned %d: a bug in the test", calls[kind],
                 host);
    note(r, CALL_REFUSED);
}

/* ------------------------------------------------------------------ */
/* One run: set up, operate, tear down, compare the files              */
/* ------------------------------------------------------------------ */

/* Writes the same random bytes to our copy and the host's of each file. */
static void make_files(run *r) {
    static unsigned char bytes[8 * PAGE_SIZE];
    size_t f, i, size;

    for (f = 0; f < NUM_FILES; f++) {
        size = r->scenario->file_sizes[f];
        if (size > sizeof bytes)
            setup_failed("a file larger than the test's buffer");
        for (i = 0; i < size; i++)
            bytes[i] = (unsigned char)next_random(r);
        write_new_file(describe("ours_%u_%c", r->seed, (int)('A' + f)), bytes,
                       size, r->our_paths[f]);
        write_new_file(describe("host_%u_%c", r->seed, (int)('A' + f)), bytes,
                       size, r->host_paths[f]);
        r->our_fds[f] = open_file(r->our_paths[f], O_RDONLY);
        r->host_fds[f] = open_file(r->host_paths[f], O_RDONLY);
    }
}

/* Lays each process's mappings out, in the scenario's order. */
static void lay_out(run *r) {
    size_t i, page;

    for (i = 0; i < r->scenario->num_processes; i++) {
        r->layouts[i].pid = process_pids[i];
        r->layouts[i].ours = MMAP_REGION_START;
    }
    r->num_maps = r->scenario->num_plans;
    for (i = 0; i < r->num_maps; i++) {
        mapping *m = &r->maps[i];
        layout *l = &r->layouts[r->scenario->plans[i].process];

        m->plan = r->scenario->plans[i];
        m->index = i;
        m->start = l->pages + m->plan.gap;
        l->pages = m->start + m->plan.pages;
        for (page = 0; page < m->start; page++)
            if (!l->page[page].first)
                l->page[page].prot = UNMAPPED;
        replace_pages(r, l, m->start, m->plan.pages, m->plan.prot, m->plan.file,
                      m->plan.flags, m->plan.first_page);
        for (page = m->start; page < l->pages; page++)
            l->page[page].first = m;
    }
}

/*
 * Maps `m` on both sides, where its layout puts it: ours by the address
 * hint, which vm.h uses as given when its range is free; the host's with
 * MAP_FIXED in the range its layout holds.
 */
static void map_both(run *r, mapping *m) {
    const mapping_plan *p = &m->plan;
    layout *l = layout_of(r, m);
    size_t length = p->pages * PAGE_SIZE - p->short_by;
    int flags = p->flags | (p->file == NO_FILE ? VM_MAP_ANONYMOUS : 0);
    off_t offset = (off_t)(p->first_page * PAGE_SIZE);
    addr32 want = l->ours + (addr32)(m->start * PAGE_SIZE), ours;
    unsigned char *host = l->host + m->start * PAGE_SIZE;
    int our_fd, host_fd;

    set_doing(r, "setup: mmap of %zu bytes for %s", length,
              where(l, m->start * PAGE_SIZE));
    open_descriptors(r, p->file, &our_fd, &host_fd);
    errno = 0;
    ours =
        vm_mmap(r->mmu, l->pid, want, length, p->prot, flags, our_fd, offset);
    expect_agree(r, ours == want,
                 "vm_mmap with the free address 0x%x as its hint returned "
                 "0x%x (errno %s)",
                 want, ours, errno_name(errno));
    if (host_mapping_map(host, length, p->prot, flags | VM_MAP_FIXED, host_fd,
                         offset) != host)
        setup_failed("mmap on the host");
    close_descriptors(our_fd, host_fd);
}

/* The host's layouts: each reserved whole, its gaps then unmapped. */
static void reserve_host_layouts(run *r) {
    size_t i, page;

    for (i = 0; i < r->scenario->num_processes; i++) {
        layout *l = &r->layouts[i];

        l->host = host_mapping_map(NULL, l->pages * PAGE_SIZE, VM_PROT_NONE,
                                   VM_MAP_PRIVATE | VM_MAP_ANONYMOUS, -1, 0);
        if (!l->host)
            setup_failed("mmap of a layout's range on the host");
    }
    for (i = 0; i < r->num_maps; i++)
        map_both(r, &r->maps[i]);
    for (i = 0; i < r->scenario->num_processes; i++)
        for (page = 0; page < r->layouts[i].pages; page++)
            if (r->layouts[i].page[page].prot == UNMAPPED &&
                host_mapping_unmap(r->layouts[i].host + page * PAGE_SIZE,
                                   PAGE_SIZE) != 0)
                setup_failed("munmap of a gap on the host");
}

static void set_up(run *r) {
    size_t i;

    make_files(r);
    lay_out(r);
    r->mmu = mmu_create();
    expect_not_null(r->mmu, "mmu_create()");
    for (i = 0; i < r->scenario->num_processes; i++)
        expect_int(mmu_add_process(r->mmu, process_pids[i]), 0,
                   describe("mmu_add_process(m, %zu)", process_pids[i]));
    reserve_host_layouts(r);
}

enum operation {
    OP_READ,
    OP_WRITE,
    OP_MSYNC,
    OP_MPROTECT,
    OP_MUNMAP,
    OP_REMAP,
    OP_REFUSED_CALL
};

/* Out of 100; see the opening comment. */
static enum operation pick_operation(run *r) {
    size_t roll = pick(r, 100);

    if (roll < 34)
        return OP_READ;
    if (roll < 62)
        return OP_WRITE;
    if (roll < 72)
        return OP_MSYNC;
    if (roll < 84)
        return OP_MPROTECT;
    if (roll < 88)
        return OP_MUNMAP;
    if (roll < 94)
        return OP_REMAP;
    return OP_REFUSED_CALL;
}

static void operate(run *r) {
    switch (pick_operation(r)) {
    case OP_READ: do_access(r, false); break;
    case OP_WRITE: do_access(r, true); break;
    case OP_MSYNC: do_msync(r); break;
    case OP_MPROTECT: do_mprotect(r); break;
    case OP_MUNMAP: do_munmap(r); break;
    case OP_REMAP: do_remap(r); break;
    case OP_REFUSED_CALL: do_refused_call(r); break;
    }
    if (kernel_frames_free() == 0)
        note(r, POOL_FULL);
}

/*
 * Unmaps everything: some mappings with vm_munmap, the rest by removing
 * their processes; each host layout with one munmap.
 */
static void tear_down(run *r) {
    size_t i, f;

    for (i = 0; i < r->num_maps; i++) {
        mapping *m = &r->maps[i];
        layout *l = layout_of(r, m);

        if ((i + r->seed) % 2 != 0)
            continue;
        set_doing(r, "teardown: vm_munmap of the pages of mapping %zu, from %s",
                  m->index, where(l, m->start * PAGE_SIZE));
        expect_agree(r,
                     vm_munmap(r->mmu, l->pid,
                               l->ours + (addr32)(m->start * PAGE_SIZE),
                               m->plan.pages * PAGE_SIZE) == 0,
                     "vm_munmap of the whole mapping failed (errno %s)",
                     errno_name(errno));
    }
    set_doing(r, "teardown: removing every process");
    for (i = 0; i < r->scenario->num_processes; i++) {
        layout *l = &r->layouts[i];

        expect_host_holes(r, l, 0, l->pages);
        if (host_mapping_unmap(l->host, l->pages * PAGE_SIZE) != 0)
            setup_failed("munmap on the host");
        expect_agree(r, mmu_remove_process(r->mmu, l->pid) == 0,
                     "mmu_remove_process(%zu) failed (errno %s)", l->pid,
                     errno_name(errno));
    }
    mmu_delete(r->mmu);
    r->mmu = NULL;
    expect_all_frames_free(describe("%s, seed %u, once every process is "
                                    "removed",
                                    r->scenario->name, r->seed));
    for (f = 0; f < NUM_FILES; f++) {
        close(r->our_fds[f]);
        close(r->host_fds[f]);
    }
}

static void expect_same_files(run *r) {
    size_t f, our_size, host_size;
    unsigned char *ours, *host;

    set_doing(r, "at the end: comparing the files");
    for (f = 0; f < NUM_FILES; f++) {
        ours = load_file(r->our_paths[f], &our_size);
        host = load_file(r->host_paths[f], &host_size);
        expect_agree(
            r, our_size == host_size && host_size == r->scenario->file_sizes[f],
            "file %c: the host's is %zu bytes, ours %zu, and both "
            "should still be %zu",
            (int)('A' + f), host_size, our_size, r->scenario->file_sizes[f]);
        expect_bytes(ours, host, host_size,
                     describe("%s, seed %u, at the end: our file %c against "
                              "the host's",
                              r->scenario->name, r->seed, (int)('A' + f)));
        free(ours);
        free(host);
    }
}

/*
 * One seed's run. Every other seed runs with a trace hook set, so that its
 * accesses all go the MMU's general way (mmu.c) and its evictions are
 * counted; the others take the short path wherever it serves.
 */
static void run_scenario(const scenario *s, unsigned seed, coverage *c) {
    run r;
    const char *trace = getenv("VM_KERNEL_TRACE");

    memset(&r, 0, sizeof r);
    r.scenario = s;
    r.seed = seed;
    r.random = seed;
    r.coverage = c;
    r.trace = trace && trace[0] && strcmp(trace, "0") != 0;
    trace_log_clear();
    if (seed % 2)
        trace_set_hook(record_event, NULL);
    set_up(&r);
    for (r.op = 0; r.op < s->operations; r.op++) {
        operate(&r);
        if ((r.op + 1) % SWEEP_EVERY == 0)
            sweep(&r, "sweep");
    }
    sweep(&r, "at the end");
    tear_down(&r);
    trace_set_hook(NULL, NULL);
    c->count[EVICTION] += trace_log.per_event[TRACE_EVICTION];
    expect_same_files(&r);
}

/*
 * Fails unless the runs made every outcome happen at least once (a full
 * pool and evictions only where `pool_fills`). VM_KERNEL_TRACE prints them.
 */
static void expect_coverage(const coverage *c, bool pool_fills,
                            const char *runs) {
    size_t i;
    const char *trace = getenv("VM_KERNEL_TRACE");

    for (i = 0;
         trace && trace[0] && strcmp(trace, "0") != 0 && i < NUM_OUTCOMES; i++)
        fprintf(stderr, "%s: %zu times %s\n", runs, c->count[i],
                outcome_names[i]);
    for (i = 0; i < NUM_OUTCOMES; i++)
        if (c->count[i] == 0 &&
            (pool_fills || (i != POOL_FULL && i != EVICTION)))
            fail(__FILE__, __LINE__,
                 "%s: the generator never made %s: the test lost its reach",
                 runs, outcome_names[i]);
}

/* Runs `count` seeds from `first` on `s`, then checks their reach. */
static void run_seeds(const scenario *s, unsigned first, unsigned count,
                      bool pool_fills) {
    coverage c;
    unsigned seed;

    memset(&c, 0, sizeof c);
    for (seed = first; seed < first + count; seed++)
        run_scenario(s, seed, &c);
    expect_coverage(
        &c, pool_fills,
        describe("%s, seeds %u-%u", s->name, first, first + count - 1));
}

/* ------------------------------------------------------------------ */
/* The tests                                                           */
/* ------------------------------------------------------------------ */

static void test_vm_agrees_with_the_kernel_on_random_operations(void) {
    run_seeds(&default_scenario, 1, 6, false);
}

static void run_in_16_frames(const void *argument) {
    (void)argument;
    setenv("MMAP_FRAMES", "16", 1);
    expect_size(kernel_frames_total(), 16, "frames with MMAP_FRAMES=16");
    run_seeds(&small_scenario, 101, 6, true);
}

/* The pool is set up once per process: this one is the grandchild's. */
static void test_vm_agrees_with_the_kernel_in_a_pool_of_16_frames(void) {
    grandchild result;

    run_in_grandchild(run_in_16_frames, NULL, false, &result);
    expect_grandchild_passed(&result, "the random operations in a pool of "
                                      "16 frames");
}

/* ------------------------------------------------------------------ */
/* A file resized under its mappings                                   */
/* ------------------------------------------------------------------ */

/*
 * One file mapped shared on each side, ours in process 1 of `m` and the
 * host's in this process, each over its own copy of the same bytes.
 */
typedef struct {
    mmu *m;
    addr32 ours;
    unsigned char *host;
    int our_fd, host_fd;
    char our_path[PATH_MAX], host_path[PATH_MAX];
} twin_file;

static void twin_map(twin_file *t, size_t file_bytes, size_t map_pages) {
    unsigned char *bytes = malloc(file_bytes);

    for (size_t i = 0; i < file_bytes; i++)
        bytes[i] = (unsigned char)('a' + i % 26);
    write_new_file("ours", bytes, file_bytes, t->our_path);
    write_new_file("host", bytes, file_bytes, t->host_path);
    free(bytes);
    t->our_fd = open_file(t->our_path, O_RDWR);
    t->host_fd = open_file(t->host_path, O_RDWR);
    t->m = new_mmu_with_process(1);
    t->ours = map_or_fail(t->m, 1, 0, map_pages * PAGE_SIZE, RW,
                          VM_MAP_SHARED, t->our_fd, 0);
    t->host = host_mapping_map(NULL, map_pages * PAGE_SIZE, RW, VM_MAP_SHARED,
                               t->host_fd, 0);
    if (!t->host)
        setup_failed("the host's mmap");
}

/* Both files resized to `bytes` by another program (ftruncate(2)). */
static void twin_truncate(twin_file *t, off_t bytes) {
    if (ftruncate(t->our_fd, bytes) != 0 || ftruncate(t->host_fd, bytes) != 0)
        setup_failed("ftruncate");
}

/*
 * An access of `n` bytes at `offset` of both mappings: the same bytes
 * come back (or go), and where the host stops with SIGBUS ours stops at
 * the same byte with ENXIO.
 */
static void twin_access(twin_file *t, size_t offset, size_t n, bool write,
                        const char *what) {
    unsigned char ours[2 * PAGE_SIZE], host[2 * PAGE_SIZE];
    int signal = 0;
    size_t host_done, our_done;

    memset(ours, 'W', n);
    memset(host, 'W', n);
    errno = 0;
    our_done = write ? write_virtual(t->m, 1, t->ours + (addr32)offset, ours, n)
                     : read_virtual(t->m, 1, t->ours + (addr32)offset, ours, n);
    int our_errno = errno;
    host_done = write ? host_mapping_write(t->host + offset, host, n, &signal)
                      : host_mapping_read(t->host + offset, host, n, &signal);
    expect_size(our_done, host_done,
                describe("%s: bytes the host moved before signal %d, and ours "
                         "(errno %s)",
                         what, signal, errno_name(our_errno)));
    if (signal) {
        expect_int(signal, SIGBUS, describe("%s: the host's signal", what));
        expect_errno(our_errno, ENXIO, describe("%s: our errno", what));
    }
    expect_bytes(ours, host, our_done, describe("%s: the bytes", what));
}

/* Both sides sync everything, unmap, and the two files are the same. */
static void twin_end(twin_file *t, size_t map_pages) {
    size_t our_size, host_size;

    expect_int(vm_msync(t->m, 1, t->ours, map_pages * PAGE_SIZE, VM_MS_SYNC),
               host_mapping_sync(t->host, map_pages * PAGE_SIZE, VM_MS_SYNC),
               "vm_msync against the host's msync");
    mmu_delete(t->m);
    host_mapping_unmap(t->host, map_pages * PAGE_SIZE);
    close(t->our_fd);
    close(t->host_fd);
    unsigned char *ours = load_file(t->our_path, &our_size);
    unsigned char *host = load_file(t->host_path, &host_size);
    expect_size(our_size, host_size, "our file's size against the host's");
    expect_bytes(ours, host, our_size, "our file against the host's");
    free(ours);
    free(host);
}

/*
 * A file grown with ftruncate after it was mapped takes writes in the
 * grown part, and they reach the file; past its new end is still SIGBUS.
 */
static void test_vm_a_file_grown_under_its_mapping_as_on_the_host(void) {
    twin_file t;

    twin_map(&t, 5000, 5);
    twin_access(&t, 3000, 100, false, "read of page 0 before the growth");
    twin_access(&t, 2 * PAGE_SIZE, 10, true, "write of page 2 before it");
    twin_truncate(&t, 3 * PAGE_SIZE + 100);
    twin_access(&t, 2 * PAGE_SIZE + 50, 100, true, "write into grown page 2");
    twin_access(&t, 3 * PAGE_SIZE + 50, 100, true, "write into grown page 3");
    twin_access(&t, 4900, 300, false, "read across the old end");
    twin_access(&t, 4 * PAGE_SIZE, 10, false, "read of page 4, past the end");
    twin_end(&t, 5);
}

/*
 * A file truncated under its mapping refuses pages wholly past its new
 * end (once the library has asked the file: here at the fault that reads
 * a page, and at vm_msync) and is never grown back by a write-back.
 */
static void test_vm_a_file_truncated_under_its_mapping_as_on_the_host(void) {
    twin_file t;

    twin_map(&t, 3 * PAGE_SIZE, 3);
    twin_access(&t, 100, 10, true, "write of page 0");
    twin_access(&t, PAGE_SIZE + 5, 10, true, "write of page 1");
    twin_truncate(&t, 5000);
    twin_access(&t, 2 * PAGE_SIZE + 7, 10, false, "read of page 2, cut off");
    expect_size(t.m->num_bus_errors, 1, "bus errors counted");
    expect_int(vm_msync(t.m, 1, t.ours, 3 * PAGE_SIZE, VM_MS_SYNC),
               host_mapping_sync(t.host, 3 * PAGE_SIZE, VM_MS_SYNC),
               "vm_msync after the truncation");
    expect_size(file_size(t.our_path), 5000, "our file after vm_msync");
    twin_access(&t, PAGE_SIZE + 900, 10, false, "read past the new end, "
                                                "in its last page (zeros)");
    twin_access(&t, PAGE_SIZE + 5, 10, false, "read of page 1's write");
    twin_access(&t, 2 * PAGE_SIZE, 10, true, "write of page 2, cut off");
    twin_end(&t, 3);
}

/*
 * Write-back never writes bytes the mapping did not have from the file
 * nor write itself: bytes another program appends after a page was read
 * are the file's, and a later write-back of that page keeps them.
 */
static void test_vm_write_back_keeps_bytes_another_program_appended(void) {
    twin_file t;
    unsigned char appended[100];

    twin_map(&t, 100, 1);
    twin_access(&t, 0, 2, true, "write of the first two bytes");
    memset(appended, 'Z', sizeof appended);
    write_file_at(t.our_path, 100, appended, sizeof appended);
    write_file_at(t.host_path, 100, appended, sizeof appended);
    expect_int(vm_msync(t.m, 1, t.ours, PAGE_SIZE, VM_MS_SYNC),
               host_mapping_sync(t.host, PAGE_SIZE, VM_MS_SYNC),
               "vm_msync after the append");
    expect_size(file_size(t.our_path), 200, "our file after vm_msync");
    /* Mapped pages see the append once the library has asked the file. */
    twin_access(&t, 150, 10, false, "read of the appended bytes");
    twin_end(&t, 1);
}

/* The same when a second process maps the grown file in between. */
static void test_vm_write_back_keeps_appended_bytes_when_another_maps_them(
    void) {
    char path[PATH_MAX];
    unsigned char file[200], appended[100];
    int fd;
    mmu *m = new_mmu_with_process(1);
    addr32 first, second;

    memset(file, 'a', 100);
    write_new_file("file", file, 100, path);
    fd = open_file(path, O_RDWR);
    first = map_or_fail(m, 1, 0, 100, RW, VM_MAP_SHARED, fd, 0);
    expect_writes(m, 1, first, "XY", 2, "process 1 dirties page 0");
    memset(appended, 'Z', sizeof appended);
    write_file_at(path, 100, appended, sizeof appended);
    expect_int(mmu_add_process(m, 2), 0, "a second process");
    second = map_or_fail(m, 2, 0, 200, RW, VM_MAP_SHARED, fd, 0);
    expect_reads(m, 2, second + 100, appended, 100,
                 "process 2 reads the appended bytes");
    expect_int(vm_msync(m, 1, first, PAGE_SIZE, VM_MS_SYNC), 0,
               "process 1's vm_msync");
    memcpy(file, "XY", 2);
    memcpy(file + 100, appended, 100);
    expect_file_contents(path, file, 200, "the file: written and appended");
    mmu_delete(m);
    close(fd);
}

static const test_case vm_kernel_tests[] = {
    TEST(vm_agrees_with_the_kernel_on_random_operations),
    TEST(vm_agrees_with_the_kernel_in_a_pool_of_16_frames),
    TEST(vm_a_file_grown_under_its_mapping_as_on_the_host),
    TEST(vm_a_file_truncated_under_its_mapping_as_on_the_host),
    TEST(vm_write_back_keeps_bytes_another_program_appended),
    TEST(vm_write_back_keeps_appended_bytes_when_another_maps_them),
};

const test_suite vm_kernel_suite = {"vm_kernel", vm_kernel_tests,
                                    sizeof vm_kernel_tests /
                                        sizeof vm_kernel_tests[0]};
