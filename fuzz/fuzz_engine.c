/*
 * fuzz/fuzz_engine.c: the operations, the model they are checked against,
 * and the checks.
 *
 * The model keeps, for each file, the bytes its page cache holds (what
 * every shared mapping and every private page not yet copied reads); for
 * each shared anonymous mapping the pages written (an object, which
 * vm_fork's children map too); and for each process its areas, its
 * break, and the pages it owns (private copies, anonymous and heap pages
 * written), which vm_fork copies into the child. The disk is checked
 * where the library promises it: the pages a vm_msync, a vm_munmap, a
 * VM_MAP_FIXED over a shared mapping, an mmap_sync or a munmap wrote
 * back, and the whole file when its last mapping goes and at the end.
 * Bytes past the end of a file in its last page are not promised once a
 * shared mapping wrote there (eviction rereads them as zeros): the model
 * marks them unknown.
 */
#define _GNU_SOURCE

#include "fuzz_engine.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io_fault.h"
#include "kernel.h"
#include "mmap.h"
#include "mmu.h"
#include "vm.h"

#define FILES 3
#define MODES 4 /* O_RDONLY, O_RDWR, O_RDWR | O_APPEND, O_WRONLY */
#define FIXED_PROCESSES 3 /* made at the start, and made again when removed */
#define PROCESSES 6       /* and slots for the children of vm_fork */
#define HANDLES 2
#define BAD_FDS 5
#define REGION_LOW 0x40000000ull
#define REGION_HIGH 0xB0000000ull
#define SPACE_END (1ull << 32)
#define HEAP_START 0x10000000ull /* the break's lowest, segments.h */
#define HEAP_LIMIT REGION_LOW    /* and its highest */
/* errno before every call: a call that succeeds must leave it so. */
#define SENTINEL_ERRNO 12345
/* A pool this small may run out of frames for pinned pages: ENOMEM. */
#define SMALL_POOL 256

static const int mode_flags[MODES] = {O_RDONLY, O_RDWR, O_RDWR | O_APPEND,
                                      O_WRONLY};
static const char *const mode_names[MODES] = {"O_RDONLY", "O_RDWR",
                                              "O_RDWR|O_APPEND", "O_WRONLY"};
static const size_t file_sizes[] = {0,    1,     100,   4095,
                                    4096, 4097,  10000, 3 * 4096 + 1};

typedef struct {
    char path[PATH_MAX];
    size_t size, pages;
    unsigned char *cache; /* pages * PAGE_SIZE bytes: the page cache */
    unsigned char *known; /* per byte of cache: its value is promised */
    bool *pending;        /* per page: written back by the call just made */
    int fds[MODES];
    size_t references; /* before the operation */
} model_file;

/*
 * AREA_ANON is private anonymous memory (and the heap); AREA_ANON_SHARED
 * reads and writes the pages of a shared object, which vm_fork's child
 * maps too.
 */
enum area_kind { AREA_ANON, AREA_SHARED, AREA_PRIVATE, AREA_ANON_SHARED };

typedef struct {
    uint64_t start, end;
    int prot;
    enum area_kind kind;
    int file;   /* AREA_ANON_SHARED: the object's index */
    uint64_t first_page; /* in the file, or in the shared object */
    bool fd_writable;
} model_area;

typedef struct {
    uint64_t address; /* or, in a shared object, the offset */
    unsigned char data[PAGE_SIZE], known[PAGE_SIZE];
} model_page;

/* Pages written, any order; a page not there reads as before a write. */
typedef struct {
    model_page **pages;
    size_t count, capacity;
} page_list;

typedef struct {
    mmu *mmu;
    int mmu_index;
    size_t pid;
    bool exists;
    model_area *areas; /* sorted by start */
    size_t count, capacity;
    page_list own; /* private copies, anonymous and heap pages written */
    model_area heap; /* [HEAP_START, the break): anonymous, read-write */
} model_process;

typedef struct {
    mmap *map;
    int file;
    size_t length; /* the file's when mapped: what mmap_read clips at */
} model_handle;

struct fuzz_run {
    char label[64], dir[256];
    fuzz_options options;
    mmu *mmus[2];
    model_process procs[PROCESSES];
    model_file files[FILES];
    model_handle handles[HANDLES];
    page_list *objects; /* the pages of shared anonymous mappings */
    size_t object_count;
    int bad_fds[BAD_FDS];
    const char *bad_names[BAD_FDS];
    uint64_t number;
    char what[512];
    bool small_pool;
    bool read_fault; /* a read fault was armed when the operation began */
};

/* ------------------------------------------------------------------ */
/* Failures                                                            */
/* ------------------------------------------------------------------ */

/* The run's files and directory go, whether it passed or failed. */
static void remove_files(fuzz_run *run) {
    for (int i = 0; i < FILES; i++)
        unlink(run->files[i].path);
    rmdir(run->dir);
}

static void failure(fuzz_run *run, const char *format, ...) {
    va_list list;
    remove_files(run);
    fprintf(stderr, "FAIL %s op %llu: %s\n  ", run->label,
            (unsigned long long)run->number, run->what);
    va_start(list, format);
    vfprintf(stderr, format, list);
    va_end(list);
    fprintf(stderr, "\n");
    fflush(stderr);
    if (run->options.exit_on_failure)
        _exit(1);
    abort();
}

static void setup_failure(const char *what) {
    fprintf(stderr, "fuzz: setup: %s: %s\n", what, strerror(errno));
    exit(2);
}

static void describe(fuzz_run *run, const char *format, ...) {
    va_list list;
    va_start(list, format);
    vsnprintf(run->what, sizeof run->what, format, list);
    va_end(list);
    if (run->options.trace) {
        printf("op %llu: %s\n", (unsigned long long)run->number, run->what);
        fflush(stdout);
    }
}

static const char *name_of(int error) {
    switch (error) {
    case SENTINEL_ERRNO: return "unchanged";
    case 0: return "0";
    case EINVAL: return "EINVAL";
    case ENOMEM: return "ENOMEM";
    case EFAULT: return "EFAULT";
    case EACCES: return "EACCES";
    case ENXIO: return "ENXIO";
    case EBADF: return "EBADF";
    case ENODEV: return "ENODEV";
    case EOVERFLOW: return "EOVERFLOW";
    case EEXIST: return "EEXIST";
    default: return strerror(error);
    }
}

/* A call that succeeded must leave errno as it was (contract 9). */
static void expect_errno_kept(fuzz_run *run) {
    if (errno != SENTINEL_ERRNO)
        failure(run, "succeeded but set errno to %s", name_of(errno));
}

/* A set of errnos, as bits of a small index. */
enum { E_INVAL = 1, E_NOMEM = 2, E_BADF = 4, E_ACCES = 8, E_NODEV = 16,
       E_OVERFLOW = 32, E_FAULT = 64 };

static int errno_bit(int error) {
    switch (error) {
    case EINVAL: return E_INVAL;
    case ENOMEM: return E_NOMEM;
    case EBADF: return E_BADF;
    case EACCES: return E_ACCES;
    case ENODEV: return E_NODEV;
    case EOVERFLOW: return E_OVERFLOW;
    case EFAULT: return E_FAULT;
    default: return 0;
    }
}

/* ------------------------------------------------------------------ */
/* The model: areas and pages                                          */
/* ------------------------------------------------------------------ */

static uint64_t round_up(uint64_t bytes) {
    return (bytes + PAGE_SIZE - 1) / PAGE_SIZE * PAGE_SIZE;
}

static const model_area *area_at(const model_process *p, uint64_t address) {
    for (size_t i = 0; i < p->count; i++)
        if (address >= p->areas[i].start && address < p->areas[i].end)
            return &p->areas[i];
    return NULL;
}

/* The area an access of `address` meets: a mapping, or the heap. */
static const model_area *access_area(const model_process *p,
                                     uint64_t address) {
    if (address >= p->heap.start && address < p->heap.end)
        return &p->heap;
    return area_at(p, address);
}

static model_page *page_of(page_list *l, uint64_t address) {
    for (size_t i = 0; i < l->count; i++)
        if (l->pages[i]->address == address)
            return l->pages[i];
    return NULL;
}

