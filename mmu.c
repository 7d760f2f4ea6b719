/*
 * mmu.c: the access path of the simulated MMU, its page-fault handler,
 * and the MMU's side of eviction.
 *
 * An access is checked against the segments once for its whole range,
 * then served page by page: TLB, page walk, and on a page not present a
 * fault served by the segment's pager. The usual access, one page whose
 * translation needs no fault, takes the same steps in one short function
 * (access_usual) before the general one (access_memory) is called. The
 * pool reaches the MMU through `owner` to age and evict the pages it
 * faulted in; a page is named to the pool by its process id and virtual
 * page number.
 */
#include "mmu.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"
#include "vma.h"

/* A frame's key: the process id above the 20 bits of the page number. */
#define PAGE_NUMBER_BITS (32 - NUM_OFFSET_BITS)
#define PAGE_NUMBER_MASK ((1u << PAGE_NUMBER_BITS) - 1)
#define PAGE_KEY(pid, address)                                                 \
    ((uint32_t)(pid) << PAGE_NUMBER_BITS | VPN(address))
#define KEY_PID(key) ((size_t)((key) >> PAGE_NUMBER_BITS))
#define KEY_ADDRESS(key) ((addr32)((key)&PAGE_NUMBER_MASK) << NUM_OFFSET_BITS)

/*
 * The most pages one fault brings in, and one write-back sends out:
 * 256 KiB. Runs of 32 and of 128 pages measured slower (README, Speed).
 */
#define MAX_RUN 64

/*
 * Keeps a rare path out of the access path's body: inlined there, its
 * registers and stack would be paid for by every access.
 */
#if defined(__GNUC__)
#define SLOW_PATH __attribute__((noinline, cold))
#else
#define SLOW_PATH
#endif

/*
 * The steps of the usual access, inlined whole into the two calls that
 * take it, so that each is one function with `write` known and its values
 * in registers (a compiler left to itself splits it at the first check);
 * and the general path, kept out of line so that it costs the usual
 * access nothing.
 */
#if defined(__GNUC__)
#define ACCESS_PATH __attribute__((always_inline)) static inline
#define OUT_OF_LINE __attribute__((noinline))
#else
#define ACCESS_PATH static inline
#define OUT_OF_LINE
#endif

/* The bytes one page table maps. */
#define TABLE_SPAN ((uint64_t)NUM_ENTRIES * PAGE_SIZE)

typedef char
    page_key_fits[(MAX_PROCESS_ID << PAGE_NUMBER_BITS) - 1 <= UINT32_MAX ? 1
                                                                         : -1];

static bool page_referenced(frame_owner *owner, uint32_t key);
static int page_evict(frame_owner *owner, uint32_t key);

static const frame_owner_ops mmu_frame_ops = {
    .referenced = page_referenced,
    .evict = page_evict,
};

static mmu *mmu_of(frame_owner *owner) {
    return (mmu *)((char *)owner - offsetof(mmu, owner));
}

/* The physical address of the frame a present entry maps. */
static addr32 frame_address(const page_table_entry *entry) {
    return (addr32)entry->base_addr << NUM_OFFSET_BITS;
}

static char *frame_of(const page_table_entry *entry) {
    return kernel_frame_memory(frame_address(entry));
}

static size_t min_size(size_t a, size_t b) {
    return a < b ? a : b;
}

static bool process_exists(const mmu *this, size_t pid) {
    return pid < MAX_PROCESS_ID && this->page_directories[pid] != NULL;
}

mmu *mmu_create(void) {
    /* A pool that cannot be set up is reported now, not at the first fault. */
    if (kernel_frames_total() == 0)
        return NULL;
    mmu *this = calloc(1, sizeof *this);
    if (!this) {
        errno = ENOMEM;
        return NULL;
    }
    this->tlb = tlb_create();
    if (!this->tlb) {
        free(this);
        return NULL;
    }
    this->owner.ops = &mmu_frame_ops;
    return this;
}

