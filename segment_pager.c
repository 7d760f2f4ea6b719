/*
 * segment_pager.c: the store behind the pages of segments that carry a
 * pager (segments.h): the frames are the MMU's (it is their frame_owner),
 * a major fault (fault.c) has the pager fill a run of them, pages read
 * ahead wait in their entries marked cached, and dirty pages go back
 * through the pager, neighbours together. A frame is named to the pool by
 * its process id and virtual page number.
 */
#include "segment_pager.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#include "trace.h"

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

typedef char
    page_key_fits[(MAX_PROCESS_ID << PAGE_NUMBER_BITS) - 1 <= UINT32_MAX ? 1
                                                                         : -1];

static bool page_referenced(frame_owner *owner, uint32_t key);
static int page_evict(frame_owner *owner, uint32_t key);
static bool page_dirty(frame_owner *owner, uint32_t key);

const frame_owner_ops segment_pager_frame_ops = {
    .referenced = page_referenced,
    .evict = page_evict,
    .dirty = page_dirty,
};

static mmu *mmu_of(frame_owner *owner) {
    return (mmu *)((char *)owner - offsetof(mmu, owner));
}

static addr32 frame_address(const page_table_entry *entry) {
    return page_table_entry_frame(entry);
}

static char *frame_of(const page_table_entry *entry) {
    return kernel_frame_memory(page_table_entry_frame(entry));
}

static size_t min_size(size_t a, size_t b) {
    return a < b ? a : b;
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
            trace_event_at(TRACE_WRITE_BACK, run->pid,
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

/* The dirty pages of segments, on their way to their pagers. */
static void gather_if_dirty(addr32 address, page_table_entry *entry,
                            void *context) {
    write_back_run *run = context;
    if (page_table_entry_resident(entry) && entry->dirty &&
        !mmu_in_areas(run->mmu, run->pid, address))
        gather(run, run->pid, address, entry);
}


int segment_pager_sync(mmu *this, size_t pid, addr32 start, addr32 end) {
    write_back_run run = {.mmu = this, .pid = pid};
    page_table_for_each(this->page_directories[pid], start, end,
                        gather_if_dirty, &run);
    flush_run(&run);
    if (run.failure)
        errno = run.failure;
    return run.failure ? -1 : 0;
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
    assert(entry && page_table_entry_resident(entry));
    bool referenced = entry->accessed;
    entry->accessed = 0;
    return referenced;
}

/* The pool's nru question: would evicting the page write it back? */
static bool page_dirty(frame_owner *owner, uint32_t key) {
    mmu *this = mmu_of(owner);
    page_table_entry *entry = page_table_walk(
        this->page_directories[KEY_PID(key)], KEY_ADDRESS(key), false);
    assert(entry && page_table_entry_resident(entry));
    return entry->dirty;
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
    assert(entry && page_table_entry_resident(entry));
    bool was_dirty = entry->dirty;
    if (was_dirty) {
        write_back_run run = {.mmu = this};
        vm_segmentation *segment =
            find_segment(this->segmentations[pid], address);
        size_t room =
            min_size(NUM_ENTRIES - PAGE_TABLE_INDEX(address),
                     segment ? (segment->end - address) / PAGE_SIZE : 1);
        if (segment && segment->backing && segment->backing->page_at_a_time)
            room = 1;
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
    if (segment->backing->page_at_a_time)
        return 1;
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
        if (previous && page_table_entry_resident(previous))
            wanted = MAX_RUN;
    }
    size_t count = 1;
    while (count < wanted && count < limit && !page_table_entry_resident(&entry[count]))
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

/* Takes frames for the run from `page` on, pinned; how many it got. */
static size_t take_run(size_t pid, addr32 page, addr32 frames[],
                       void *memory[], size_t count) {
    size_t taken = 0;
    for (; taken < count; taken++) {
        frames[taken] = take_frame((trace_room_for){
            TRACE_FRAME_PAGE, pid, page + (addr32)(taken * PAGE_SIZE)});
        if (frames[taken] == 0)
            break;
        memory[taken] = kernel_frame_memory(frames[taken]);
    }
    return taken;
}

static void give_back(const addr32 frames[], size_t from, size_t to) {
    for (size_t i = from; i < to; i++)
        return_frame_to_kernel(frames[i]);
}

/*
 * Hands the filled frames of a run to the MMU (their owner from now on)
 * and fills their entries: the faulting page mapped, the others cached
 * for their own first touch.
 */
static void map_run(mmu *this, size_t pid, const vm_segmentation *segment,
                    addr32 page, page_table_entry *entry,
                    const addr32 frames[], size_t count) {
    size_t first_page = (page - segment->start) / PAGE_SIZE;
    this->owner.ops = &segment_pager_frame_ops; /* the pool reaches us here */
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
}

int segment_pager_page_in(mmu *this, size_t pid, vm_segmentation *segment,
                          addr32 address, page_table_entry *entry,
                          const mmu_access *span) {
    addr32 page = PAGE_ROUND_DOWN(address);
    addr32 frames[MAX_RUN];
    void *memory[MAX_RUN];
    size_t wanted = run_length(this, pid, segment, address, entry, span);
    size_t taken = take_run(pid, page, frames, memory, wanted);
    size_t count = taken;
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
        give_back(frames, 0, taken);
        errno = failure;
        return -1;
    }
    give_back(frames, count, taken);
    map_run(this, pid, segment, page, entry, frames, count);
    return 0;
}