static model_page *page_add(page_list *l, uint64_t address) {
    if (l->count == l->capacity) {
        l->capacity = l->capacity ? 2 * l->capacity : 16;
        l->pages = realloc(l->pages, l->capacity * sizeof *l->pages);
        if (!l->pages)
            setup_failure("realloc");
    }
    model_page *page = calloc(1, sizeof *page);
    if (!page)
        setup_failure("calloc");
    page->address = address;
    l->pages[l->count++] = page;
    return page;
}

/* Forgets the pages in [start, end). */
static void pages_drop(page_list *l, uint64_t start, uint64_t end) {
    for (size_t i = 0; i < l->count;) {
        if (l->pages[i]->address >= start && l->pages[i]->address < end) {
            free(l->pages[i]);
            l->pages[i] = l->pages[--l->count];
        } else {
            i++;
        }
    }
}

/* `to` becomes a copy of `from`, as vm_fork copies private pages. */
static void pages_copy(page_list *to, const page_list *from) {
    pages_drop(to, 0, UINT64_MAX);
    for (size_t i = 0; i < from->count; i++)
        *page_add(to, from->pages[i]->address) = *from->pages[i];
}

static void area_insert(model_process *p, const model_area *area) {
    if (p->count == p->capacity) {
        p->capacity = p->capacity ? 2 * p->capacity : 16;
        p->areas = realloc(p->areas, p->capacity * sizeof *p->areas);
        if (!p->areas)
            setup_failure("realloc");
    }
    size_t i = p->count;
    while (i > 0 && p->areas[i - 1].start > area->start) {
        p->areas[i] = p->areas[i - 1];
        i--;
    }
    p->areas[i] = *area;
    p->count++;
}

/* The file page that `address` of a file area maps. */
static uint64_t file_page(const model_area *area, uint64_t address) {
    return area->first_page + (address - area->start) / PAGE_SIZE;
}

/* Marks the file pages of the shared `area`'s part [start, end) written. */
static void mark_written(fuzz_run *run, const model_area *area,
                         uint64_t start, uint64_t end) {
    if (area->kind != AREA_SHARED)
        return;
    model_file *f = &run->files[area->file];
    for (uint64_t a = start; a < end; a += PAGE_SIZE) {
        uint64_t page = file_page(area, a);
        if (page < f->pages)
            f->pending[page] = true;
    }
}

/* Unmaps [start, end) in the model, marking what gets written back. */
static void model_unmap(fuzz_run *run, model_process *p, uint64_t start,
                        uint64_t end) {
    size_t kept = 0;
    model_area *areas = p->areas;
    size_t count = p->count;
    model_area pieces[2];
    model_area *out = malloc((count * 2 + 1) * sizeof *out);
    if (!out)
        setup_failure("malloc");
    for (size_t i = 0; i < count; i++) {
        model_area a = areas[i];
        if (a.end <= start || a.start >= end) {
            out[kept++] = a;
            continue;
        }
        uint64_t from = a.start > start ? a.start : start;
        uint64_t to = a.end < end ? a.end : end;
        mark_written(run, &a, from, to);
        pages_drop(&p->own, from, to); /* never the heap's */
        size_t n = 0;
        if (a.start < from) {
            pieces[n] = a;
            pieces[n++].end = from;
        }
        if (to < a.end) {
            pieces[n] = a;
            pieces[n].first_page = file_page(&a, to);
            pieces[n++].start = to;
        }
        for (size_t j = 0; j < n; j++)
            out[kept++] = pieces[j];
    }
    free(p->areas);
    p->areas = out;
    p->count = kept;
    p->capacity = count * 2 + 1;
}

/* Sets the protection of [start, end), which is wholly mapped. */
static void model_protect(model_process *p, uint64_t start, uint64_t end,
                          int prot) {
    model_area *old = p->areas;
    size_t count = p->count;
    p->areas = NULL;
    p->count = p->capacity = 0;
    for (size_t i = 0; i < count; i++) {
        model_area a = old[i];
        bool inside = a.end > start && a.start < end;
        uint64_t cuts[4] = {a.start, a.start, a.end, a.end};
        if (inside) {
            cuts[1] = a.start > start ? a.start : start;
            cuts[2] = a.end < end ? a.end : end;
        }
        for (int j = 0; j < 3; j++) {
            if (cuts[j] == cuts[j + 1])
                continue;
            model_area piece = a;
            piece.start = cuts[j];
            piece.end = cuts[j + 1];
            piece.first_page = file_page(&a, cuts[j]);
            if (j == 1 && inside)
                piece.prot = prot;
            area_insert(p, &piece);
        }
    }
    free(old);
}

static bool range_mapped(const model_process *p, uint64_t start,
                         uint64_t end) {
    for (uint64_t a = start; a < end;) {
        const model_area *area = area_at(p, a);
        if (!area)
            return false;
        a = area->end;
    }
    return true;
}

static bool range_free(const model_process *p, uint64_t start, uint64_t end) {
    for (size_t i = 0; i < p->count; i++)
        if (p->areas[i].start < end && p->areas[i].end > start)
            return false;
    return true;
}

/* vm_mmap's placement (vm.h): the hint if free, else the lowest gap. */
static uint64_t model_place(const model_process *p, uint64_t addr,
                            uint64_t bytes, bool fixed) {
    bool inside = addr >= REGION_LOW && addr + bytes <= REGION_HIGH;
    if (fixed)
        return inside ? addr : 0;
    if (inside && addr % PAGE_SIZE == 0 && range_free(p, addr, addr + bytes))
        return addr;
    uint64_t at = REGION_LOW;
    for (size_t i = 0; i < p->count; i++) {
        if (p->areas[i].start >= at + bytes)
            break;
        if (p->areas[i].end > at)
            at = p->areas[i].end;
    }
    return at + bytes <= REGION_HIGH ? at : 0;
}

/* ------------------------------------------------------------------ */
/* The model: bytes                                                    */
/* ------------------------------------------------------------------ */

/* What a read of `address` must return; false when it is not promised. */
static bool model_byte(fuzz_run *run, model_process *p,
                       const model_area *area, uint64_t address,
                       unsigned char *value) {
    uint64_t page = address / PAGE_SIZE * PAGE_SIZE;
    if (area->kind == AREA_ANON_SHARED) {
        model_page *shared = page_of(&run->objects[area->file],
                                     file_page(area, address) * PAGE_SIZE);
        *value = shared ? shared->data[address - page] : 0;
        return true;
    }
    model_page *own =
        area->kind == AREA_SHARED ? NULL : page_of(&p->own, page);
    if (own) {
        *value = own->data[address - page];
        return own->known[address - page];
    }
    if (area->kind == AREA_ANON) {
        *value = 0;
        return true;
    }
    model_file *f = &run->files[area->file];
    uint64_t at = file_page(area, address) * PAGE_SIZE + (address - page);
    *value = f->cache[at];
    return f->known[at];
}

/* A write of `value` at `address`, as the library must apply it. */
static void model_write(fuzz_run *run, model_process *p,
                        const model_area *area, uint64_t address,
                        unsigned char value) {
    uint64_t page = address / PAGE_SIZE * PAGE_SIZE;
    if (area->kind == AREA_SHARED) {
        model_file *f = &run->files[area->file];
        uint64_t at = file_page(area, address) * PAGE_SIZE + (address - page);
        f->cache[at] = value;
        f->known[at] = at < f->size; /* past the end: not promised */
        return;
    }
    if (area->kind == AREA_ANON_SHARED) {
        page_list *object = &run->objects[area->file];
        uint64_t offset = file_page(area, address) * PAGE_SIZE;
        model_page *shared = page_of(object, offset);
        if (!shared)
            shared = page_add(object, offset);
        shared->data[address - page] = value;
        return;
    }
    model_page *own = page_of(&p->own, page);
    if (!own) {
        own = page_add(&p->own, page);
        if (area->kind == AREA_ANON) {
            memset(own->known, 1, PAGE_SIZE);
        } else { /* copy on write: the cache's page as it is now */
            model_file *f = &run->files[area->file];
            uint64_t at = file_page(area, page) * PAGE_SIZE;
            memcpy(own->data, f->cache + at, PAGE_SIZE);
            memcpy(own->known, f->known + at, PAGE_SIZE);
        }
    }
    own->data[address - page] = value;
    own->known[address - page] = 1;
}