int mmu_add_process(mmu *this, size_t pid) {
    if (!this || pid >= MAX_PROCESS_ID) {
        errno = EINVAL;
        return -1;
    }
    if (this->page_directories[pid]) {
        errno = EEXIST;
        return -1;
    }
    vm_segmentations *segmentations = segmentations_create();
    page_directory *directory = segmentations ? page_directory_create() : NULL;
    if (!directory) {
        free(segmentations);
        errno = ENOMEM;
        return -1;
    }
    this->page_directories[pid] = directory;
    this->segmentations[pid] = segmentations;
    return 0;
}

/* A resident page has a frame: mapped, or filled by read-ahead. */
static bool resident(const page_table_entry *entry) {
    return entry->present || entry->cached;
}

/*
 * Dirty pages on their way to a pager, gathered so that neighbours of one
 * segment go out in one call: one write for a run, not one per page.
 */
typedef struct {
    mmu *mmu;
    size_t pid;
    vm_segmentation *segment;
    size_t first_page; /* the run's first page in the segment */
    addr32 first_address;
    size_t count;
    page_table_entry *entries[MAX_RUN];
    const void *frames[MAX_RUN];
    int failure; /* errno of the first page that could not be saved */
} write_back_run;

/* Saves pages [from, from + count) of the run; marks them clean if so. */
static int page_out(write_back_run *run, size_t from, size_t count) {
    pager *backing = run->segment->backing;
    if (backing->page_out(backing, run->first_page + from, run->frames + from,
                          count) != 0)
        return -1;
    for (size_t i = from; i < from + count; i++) {
        if (trace_on())
            trace(TRACE_WRITE_BACK, run->pid,
                  run->first_address + (addr32)(i * PAGE_SIZE),
                  frame_address(run->entries[i]));
        run->entries[i]->dirty = 0;
    }
    return 0;
}

/*
 * Writes the gathered run out and empties it. When the run fails as a
 * whole, each page is tried alone, so that only the pages that really
 * cannot be saved stay dirty.
 */
static void flush_run(write_back_run *run) {
    if (run->count > 0 && page_out(run, 0, run->count) != 0) {
        for (size_t i = 0; i < run->count; i++) {
            if ((run->count == 1 || page_out(run, i, 1) != 0) && !run->failure)
                run->failure = errno;
        }
    }
    run->count = 0;
}

/*
 * Adds a dirty page to the run, writing the run out first when the page
 * does not extend it. A page outside every segment (left behind by
 * shrink_segment) or in one without a pager has nowhere to go, so there is
 * nothing to save: it is only marked clean.
 */
static void gather(write_back_run *run, size_t pid, addr32 address,
                   page_table_entry *entry) {
    vm_segmentation *segment =
        find_segment(run->mmu->segmentations[pid], address);
    if (!segment || !segment->backing) {
        entry->dirty = 0;
        return;
    }
    size_t page = (address - segment->start) / PAGE_SIZE;
    if (run->count == MAX_RUN ||
        (run->count > 0 &&
         (segment != run->segment || page != run->first_page + run->count)))
        flush_run(run);
    if (run->count == 0) {
        run->pid = pid;
        run->segment = segment;
        run->first_page = page;
        run->first_address = address;
    }
    run->entries[run->count] = entry;
    run->frames[run->count] = frame_of(entry);
    run->count++;
}

/*
 * Whether `address` lies in a mapped area of `pid` (vm.h): its pages are
 * the page cache's and the fault path's, not the segment pager's.
 */
static bool in_area(mmu *this, size_t pid, addr32 address) {
    /* With areas, the MMAP segment is theirs alone (vm.h). */
    const vm_segmentation *segment = &this->segmentations[pid]->segments[MMAP];
    return this->areas[pid] && address - segment->start <
                                   segment->end - segment->start;
}

