/*
 * tests/vm_fork_kernel_tests.c: vm_fork against the host's fork(2). One
 * random sequence of operations runs on a small family of processes
 * twice: through vm.h, in processes of one simulated MMU made by vm_fork
 * and ended by mmu_remove_process, and in real host processes made by the
 * host's fork from their twin's parent, each a server that does what the
 * test sends it through a pipe (tests/host_family.c, with
 * tests/host_mappings.c's calls). Every read must return the same bytes,
 * every access one side refuses the other must refuse (our EFAULT or
 * EACCES is the host's SIGSEGV, our ENXIO its SIGBUS), every call must
 * return the same value and errno, and at the end, once every process on
 * both sides has ended, the files must hold the same bytes.
 *
 * Each side maps its own copies of two files, A (4 pages) and B (2 pages
 * and 1234 bytes). Every process's mappings lie in a range of 12 pages,
 * at MMAP_REGION_START in ours and at one host address in every host
 * process (a fork keeps its parent's), so that one offset means the same
 * everywhere. The root process starts with A shared, private anonymous
 * memory, B private (its last page holding the file's end) and a page of
 * shared anonymous memory, with gaps between. From a fixed seed
 * (splitmix64) the generator then picks, by weight out of 100, for a
 * random live process:
 *   28 read: 1-16, up to 600 or up to 8192 bytes, anywhere in the range,
 *      just before a page's end or at B's end: across pages, mappings and
 *      gaps, into pages wholly past a file's end;
 *   24 write: the same, of random bytes, kept off the bytes past B's end
 *      in a page of a shared mapping (they are not the file's, and the
 *      host zeroes them whenever it writes the page back);
 *   10 mmap: VM_MAP_FIXED over 1-3 pages, A or B (from a random page, up
 *      to one past its end) or anonymous memory, shared or private, with
 *      a random protection, the length sometimes short of whole pages;
 *    5 munmap, 10 mprotect (NONE, READ, READ|WRITE), 8 msync (VM_MS_SYNC,
 *      VM_MS_ASYNC or neither, a third of the time with
 *      VM_MS_INVALIDATE): 1-3 pages, gaps included;
 *    9 fork of a random live process, up to 4 live;
 *    6 exit of a random process other than the root.
 * Every 25 operations, and at the end, every page of every live process
 * is read on both sides.
 *
 * What may differ, as vm.h says, and how the test allows for it: an
 * access that breaks a protection anywhere is refused whole here, where
 * the host copies up to the page that faults, so a refused write is
 * repaired by writing on our side what the host wrote; a failed mprotect
 * changes nothing here, where the host may have changed the pages before
 * the hole, so the test sets those back on the host. The test keeps a model of every page
 * (its protection, what it maps) to generate and to know which case
 * applies, and checks the host against it, so a wrong model fails rather
 * than hides a difference.
 *
 * Every host process must have exited with status 0 at the end (so
 * valgrind's error status in one fails the test), none left.
 *
 * Six seeds of 150 operations run in the default pool, and six again in
 * a pool of 16 frames (in a grandchild: the pool's size is fixed at its
 * first use), where anonymous pages and private copies go to swap and
 * come back. There a fork is left out (on both sides) when it would leave
 * more than PINNED_IN_16_FRAMES frames the pool cannot take (each
 * process's directory and table); with more, the pool could be all
 * pinned, and an access would then fail with ENOMEM where the host, with
 * memory to spare, serves it. That is the pool's size, not a difference of behaviour, and
 * the test would otherwise report it as one. The test fails if its seeds
 * never reached some outcome (a fork of a forked process, four processes
 * at once, a refused write, a copy on write, swap...). A failure
 * names the pool, the seed, the operation's index and what it was;
 * VM_FORK_KERNEL_TRACE=1 in the environment prints every operation.
 */
#include "helpers.h"
#include "host_family.h"
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
#define REGION_PAGES 12
#define REGION_BYTES (REGION_PAGES * PAGE_SIZE)
#define MAX_LIVE HOST_FAMILY_SLOTS
#define MAX_ACCESS HOST_FAMILY_MAX_ACCESS
#define OPERATIONS 150
#define SWEEP_EVERY 25
#define UNMAPPED (-1) /* a page's protection when nothing maps it */
/*
 * Our frames that may be pinned in a pool of 16 (tables, shared anonymous
 * pages several processes map): the rest serve an access of three pages
 * and the copies a write makes.
 */
#define PINNED_IN_16_FRAMES 11

static const size_t file_sizes[NUM_FILES] = {4 * PAGE_SIZE,
                                             2 * PAGE_SIZE + 1234};