/* Whether `address` lies in a page of a file area wholly past its end. */
static bool past_end(fuzz_run *run, const model_area *area, uint64_t address) {
    return (area->kind == AREA_SHARED || area->kind == AREA_PRIVATE) &&
           file_page(area, address) >= run->files[area->file].pages;
}

/* ------------------------------------------------------------------ */
/* The disk                                                            */
/* ------------------------------------------------------------------ */

static size_t references(fuzz_run *run, int file) {
    size_t count = 0;
    for (int i = 0; i < PROCESSES; i++)
        for (size_t j = 0; j < run->procs[i].count; j++)
            count += (run->procs[i].areas[j].kind == AREA_SHARED ||
                      run->procs[i].areas[j].kind == AREA_PRIVATE) &&
                     run->procs[i].areas[j].file == file;
    for (int i = 0; i < HANDLES; i++)
        count += run->handles[i].map && run->handles[i].file == file &&
                 run->handles[i].length > 0;
    return count;
}

static void note_references(fuzz_run *run) {
    for (int f = 0; f < FILES; f++)
        run->files[f].references = references(run, f);
}

/* The file's last mapping went: all of it written, its pages dropped. */
static void note_releases(fuzz_run *run) {
    for (int i = 0; i < FILES; i++) {
        model_file *f = &run->files[i];
        if (f->references == 0 || references(run, i) != 0)
            continue;
        for (size_t page = 0; page < f->pages; page++)
            f->pending[page] = true;
        memset(f->cache + f->size, 0, f->pages * PAGE_SIZE - f->size);
        memset(f->known + f->size, 1, f->pages * PAGE_SIZE - f->size);
    }
}

/* The disk holds the model's bytes in every page marked written. */
static void check_disk(fuzz_run *run) {
    for (int i = 0; i < FILES; i++) {
        model_file *f = &run->files[i];
        struct stat status;
        if (stat(f->path, &status) != 0)
            setup_failure("stat");
        if ((size_t)status.st_size != f->size)
            failure(run, "file %d is %lld bytes long, not %zu", i,
                    (long long)status.st_size, f->size);
        unsigned char disk[PAGE_SIZE];
        int fd = -1;
        for (size_t page = 0; page < f->pages; page++) {
            if (!f->pending[page])
                continue;
            f->pending[page] = false;
            if (fd < 0 && (fd = open(f->path, O_RDONLY)) < 0)
                setup_failure("open");
            size_t start = page * PAGE_SIZE;
            size_t n = f->size - start;
            if (n > PAGE_SIZE)
                n = PAGE_SIZE;
            if (pread(fd, disk, n, (off_t)start) != (ssize_t)n)
                setup_failure("pread");
            for (size_t b = 0; b < n; b++)
                if (disk[b] != f->cache[start + b])
                    failure(run, "file %d byte %zu on disk is 0x%02x, the "
                            "mappings hold 0x%02x", i, start + b, disk[b],
                            f->cache[start + b]);
        }
        if (fd >= 0)
            close(fd);
    }
}

/* ------------------------------------------------------------------ */
/* Choosing arguments from raw numbers                                 */
/* ------------------------------------------------------------------ */

/* The process `pid` of `m`, or NULL when it has none. */
static model_process *process_of(fuzz_run *run, const mmu *m, size_t pid) {
    for (int i = 0; i < PROCESSES; i++)
        if (run->procs[i].exists && run->procs[i].mmu == m &&
            run->procs[i].pid == pid)
            return &run->procs[i];
    return NULL;
}

/*
 * A process, mostly one that exists: a child's slot with no child in it
 * gives its turn to a process made at the start. A pid that should not
 * exist may be a child's (vm_fork takes the lowest pid free).
 */
static model_process *choose_process(fuzz_run *run, uint32_t raw,
                                     mmu **m, size_t *pid) {
    static const size_t bad_pids[] = {0, 3, MAX_PROCESS_ID - 1,
                                      MAX_PROCESS_ID, SIZE_MAX};
    if (raw % 16 < 14) {
        model_process *p = &run->procs[raw % 16 % PROCESSES];
        if (!p->exists && p - run->procs >= FIXED_PROCESSES)
            p = &run->procs[raw % 16 % FIXED_PROCESSES];
        *m = p->mmu;
        *pid = p->pid;
        return p->exists ? p : NULL;
    }
    *m = run->mmus[raw / 16 % 2];
    *pid = bad_pids[raw / 32 % 5];
    return process_of(run, *m, *pid);
}

/* An address for an operation on ranges or bytes of process `p`. */
static uint64_t choose_address(const model_process *p, uint32_t raw,
                               bool bytes) {
    static const uint64_t hostile[] = {0, 0x1000, 0x3FFFF000, REGION_HIGH -
                                       PAGE_SIZE, REGION_HIGH, 0xFFFFF000,
                                       0xFFFFFFFF, 0x3FFFFFFF};
    uint32_t kind = raw % 8, rest = raw / 8;
    if (kind == 7) { /* the heap: near its start, or near the break */
        uint64_t top = p ? p->heap.end : HEAP_START;
        uint64_t at = rest % 2 ? HEAP_START + rest / 2 % 4 * PAGE_SIZE
                               : top + PAGE_SIZE - rest / 2 % 5 * PAGE_SIZE;
        if (at < HEAP_START)
            at = HEAP_START;
        return at + (bytes ? rest / 16 % PAGE_SIZE : 0);
    }
    if (kind < 5 && p && p->count > 0) {
        const model_area *a = &p->areas[rest % p->count];
        uint64_t span = (a->end - a->start) / PAGE_SIZE + 2;
        uint64_t at = a->start + (rest / 16 % span) * PAGE_SIZE - PAGE_SIZE;
        if (bytes || kind == 4)
            at += rest / 256 % PAGE_SIZE;
        return at & 0xFFFFFFFFu;
    }
    if (kind == 5)
        return hostile[rest % 8];
    return REGION_LOW + (uint64_t)(rest % 64) * PAGE_SIZE +
           (bytes ? rest / 64 % PAGE_SIZE : 0);
}

/* A length for a range: mostly a few pages, sometimes hostile. */
static size_t choose_length(uint64_t addr, uint32_t raw) {
    uint32_t kind = raw % 16, rest = raw / 16;
    if (kind < 11)
        return 1 + rest % (4 * PAGE_SIZE + 100);
    if (kind == 11)
        return (size_t)(rest % 6) * PAGE_SIZE;
    switch (rest % 9) {
    case 0: return SIZE_MAX;
    case 1: return SIZE_MAX - PAGE_SIZE + 2; /* rounds up past SIZE_MAX */
    case 2: return SIZE_MAX - PAGE_SIZE + 1; /* rounds up to SIZE_MAX + 1 */
    case 3: return (size_t)(SPACE_END - addr); /* to the top, exactly */
    case 4: return (size_t)(SPACE_END - addr + 1);
    case 5: return (size_t)SPACE_END;
    case 6: return 0x80000000u;
    case 7: return 0xFFFFFFFFu;
    default: return (size_t)(REGION_HIGH - REGION_LOW);
    }
}

static int choose_fd(fuzz_run *run, uint32_t raw, const char **name,
                     int *file, int *mode) {
    uint32_t kind = raw % (FILES * MODES + BAD_FDS);
    if (kind < FILES * MODES) {
        *file = (int)(kind / MODES);
        *mode = (int)(kind % MODES);
        *name = mode_names[*mode];
        return run->files[*file].fds[*mode];
    }
    *file = *mode = -1;
    *name = run->bad_names[kind - FILES * MODES];
    return run->bad_fds[kind - FILES * MODES];
}

/* ------------------------------------------------------------------ */
/* vm_mmap                                                             */
/* ------------------------------------------------------------------ */

typedef struct {
    model_process *p;
    mmu *m;
    size_t pid;
    uint64_t addr;
    size_t length;
    int prot, flags, fd, file, mode;
    off_t offset;
} mmap_call;