/* The dirty pages of segments, on their way to their pagers. */
static void gather_if_dirty(addr32 address, page_table_entry *entry,
                            void *context) {
    write_back_run *run = context;
    if (resident(entry) && entry->dirty &&
        !in_area(run->mmu, run->pid, address))
        gather(run, run->pid, address, entry);
}

int mmu_sync(mmu *this, size_t pid, addr32 start, addr32 end) {
    if (!this || !process_exists(this, pid)) {
        errno = EINVAL;
        return -1;
    }
    write_back_run run = {.mmu = this, .pid = pid};
    page_table_for_each(this->page_directories[pid], start, end,
                        gather_if_dirty, &run);
    flush_run(&run);
    int failure = run.failure;
    if (this->areas[pid] && this->area_ops->sync(this, pid, start, end) != 0 &&
        !failure)
        failure = errno;
    if (failure) {
        errno = failure;
        return -1;
    }
    return 0;
}

static void release_page(addr32 address, page_table_entry *entry,
                         void *context) {
    (void)address, (void)context;
    if (!resident(entry))
        return;
    return_frame_to_kernel(frame_address(entry));
    *entry = (page_table_entry){0};
}

int mmu_remove_process(mmu *this, size_t pid) {
    if (!this || !process_exists(this, pid))
        return 0;
    int failure = 0;
    if (this->areas[pid] && this->area_ops->release(this, pid) != 0)
        failure = errno;
    /* Up to the last page: 0xFFFFF000 is the start of the top page. */
    int result = mmu_sync(this, pid, 0, UINT32_MAX);
    if (result != 0 && !failure)
        failure = errno;
    page_table_for_each(this->page_directories[pid], 0, UINT32_MAX,
                        release_page, NULL);
    if (this->curr_pid == pid)
        tlb_flush(this->tlb);
    page_directory_delete(this->page_directories[pid]);
    free(this->segmentations[pid]);
    this->page_directories[pid] = NULL;
    this->segmentations[pid] = NULL;
    errno = failure;
    return failure ? -1 : 0;
}

void mmu_delete(mmu *this) {
    if (!this)
        return;
    for (size_t pid = 0; pid < MAX_PROCESS_ID; pid++)
        mmu_remove_process(this, pid);
    tlb_delete(this->tlb);
    free(this);
}

/* Takes a frame, pinned, for the page or page table `wanted` describes. */
static addr32 take_frame(trace_room_for wanted) {
    trace_frame_wanted = wanted;
    return ask_kernel_for_frame(NULL, 0);
}

/* The pool's second-chance question: used since the clock last passed? */
static bool page_referenced(frame_owner *owner, uint32_t key) {
    mmu *this = mmu_of(owner);
    page_table_entry *entry = page_table_walk(
        this->page_directories[KEY_PID(key)], KEY_ADDRESS(key), false);
    assert(entry && resident(entry));
    bool referenced = entry->accessed;
    entry->accessed = 0;
    return referenced;
}

/*
 * The pool takes the frame back: save the page, then unmap it. A dirty
 * victim takes its dirty neighbours after it along in the same write (as
 * a kernel clusters write-back); they stay mapped, clean, and cheap to
 * evict when the clock reaches them.
 */
static int page_evict(frame_owner *owner, uint32_t key) {
    mmu *this = mmu_of(owner);
    size_t pid = KEY_PID(key);
    addr32 address = KEY_ADDRESS(key);
    page_table_entry *entry =
        page_table_walk(this->page_directories[pid], address, false);
    assert(entry && resident(entry));
    bool was_dirty = entry->dirty;
    if (was_dirty) {
        write_back_run run = {.mmu = this};
        vm_segmentation *segment =
            find_segment(this->segmentations[pid], address);
        size_t room =
            min_size(NUM_ENTRIES - PAGE_TABLE_INDEX(address),
                     segment ? (segment->end - address) / PAGE_SIZE : 1);
        for (size_t i = 0; i < room && i < MAX_RUN; i++) {
            if (i > 0 && !(entry[i].present && entry[i].dirty))
                break;
            gather(&run, pid, address + (addr32)(i * PAGE_SIZE), &entry[i]);
        }
        flush_run(&run);
        if (entry->dirty) {
            errno = run.failure;
            return -1;
        }
    }
    if (pid == this->curr_pid)
        tlb_invalidate(this->tlb, address);
    if (trace_on())
        trace_report(&(trace_record){.event = TRACE_EVICTION,
                                     .pid = pid,
                                     .virtual_address = address,
                                     .physical_address = frame_address(entry),
                                     .dirty = was_dirty,
                                     .room_for = trace_frame_wanted});
    *entry = (page_table_entry){0};
    return 0;
}

