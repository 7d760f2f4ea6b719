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
 * are anonymous mappings, private and shared, as well.
 *
 * The generator, from a fixed seed (splitmix64), picks one mapping and one
 * operation at a time, by weight out of 100:
 *   34 read: 1-16, up to 600 or up to 8192 bytes, anywhere, just before a
 *      page's end, at the file's end or at a page's start, clipped to the
 *      mapping: it may cross pages, read the zeros past the file's end in
 *      its last page, or reach a page wholly past the end;
 *   28 write: the same, of random bytes; through a shared file mapping it
 *      stops at the file's end (a shared page's bytes past the end are not
 *      the file's, and the host zeroes them whenever it writes the page
 *      back), but may start in a page wholly past the end;
 *   10 msync: 1-3 pages, VM_MS_SYNC, VM_MS_ASYNC or neither, a third of
 *      the time with VM_MS_INVALIDATE, the length sometimes not a whole
 *      number of pages;
 *   12 mprotect: 1-3 pages to NONE, READ or READ|WRITE (never WRITE or EXEC
 *      alone, which x86 Linux lets read and this MMU does not);
 *    4 munmap: 1-2 pages;
 *    6 remap: VM_MAP_FIXED over 1-3 pages of the mapping, the same file
 *      pages (or fresh anonymous memory) with a random protection;
 *    6 a call the arguments make fail (an address not page-aligned, a
 *      length of 0, both sync flags, unknown bits).
 * Ranges stay inside the mapping they were picked for, pages it no longer
 * maps included. Every 25 operations, and at the end, every page of every
 * mapping is read on both sides, and half the time so are the pages that
 * munmap or a remap is about to take away.
 *
 * What may differ, as vm.h says: an access that breaks a protection
 * anywhere is refused whole here (nothing copied) where the host copies up
 * to the page that faults, so a refused access is compared as refused, and
 * a refused write is repaired by writing on our side what the host wrote;
 * an access that reaches a page wholly past the file's end stops there on
 * both sides, with the same bytes copied (EFAULT here, SIGBUS there); a
 * failed mprotect changes nothing here, where the host may have changed
 * the pages before the hole, so the test sets those back. The test keeps a
 * model of each page (mapped, protection, frame pinned) only to generate
 * and to know which of these cases applies, and checks the host against it
 * too, so a wrong model fails rather than hides a difference.
 *
 * A failure names the scenario, the seed, the operation's index and what
 * it was. VM_KERNEL_TRACE=1 in the environment prints every operation and
 * both sides' results to stderr.
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
#define MAX_SPAN_PAGES 8
#define MAX_ACCESS (2 * PAGE_SIZE)
#define SWEEP_EVERY 25

/* A page's protection in the model once it is unmapped. */
#define UNMAPPED (-1)

/* Our processes: distinct pids of one MMU, a high one among them. */
static const size_t process_pids[MAX_PROCESSES] = {5, 17, 1000};

/* ------------------------------------------------------------------ */
/* Scenarios: files, processes, mappings                               */
/* ------------------------------------------------------------------ */