static void choose_mmap(fuzz_run *run, const fuzz_op *op, mmap_call *c) {
    static const int prots[] = {VM_PROT_READ, VM_PROT_READ | VM_PROT_WRITE,
                                VM_PROT_READ | VM_PROT_WRITE | VM_PROT_EXEC,
                                VM_PROT_WRITE, VM_PROT_NONE,
                                VM_PROT_READ | VM_PROT_EXEC};
    static const int flag_sets[] = {
        VM_MAP_SHARED, VM_MAP_SHARED, VM_MAP_SHARED, VM_MAP_PRIVATE,
        VM_MAP_PRIVATE, VM_MAP_PRIVATE, VM_MAP_SHARED | VM_MAP_ANONYMOUS,
        VM_MAP_PRIVATE | VM_MAP_ANONYMOUS, VM_MAP_SHARED | VM_MAP_FIXED,
        VM_MAP_PRIVATE | VM_MAP_FIXED,
        VM_MAP_PRIVATE | VM_MAP_ANONYMOUS | VM_MAP_FIXED,
        VM_MAP_SHARED | VM_MAP_PRIVATE, 0};
    const char *name;
    c->p = choose_process(run, op->arg[0], &c->m, &c->pid);
    c->addr = choose_address(c->p, op->arg[1], op->arg[1] % 7 == 3);
    c->length = choose_length(c->addr, op->arg[2]);
    uint32_t raw = op->arg[3];
    c->prot = raw % 8 < 6 ? prots[raw % 8] : (int)(raw / 8 % 256);
    raw = op->arg[4];
    uint32_t pick = raw % 16;
    c->flags = pick < 13 ? flag_sets[pick]
               : pick == 13 ? VM_MAP_SHARED | (int)(1u << (raw / 16 % 31))
                            : (int)(raw / 16 % 0x10000);
    c->fd = choose_fd(run, op->arg[5], &name, &c->file, &c->mode);
    static const off_t offsets[] = {0, 0, 0, PAGE_SIZE, 2 * PAGE_SIZE, 1,
                                    -PAGE_SIZE,
                                    (INT64_MAX - PAGE_SIZE) / PAGE_SIZE *
                                        PAGE_SIZE};
    c->offset = offsets[op->arg[5] / 32 % 8];
    describe(run, "vm_mmap(mmu %d, pid %zu, 0x%llx, %zu, prot 0x%x, flags "
             "0x%x, fd %d (%s %d), offset %lld)", c->m == run->mmus[0] ? 0 : 1,
             c->pid, (unsigned long long)c->addr, c->length, c->prot,
             c->flags, c->fd, name, c->file, (long long)c->offset);
}

/* The errnos vm.h lists for this call; 0 when it must succeed. */
static int mmap_errors(fuzz_run *run, const mmap_call *c, uint64_t *place) {
    int type = c->flags & (VM_MAP_SHARED | VM_MAP_PRIVATE);
    bool anon = c->flags & VM_MAP_ANONYMOUS, fixed = c->flags & VM_MAP_FIXED;
    int errors = 0;
    if (!c->p || c->length == 0 || (c->prot & ~7) || (c->flags & ~0x33) ||
        (type != VM_MAP_SHARED && type != VM_MAP_PRIVATE) || c->offset < 0 ||
        c->offset % PAGE_SIZE || (anon && c->offset) ||
        (fixed && c->addr % PAGE_SIZE))
        errors |= E_INVAL;
    if (c->length > SPACE_END)
        errors |= E_NOMEM;
    else if ((uint64_t)c->offset > INT64_MAX - round_up(c->length))
        errors |= E_OVERFLOW;
    if (!anon && c->file < 0)
        errors |= c->fd < 0 || c->fd >= 1000 ? E_BADF : E_NODEV;
    if (!anon && c->mode == 3)
        errors |= E_ACCES;
    if (!anon && type == VM_MAP_SHARED && (c->prot & VM_PROT_WRITE) &&
        c->mode == 0)
        errors |= E_ACCES;
    *place = 0;
    if (c->p && c->length <= SPACE_END) {
        *place = model_place(c->p, c->addr, round_up(c->length), fixed);
        if (*place == 0)
            errors |= E_NOMEM;
    }
    (void)run;
    return errors;
}

/* A new shared anonymous object, all zeros; returns its index. */
static int new_object(fuzz_run *run) {
    page_list *objects = realloc(run->objects, (run->object_count + 1) *
                                                   sizeof *objects);
    if (!objects)
        setup_failure("realloc");
    run->objects = objects;
    objects[run->object_count] = (page_list){0};
    return (int)run->object_count++;
}

static void op_mmap(fuzz_run *run, const fuzz_op *op) {
    mmap_call c;
    uint64_t place;
    choose_mmap(run, op, &c);
    int errors = mmap_errors(run, &c, &place);
    errno = SENTINEL_ERRNO;
    addr32 got = vm_mmap(c.m, c.pid, (addr32)c.addr, c.length, c.prot,
                         c.flags, c.fd, c.offset);
    if (errors) {
        if (got != VM_MAP_FAILED || !(errno_bit(errno) & errors))
            failure(run, "expected failure with one of 0x%x, got 0x%x, "
                    "errno %s", errors, got, name_of(errno));
        return;
    }
    if (got != place)
        failure(run, "expected the mapping at 0x%llx, got 0x%x (errno %s)",
                (unsigned long long)place, got, name_of(errno));
    expect_errno_kept(run);
    uint64_t bytes = round_up(c.length);
    if (c.flags & VM_MAP_FIXED)
        model_unmap(run, c.p, place, place + bytes);
    bool anon = c.flags & VM_MAP_ANONYMOUS;
    bool shared = c.flags & VM_MAP_SHARED;
    model_area area = {.start = place, .end = place + bytes, .prot = c.prot,
                       .kind = anon ? (shared ? AREA_ANON_SHARED : AREA_ANON)
                               : shared ? AREA_SHARED : AREA_PRIVATE,
                       .file = anon ? (shared ? new_object(run) : -1) : c.file,
                       .first_page = anon ? 0 : (uint64_t)c.offset / PAGE_SIZE,
                       .fd_writable = !anon && c.mode != 0};
    area_insert(c.p, &area);
}

/* ------------------------------------------------------------------ */
/* vm_munmap, vm_mprotect, vm_msync                                    */
/* ------------------------------------------------------------------ */

typedef struct {
    model_process *p;
    mmu *m;
    size_t pid;
    uint64_t addr;
    size_t length;
    bool wraps;   /* the length rounds up past SIZE_MAX */
    uint64_t end; /* addr + the length rounded up (when it does not wrap) */
} range_call;

static void choose_range(fuzz_run *run, const fuzz_op *op, range_call *c) {
    c->p = choose_process(run, op->arg[0], &c->m, &c->pid);
    c->addr = choose_address(c->p, op->arg[1], false);
    c->length = choose_length(c->addr, op->arg[2]);
    c->wraps = c->length > SIZE_MAX - (PAGE_SIZE - 1);
    c->end = c->wraps ? SPACE_END + 1 : c->addr + round_up(c->length);
    if (c->end < c->addr) /* past 2^64: only past 2^32 matters */
        c->end = SPACE_END + 1;
}

static int mmu_number(fuzz_run *run, mmu *m) {
    return m == run->mmus[0] ? 0 : 1;
}

static void op_munmap(fuzz_run *run, const fuzz_op *op) {
    range_call c;
    choose_range(run, op, &c);
    describe(run, "vm_munmap(mmu %d, pid %zu, 0x%llx, %zu)",
             mmu_number(run, c.m), c.pid, (unsigned long long)c.addr,
             c.length);
    bool invalid = !c.p || c.addr % PAGE_SIZE || c.length == 0;
    bool past = c.end > SPACE_END;
    errno = SENTINEL_ERRNO;
    int got = vm_munmap(c.m, c.pid, (addr32)c.addr, c.length);
    if (invalid || past) {
        if (got != -1 || errno != EINVAL)
            failure(run, "expected -1 with EINVAL, got %d with %s", got,
                    name_of(errno));
        return;
    }
    if (got != 0)
        failure(run, "expected 0, got %d with errno %s", got, name_of(errno));
    expect_errno_kept(run);
    model_unmap(run, c.p, c.addr, past ? SPACE_END : c.end);
}