/* A page the access overwrites whole: its old contents need no read. */
static bool overwritten(const mmu_access *span, addr32 page_address) {
    return span->write && span->start <= page_address &&
           page_address + (uint64_t)PAGE_SIZE <= span->end;
}

/*
 * How many pages, from the faulting one on, one fault brings in: the rest
 * of the access; for a read that follows a resident page (sequential
 * access), MAX_RUN pages of read-ahead. The run stops at a resident page,
 * at the end of the page table and of the segment, and at a sixteenth of
 * the pool, so that one fault cannot flush a small pool.
 */
static size_t run_length(mmu *this, size_t pid, const vm_segmentation *segment,
                         addr32 address, page_table_entry *entry,
                         const mmu_access *span) {
    addr32 page = PAGE_ROUND_DOWN(address);
    size_t limit = min_size(NUM_ENTRIES - PAGE_TABLE_INDEX(address),
                            (segment->end - page) / PAGE_SIZE);
    limit = min_size(limit, kernel_frames_total() / MMU_READ_AHEAD_SHARE);
    limit = min_size(limit, MAX_RUN);
    size_t wanted = (size_t)((span->end - 1 - page) / PAGE_SIZE) + 1;
    if (!span->write && page > segment->start) {
        page_table_entry *previous =
            PAGE_TABLE_INDEX(address) > 0
                ? entry - 1
                : page_table_walk(this->page_directories[pid], page - PAGE_SIZE,
                                  false);
        if (previous && resident(previous))
            wanted = MAX_RUN;
    }
    size_t count = 1;
    while (count < wanted && count < limit && !resident(&entry[count]))
        count++;
    return count;
}

/*
 * Fills the frames of a run from the pager, one call per stretch of pages
 * that must be read; a page the access overwrites whole is skipped, since
 * the write that follows fills it before anything can look at it.
 */
static int fill_run(pager *backing, size_t first_page, addr32 first_address,
                    void *frames[], size_t count, const mmu_access *span) {
    for (size_t i = 0; i < count;) {
        if (overwritten(span, first_address + (addr32)(i * PAGE_SIZE))) {
            i++;
            continue;
        }
        size_t j = i + 1;
        while (j < count &&
               !overwritten(span, first_address + (addr32)(j * PAGE_SIZE)))
            j++;
        if (backing->page_in(backing, first_page + i, frames + i, j - i) != 0)
            return -1;
        i = j;
    }
    return 0;
}

/*
 * A major fault on a page with a pager: takes frames for the run (pinned
 * while they are filled), has the pager fill them, maps the faulting page
 * and leaves the others cached for their own first touch. When the run
 * cannot be read whole, the faulting page is tried alone.
 */