/* What the test knows of one page of a process's range. */
typedef struct {
    int prot; /* UNMAPPED when nothing maps it */
    int file; /* 0 (A), 1 (B), or NO_FILE: anonymous */
    int flags;
    size_t file_page;
    unsigned made; /* which mmap made it: one number per call */
} page_state;

/* A process: slot i of the run is slot i of the host family. */
typedef struct {
    bool live;
    size_t pid; /* ours */
    page_state page[REGION_PAGES];
} member;

/* What the generator has made happen, over the seeds of a test. */
enum outcome {
    READ_WHOLE,
    READ_REFUSED,
    READ_STOPPED_AT_END,
    WRITE_WHOLE,
    WRITE_REFUSED,
    WRITE_STOPPED_AT_END,
    MAP_DONE,
    MSYNC_OF_A_HOLE,
    MPROTECT_OF_A_HOLE,
    FORK_DONE,
    FORK_OF_A_CHILD,
    EXIT_DONE,
    FOUR_LIVE,
    NUM_OUTCOMES
};

static const char *const outcome_names[NUM_OUTCOMES] = {
    "a whole read",
    "a refused read",
    "a read stopped at the end of a file",
    "a whole write",
    "a refused write",
    "a write stopped at the end of a file",
    "an mmap",
    "an msync of a range with a hole",
    "an mprotect of a range with a hole",
    "a fork",
    "a fork of a forked process",
    "an exit",
    "four processes live at once",
};

typedef struct {
    size_t count[NUM_OUTCOMES];
    size_t swap_outs, swap_ins, forks_refused, forks_over_budget;
    size_t cow_faults, writes_in_place; /* private pages after a fork */
} coverage;

typedef struct {
    const char *pool;
    unsigned seed;
    uint64_t random;
    size_t op;
    char doing[256];
    bool trace;
    coverage *coverage;
    mmu *mmu;
    host_family family;
    member members[MAX_LIVE];
    size_t pinned_budget; /* our frames that cannot be evicted, at most */
    unsigned calls;       /* mmaps made so far: page_state.made */
    int host_fds[NUM_FILES];
    char our_paths[NUM_FILES][PATH_MAX], host_paths[NUM_FILES][PATH_MAX];
} run;

static void disagree(const run *r, const char *file, int line,
                     const char *format, ...)
    __attribute__((noreturn, format(printf, 4, 5)));

/* Fails the test, naming the pool, the seed and the operation. */
static void disagree(const run *r, const char *file, int line,
                     const char *format, ...) {
    char what[MESSAGE_SIZE];
    va_list args;

    va_start(args, format);
    vsnprintf(what, sizeof what, format, args);
    va_end(args);
    fail(file, line, "%s, seed %u, operation %zu (%s): %s", r->pool, r->seed,
         r->op, r->doing, what);
}

#define expect_agree(r, condition, ...)                                        \
    do {                                                                       \
        if (!(condition))                                                      \
            disagree((r), __FILE__, __LINE__, __VA_ARGS__);                    \
    } while (0)

/* Fails unless every member still answers as the protocol says. */
static void expect_family_sound(const run *r) {
    expect_agree(r, !r->family.broken,
                 "a host process stopped answering (died or timed out)");
}

/* splitmix64 */
static uint64_t next_random(run *r) {
    return splitmix64(&r->random);
}

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
        fprintf(stderr, "[%s seed %u] %zu: %s\n", r->pool, r->seed, r->op,
                r->doing);
}

static void note(run *r, enum outcome outcome) {
    r->coverage->count[outcome]++;
}

static const char *kind_name(int file, int flags) {
    return describe("%s %s",
                    file == NO_FILE ? "anonymous"
                    : file          ? "B"
                                    : "A",
                    flags == VM_MAP_SHARED ? "shared" : "private");
}

/* "slot 1 (pid 2), offset 0x2010 (A shared, file page 2, prot 3)" */
static const char *where(const run *r, int slot, size_t offset) {
    const member *m = &r->members[slot];
    const page_state *p = &m->page[offset / PAGE_SIZE];

    if (offset >= REGION_BYTES || p->prot == UNMAPPED)
        return describe("slot %d (pid %zu), offset 0x%zx (nothing mapped)",
                        slot, m->pid, offset);
    return describe(
        "slot %d (pid %zu), offset 0x%zx (%s%s, prot %d)", slot, m->pid, offset,
        kind_name(p->file, p->flags),
        p->file == NO_FILE ? "" : describe(", file page %zu", p->file_page),
        p->prot);
}