static bool writes_read_only_shared(const model_process *p, uint64_t start,
                                    uint64_t end, int prot) {
    for (size_t i = 0; i < p->count; i++) {
        const model_area *a = &p->areas[i];
        if (a->start < end && a->end > start && a->kind == AREA_SHARED &&
            !a->fd_writable && (prot & VM_PROT_WRITE))
            return true;
    }
    return false;
}

/*
 * A call returning 0 or -1: with `errors` (a set of errnos) it must fail
 * with one of them; without, succeed and leave errno alone. Returns
 * whether it succeeded, as it should have.
 */
static bool expect_result(fuzz_run *run, int got, unsigned errors) {
    if (errors) {
        if (got != -1 || !(errno_bit(errno) & errors))
            failure(run, "expected -1 with one of 0x%x, got %d with %s",
                    errors, got, name_of(errno));
        return false;
    }
    if (got != 0)
        failure(run, "expected 0, got %d with errno %s", got, name_of(errno));
    expect_errno_kept(run);
    return got == 0;
}

static void op_mprotect(fuzz_run *run, const fuzz_op *op) {
    range_call c;
    choose_range(run, op, &c);
    uint32_t raw = op->arg[3];
    int prot = raw % 8 < 7 ? (int)(raw % 8) : (int)(raw / 8 % 256);
    describe(run, "vm_mprotect(mmu %d, pid %zu, 0x%llx, %zu, 0x%x)",
             mmu_number(run, c.m), c.pid, (unsigned long long)c.addr,
             c.length, prot);
    int errors = 0;
    if (!c.p || c.addr % PAGE_SIZE || (prot & ~7))
        errors = E_INVAL;
    else if (c.length == 0)
        errors = 0;
    else if (c.end > SPACE_END || !range_mapped(c.p, c.addr, c.end))
        errors = E_NOMEM;
    if (!errors && c.length && writes_read_only_shared(c.p, c.addr,
                                                        c.end, prot))
        errors |= E_ACCES;
    errno = SENTINEL_ERRNO;
    int got = vm_mprotect(c.m, c.pid, (addr32)c.addr, c.length, prot);
    if (!expect_result(run, got, errors))
        return;
    if (c.length)
        model_protect(c.p, c.addr, c.end, prot);
}

/* Marks what vm_msync writes back: shared file pages in the range. */
static void model_msync(fuzz_run *run, model_process *p, uint64_t start,
                        uint64_t end) {
    for (size_t i = 0; i < p->count; i++) {
        const model_area *a = &p->areas[i];
        if (a->start < end && a->end > start)
            mark_written(run, a, a->start > start ? a->start : start,
                         a->end < end ? a->end : end);
    }
}

static void op_msync(fuzz_run *run, const fuzz_op *op) {
    static const int flag_sets[] = {
        0, VM_MS_SYNC, VM_MS_ASYNC, VM_MS_INVALIDATE,
        VM_MS_SYNC | VM_MS_INVALIDATE, VM_MS_ASYNC | VM_MS_INVALIDATE,
        VM_MS_SYNC | VM_MS_ASYNC};
    range_call c;
    choose_range(run, op, &c);
    uint32_t raw = op->arg[3];
    int flags = raw % 8 < 7 ? flag_sets[raw % 8] : (int)(raw / 8 % 256);
    describe(run, "vm_msync(mmu %d, pid %zu, 0x%llx, %zu, 0x%x)",
             mmu_number(run, c.m), c.pid, (unsigned long long)c.addr,
             c.length, flags);
    int errors = 0;
    bool nothing = c.length == 0 || c.wraps;
    if (!c.p || c.addr % PAGE_SIZE || (flags & ~7) ||
        ((flags & VM_MS_SYNC) && (flags & VM_MS_ASYNC)))
        errors = E_INVAL;
    else if (!nothing &&
             (c.end > SPACE_END || !range_mapped(c.p, c.addr, c.end)))
        errors = E_NOMEM;
    errno = SENTINEL_ERRNO;
    int got = vm_msync(c.m, c.pid, (addr32)c.addr, c.length, flags);
    if (!expect_result(run, got, errors))
        return;
    if (!nothing)
        model_msync(run, c.p, c.addr, c.end);
}

/* ------------------------------------------------------------------ */
/* Reads and writes through the MMU                                    */
/* ------------------------------------------------------------------ */

/*
 * How an access of [addr, addr + n) must end: refused whole (EFAULT or
 * EACCES, in `refusal`), or stopped at `*stop` by a page past the end of
 * a file (or at addr + n).
 */
static int access_refusal(fuzz_run *run, const model_process *p,
                          uint64_t addr, size_t n, bool write,
                          uint64_t *stop) {
    int need = write ? VM_PROT_WRITE : VM_PROT_READ, refusal = 0;
    uint64_t end = addr + n;
    if (end > SPACE_END || end < addr) { /* past the top: EFAULT, or the */
        refusal = E_FAULT;              /* refusal of a byte before it */
        end = SPACE_END;
    }
    *stop = end;
    for (uint64_t a = addr; a < end;) {
        const model_area *area = access_area(p, a);
        if (!area) {
            refusal |= E_FAULT;
            a = a / PAGE_SIZE * PAGE_SIZE + PAGE_SIZE;
            continue;
        }
        if (!(area->prot & need))
            refusal |= E_ACCES;
        for (uint64_t page = a / PAGE_SIZE * PAGE_SIZE;
             page < area->end && page < end; page += PAGE_SIZE)
            if (*stop == end && past_end(run, area, page))
                *stop = page > addr ? page : addr;
        a = area->end;
    }
    return refusal;
}

static void check_refused(fuzz_run *run, mmu *m, size_t before, size_t got,
                          int refusal) {
    if (got != 0 || !(errno_bit(errno) & refusal))
        failure(run, "expected a refusal (0 bytes, errno of 0x%x), got %zu "
                "bytes with %s", refusal, got, name_of(errno));
    if (m->num_segmentation_faults != before + 1)
        failure(run, "expected one more segmentation fault, counted %zu",
                m->num_segmentation_faults - before);
}

/* The bytes an access moved: as many as expected, or a lawful stop. */
static void check_count(fuzz_run *run, size_t got, size_t want, bool bus) {
    if (got == want && !bus) {
        expect_errno_kept(run);
        return;
    }
    if (got == want && bus && errno == ENXIO)
        return;
    if ((got < want || (got == want && bus)) && run->small_pool &&
        errno == ENOMEM)
        return; /* a page table or a pinned page found no frame */
    if ((got < want || (got == want && bus)) && run->read_fault &&
        errno == EIO)
        return; /* the injected read fault: the access stops there */
    failure(run, "expected %zu bytes%s, got %zu with errno %s", want,
            bus ? " then ENXIO (a page past the end of the file)" : "", got,
            name_of(errno));
}

/* The bytes an access moved: a read's checked, a write's applied. */
static void check_bytes(fuzz_run *run, model_process *p, uint64_t addr,
                        const unsigned char *buffer, size_t got, bool write) {
    for (size_t i = 0; i < got; i++) {
        const model_area *area = access_area(p, addr + i);
        unsigned char want;
        if (write)
            model_write(run, p, area, addr + i, buffer[i]);
        else if (model_byte(run, p, area, addr + i, &want) &&
                 buffer[i] != want)
            failure(run, "byte %zu (0x%llx) read 0x%02x, expected 0x%02x", i,
                    (unsigned long long)(addr + i), buffer[i], want);
    }
}