static int page_in_run(mmu *this, size_t pid, vm_segmentation *segment,
                       addr32 address, page_table_entry *entry,
                       const mmu_access *span) {
    addr32 page = PAGE_ROUND_DOWN(address);
    size_t count = run_length(this, pid, segment, address, entry, span);
    addr32 frames[MAX_RUN];
    void *memory[MAX_RUN];
    size_t taken = 0;
    for (; taken < count; taken++) {
        frames[taken] = take_frame((trace_room_for){
            TRACE_FRAME_PAGE, pid, page + (addr32)(taken * PAGE_SIZE)});
        if (frames[taken] == 0)
            break;
        memory[taken] = kernel_frame_memory(frames[taken]);
    }
    count = taken;
    size_t first_page = (page - segment->start) / PAGE_SIZE;
    pager *backing = segment->backing;
    int filled = count > 0
                     ? fill_run(backing, first_page, page, memory, count, span)
                     : -1;
    if (filled != 0 && count > 1) {
        count = 1; /* the read-ahead failed: the page itself may not */
        filled = fill_run(backing, first_page, page, memory, count, span);
    }
    if (filled != 0) {
        int failure = errno;
        for (size_t i = 0; i < taken; i++)
            return_frame_to_kernel(frames[i]);
        errno = failure;
        return -1;
    }
    for (size_t i = count; i < taken; i++)
        return_frame_to_kernel(frames[i]);
    for (size_t i = 0; i < count; i++) {
        addr32 at = page + (addr32)(i * PAGE_SIZE);
        kernel_set_frame_owner(frames[i], &this->owner, PAGE_KEY(pid, at));
        entry[i] = (page_table_entry){
            .present = i == 0,
            .cached = i > 0,
            .read_write = (segment->permissions & WRITE) != 0,
            .user_supervisor = 1,
            .base_addr = frames[i] >> NUM_OFFSET_BITS,
        };
        if (trace_on())
            trace_report(&(trace_record){.event = TRACE_FRAME_GIVEN,
                                         .pid = pid,
                                         .virtual_address = at,
                                         .physical_address = frames[i],
                                         .use = TRACE_FRAME_PAGE,
                                         .page = first_page + i});
    }
    return 0;
}

/* A demand-zero page: a cleared frame, pinned, since there is no swap. */
static int zero_fill(size_t pid, const vm_segmentation *segment, addr32 address,
                     page_table_entry *entry) {
    addr32 page = PAGE_ROUND_DOWN(address);
    addr32 frame =
        take_frame((trace_room_for){TRACE_FRAME_ZERO_PAGE, pid, page});
    if (frame == 0)
        return -1;
    memset(kernel_frame_memory(frame), 0, PAGE_SIZE);
    *entry = (page_table_entry){
        .present = 1,
        .read_write = (segment->permissions & WRITE) != 0,
        .user_supervisor = 1,
        .base_addr = frame >> NUM_OFFSET_BITS,
    };
    if (trace_on())
        trace_report(
            &(trace_record){.event = TRACE_FRAME_GIVEN,
                            .pid = pid,
                            .virtual_address = page,
                            .physical_address = frame,
                            .use = TRACE_FRAME_ZERO_PAGE,
                            .page = (page - segment->start) / PAGE_SIZE});
    return 0;
}

static void report_fault(size_t pid, addr32 address, enum trace_fault kind) {
    if (trace_on())
        trace_report(&(trace_record){.event = TRACE_PAGE_FAULT,
                                     .pid = pid,
                                     .virtual_address = address,
                                     .fault = kind});
}

/*
 * A major fault (the page is read with the run after it) or a demand-zero
 * one: the faults that take frames.
 */
SLOW_PATH static int page_fault_new_frame(mmu *this, size_t pid,
                                          addr32 address,
                                          page_table_entry *entry,
                                          const mmu_access *span) {
    vm_segmentation *segment = find_segment(this->segmentations[pid], address);
    assert(segment); /* the access was checked against the segments */
    report_fault(pid, address,
                 segment->backing ? TRACE_FAULT_MAJOR : TRACE_FAULT_ZERO);
    if (segment->backing
            ? page_in_run(this, pid, segment, address, entry, span) != 0
            : zero_fill(pid, segment, address, entry) != 0)
        return -1;
    this->num_page_faults++;
    if (segment->backing)
        this->num_major_faults++;
    else
        this->num_minor_faults++;
    return 0;
}

/*
 * Serves a fault on the page of `address`, by its kind. A page of a mapped
 * area goes to the fault path of areas (fault.h). A page of a segment read
 * ahead only needs mapping: that minor fault is served here. Each page
 * counts one fault, when first touched.
 */