/* One mapping, as both sides make it. */
typedef struct {
    int file;          /* 0 (A) or 1 (B), or NO_FILE: anonymous */
    size_t process;    /* index into process_pids */
    int flags;         /* VM_MAP_SHARED or VM_MAP_PRIVATE */
    int prot;          /* at first */
    size_t first_page; /* of the file */
    size_t pages;
    size_t short_by; /* the length asked for is this much under whole pages */
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

#define RW (VM_PROT_READ | VM_PROT_WRITE)
#define SHARED VM_MAP_SHARED
#define PRIVATE VM_MAP_PRIVATE

/* A: 4 pages; B: 2 pages and 1234 bytes. Three processes. */
static const mapping_plan default_plans[] = {
    /* file, process, flags, prot, first page, pages, short by */
    {0, 0, SHARED, RW, 0, 4, 0},
    {0, 1, SHARED, RW, 1, 3, 100},
    {0, 2, PRIVATE, RW, 0, 4, 0},
    {0, 1, PRIVATE, VM_PROT_READ, 2, 2, 0},
    /* its pages 3 and 4 wholly past B's end */
    {1, 0, SHARED, RW, 0, 5, 0},
    {1, 2, SHARED, VM_PROT_READ, 1, 2, 0},
    /* its page 3 wholly past B's end */
    {1, 1, PRIVATE, RW, 0, 4, 4095},
    {NO_FILE, 0, PRIVATE, RW, 0, 3, 0},
    {NO_FILE, 2, SHARED, RW, 0, 2, 1},
    {0, 0, SHARED, VM_PROT_READ, 3, 1, 0},
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
 * each for the directory and the table, and at most 7 pinned pages: 5
 * frames left for 10 pages of files, so they are evicted and read again,
 * and never fewer than the two a copy-on-write fault needs at once.
 */
static const mapping_plan small_plans[] = {
    /* file, process, flags, prot, first page, pages, short by */
    {0, 0, SHARED, RW, 0, 3, 0},
    {0, 1, PRIVATE, RW, 1, 3, 0},
    /* its page 2 wholly past B's end */
    {1, 1, SHARED, RW, 2, 3, 0},
    {1, 0, PRIVATE, RW, 0, 3, 17},
    {0, 1, SHARED, VM_PROT_READ, 4, 2, 0},
    {NO_FILE, 0, PRIVATE, RW, 0, 1, 0},
    {NO_FILE, 1, SHARED, RW, 0, 2, 0},
    /* B's last page, the file ending inside it */
    {1, 0, SHARED, RW, 3, 1, 0},
    {0, 0, SHARED, RW, 3, 3, 0},
};

static const scenario small_scenario = {
    .name = "16 frames",
    .file_sizes = {6 * PAGE_SIZE, 3 * PAGE_SIZE + 1234},
    .num_processes = 2,
    .plans = small_plans,
    .num_plans = sizeof small_plans / sizeof small_plans[0],
    .operations = 300,
    .pinned_budget = 7,
};

/* ------------------------------------------------------------------ */
/* A run: both sides and the model                                     */
/* ------------------------------------------------------------------ */

/* A mapping on both sides, and what the test knows of its pages. */
typedef struct {
    mapping_plan plan;
    addr32 ours;
    unsigned char *host;
    int prot[MAX_SPAN_PAGES];    /* UNMAPPED once unmapped */
    bool pinned[MAX_SPAN_PAGES]; /* our frame cannot be evicted */
} mapping;

/* What the generator has made happen, over all the runs of a test. */
enum outcome {
    READ_WHOLE,
    READ_ZEROS_PAST_END,
    READ_REFUSED,
    READ_STOPPED_AT_END,
    WRITE_WHOLE,
    WRITE_REFUSED,
    WRITE_STOPPED_AT_END,
    WRITE_PRIVATE_COPY,
    MSYNC_DONE,
    MSYNC_INVALIDATE,
    MSYNC_OF_A_HOLE,
    MPROTECT_DONE,
    MPROTECT_OF_A_HOLE,
    MUNMAP_DONE,
    REMAP_DONE,
    CALL_REFUSED,
    POOL_FULL,
    EVICTION,
    NUM_OUTCOMES
};

static const char *const outcome_names[NUM_OUTCOMES] = {
    "a whole read",
    "a read of the bytes past a file's end in its last page",
    "a refused read",
    "a read stopped at the end of a file",
    "a whole write",
    "a refused write",
    "a write stopped at the end of a file",
    "a write to a private file page",
    "an msync",
    "an msync with VM_MS_INVALIDATE",
    "an msync of a range with a hole",
    "an mprotect",
    "an mprotect of a range with a hole",
    "a partial munmap",
    "a VM_MAP_FIXED remap",
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
    int our_fds[NUM_FILES], host_fds[NUM_FILES];
    char our_paths[NUM_FILES][PATH_MAX], host_paths[NUM_FILES][PATH_MAX];
    mapping maps[MAX_MAPPINGS];
    size_t num_maps;
    size_t pinned; /* pages of the model marked pinned */
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
    uint64_t z = (r->random += 0x9E3779B97F4A7C15ull);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
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

/* "mapping 4 (B shared, file pages 0-4, pid 5)" */
static const char *name_of(const run *r, const mapping *m) {
    const mapping_plan *p = &m->plan;

    return describe("mapping %zu (%s %s, %s pages %zu-%zu, pid %zu)",
                    (size_t)(m - r->maps),
                    p->file == NO_FILE ? "anonymous"
                    : p->file          ? "B"
                                       : "A",
                    p->flags == VM_MAP_SHARED ? "shared" : "private",
                    p->file == NO_FILE ? "its" : "file", p->first_page,
                    p->first_page + p->pages - 1, process_pids[p->process]);
}

static size_t pid_of(const mapping *m) {
    return process_pids[m->plan.process];
}

/* The length of the mapping's span, in bytes: whole pages. */
static size_t span_of(const mapping *m) {
    return m->plan.pages * PAGE_SIZE;
}

/* Where the file ends, from the mapping's start (SIZE_MAX: anonymous). */
static size_t file_end_in(const run *r, const mapping *m) {
    size_t size, skip = m->plan.first_page * PAGE_SIZE;

    if (m->plan.file == NO_FILE)
        return SIZE_MAX;
    size = r->scenario->file_sizes[m->plan.file];
    return size > skip ? size - skip : 0;
}

/* Whether the mapping's page `page` lies wholly past the file's end. */
static bool page_past_end(const run *r, const mapping *m, size_t page) {
    return page * PAGE_SIZE >= file_end_in(r, m);
}

static bool private_file_mapping(const mapping *m) {
    return m->plan.file != NO_FILE && m->plan.flags == VM_MAP_PRIVATE;
}

static bool shared_file_mapping(const mapping *m) {
    return m->plan.file != NO_FILE && m->plan.flags == VM_MAP_SHARED;
}

/* Fails unless the host still maps nothing where the test unmapped. */
static void expect_host_holes(const run *r, const mapping *m, size_t first,
                              size_t count) {
    size_t page;

    for (page = first; page < first + count && page < m->plan.pages; page++)
        if (m->prot[page] == UNMAPPED &&
            host_page_is_mapped(m->host + page * PAGE_SIZE))
            disagree(r, __FILE__, __LINE__,
                     "setup: the host has mapped something else into page "
                     "%zu of %s, which the test unmapped; the comparison "
                     "cannot go on",
                     page, name_of(r, m));
}

/* Forgets the pins of pages first..first+count-1, as they are unmapped. */
static void unpin(run *r, mapping *m, size_t first, size_t count) {
    size_t page;

    for (page = first; page < first + count; page++) {
        if (m->pinned[page])
            r->pinned--;
        m->pinned[page] = false;
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

static outlook foresee(const run *r, const mapping *m, size_t offset, size_t n,
                       bool write) {
    int need = write ? RW : VM_PROT_READ;
    outlook o = {n, false, false};
    size_t page;

    for (page = offset / PAGE_SIZE; page * PAGE_SIZE < offset + n; page++) {
        bool refused =
            m->prot[page] == UNMAPPED || (m->prot[page] & need) != need;
        bool past = !refused && page_past_end(r, m, page);

        if ((refused || past) && o.stop == n) {
            o.stop = page * PAGE_SIZE > offset ? page * PAGE_SIZE - offset : 0;
            o.at_the_end = past;
        }
        o.by_protection = o.by_protection || refused;
    }
    return o;
}

/* Pages the access would pin that are not pinned yet. */
static size_t new_pins(const mapping *m, size_t offset, size_t n, bool write) {
    size_t page, count = 0;

    if (m->plan.file != NO_FILE && (m->plan.flags == VM_MAP_SHARED || !write))
        return 0;
    for (page = offset / PAGE_SIZE; page * PAGE_SIZE < offset + n; page++)
        if (m->prot[page] != UNMAPPED && !m->pinned[page])
            count++;
    return count;
}

static void pin(run *r, mapping *m, size_t offset, size_t n, bool write) {
    size_t page;

    if (n == 0 || new_pins(m, offset, n, write) == 0)
        return;
    for (page = offset / PAGE_SIZE; page * PAGE_SIZE < offset + n; page++) {
        if (m->prot[page] != UNMAPPED && !m->pinned[page]) {
            m->pinned[page] = true;
            r->pinned++;
        }
    }
}

/* Picks where an access goes: [*offset, *offset + *n) inside the span. */
static void pick_access(run *r, const mapping *m, size_t *offset, size_t *n) {
    size_t span = span_of(m), end = file_end_in(r, m), start;

    switch (pick(r, 4)) {
    case 0: start = pick(r, span); break;
    case 1:
        start =
            pick(r, m->plan.pages) * PAGE_SIZE + PAGE_SIZE - 1 - pick(r, 64);
        break;
    case 2:
        start = end < span ? end + pick(r, 200) : pick(r, span);
        start = start >= 100 ? start - 100 : 0;
        break;
    default: start = pick(r, m->plan.pages) * PAGE_SIZE; break;
    }
    switch (pick(r, 3)) {
    case 0: *n = 1 + pick(r, 16); break;
    case 1: *n = 1 + pick(r, 600); break;
    default: *n = 1 + pick(r, MAX_ACCESS); break;
    }
    *offset = start < span ? start : span - 1;
    if (*n > span - *offset)
        *n = span - *offset;
}

/*
 * A write through a shared file mapping stays off the bytes past the
 * file's end in its last page: ends before them, or starts at the next
 * page. Returns false when nothing is left to write.
 */
static bool keep_off_the_tail(const run *r, const mapping *m, size_t *offset,
                              size_t *n) {
    size_t end = file_end_in(r, m);
    size_t tail_end = (end + PAGE_SIZE - 1) / PAGE_SIZE * PAGE_SIZE;
    size_t last = *offset + *n;

    if (!shared_file_mapping(m) || end % PAGE_SIZE == 0 || last <= end ||
        *offset >= tail_end)
        return true;
    if (*offset < end) {
        *n = end - *offset;
        return true;
    }
    if (last <= tail_end)
        return false;
    *n = last - tail_end;
    *offset = tail_end;
    return true;
}

/*
 * Checks one access's results on both sides against each other and the
 * host's against the model; a write refused here but partly done by the
 * host is finished here. Returns the bytes both sides now agree were
 * copied.
 */
static size_t settle_access(run *r, mapping *m, size_t offset, size_t n,
                            bool write, size_t ours, int our_errno, size_t host,
                            int host_signal, const unsigned char *bytes) {
    outlook o = foresee(r, m, offset, n, write);
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
        note(r, write ? WRITE_WHOLE : READ_WHOLE);
        if (!write && offset + n > file_end_in(r, m))
            note(r, READ_ZEROS_PAST_END);
        return n;
    }
    expect_agree(r, ours < n,
                 "the host refused this %s after %zu bytes (signal %d), ours "
                 "copied all %zu",
                 kind, host, host_signal, n);
    if (!o.by_protection) {
        expect_agree(r, ours == host && our_errno == EFAULT,
                     "the %s reaches a page wholly past the file's end: the "
                     "host copied %zu bytes before it (SIGBUS), so ours must "
                     "stop there with EFAULT, but it copied %zu (errno %s)",
                     kind, host, ours, errno_name(our_errno));
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
        size_t done =
            mmu_write_to_virtual_address(r->mmu, m->ours + offset + ours,
                                         pid_of(m), bytes + ours, host - ours);

        expect_agree(r, done == host - ours,
                     "writing here the %zu bytes the host wrote before its "
                     "fault, from offset %zu: ours wrote %zu (errno %s)",
                     host - ours, offset + ours, done, errno_name(errno));
    }
    note(r, write ? WRITE_REFUSED : READ_REFUSED);
    return write ? host : ours;
}

/* Reads [offset, offset + n) of `m` on both sides and compares. */
static void read_both(run *r, mapping *m, size_t offset, size_t n) {
    static unsigned char ours[MAX_ACCESS], host[MAX_ACCESS];
    size_t got, host_got, same, i;
    int our_errno, host_signal;

    memset(ours, 0xA5, n);
    memset(host, 0x5A, n);
    errno = 0;
    got = mmu_read_from_virtual_address(r->mmu, m->ours + offset, pid_of(m),
                                        ours, n);
    our_errno = errno;
    host_got = host_mapping_read(m->host + offset, host, n, &host_signal);
    same = settle_access(r, m, offset, n, false, got, our_errno, host_got,
                         host_signal, NULL);
    for (i = 0; i < same; i++)
        expect_agree(r, ours[i] == host[i],
                     "byte %zu of the read (offset %zu of the mapping, page "
                     "%zu): host 0x%02x, ours 0x%02x",
                     i, offset + i, (offset + i) / PAGE_SIZE, host[i], ours[i]);
    pin(r, m, offset, got > host_got ? got : host_got, false);
}

static void write_both(run *r, mapping *m, size_t offset, size_t n) {
    static unsigned char bytes[MAX_ACCESS];
    size_t got, host_got, done, i;
    int our_errno, host_signal;

    for (i = 0; i < n; i++)
        bytes[i] = (unsigned char)next_random(r);
    errno = 0;
    got = mmu_write_to_virtual_address(r->mmu, m->ours + offset, pid_of(m),
                                       bytes, n);
    our_errno = errno;
    host_got = host_mapping_write(m->host + offset, bytes, n, &host_signal);
    done = settle_access(r, m, offset, n, true, got, our_errno, host_got,
                         host_signal, bytes);
    if (done > 0 && private_file_mapping(m))
        note(r, WRITE_PRIVATE_COPY);
    pin(r, m, offset, done, true);
}

/*
 * A read or a write of a random range of `m`. A write through a shared
 * file mapping that would only touch the bytes past the file's end, or an
 * access that would pin more pages than the budget allows, does nothing.
 */
static void do_access(run *r, mapping *m, bool write) {
    size_t offset, n;

    pick_access(r, m, &offset, &n);
    if (write && !keep_off_the_tail(r, m, &offset, &n))
        return;
    if (r->pinned + new_pins(m, offset, n, write) > r->scenario->pinned_budget)
        return;
    set_doing(r, "%s of %zu bytes at offset %zu of %s",
              write ? "write" : "read", n, offset, name_of(r, m));
    expect_host_holes(r, m, offset / PAGE_SIZE, 3);
    if (write)
        write_both(r, m, offset, n);
    else
        read_both(r, m, offset, n);
}

/* Reads pages first..first+count-1 of `m` on both sides, within the budget. */
static void read_pages(run *r, mapping *m, size_t first, size_t count,
                       const char *why) {
    size_t page;

    expect_host_holes(r, m, first, count);
    for (page = first; page < first + count; page++) {
        if (r->pinned + new_pins(m, page * PAGE_SIZE, PAGE_SIZE, false) >
            r->scenario->pinned_budget)
            continue;
        set_doing(r, "%s: reading page %zu of %s", why, page, name_of(r, m));
        read_both(r, m, page * PAGE_SIZE, PAGE_SIZE);
    }
}

/* Reads every page of every mapping on both sides, within the budget. */
static void sweep(run *r, const char *why) {
    size_t i;

    for (i = 0; i < r->num_maps; i++)
        read_pages(r, &r->maps[i], 0, r->maps[i].plan.pages, why);
}

/*
 * Half the time, before pages are unmapped or mapped anew, reads them on
 * both sides: a wrong byte in a private page is seen before it goes.
 */
static void take_a_last_look(run *r, mapping *m, size_t first, size_t count) {
    if (pick(r, 2) == 0)
        read_pages(r, m, first, count, "before they go");
}

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

/* ------------------------------------------------------------------ */
/* Calls                                                               */
/* ------------------------------------------------------------------ */

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

/* Whether the model has a page of first..first+count-1 unmapped. */
static bool range_has_hole(const mapping *m, size_t first, size_t count) {
    size_t page;

    for (page = first; page < first + count; page++)
        if (m->prot[page] == UNMAPPED)
            return true;
    return false;
}

/* Picks 1 to `most` pages from a random page of the span. */
static void pick_pages(run *r, const mapping *m, size_t most, size_t *first,
                       size_t *count) {
    *first = pick(r, m->plan.pages);
    *count = 1 + pick(r, most);
    if (*count > m->plan.pages - *first)
        *count = m->plan.pages - *first;
}

/* The length for `count` pages: now and then not a whole number of them. */
static size_t pick_length(run *r, size_t count) {
    return count * PAGE_SIZE - (pick(r, 4) == 0 ? pick(r, PAGE_SIZE) : 0);
}

/*
 * After a successful msync of a shared file mapping, our file holds what
 * the pages hold: the host's file read through its page cache, which is
 * what the host's mappings hold.
 */
static void expect_file_synced(const run *r, const mapping *m, size_t first,
                               size_t count) {
    static unsigned char ours[PAGE_SIZE], host[PAGE_SIZE];
    int file = m->plan.file;
    size_t page, i, size = r->scenario->file_sizes[file];

    for (page = m->plan.first_page + first;
         page < m->plan.first_page + first + count; page++) {
        size_t n = page * PAGE_SIZE >= size ? 0
                   : size - page * PAGE_SIZE < PAGE_SIZE
                       ? size - page * PAGE_SIZE
                       : PAGE_SIZE;
        off_t at = (off_t)(page * PAGE_SIZE);

        if (n == 0)
            continue;
        if (pread(r->our_fds[file], ours, n, at) != (ssize_t)n ||
            pread(r->host_fds[file], host, n, at) != (ssize_t)n)
            setup_failed("pread of a file after msync");
        for (i = 0; i < n; i++)
            expect_agree(r, ours[i] == host[i],
                         "after msync, byte %zu of file %c (page %zu): the "
                         "host's pages hold 0x%02x, our file 0x%02x",
                         page * PAGE_SIZE + i, 'A' + file, page, host[i],
                         ours[i]);
    }
}

static void do_msync(run *r, mapping *m) {
    static const int kinds[] = {VM_MS_SYNC, VM_MS_ASYNC, 0};
    size_t first, count, length;
    int flags, ours, our_errno, host;

    pick_pages(r, m, 3, &first, &count);
    length = pick_length(r, count);
    flags = kinds[pick(r, 3)] | (pick(r, 3) == 0 ? VM_MS_INVALIDATE : 0);
    set_doing(r, "msync of %zu bytes from page %zu of %s, flags 0x%x", length,
              first, name_of(r, m), (unsigned)flags);
    expect_host_holes(r, m, first, count);
    errno = 0;
    ours =
        vm_msync(r->mmu, pid_of(m), m->ours + first * PAGE_SIZE, length, flags);
    our_errno = errno;
    host = host_mapping_sync(m->host + first * PAGE_SIZE, length, flags);
    expect_same_result(r, "msync", ours, our_errno, host, errno);
    expect_agree(r, (host != 0) == range_has_hole(m, first, count),
                 "the host's msync returned %d, where the test's model says "
                 "%s: a bug in the test",
                 host, range_has_hole(m, first, count) ? "a hole" : "none");
    if (host != 0) {
        note(r, MSYNC_OF_A_HOLE);
        return;
    }
    note(r, flags & VM_MS_INVALIDATE ? MSYNC_INVALIDATE : MSYNC_DONE);
    if (shared_file_mapping(m))
        expect_file_synced(r, m, first, count);
}

static const int protections[] = {VM_PROT_NONE, VM_PROT_READ, RW, RW, RW};
#define NUM_PROTECTIONS (sizeof protections / sizeof protections[0])

static void do_mprotect(run *r, mapping *m) {
    size_t first, count, length, page;
    int prot = protections[pick(r, NUM_PROTECTIONS)], ours, our_errno, host;

    pick_pages(r, m, 3, &first, &count);
    length = pick_length(r, count);
    set_doing(r, "mprotect of %zu bytes from page %zu of %s to %d", length,
              first, name_of(r, m), prot);
    expect_host_holes(r, m, first, count);
    errno = 0;
    ours = vm_mprotect(r->mmu, pid_of(m), m->ours + first * PAGE_SIZE, length,
                       prot);
    our_errno = errno;
    host = host_mapping_protect(m->host + first * PAGE_SIZE, length, prot);
    expect_same_result(r, "mprotect", ours, our_errno, host, errno);
    expect_agree(r, (host != 0) == range_has_hole(m, first, count),
                 "the host's mprotect returned %d, where the test's model "
                 "says %s: a bug in the test",
                 host, range_has_hole(m, first, count) ? "a hole" : "none");
    for (page = first; page < first + count; page++) {
        if (m->prot[page] == UNMAPPED)
            continue;
        if (host == 0)
            m->prot[page] = prot;
        else if (host_mapping_protect(m->host + page * PAGE_SIZE, PAGE_SIZE,
                                      m->prot[page]) != 0)
            setup_failed("mprotect on the host, setting a page back");
    }
    note(r, host == 0 ? MPROTECT_DONE : MPROTECT_OF_A_HOLE);
}

static void do_munmap(run *r, mapping *m) {
    size_t first, count, length, page;
    int ours, our_errno, host;

    pick_pages(r, m, 2, &first, &count);
    length = pick_length(r, count);
    take_a_last_look(r, m, first, count);
    set_doing(r, "munmap of %zu bytes from page %zu of %s", length, first,
              name_of(r, m));
    expect_host_holes(r, m, first, count);
    errno = 0;
    ours = vm_munmap(r->mmu, pid_of(m), m->ours + first * PAGE_SIZE, length);
    our_errno = errno;
    host = host_mapping_unmap(m->host + first * PAGE_SIZE, length);
    expect_same_result(r, "munmap", ours, our_errno, host, errno);
    expect_agree(r, host == 0, "the host's munmap failed: a bug in the test");
    unpin(r, m, first, count);
    for (page = first; page < first + count; page++)
        m->prot[page] = UNMAPPED;
    note(r, MUNMAP_DONE);
}

/* Maps pages first..first+count-1 of `m` again, over what is there. */
static void do_remap(run *r, mapping *m) {
    size_t first, count, length, page;
    int prot = protections[pick(r, NUM_PROTECTIONS)], file = m->plan.file;
    int flags =
        m->plan.flags | VM_MAP_FIXED | (file == NO_FILE ? VM_MAP_ANONYMOUS : 0);
    off_t offset;
    addr32 ours, want_ours;
    unsigned char *host, *want_host;

    int our_fd, host_fd;

    pick_pages(r, m, 3, &first, &count);
    length = pick_length(r, count);
    offset =
        file == NO_FILE ? 0 : (off_t)((m->plan.first_page + first) * PAGE_SIZE);
    want_ours = m->ours + (addr32)(first * PAGE_SIZE);
    want_host = m->host + first * PAGE_SIZE;
    take_a_last_look(r, m, first, count);
    set_doing(r,
              "mmap with VM_MAP_FIXED of %zu bytes at page %zu of %s, "
              "prot %d",
              length, first, name_of(r, m), prot);
    expect_host_holes(r, m, first, count);
    open_descriptors(r, file, &our_fd, &host_fd);
    errno = 0;
    ours = vm_mmap(r->mmu, pid_of(m), want_ours, length, prot, flags, our_fd,
                   offset);
    expect_agree(r, ours == want_ours,
                 "ours returned 0x%x (errno %s), where it should map at 0x%x",
                 ours, errno_name(errno), want_ours);
    host = host_mapping_map(want_host, length, prot, flags, host_fd, offset);
    if (host != want_host)
        setup_failed("mmap with MAP_FIXED on the host");
    close_descriptors(our_fd, host_fd);
    unpin(r, m, first, count);
    for (page = first; page < first + count; page++)
        m->prot[page] = prot;
    note(r, REMAP_DONE);
}

/* A call that its arguments make fail (or, with length 0, do nothing). */
static void do_refused_call(run *r, mapping *m) {
    size_t first = pick(r, m->plan.pages), kind = pick(r, 9);
    size_t pid = pid_of(m), skew = 1 + pick(r, PAGE_SIZE - 1);
    addr32 ours = m->ours + (addr32)(first * PAGE_SIZE);
    unsigned char *host = m->host + first * PAGE_SIZE;
    const char *call = "munmap";
    int got, our_errno, host_got;

    set_doing(r, "refused call %zu at page %zu of %s (skew %zu)", kind, first,
              name_of(r, m), skew);
    errno = 0;
    switch (kind) {
    case 0: got = vm_munmap(r->mmu, pid, ours + skew, PAGE_SIZE); break;
    case 1: got = vm_munmap(r->mmu, pid, ours, 0); break;
    case 2: got = vm_mprotect(r->mmu, pid, ours + skew, PAGE_SIZE, RW); break;
    case 3: got = vm_mprotect(r->mmu, pid, ours, 0, VM_PROT_NONE); break;
    case 4: got = vm_mprotect(r->mmu, pid, ours, PAGE_SIZE, 0x10); break;
    case 5:
        got = vm_msync(r->mmu, pid, ours + skew, PAGE_SIZE, VM_MS_SYNC);
        break;
    case 6:
        got = vm_msync(r->mmu, pid, ours, PAGE_SIZE, VM_MS_SYNC | VM_MS_ASYNC);
        break;
    case 7: got = vm_msync(r->mmu, pid, ours, PAGE_SIZE, 0x8); break;
    default: got = vm_msync(r->mmu, pid, ours, 0, VM_MS_INVALIDATE); break;
    }
    our_errno = errno;
    errno = 0;
    switch (kind) {
    case 0: host_got = host_mapping_unmap(host + skew, PAGE_SIZE); break;
    case 1: host_got = host_mapping_unmap(host, 0); break;
    case 2: host_got = host_mapping_protect(host + skew, PAGE_SIZE, RW); break;
    case 3: host_got = host_mapping_protect(host, 0, VM_PROT_NONE); break;
    case 4: host_got = host_mapping_protect(host, PAGE_SIZE, 0x10); break;
    case 5:
        host_got = host_mapping_sync(host + skew, PAGE_SIZE, VM_MS_SYNC);
        break;
    case 6:
        host_got = host_mapping_sync(host, PAGE_SIZE, VM_MS_SYNC | VM_MS_ASYNC);
        break;
    case 7: host_got = host_mapping_sync(host, PAGE_SIZE, 0x8); break;
    default: host_got = host_mapping_sync(host, 0, VM_MS_INVALIDATE); break;
    }
    call = kind < 2 ? "munmap" : kind < 5 ? "mprotect" : "msync";
    expect_same_result(r, call, got, our_errno, host_got, errno);
    expect_agree(r,
                 host_got == (kind == 3 || kind == 8 ? 0 : -1) &&
                     (host_got == 0 || errno == EINVAL),
                 "the host's %s returned %d: a bug in the test", call,
                 host_got);
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

static void map_both(run *r, mapping *m) {
    const mapping_plan *p = &m->plan;
    size_t length = span_of(m) - p->short_by, page;
    int flags = p->flags | (p->file == NO_FILE ? VM_MAP_ANONYMOUS : 0);
    off_t offset = (off_t)(p->first_page * PAGE_SIZE);
    int our_fd, host_fd;

    set_doing(r, "setup: mmap of %s, %zu bytes", name_of(r, m), length);
    open_descriptors(r, p->file, &our_fd, &host_fd);
    errno = 0;
    m->ours =
        vm_mmap(r->mmu, pid_of(m), 0, length, p->prot, flags, our_fd, offset);
    expect_agree(r, m->ours != VM_MAP_FAILED && m->ours % PAGE_SIZE == 0,
                 "vm_mmap returned 0x%x (errno %s)", m->ours,
                 errno_name(errno));
    m->host = host_mapping_map(NULL, length, p->prot, flags, host_fd, offset);
    if (!m->host)
        setup_failed("mmap on the host");
    close_descriptors(our_fd, host_fd);
    for (page = 0; page < p->pages; page++) {
        m->prot[page] = p->prot;
        m->pinned[page] = false;
    }
}

static void set_up(run *r) {
    size_t i;

    make_files(r);
    r->mmu = mmu_create();
    expect_not_null(r->mmu, "mmu_create()");
    for (i = 0; i < r->scenario->num_processes; i++)
        expect_int(mmu_add_process(r->mmu, process_pids[i]), 0,
                   describe("mmu_add_process(m, %zu)", process_pids[i]));
    r->num_maps = r->scenario->num_plans;
    for (i = 0; i < r->num_maps; i++) {
        r->maps[i].plan = r->scenario->plans[i];
        map_both(r, &r->maps[i]);
    }
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

/* One operation; an access that would break the budget is left out. */
static void operate(run *r) {
    mapping *m = &r->maps[pick(r, r->num_maps)];

    switch (pick_operation(r)) {
    case OP_READ: do_access(r, m, false); break;
    case OP_WRITE: do_access(r, m, true); break;
    case OP_MSYNC: do_msync(r, m); break;
    case OP_MPROTECT: do_mprotect(r, m); break;
    case OP_MUNMAP: do_munmap(r, m); break;
    case OP_REMAP: do_remap(r, m); break;
    case OP_REFUSED_CALL: do_refused_call(r, m); break;
    }
    if (kernel_frames_free() == 0)
        note(r, POOL_FULL);
}

/*
 * Unmaps everything: some mappings with vm_munmap, the rest by removing
 * their processes; the host's with munmap.
 */
static void tear_down(run *r) {
    size_t i, f;

    for (i = 0; i < r->num_maps; i++) {
        mapping *m = &r->maps[i];

        expect_host_holes(r, m, 0, m->plan.pages);
        if ((i + r->seed) % 2 == 0) {
            set_doing(r, "teardown: vm_munmap of all of %s", name_of(r, m));
            expect_agree(r,
                         vm_munmap(r->mmu, pid_of(m), m->ours, span_of(m)) == 0,
                         "vm_munmap of the whole mapping failed (errno %s)",
                         errno_name(errno));
        }
        if (host_mapping_unmap(m->host, span_of(m)) != 0)
            setup_failed("munmap on the host");
    }
    set_doing(r, "teardown: removing every process");
    for (i = 0; i < r->scenario->num_processes; i++)
        expect_agree(r, mmu_remove_process(r->mmu, process_pids[i]) == 0,
                     "mmu_remove_process(%zu) failed (errno %s)",
                     process_pids[i], errno_name(errno));
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

static const test_case vm_kernel_tests[] = {
    TEST(vm_agrees_with_the_kernel_on_random_operations),
    TEST(vm_agrees_with_the_kernel_in_a_pool_of_16_frames),
};

const test_suite vm_kernel_suite = {"vm_kernel", vm_kernel_tests,
                                    sizeof vm_kernel_tests /
                                        sizeof vm_kernel_tests[0]};