static void op_access(fuzz_run *run, const fuzz_op *op, bool write) {
    mmu *m;
    size_t pid;
    model_process *p = choose_process(run, op->arg[0], &m, &pid);
    uint64_t addr = choose_address(p, op->arg[1], true);
    size_t n = 1 + op->arg[2] % (3 * PAGE_SIZE + 10);
    if (op->arg[3] % 16 == 0)
        n = op->arg[3] / 16 % 2 ? SIZE_MAX : (size_t)(SPACE_END - addr + 1);
    bool huge = n > 3 * PAGE_SIZE + 10;
    unsigned char *buffer = malloc(huge ? 1 : n);
    if (!buffer)
        setup_failure("malloc");
    for (size_t i = 0; i < (huge ? 1 : n); i++)
        buffer[i] = (unsigned char)(op->arg[4] + i * 131 + i / 7);
    describe(run, "mmu_%s_virtual_address(mmu %d, 0x%llx, pid %zu, %zu)",
             write ? "write_to" : "read_from", mmu_number(run, m),
             (unsigned long long)addr, pid, n);
    size_t before = m->num_segmentation_faults, bus_errors = m->num_bus_errors;
    errno = SENTINEL_ERRNO;
    size_t got = write ? mmu_write_to_virtual_address(m, (addr32)addr, pid,
                                                      buffer, n)
                       : mmu_read_from_virtual_address(m, (addr32)addr, pid,
                                                       buffer, n);
    if (!p) {
        if (got != 0 || errno != EINVAL)
            failure(run, "expected 0 with EINVAL (no such process), got %zu "
                    "with %s", got, name_of(errno));
    } else {
        uint64_t stop;
        int refusal = access_refusal(run, p, addr, n, write, &stop);
        if (refusal) {
            check_refused(run, m, before, got, refusal);
        } else {
            check_count(run, got, stop - addr, stop < addr + n);
            check_bytes(run, p, addr, buffer, got, write);
            /* A stop past the end of a file, and only that, is a bus error. */
            if (m->num_bus_errors != bus_errors + (errno == ENXIO))
                failure(run, "bus errors counted: %zu, expected %zu",
                        m->num_bus_errors - bus_errors,
                        (size_t)(errno == ENXIO));
        }
    }
    free(buffer);
}

/* ------------------------------------------------------------------ */
/* mmap.h                                                              */
/* ------------------------------------------------------------------ */

static void op_map_create(fuzz_run *run, const fuzz_op *op) {
    model_handle *h = &run->handles[op->arg[0] % HANDLES];
    if (h->map) {
        describe(run, "munmap(handle %u of file %d)", op->arg[0] % HANDLES,
                 h->file);
        errno = SENTINEL_ERRNO;
        munmap(h->map);
        h->map = NULL;
        expect_errno_kept(run);
        for (size_t page = 0; h->length && page < run->files[h->file].pages;
             page++)
            run->files[h->file].pending[page] = true;
        return;
    }
    int file = (int)(op->arg[1] % FILES);
    describe(run, "mmap_create(file %d) as handle %u", file,
             op->arg[0] % HANDLES);
    errno = SENTINEL_ERRNO;
    h->map = mmap_create(run->files[file].path);
    h->file = file;
    h->length = run->files[file].size;
    if (!h->map && !(run->small_pool && errno == ENOMEM))
        failure(run, "mmap_create failed with %s", name_of(errno));
    if (h->map) {
        expect_errno_kept(run);
        if (h->map->length != run->files[file].size)
            failure(run, "mmap_create's length is %zu, not %zu",
                    h->map->length, run->files[file].size);
    }
}

/* mmap_read or mmap_write of the handle `h`: clipped at the file's end. */
static void map_access(fuzz_run *run, const fuzz_op *op, model_handle *h,
                       bool write) {
    model_file *f = &run->files[h->file];
    size_t offset = op->arg[2] % (h->length + 2 * PAGE_SIZE + 1);
    size_t n = op->arg[3] % 8 == 0 ? SIZE_MAX - op->arg[3] / 8 % 3
                                   : op->arg[3] % (3 * PAGE_SIZE);
    size_t want = offset >= h->length ? 0
                  : n < h->length - offset ? n : h->length - offset;
    unsigned char *buffer = malloc(want + 1);
    if (!buffer)
        setup_failure("malloc");
    for (size_t i = 0; i < want + 1; i++)
        buffer[i] = (unsigned char)(op->arg[4] * 7 + i * 13);
    describe(run, "mmap_%s(handle of file %d, offset %zu, %zu)",
             write ? "write" : "read", h->file, offset, n);
    errno = SENTINEL_ERRNO;
    size_t got = write ? mmap_write(h->map, buffer, offset, n)
                       : mmap_read(h->map, buffer, offset, n);
    bool lawful = (run->small_pool && errno == ENOMEM) ||
                  (run->read_fault && errno == EIO);
    if (got != want && !(got < want && lawful))
        failure(run, "expected %zu bytes, got %zu with errno %s", want, got,
                name_of(errno));
    if (got == want && want > 0)
        expect_errno_kept(run);
    for (size_t i = 0; i < got; i++) {
        if (write) {
            f->cache[offset + i] = buffer[i];
        } else if (buffer[i] != f->cache[offset + i]) {
            failure(run, "byte %zu read 0x%02x, expected 0x%02x", offset + i,
                    buffer[i], f->cache[offset + i]);
        }
    }
    free(buffer);
}

static void op_map_access(fuzz_run *run, const fuzz_op *op) {
    model_handle *h = &run->handles[op->arg[0] % HANDLES];
    unsigned char byte;
    if (!h->map) {
        describe(run, "mmap_read(NULL, ...) and mmap_sync(NULL)");
        errno = SENTINEL_ERRNO;
        if (mmap_read(NULL, &byte, 0, 1) != 0 || errno != EINVAL)
            failure(run, "mmap_read(NULL) did not fail with EINVAL");
        errno = SENTINEL_ERRNO;
        if (mmap_sync(NULL) != -1 || errno != EINVAL)
            failure(run, "mmap_sync(NULL) did not fail with EINVAL");
        return;
    }
    switch (op->arg[1] % 4) {
    case 0:
    case 3:
        map_access(run, op, h, false);
        return;
    case 1:
        map_access(run, op, h, true);
        return;
    }
    describe(run, "mmap_sync(handle of file %d)", h->file);
    errno = SENTINEL_ERRNO;
    int got = mmap_sync(h->map);
    if (got != 0)
        failure(run, "expected 0, got %d with %s", got, name_of(errno));
    expect_errno_kept(run);
    for (size_t page = 0; h->length && page < run->files[h->file].pages;
         page++)
        run->files[h->file].pending[page] = true;
}

/* ------------------------------------------------------------------ */
/* Processes                                                           */
/* ------------------------------------------------------------------ */

static void add_process(fuzz_run *run, model_process *p) {
    errno = SENTINEL_ERRNO;
    int got = mmu_add_process(p->mmu, p->pid);
    p->exists = got == 0;
    if (got != 0 && !(run->small_pool && errno == ENOMEM))
        failure(run, "mmu_add_process(%zu) failed with %s", p->pid,
                name_of(errno));
    if (got == 0)
        expect_errno_kept(run);
}

/* The process ended: nothing of its memory is left in the model. */
static void model_end_process(fuzz_run *run, model_process *p) {
    model_unmap(run, p, 0, SPACE_END);
    pages_drop(&p->own, 0, UINT64_MAX);
    p->heap.end = HEAP_START;
}

/*
 * Removes a process and, unless it is a child of vm_fork (whose slot is
 * then free for the next child), makes it again with nothing mapped; or
 * adds it, or a pid out of range.
 */
static void op_process(fuzz_run *run, const fuzz_op *op) {
    model_process *p = &run->procs[op->arg[0] % PROCESSES];
    bool child = p - run->procs >= FIXED_PROCESSES;
    int m = p->mmu_index;
    if (op->arg[1] % 4 == 0) {
        size_t pid = op->arg[1] % 8 == 0 ? p->pid : MAX_PROCESS_ID;
        describe(run, "mmu_add_process(mmu %d, %zu)", m, pid);
        int want = pid == p->pid ? (p->exists ? EEXIST : 0) : EINVAL;
        errno = SENTINEL_ERRNO;
        int got = mmu_add_process(p->mmu, pid);
        if (want == 0) {
            p->exists = got == 0;
            return;
        }
        if (got != -1 || errno != want)
            failure(run, "expected -1 with %s, got %d with %s", name_of(want),
                    got, name_of(errno));
        return;
    }
    describe(run, "mmu_remove_process(mmu %d, %zu)%s", m, p->pid,
             child ? "" : ", mmu_add_process");
    errno = SENTINEL_ERRNO;
    int got = mmu_remove_process(p->mmu, p->pid);
    if (got != 0)
        failure(run, "mmu_remove_process: %d with %s", got, name_of(errno));
    if (p->exists)
        expect_errno_kept(run);
    model_end_process(run, p);
    note_releases(run);
    check_disk(run);
    note_references(run);
    if (child)
        p->exists = false;
    else
        add_process(run, p);
}