static int page_fault(mmu *this, size_t pid, addr32 address,
                      page_table_entry *entry, const mmu_access *span) {
    if (in_area(this, pid, address))
        return this->area_ops->fault(this, pid, address, entry, span);
    if (!entry->cached)
        return page_fault_new_frame(this, pid, address, entry, span);
    report_fault(pid, address, TRACE_FAULT_MINOR);
    entry->cached = 0;
    entry->present = 1;
    this->num_page_faults++;
    this->num_minor_faults++;
    return 0;
}

/*
 * Whether a present entry allows the access: a read needs user_supervisor,
 * a write read_write (page_table.h). The one test of an entry's rights on
 * every access, made on a copy the caller has loaded anyway.
 */
ACCESS_PATH bool entry_allows(page_table_entry seen, bool write) {
    return write ? seen.read_write : seen.user_supervisor;
}

/*
 * A translation the TLB did not have: walks the page table, creating a
 * missing table, serves a fault on a page not present, and caches the
 * present entry in the TLB. NULL with errno when no frame could be had or
 * the fault could not be served.
 */
static page_table_entry *translate_miss(mmu *this, size_t pid, addr32 address,
                                        const mmu_access *span) {
    this->num_tlb_misses++;
    if (trace_on())
        trace(TRACE_TLB_MISS, pid, address, 0);
    page_directory *directory = this->page_directories[pid];
    page_table_entry *entry = page_table_walk(directory, address, false);
    if (!entry) {
        trace_frame_wanted = (trace_room_for){
            TRACE_FRAME_TABLE, pid, address & ~(addr32)(TABLE_SPAN - 1)};
        entry = page_table_walk(directory, address, true);
        if (!entry)
            return NULL;
    }
    if (trace_on())
        trace(TRACE_PAGE_WALK, pid, address,
              entry->present ? frame_address(entry) : 0);
    if ((!entry->present || !entry_allows(*entry, span->write)) &&
        page_fault(this, pid, address, entry, span) != 0)
        return NULL;
    tlb_add_missing_pte(this->tlb, address, entry);
    return entry;
}

/*
 * A translation the TLB had, for a page whose entry does not allow the
 * access (a write to a private page still shared with the page cache):
 * the fault path copies the page, and the entry the TLB points to then
 * allows it. NULL with errno when the fault cannot be served.
 */
SLOW_PATH static page_table_entry *protection_fault(mmu *this, size_t pid,
                                                   addr32 address,
                                                   page_table_entry *entry,
                                                   const mmu_access *span) {
    if (page_fault(this, pid, address, entry, span) != 0)
        return NULL;
    return entry;
}

/* One past the top of the 32-bit address space; no segment reaches it. */
#define ADDRESS_SPACE_END ((uint64_t)1 << 32)

/*
 * One past the last byte of an access. A range that would leave the 32-bit
 * space (a length near SIZE_MAX) ends just past its top instead, so that no
 * sum wraps and the segment check refuses it whole.
 */
static uint64_t access_end(addr32 address, size_t num_bytes) {
    return num_bytes > ADDRESS_SPACE_END - address ? ADDRESS_SPACE_END + 1
                                                   : address + num_bytes;
}

/*
 * Why the part of an access from `*at` to `end` that lies in `segment`
 * must be refused: 0 when it may go on, and `*at` then moves past it; else
 * EFAULT or EACCES, with `*at` at the first byte refused. The segment of
 * a process's mapped areas leaves the decision to the areas.
 */
static int refusal_in(mmu *this, size_t pid, const vm_segmentation *segment,
                      uint64_t *at, uint64_t end, uint32_t permission) {
    if (!segment)
        return EFAULT;
    if (segment == &this->segmentations[pid]->segments[MMAP] &&
        this->areas[pid]) {
        addr32 stop;
        uint64_t to = end < segment->end ? end : segment->end;
        int refusal =
            vma_check(this->areas[pid], (addr32)*at, to, permission, &stop);
        if (refusal) {
            *at = stop;
            return refusal;
        }
    } else if (!(segment->permissions & permission)) {
        return EACCES;
    }
    *at = segment->end;
    return 0;
}