/* Bytes of the file from the page's start: SIZE_MAX if no file. */
static size_t file_end_from(const page_state *p) {
    size_t skip = p->file_page * PAGE_SIZE;

    if (p->prot == UNMAPPED || p->file == NO_FILE)
        return SIZE_MAX;
    return file_sizes[p->file] > skip ? file_sizes[p->file] - skip : 0;
}

static size_t live_count(const run *r) {
    size_t i, n = 0;

    for (i = 0; i < MAX_LIVE; i++)
        n += r->members[i].live;
    return n;
}

/* A random live slot, other than the root's with `not_root`; -1: none. */
static int pick_live(run *r, bool not_root) {
    int slots[MAX_LIVE], n = 0, i;

    for (i = not_root ? 1 : 0; i < MAX_LIVE; i++)
        if (r->members[i].live)
            slots[n++] = i;
    return n ? slots[pick(r, (size_t)n)] : -1;
}

static addr32 ours_at(size_t offset) {
    return MMAP_REGION_START + (addr32)offset;
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

static outlook foresee(const member *m, size_t offset, size_t n, bool write) {
    int need = write ? VM_PROT_READ | VM_PROT_WRITE : VM_PROT_READ;
    outlook o = {n, false, false};
    size_t page;

    for (page = offset / PAGE_SIZE; page * PAGE_SIZE < offset + n; page++) {
        int prot = m->page[page].prot;
        bool refused = prot == UNMAPPED || (prot & need) != need;
        bool past = !refused && file_end_from(&m->page[page]) == 0;

        if ((refused || past) && o.stop == n) {
            o.stop = page * PAGE_SIZE > offset ? page * PAGE_SIZE - offset : 0;
            o.at_the_end = past;
        }
        o.by_protection = o.by_protection || refused;
    }
    return o;
}

/*
 * Writes on our side the bytes the host wrote before its fault, where ours
 * refused the write whole.
 */
static void repair_write(const run *r, const member *m, size_t offset,
                         const unsigned char *bytes, size_t n) {
    size_t done =
        mmu_write_to_virtual_address(r->mmu, ours_at(offset), m->pid, bytes, n);

    expect_agree(r, done == n,
                 "writing here the %zu bytes the host wrote before its "
                 "fault: ours wrote %zu (errno %s)",
                 n, done, errno_name(errno));
}

/*
 * Checks both sides' outcome of an access against the model and each
 * other; returns how many bytes both sides now agree on (for a refused
 * write, what the host wrote, ours then repaired to match).
 */
static size_t settle_access(run *r, int slot, size_t offset, size_t n,
                            bool write, size_t ours, int our_errno, size_t host,
                            int host_signal, const unsigned char *bytes) {
    const member *m = &r->members[slot];
    outlook o = foresee(m, offset, n, write);
    int want_signal = o.stop == n ? 0 : o.at_the_end ? SIGBUS : SIGSEGV;
    const char *kind = write ? "write" : "read";

    if (r->trace)
        fprintf(stderr,
                "    ours: %zu bytes (errno %s); host: %zu (signal %d)\n", ours,
                errno_name(our_errno), host, host_signal);
    expect_agree(r, host == o.stop && host_signal == want_signal,
                 "the host's %s copied %zu bytes with signal %d, where the "
                 "test's model says %zu bytes with signal %d: a bug in the "
                 "test",
                 kind, host, host_signal, o.stop, want_signal);
    if (host == n) {
        expect_agree(r, ours == n,
                     "the host's %s copied all %zu bytes, ours %zu (errno %s)",
                     kind, n, ours, errno_name(our_errno));
        note(r, write ? WRITE_WHOLE : READ_WHOLE);
        return n;
    }
    if (!o.by_protection) {
        expect_agree(r, ours == host && our_errno == ENXIO,
                     "the %s reaches a page wholly past the file's end: the "
                     "host copied %zu bytes before its SIGBUS, ours %zu "
                     "(errno %s, ENXIO expected)",
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
    if (write && ours < host)
        repair_write(r, m, offset + ours, bytes + ours, host - ours);
    note(r, write ? WRITE_REFUSED : READ_REFUSED);
    return write ? host : ours;
}

static void read_both(run *r, int slot, size_t offset, size_t n) {
    static unsigned char ours[MAX_ACCESS], host[MAX_ACCESS];
    size_t got, host_got, same, i;
    int our_errno, host_signal;

    memset(ours, 0xA5, n);
    memset(host, 0x5A, n);
    errno = 0;
    got = mmu_read_from_virtual_address(r->mmu, ours_at(offset),
                                        r->members[slot].pid, ours, n);
    our_errno = errno;
    host_got =
        host_family_read(&r->family, slot, offset, host, n, &host_signal);
    expect_family_sound(r);
    same = settle_access(r, slot, offset, n, false, got, our_errno, host_got,
                         host_signal, NULL);
    for (i = 0; i < same; i++)
        expect_agree(r, ours[i] == host[i],
                     "byte %zu of the read, at %s: host 0x%02x, ours 0x%02x", i,
                     where(r, slot, offset + i), host[i], ours[i]);
}

static void write_both(run *r, int slot, size_t offset, size_t n) {
    static unsigned char bytes[MAX_ACCESS];
    size_t got, host_got, i;
    int our_errno, host_signal;

    for (i = 0; i < n; i++)
        bytes[i] = (unsigned char)next_random(r);
    errno = 0;
    got = mmu_write_to_virtual_address(r->mmu, ours_at(offset),
                                       r->members[slot].pid, bytes, n);
    our_errno = errno;
    host_got =
        host_family_write(&r->family, slot, offset, bytes, n, &host_signal);
    expect_family_sound(r);
    settle_access(r, slot, offset, n, true, got, our_errno, host_got,
                  host_signal, bytes);
}

/* An access's start and length, inside the range. */
static void pick_access(run *r, size_t *offset, size_t *n) {
    size_t page = pick(r, REGION_PAGES), most;

    switch (pick(r, 4)) {
    case 0: *offset = page * PAGE_SIZE + pick(r, PAGE_SIZE); break;
    case 1: *offset = page * PAGE_SIZE + PAGE_SIZE - 1 - pick(r, 16); break;
    case 2: *offset = page * PAGE_SIZE; break;
    default: /* around where B ends inside its page */
        *offset = page * PAGE_SIZE + 1234 - pick(r, 8);
        break;
    }
    most = (size_t[]){16, 600, MAX_ACCESS}[pick(r, 3)];
    *n = 1 + pick(r, most);
    if (*offset + *n > REGION_BYTES)
        *n = REGION_BYTES - *offset;
}

/*
 * Cuts a write short of the bytes past B's end in a page of a shared
 * mapping; false if nothing is left of it.
 */
static bool keep_off_the_tails(const member *m, size_t offset, size_t *n) {
    size_t page;

    for (page = offset / PAGE_SIZE; page * PAGE_SIZE < offset + *n; page++) {
        const page_state *p = &m->page[page];
        size_t end = file_end_from(p), tail = page * PAGE_SIZE + end;

        if (p->prot == UNMAPPED || p->flags != VM_MAP_SHARED || end == 0 ||
            end >= PAGE_SIZE)
            continue;
        if (tail <= offset)
            return false;
        if (offset + *n > tail)
            *n = tail - offset;
    }
    return true;
}

static void do_access(run *r, bool write) {
    int slot = pick_live(r, false);
    size_t offset, n;

    pick_access(r, &offset, &n);
    if (write && !keep_off_the_tails(&r->members[slot], offset, &n))
        return;
    set_doing(r, "%s of %zu bytes at %s", write ? "write" : "read", n,
              where(r, slot, offset));
    if (write)
        write_both(r, slot, offset, n);
    else
        read_both(r, slot, offset, n);
}

/* Reads every page of every live process on both sides. */
static void sweep(run *r, const char *why) {
    size_t page;
    int slot;

    for (slot = 0; slot < MAX_LIVE; slot++)
        for (page = 0; r->members[slot].live && page < REGION_PAGES; page++) {
            set_doing(r, "%s: reading %s", why,
                      where(r, slot, page * PAGE_SIZE));
            read_both(r, slot, page * PAGE_SIZE, PAGE_SIZE);
        }
}

/* ------------------------------------------------------------------ */
/* Calls                                                               */
/* ------------------------------------------------------------------ */

/* Checks that both sides returned the same, and the same errno. */
static void expect_same_result(const run *r, const char *call, int ours,
                               int our_errno, int host, int host_errno) {
    expect_family_sound(r);
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

/* Pages first..first+count-1 of `m` now map what one call mapped. */
static void replace_pages(run *r, member *m, size_t first, size_t count,
                          int prot, int file, int flags, size_t file_page) {
    size_t page;

    r->calls++;
    for (page = first; page < first + count; page++) {
        m->page[page].made = r->calls;
        m->page[page].prot = prot;
        m->page[page].file = file;
        m->page[page].flags = flags;
        m->page[page].file_page = file_page + (page - first);
    }
}

/* A range of 1-3 whole pages in the region, its length maybe cut short. */
static void pick_range(run *r, size_t *first, size_t *count, size_t *length) {
    *first = pick(r, REGION_PAGES);
    *count = 1 + pick(r, 3);
    if (*first + *count > REGION_PAGES)
        *count = REGION_PAGES - *first;
    *length = *count * PAGE_SIZE - (pick(r, 3) == 0 ? 1 + pick(r, 4000) : 0);
}

static bool range_has_hole(const member *m, size_t first, size_t count) {
    size_t page;

    for (page = first; page < first + count; page++)
        if (m->page[page].prot == UNMAPPED)
            return true;
    return false;
}

static const int protections[] = {VM_PROT_NONE, VM_PROT_READ, RW, RW};

/* Maps a random kind, at the same offset in one process on both sides. */
static void map_both(run *r, int slot, size_t first, size_t count,
                     size_t length, int prot, int file, int flags,
                     size_t file_page) {
    member *m = &r->members[slot];
    int map_flags =
        flags | VM_MAP_FIXED | (file == NO_FILE ? VM_MAP_ANONYMOUS : 0);
    int our_fd = file == NO_FILE ? -1 : open_file(r->our_paths[file], O_RDWR);
    off_t offset = (off_t)(file_page * PAGE_SIZE);
    addr32 ours;
    int our_errno, host, host_errno;

    set_doing(r, "mmap of %zu bytes of %s from file page %zu, prot %d, at %s",
              length, kind_name(file, flags), file_page, prot,
              where(r, slot, first * PAGE_SIZE));
    errno = 0;
    ours = vm_mmap(r->mmu, m->pid, ours_at(first * PAGE_SIZE), length, prot,
                   map_flags, our_fd, offset);
    our_errno = errno;
    if (our_fd >= 0)
        close(our_fd);
    host = host_family_map(&r->family, slot, first * PAGE_SIZE, length, prot,
                           flags | (file == NO_FILE ? VM_MAP_ANONYMOUS : 0),
                           file == NO_FILE ? -1 : r->host_fds[file], offset);
    host_errno = errno;
    expect_agree(r, ours == VM_MAP_FAILED || ours == ours_at(first * PAGE_SIZE),
                 "vm_mmap with VM_MAP_FIXED returned 0x%x", ours);
    expect_same_result(r, "mmap", ours == VM_MAP_FAILED ? -1 : 0, our_errno,
                       host, host_errno);
    if (host == 0) {
        replace_pages(r, m, first, count, prot, file, flags, file_page);
        note(r, MAP_DONE);
    }
}

static void do_mmap(run *r) {
    int slot = pick_live(r, false);
    size_t first, count, length, kind = pick(r, 6);
    int file = kind < 2 ? 0 : kind < 4 ? 1 : NO_FILE;
    size_t file_page =
        file == NO_FILE ? 0 : pick(r, file_sizes[file] / PAGE_SIZE + 2);

    pick_range(r, &first, &count, &length);
    map_both(r, slot, first, count, length, protections[pick(r, 4)], file,
             kind % 2 ? VM_MAP_PRIVATE : VM_MAP_SHARED, file_page);
}

static void do_munmap(run *r) {
    int slot = pick_live(r, false), ours, our_errno, host;
    size_t first, count, length;

    pick_range(r, &first, &count, &length);
    set_doing(r, "munmap of %zu bytes at %s", length,
              where(r, slot, first * PAGE_SIZE));
    errno = 0;
    ours = vm_munmap(r->mmu, r->members[slot].pid, ours_at(first * PAGE_SIZE),
                     length);
    our_errno = errno;
    host = host_family_unmap(&r->family, slot, first * PAGE_SIZE, length);
    expect_same_result(r, "munmap", ours, our_errno, host, errno);
    if (host == 0)
        replace_pages(r, &r->members[slot], first, count, UNMAPPED, NO_FILE,
                      VM_MAP_PRIVATE, 0);
}

/*
 * A failed mprotect changes nothing here; the host may have changed the
 * pages before the hole, so they get back the protection they had.
 */
static void restore_host_protections(run *r, int slot, size_t first,
                                     size_t count) {
    const member *m = &r->members[slot];
    size_t page;

    for (page = first; page < first + count; page++)
        if (m->page[page].prot != UNMAPPED &&
            host_family_protect(&r->family, slot, page * PAGE_SIZE, PAGE_SIZE,
                                m->page[page].prot) != 0)
            disagree(r, __FILE__, __LINE__,
                     "setting the host's page %zu back to prot %d failed "
                     "(errno %s)",
                     page, m->page[page].prot, errno_name(errno));
}

static void do_mprotect(run *r) {
    int slot = pick_live(r, false), prot = protections[pick(r, 4)];
    int ours, our_errno, host;
    size_t first, count, length, page;
    member *m = &r->members[slot];

    pick_range(r, &first, &count, &length);
    set_doing(r, "mprotect of %zu bytes at %s to %d", length,
              where(r, slot, first * PAGE_SIZE), prot);
    errno = 0;
    ours =
        vm_mprotect(r->mmu, m->pid, ours_at(first * PAGE_SIZE), length, prot);
    our_errno = errno;
    host =
        host_family_protect(&r->family, slot, first * PAGE_SIZE, length, prot);
    expect_same_result(r, "mprotect", ours, our_errno, host, errno);
    if (host != 0) {
        restore_host_protections(r, slot, first, count);
        expect_family_sound(r);
        note(r, MPROTECT_OF_A_HOLE);
        return;
    }
    for (page = first; page < first + count; page++)
        m->page[page].prot = prot;
}

static void do_msync(run *r) {
    static const int kinds[] = {VM_MS_SYNC, VM_MS_ASYNC, 0};
    int slot = pick_live(r, false), ours, our_errno, host;
    int flags = kinds[pick(r, 3)] | (pick(r, 3) == 0 ? VM_MS_INVALIDATE : 0);
    size_t first, count, length;

    pick_range(r, &first, &count, &length);
    set_doing(r, "msync of %zu bytes at %s, flags %d", length,
              where(r, slot, first * PAGE_SIZE), flags);
    errno = 0;
    ours = vm_msync(r->mmu, r->members[slot].pid, ours_at(first * PAGE_SIZE),
                    length, flags);
    our_errno = errno;
    host = host_family_sync(&r->family, slot, first * PAGE_SIZE, length, flags);
    expect_same_result(r, "msync", ours, our_errno, host, errno);
    if (range_has_hole(&r->members[slot], first, count))
        note(r, MSYNC_OF_A_HOLE);
}

/* ------------------------------------------------------------------ */
/* Processes                                                           */
/* ------------------------------------------------------------------ */

/*
 * Our frames the pool cannot take, as the model sees them: each live
 * process's page directory and table (its range lies in one table).
 */
static size_t pinned_frames(const run *r) {
    size_t count = 0;

    for (int slot = 0; slot < MAX_LIVE; slot++)
        count += r->members[slot].live ? 2 : 0;
    return count;
}

/*
 * A fork of a random live process into a free slot. Ours may refuse with
 * ENOMEM in a small pool (no frame for the child's tables); the host's
 * fork is then not made either.
 */
static void do_fork(run *r) {
    int parent = pick_live(r, false), child = 0, ours;

    if (live_count(r) == MAX_LIVE)
        return;
    while (r->members[child].live)
        child++;
    r->members[child] = r->members[parent];
    if (pinned_frames(r) > r->pinned_budget) {
        r->members[child].live = false;
        r->coverage->forks_over_budget++;
        return;
    }
    r->members[child].live = false;
    set_doing(r, "fork of slot %d (pid %zu) into slot %d", parent,
              r->members[parent].pid, child);
    errno = 0;
    ours = vm_fork(r->mmu, r->members[parent].pid);
    if (ours < 0 && errno == ENOMEM) {
        r->coverage->forks_refused++;
        return;
    }
    expect_agree(r, ours >= 0, "vm_fork failed (errno %s)", errno_name(errno));
    expect_agree(r, host_family_fork(&r->family, parent, child) == 0,
                 "the host's fork failed (errno %s)", errno_name(errno));
    r->members[child] = r->members[parent];
    r->members[child].pid = (size_t)ours;
    if (r->trace)
        fprintf(stderr, "    %zu frames pinned, %zu free\n", pinned_frames(r),
                kernel_frames_free());
    note(r, FORK_DONE);
    if (parent != 0)
        note(r, FORK_OF_A_CHILD);
    if (live_count(r) == MAX_LIVE)
        note(r, FOUR_LIVE);
}

/* A process ends on both sides; ours drops its share of every page. */
static void end_member(run *r, int slot) {
    member *m = &r->members[slot];

    set_doing(r, "exit of slot %d (pid %zu)", slot, m->pid);
    expect_agree(r, mmu_remove_process(r->mmu, m->pid) == 0,
                 "mmu_remove_process(%zu) failed (errno %s)", m->pid,
                 errno_name(errno));
    expect_agree(r, host_family_exit(&r->family, slot) == 0,
                 "the host process did not exit (errno %s)", errno_name(errno));
    m->live = false;
}

static void do_exit(run *r) {
    int slot = pick_live(r, true);

    if (slot < 0)
        return;
    end_member(r, slot);
    note(r, EXIT_DONE);
}

static void operate(run *r) {
    size_t roll = pick(r, 100);

    if (roll < 28)
        do_access(r, false);
    else if (roll < 52)
        do_access(r, true);
    else if (roll < 62)
        do_mmap(r);
    else if (roll < 67)
        do_munmap(r);
    else if (roll < 77)
        do_mprotect(r);
    else if (roll < 85)
        do_msync(r);
    else if (roll < 94)
        do_fork(r);
    else
        do_exit(r);
}

/* ------------------------------------------------------------------ */
/* A run                                                               */
/* ------------------------------------------------------------------ */

/* Writes the same random bytes to our copy and the host's of each file. */
static void make_files(run *r) {
    static unsigned char bytes[4 * PAGE_SIZE];
    size_t f, i;

    for (f = 0; f < NUM_FILES; f++) {
        for (i = 0; i < file_sizes[f]; i++)
            bytes[i] = (unsigned char)next_random(r);
        write_new_file(describe("ours_%u_%c", r->seed, (int)('A' + f)), bytes,
                       file_sizes[f], r->our_paths[f]);
        write_new_file(describe("host_%u_%c", r->seed, (int)('A' + f)), bytes,
                       file_sizes[f], r->host_paths[f]);
        r->host_fds[f] = open_file(r->host_paths[f], O_RDWR);
    }
}

/*
 * A host range that nothing maps: mapped once to find it, then unmapped,
 * so the root process starts with nothing there.
 */
static unsigned char *free_host_range(void) {
    unsigned char *range =
        host_mapping_map(NULL, REGION_BYTES, VM_PROT_NONE,
                         VM_MAP_PRIVATE | VM_MAP_ANONYMOUS, -1, 0);

    if (!range || host_mapping_unmap(range, REGION_BYTES) != 0)
        setup_failed("a free range of host addresses");
    return range;
}

/* The root's first mappings: A shared, anonymous private, B private, ... */
static void set_up(run *r) {
    size_t page;

    make_files(r);
    r->mmu = mmu_create();
    expect_not_null(r->mmu, "mmu_create()");
    expect_int(mmu_add_process(r->mmu, 1), 0, "mmu_add_process(m, 1)");
    if (host_family_start(&r->family, free_host_range()) != 0)
        setup_failed("the first host process");
    r->members[0].live = true;
    r->members[0].pid = 1;
    for (page = 0; page < REGION_PAGES; page++)
        r->members[0].page[page].prot = UNMAPPED;
    map_both(r, 0, 0, 4, 4 * PAGE_SIZE, RW, 0, VM_MAP_SHARED, 0);
    map_both(r, 0, 5, 2, 2 * PAGE_SIZE, RW, NO_FILE, VM_MAP_PRIVATE, 0);
    map_both(r, 0, 8, 3, 3 * PAGE_SIZE - 100, RW, 1, VM_MAP_PRIVATE, 0);
    map_both(r, 0, 11, 1, PAGE_SIZE, RW, NO_FILE, VM_MAP_SHARED, 0);
}

/* Every process ends, children first; every host process must be gone. */
static void tear_down(run *r) {
    size_t f, left;
    int slot;

    for (slot = MAX_LIVE - 1; slot > 0; slot--)
        if (r->members[slot].live)
            end_member(r, slot);
    r->coverage->cow_faults += r->mmu->num_cow_faults;
    set_doing(r, "at the end: the root exits");
    expect_agree(r, mmu_remove_process(r->mmu, 1) == 0,
                 "mmu_remove_process(1) failed (errno %s)", errno_name(errno));
    left = host_family_end(&r->family);
    expect_family_sound(r);
    expect_agree(r, left == 0, "%zu of the %zu host processes made are left",
                 left, r->family.num_made);
    expect_agree(r, r->family.bad_exits == 0,
                 "%zu of the %zu host processes made did not exit with "
                 "status 0",
                 r->family.bad_exits, r->family.num_made);
    mmu_delete(r->mmu);
    r->mmu = NULL;
    expect_all_frames_free(describe("%s, seed %u, once every process is "
                                    "removed",
                                    r->pool, r->seed));
    for (f = 0; f < NUM_FILES; f++)
        close(r->host_fds[f]);
}

static void expect_same_files(run *r) {
    size_t f, our_size, host_size;
    unsigned char *ours, *host;

    set_doing(r, "at the end: comparing the files");
    for (f = 0; f < NUM_FILES; f++) {
        ours = load_file(r->our_paths[f], &our_size);
        host = load_file(r->host_paths[f], &host_size);
        expect_agree(r, our_size == host_size && host_size == file_sizes[f],
                     "file %c: the host's is %zu bytes, ours %zu, and both "
                     "should still be %zu",
                     (int)('A' + f), host_size, our_size, file_sizes[f]);
        expect_bytes(ours, host, host_size,
                     describe("%s, seed %u, at the end: our file %c against "
                              "the host's",
                              r->pool, r->seed, (int)('A' + f)));
        free(ours);
        free(host);
    }
}

static void run_seed(const char *pool, size_t pinned_budget, unsigned seed,
                     coverage *c) {
    run r;
    const char *trace = getenv("VM_FORK_KERNEL_TRACE");

    memset(&r, 0, sizeof r);
    r.pool = pool;
    r.seed = seed;
    r.random = seed;
    r.coverage = c;
    r.pinned_budget = pinned_budget;
    r.trace = trace && trace[0] && strcmp(trace, "0") != 0;
    trace_log_clear();
    trace_set_hook(record_event, NULL);
    set_up(&r);
    for (r.op = 0; r.op < OPERATIONS; r.op++) {
        operate(&r);
        if ((r.op + 1) % SWEEP_EVERY == 0)
            sweep(&r, "sweep");
    }
    sweep(&r, "at the end");
    tear_down(&r);
    trace_set_hook(NULL, NULL);
    c->swap_outs += trace_log.per_event[TRACE_SWAP_OUT];
    c->swap_ins += trace_log.per_event[TRACE_SWAP_IN];
    c->writes_in_place += trace_log.per_event[TRACE_WRITE_IN_PLACE];
    expect_same_files(&r);
}

/*
 * Runs `count` seeds from `first`, then fails unless they reached every
 * outcome (and swap, where `swaps`): a change to the generator must not
 * quietly take its reach away.
 */
static void run_seeds(const char *pool, size_t pinned_budget, unsigned first,
                      unsigned count, bool swaps) {
    coverage c;
    unsigned seed;
    size_t i;
    const char *trace = getenv("VM_FORK_KERNEL_TRACE");
    bool print = trace && trace[0] && strcmp(trace, "0") != 0;

    memset(&c, 0, sizeof c);
    for (seed = first; seed < first + count; seed++)
        run_seed(pool, pinned_budget, seed, &c);
    for (i = 0; print && i < NUM_OUTCOMES; i++)
        fprintf(stderr, "%s: %zu times %s\n", pool, c.count[i],
                outcome_names[i]);
    if (print)
        fprintf(stderr,
                "%s: %zu swap-outs, %zu swap-ins, %zu forks refused, %zu "
                "forks left out for the pool, %zu copies on write, %zu "
                "writes in place\n",
                pool, c.swap_outs, c.swap_ins, c.forks_refused,
                c.forks_over_budget, c.cow_faults, c.writes_in_place);
    for (i = 0; i < NUM_OUTCOMES; i++)
        if (c.count[i] == 0)
            fail(__FILE__, __LINE__,
                 "%s, seeds %u-%u: the generator never made %s", pool, first,
                 first + count - 1, outcome_names[i]);
    if (c.cow_faults == 0 || c.writes_in_place == 0)
        fail(__FILE__, __LINE__,
             "%s: %zu copies on write and %zu writes in place by the last "
             "sharer: both must happen",
             pool, c.cow_faults, c.writes_in_place);
    if (swaps && (c.swap_outs == 0 || c.swap_ins == 0))
        fail(__FILE__, __LINE__,
             "%s: %zu pages went to swap and %zu came back: both must "
             "happen",
             pool, c.swap_outs, c.swap_ins);
}

/* ------------------------------------------------------------------ */
/* The tests                                                           */
/* ------------------------------------------------------------------ */

static void test_vm_fork_agrees_with_the_host_fork_on_random_operations(void) {
    run_seeds("default pool", SIZE_MAX, 1, 6, false);
}

static void run_in_16_frames(const void *argument) {
    (void)argument;
    setenv("MMAP_FRAMES", "16", 1);
    expect_size(kernel_frames_total(), 16, "frames with MMAP_FRAMES=16");
    run_seeds("16 frames", PINNED_IN_16_FRAMES, 101, 6, true);
}

/* The pool is set up once per process: this one is the grandchild's. */
static void
test_vm_fork_agrees_with_the_host_fork_in_a_pool_of_16_frames(void) {
    grandchild result;

    run_in_grandchild(run_in_16_frames, NULL, false, &result);
    expect_grandchild_passed(&result, "the random operations with fork in a "
                                      "pool of 16 frames");
}

static const test_case vm_fork_kernel_tests[] = {
    TEST(vm_fork_agrees_with_the_host_fork_on_random_operations),
    TEST(vm_fork_agrees_with_the_host_fork_in_a_pool_of_16_frames),
};

const test_suite vm_fork_kernel_suite = {"vm_fork_kernel", vm_fork_kernel_tests,
                                         sizeof vm_fork_kernel_tests /
                                             sizeof vm_fork_kernel_tests[0]};