/* ------------------------------------------------------------------ */
/* vm_fork and vm_sbrk                                                 */
/* ------------------------------------------------------------------ */

/*
 * Frames of zeros vm_fork may give the untouched pages of the parent's
 * shared anonymous mappings: a fork that needs more is not tried, so that
 * the full pool of a large run is never short of frames (a small pool
 * takes ENOMEM as lawful anyway).
 */
#define FORK_ZERO_PAGES 256

static uint64_t shared_anon_pages(const model_process *p) {
    uint64_t pages = 0;
    for (size_t i = 0; i < p->count; i++)
        if (p->areas[i].kind == AREA_ANON_SHARED)
            pages += (p->areas[i].end - p->areas[i].start) / PAGE_SIZE;
    return pages;
}

/* How much a fork of `p` tests: its areas, shared anonymous ones twice. */
static size_t fork_interest(const model_process *p) {
    size_t interest = p->count;
    for (size_t i = 0; i < p->count; i++)
        interest += p->areas[i].kind == AREA_ANON_SHARED;
    return interest;
}

/* The lowest pid of `m` with no process: the one vm_fork takes. */
static size_t lowest_free_pid(fuzz_run *run, const mmu *m) {
    size_t pid = 0;
    while (process_of(run, m, pid))
        pid++;
    return pid;
}

/*
 * The slot that models the child `pid` of `m`: the one that had that pid
 * (a process made at the start and not made again), or a free child's
 * slot; NULL when none is free. No two slots share an MMU and a pid.
 */
static model_process *child_slot(fuzz_run *run, const mmu *m, size_t pid) {
    for (int i = 0; i < PROCESSES; i++)
        if (run->procs[i].mmu == m && run->procs[i].pid == pid)
            return &run->procs[i];
    for (int i = FIXED_PROCESSES; i < PROCESSES; i++)
        if (!run->procs[i].exists)
            return &run->procs[i];
    return NULL;
}

/*
 * The child has the parent's areas, its heap and a copy of each of its
 * own pages; shared file pages stay the page cache's and shared
 * anonymous ones their object's, which both now map.
 */
static void model_fork(const model_process *parent, model_process *child,
                       size_t pid) {
    child->mmu = parent->mmu;
    child->mmu_index = parent->mmu_index;
    child->pid = pid;
    child->exists = true;
    child->count = 0;
    for (size_t i = 0; i < parent->count; i++)
        area_insert(child, &parent->areas[i]);
    pages_copy(&child->own, &parent->own);
    child->heap = parent->heap;
}

/* A failed vm_fork must leave no process behind: a read there is EINVAL. */
static void expect_no_process(fuzz_run *run, mmu *m, size_t pid) {
    unsigned char byte;
    errno = SENTINEL_ERRNO;
    size_t got = mmu_read_from_virtual_address(m, REGION_LOW, pid, &byte, 1);
    if (got != 0 || errno != EINVAL)
        failure(run, "vm_fork failed, but its child %zu is there: a read "
                "gave %zu bytes with %s, not EINVAL", pid, got,
                name_of(errno));
}

static void op_fork(fuzz_run *run, const fuzz_op *op) {
    mmu *m;
    size_t pid;
    model_process *parent = choose_process(run, op->arg[0], &m, &pid);
    bool no_mmu = op->arg[1] % 32 == 0;
    if (parent && op->arg[1] % 2) { /* the one with the most to share */
        for (int i = 0; i < PROCESSES; i++)
            if (run->procs[i].exists &&
                fork_interest(&run->procs[i]) > fork_interest(parent))
                parent = &run->procs[i];
        m = parent->mmu;
        pid = parent->pid;
    }
    size_t want = lowest_free_pid(run, m);
    model_process *child = child_slot(run, m, want);
    describe(run, "vm_fork(%s %d, pid %zu), the child's pid to be %zu",
             no_mmu ? "NULL, not mmu" : "mmu", mmu_number(run, m), pid, want);
    if (parent && !no_mmu &&
        (!child || shared_anon_pages(parent) > FORK_ZERO_PAGES)) {
        describe(run, "vm_fork(mmu %d, pid %zu) not tried: %s",
                 mmu_number(run, m), pid,
                 child ? "too many frames of zeros" : "no slot for a child");
        return;
    }
    errno = SENTINEL_ERRNO;
    int got = vm_fork(no_mmu ? NULL : m, pid);
    if (!parent || no_mmu) {
        if (got != -1 || errno != EINVAL)
            failure(run, "expected -1 with EINVAL, got %d with %s", got,
                    name_of(errno));
        return;
    }
    if (got == -1 && run->small_pool && errno == ENOMEM) {
        expect_no_process(run, m, want);
        return;
    }
    if (got < 0 || (size_t)got != want)
        failure(run, "expected the child's pid %zu, got %d with %s", want,
                got, name_of(errno));
    expect_errno_kept(run);
    model_fork(parent, child, want);
}

/* An increment of the break: mostly a few pages either way. */
static long choose_increment(const model_process *p, uint32_t raw) {
    static const long hostile[] = {LONG_MAX, LONG_MIN, LONG_MIN + 1,
                                   0x30000000, -0x30000000, 1, -1};
    uint64_t brk = p ? p->heap.end : HEAP_START;
    uint32_t kind = raw % 16, rest = raw / 16;
    long few = (long)(rest % (4 * PAGE_SIZE + 100));
    if (kind < 6)
        return few;
    if (kind < 11)
        return -few;
    switch (kind) {
    case 11: return 0;
    case 12: return (long)(rest % 64) * PAGE_SIZE * (rest & 64 ? -1 : 1);
    case 13: return (long)(HEAP_LIMIT - brk) + (long)(rest % 3) - 1;
    case 14: return -(long)(brk - HEAP_START) + (long)(rest % 3) - 1;
    default: return hostile[rest % 7];
    }
}

static void op_sbrk(fuzz_run *run, const fuzz_op *op) {
    mmu *m;
    size_t pid;
    model_process *p = choose_process(run, op->arg[0], &m, &pid);
    bool no_mmu = op->arg[1] % 32 == 0;
    long increment = choose_increment(p, op->arg[2]);
    describe(run, "vm_sbrk(%s %d, pid %zu, %ld)",
             no_mmu ? "NULL, not mmu" : "mmu", mmu_number(run, m), pid,
             increment);
    errno = SENTINEL_ERRNO;
    addr32 got = vm_sbrk(no_mmu ? NULL : m, pid, increment);
    int want = !p || no_mmu ? EINVAL : 0;
    if (!want && (increment > (int64_t)(HEAP_LIMIT - p->heap.end) ||
                  increment < -(int64_t)(p->heap.end - HEAP_START)))
        want = ENOMEM;
    if (want) {
        if (got != VM_MAP_FAILED || errno != want)
            failure(run, "expected VM_MAP_FAILED with %s, got 0x%x with %s",
                    name_of(want), got, name_of(errno));
        return;
    }
    if (got != p->heap.end)
        failure(run, "expected the old break 0x%llx, got 0x%x with %s",
                (unsigned long long)p->heap.end, got, name_of(errno));
    expect_errno_kept(run);
    uint64_t end = round_up((uint64_t)((int64_t)p->heap.end + increment));
    if (end < p->heap.end)
        pages_drop(&p->own, end, p->heap.end);
    p->heap.end = end;
}

/*
 * Arms a read fault (io_fault.h): the Nth read from now fails with EIO,
 * once or twice (the page cache retries a failed run page by page), or
 * comes back short by some bytes (never none: a read of 0 bytes is the
 * end of the file). Later accesses must read the right bytes.
 */