/*
 * Checks [address, address + num_bytes) segment by segment (and area by
 * area): every byte must lie in a segment allowing `permission`. Counts a
 * segmentation fault and sets errno when one does not.
 */
SLOW_PATH static bool access_allowed_by_each(mmu *this, size_t pid,
                                             addr32 address, size_t num_bytes,
                                             uint32_t permission) {
    uint64_t end = access_end(address, num_bytes);
    for (uint64_t at = address; at < end;) {
        vm_segmentation *segment =
            at > UINT32_MAX
                ? NULL
                : find_segment(this->segmentations[pid], (addr32)at);
        int refusal = refusal_in(this, pid, segment, &at, end, permission);
        if (refusal) {
            this->num_segmentation_faults++;
            trace(TRACE_SEGFAULT, pid, (addr32)at, 0);
            errno = refusal;
            return false;
        }
    }
    return true;
}

/*
 * Whether the segment found last, which holds most accesses whole, holds
 * all of [address, address + num_bytes) and allows `permission`.
 */
ACCESS_PATH bool in_last_segment(const vm_segmentations *segmentations,
                                 addr32 address, size_t num_bytes,
                                 uint32_t permission) {
    const vm_segmentation *last =
        &segmentations->segments[segmentations->last_found];
    return address - last->start < last->end - last->start &&
           num_bytes <= last->end - address && (last->permissions & permission);
}

/*
 * access_allowed_by_each, with a first look at the segment found last:
 * then one test decides.
 */
ACCESS_PATH bool access_allowed(mmu *this, size_t pid, addr32 address,
                                size_t num_bytes, uint32_t permission) {
    if (in_last_segment(this->segmentations[pid], address, num_bytes,
                        permission))
        return true;
    return access_allowed_by_each(this, pid, address, num_bytes, permission);
}

/* Makes `pid` the running process; its TLB entries are not ours. */
ACCESS_PATH void switch_to(mmu *this, size_t pid) {
    if (this->curr_pid != pid) {
        tlb_flush(this->tlb);
        this->curr_pid = pid;
    }
}

/*
 * Copies the `n` bytes (at most a page) of one page of an access. A word,
 * the usual random access, is one move, and up to 16 bytes take two
 * overlapping moves or a short loop: a plain memcpy of a size known to fit
 * a page may be compiled into a string move, which is slow to start for a
 * few bytes. For more, that string move measured faster here than a call
 * to the C library's memcpy (README, Speed).
 */
ACCESS_PATH void copy_bytes(char *to, const char *from, size_t n) {
    if (n == 8) {
        memcpy(to, from, 8);
    } else if (n == 4) {
        memcpy(to, from, 4);
    } else if (n > 8 && n <= 16) {
        uint64_t head, tail;
        memcpy(&head, from, 8);
        memcpy(&tail, from + n - 8, 8);
        memcpy(to, &head, 8);
        memcpy(to + n - 8, &tail, 8);
    } else if (n < 8) {
        for (size_t i = 0; i < n; i++)
            to[i] = from[i];
    } else {
        memcpy(to, from, n);
    }
}

/*
 * Copies one page's share of an access and marks the page as an MMU does:
 * accessed, and dirty on a write. A bit is stored only when it changes: a
 * store to an entry that the next access loads whole would hold that load
 * until the store retires, behind this access's own load from memory.
 */
ACCESS_PATH void access_page(page_table_entry *entry, addr32 address,
                             char *bytes, size_t chunk, bool write) {
    /* Read once: the copy may alias it, as far as the compiler knows. */
    page_table_entry seen = *entry;
    char *frame = frame_of(&seen) + PAGE_OFFSET(address);
    if (write) {
        copy_bytes(frame, bytes, chunk);
        if (!seen.dirty)
            entry->dirty = 1;
    } else {
        copy_bytes(bytes, frame, chunk);
    }
    if (!seen.accessed)
        entry->accessed = 1;
}

/*
 * The one path of every access: `memory` is copied from (write) or into
 * (read) the simulated memory at `address`, page by page.
 */
OUT_OF_LINE static size_t access_memory(mmu *this, addr32 address, size_t pid,
                                        void *memory, size_t num_bytes,
                                        bool write) {
    if (!this || !process_exists(this, pid) || (!memory && num_bytes)) {
        errno = EINVAL;
        return 0;
    }
    if (num_bytes == 0)
        return 0;
    /* With mapped areas, their rights decide: the segment's are their union. */
    if (this->areas[pid] ? !access_allowed_by_each(this, pid, address, num_bytes,
                                                   write ? WRITE : READ)
                         : !access_allowed(this, pid, address, num_bytes,
                                           write ? WRITE : READ))
        return 0;
    switch_to(this, pid);
    mmu_access span = {address, (uint64_t)address + num_bytes, write};
    char *bytes = memory;
    size_t done = 0;
    do {
        addr32 at = address + (addr32)done;
        page_table_entry *entry = tlb_get_pte(this->tlb, at);
        if (!entry)
            entry = translate_miss(this, pid, at, &span);
        else if (trace_on())
            trace(TRACE_TLB_HIT, pid, at, 0);
        if (entry && !entry_allows(*entry, write))
            entry = protection_fault(this, pid, at, entry, &span);
        if (!entry)
            break;
        size_t chunk = min_size(PAGE_SIZE - PAGE_OFFSET(at), num_bytes - done);
        access_page(entry, at, bytes + done, chunk, write);
        done += chunk;
    } while (done < num_bytes);
    return done;
}

/*
 * The usual access, served whole: one page, no trace hook, the process
 * that ran last, the segment found last, and a translation that the TLB
 * holds or a walk finds present. These are access_memory's own steps, but
 * with nothing else to keep, they fit in the registers a call leaves free.
 * Any other access returns false before anything is counted or changed
 * that access_memory would not then change the same way (a hit's recency,
 * a directory entry's accessed bit), and goes the general way.
 */
ACCESS_PATH bool access_usual(mmu *this, addr32 address, size_t pid,
                              void *memory, size_t num_bytes, bool write) {
    if (!this || pid != this->curr_pid || !memory || num_bytes == 0 ||
        num_bytes > PAGE_SIZE - PAGE_OFFSET(address) || trace_on())
        return false;
    page_directory *directory = this->page_directories[pid];
    if (!directory)
        return false;
    if (!in_last_segment(this->segmentations[pid], address, num_bytes,
                         write ? WRITE : READ))
        return false;
    page_table_entry *entry = tlb_get_pte(this->tlb, address);
    if (!entry) {
        entry = page_table_walk(directory, address, false);
        if (!entry || !entry->present || !entry_allows(*entry, write))
            return false;
        this->num_tlb_misses++;
        tlb_add_missing_pte(this->tlb, address, entry);
    } else if (!entry_allows(*entry, write)) {
        return false;
    }
    access_page(entry, address, memory, num_bytes, write);
    return true;
}

size_t mmu_read_from_virtual_address(mmu *this, addr32 virtual_address,
                                     size_t pid, void *buffer,
                                     size_t num_bytes) {
    if (access_usual(this, virtual_address, pid, buffer, num_bytes, false))
        return num_bytes;
    return access_memory(this, virtual_address, pid, buffer, num_bytes, false);
}

size_t mmu_write_to_virtual_address(mmu *this, addr32 virtual_address,
                                    size_t pid, const void *buffer,
                                    size_t num_bytes) {
    if (access_usual(this, virtual_address, pid, (void *)buffer, num_bytes,
                     true))
        return num_bytes;
    return access_memory(this, virtual_address, pid, (void *)buffer, num_bytes,
                         true);
}