static void op_read_fault(fuzz_run *run, const fuzz_op *op) {
    io_fault fault = {.write = false, .nth = 1 + op->arg[0] % 3};
    switch (op->arg[1] % 3) {
    case 0: fault.error = EIO; break;
    case 1: fault.error = EIO; fault.times = 2; break;
    default: fault.bytes = 1 + op->arg[2] % (2 * PAGE_SIZE); break;
    }
    describe(run, "io_fault_inject(read %lu from now: %s %zu, %lu times)",
             fault.nth, fault.error ? "EIO" : "short, bytes", fault.bytes,
             fault.times ? fault.times : 1);
    io_fault_inject(&fault);
}

/* ------------------------------------------------------------------ */
/* The run                                                             */
/* ------------------------------------------------------------------ */

/* Gives file `i` `size` new bytes, on disk and in the model. */
static void fill_file(fuzz_run *run, int i, size_t size, uint32_t salt) {
    model_file *f = &run->files[i];
    free(f->cache);
    free(f->known);
    free(f->pending);
    f->size = size;
    f->pages = round_up(size) / PAGE_SIZE;
    f->cache = calloc(f->pages + 1, PAGE_SIZE);
    f->known = malloc((f->pages + 1) * PAGE_SIZE);
    f->pending = calloc(f->pages + 1, sizeof *f->pending);
    if (!f->cache || !f->known || !f->pending)
        setup_failure("calloc");
    memset(f->known, 1, (f->pages + 1) * PAGE_SIZE);
    for (size_t b = 0; b < size; b++)
        f->cache[b] = (unsigned char)((b * 2654435761u + salt) >> 13);
    /* The same inode: the descriptors open on it stay valid. */
    int fd = open(f->path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, f->cache, size) != (ssize_t)size || close(fd))
        setup_failure("write a file");
}

static void make_file(fuzz_run *run, int i, size_t size, uint32_t salt) {
    model_file *f = &run->files[i];
    snprintf(f->path, sizeof f->path, "%s/file%d", run->dir, i);
    fill_file(run, i, size, salt);
    for (int mode = 0; mode < MODES; mode++)
        if ((f->fds[mode] = open(f->path, mode_flags[mode])) < 0)
            setup_failure("open a file");
}

/*
 * Another program rewrites a file that nothing maps, with a new length:
 * its pages left the cache with its last mapping, so the next mapping
 * must see the new bytes and the new end.
 */
static void op_rewrite_file(fuzz_run *run, const fuzz_op *op) {
    int i = (int)(op->arg[0] % FILES);
    size_t size = file_sizes[op->arg[1] % (sizeof file_sizes /
                                           sizeof file_sizes[0])];
    describe(run, "rewrite file %d, unmapped, with %zu bytes", i, size);
    if (references(run, i) == 0)
        fill_file(run, i, size, op->arg[2]);
}

static void make_bad_fds(fuzz_run *run) {
    int pipe_fds[2];
    if (pipe(pipe_fds) != 0)
        setup_failure("pipe");
    close(pipe_fds[1]);
    int values[BAD_FDS] = {-1, 1000, open(run->dir, O_RDONLY | O_DIRECTORY),
                           pipe_fds[0], open("/dev/null", O_RDWR)};
    static const char *const names[BAD_FDS] = {"-1", "closed", "directory",
                                               "pipe", "/dev/null"};
    for (int i = 0; i < BAD_FDS; i++) {
        if (values[i] < -1)
            setup_failure("open");
        run->bad_fds[i] = values[i];
        run->bad_names[i] = names[i];
    }
}

fuzz_run *fuzz_run_start(const char *label, uint32_t setup,
                         const fuzz_options *options) {
    /* Children's slots start with pids no process has. */
    static const int mmu_of[PROCESSES] = {0, 0, 1, 0, 1, 0};
    static const size_t pid_of[PROCESSES] = {1, 2, 7, 103, 104, 105};
    fuzz_run *run = calloc(1, sizeof *run);
    if (!run)
        setup_failure("calloc");
    snprintf(run->label, sizeof run->label, "%s", label);
    run->options = *options;
    snprintf(run->dir, sizeof run->dir, "%s/mmap_fuzz.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(run->dir))
        setup_failure("mkdtemp");
    size_t count = sizeof file_sizes / sizeof file_sizes[0];
    for (int i = 0; i < FILES; i++)
        make_file(run, i, i == 0 ? file_sizes[5 + setup % 3]
                                 : file_sizes[(setup >> (3 * i)) % count],
                  setup * 31 + (uint32_t)i);
    make_bad_fds(run);
    for (int i = 0; i < 2; i++)
        if (!(run->mmus[i] = mmu_create()))
            setup_failure("mmu_create");
    run->small_pool = kernel_frames_total() < SMALL_POOL;
    snprintf(run->what, sizeof run->what, "setup");
    for (int i = 0; i < PROCESSES; i++) {
        model_process *p = &run->procs[i];
        p->mmu_index = mmu_of[i];
        p->mmu = run->mmus[mmu_of[i]];
        p->pid = pid_of[i];
        p->heap = (model_area){.start = HEAP_START, .end = HEAP_START,
                               .prot = VM_PROT_READ | VM_PROT_WRITE,
                               .kind = AREA_ANON, .file = -1};
        if (i < FIXED_PROCESSES)
            add_process(run, p);
    }
    return run;
}

void fuzz_run_apply(fuzz_run *run, const fuzz_op *op, uint64_t number) {
    run->number = number;
    run->read_fault = io_fault_armed != 0;
    note_references(run);
    switch (op->kind % 32) {
    case 0: case 1: case 2: case 3: op_mmap(run, op); break;
    case 4: op_fork(run, op); break;
    case 5: case 6: op_munmap(run, op); break;
    case 7: case 8: op_mprotect(run, op); break;
    case 9: case 10: op_msync(run, op); break;
    case 11: op_rewrite_file(run, op); break;
    case 12: case 13: case 14: case 15: case 16: case 17:
        op_access(run, op, false);
        break;
    case 18: case 19: case 20: case 21: case 22: case 23:
        op_access(run, op, true);
        break;
    case 24: op_sbrk(run, op); break;
    case 25: case 26: op_map_create(run, op); break;
    case 27: case 28: case 29: op_map_access(run, op); break;
    case 30: op_process(run, op); return;
    default: op_read_fault(run, op); break;
    }
    note_releases(run);
    check_disk(run);
}

static void free_model(fuzz_run *run) {
    remove_files(run);
    for (int i = 0; i < PROCESSES; i++) {
        pages_drop(&run->procs[i].own, 0, UINT64_MAX);
        free(run->procs[i].own.pages);
        free(run->procs[i].areas);
    }
    for (size_t i = 0; i < run->object_count; i++) {
        pages_drop(&run->objects[i], 0, UINT64_MAX);
        free(run->objects[i].pages);
    }
    free(run->objects);
    for (int i = 0; i < FILES; i++) {
        for (int mode = 0; mode < MODES; mode++)
            close(run->files[i].fds[mode]);
        free(run->files[i].cache);
        free(run->files[i].known);
        free(run->files[i].pending);
    }
    for (int i = 2; i < BAD_FDS; i++)
        close(run->bad_fds[i]);
    free(run);
}

void fuzz_run_finish(fuzz_run *run) {
    run->number++;
    describe(run, "the end: munmap every handle, mmu_delete both MMUs");
    io_fault_clear();
    note_references(run);
    for (int i = 0; i < HANDLES; i++)
        if (run->handles[i].map)
            munmap(run->handles[i].map);
    for (int i = 0; i < 2; i++)
        mmu_delete(run->mmus[i]);
    for (int i = 0; i < PROCESSES; i++)
        run->procs[i].count = 0;
    for (int i = 0; i < HANDLES; i++)
        run->handles[i].map = NULL;
    for (int i = 0; i < FILES; i++)
        for (size_t page = 0; page < run->files[i].pages; page++)
            run->files[i].pending[page] = true;
    check_disk(run);
    if (kernel_frames_free() != kernel_frames_total())
        failure(run, "%zu frames of %zu are still in use",
                kernel_frames_total() - kernel_frames_free(),
                kernel_frames_total());
    free_model(run);
}
