/*
 * fault.c: serving every page fault of the MMU, of a mapped area or of a
 * segment, one function per kind of page, with one descriptor (vm_fault)
 * passed down.
 */
#include "fault.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#include "anon.h"
#include "page_cache.h"
#include "rmap.h"
#include "segment_pager.h"
#include "swap.h"
#include "trace.h"

/* The most pages one fault reads: the page cache's longest run. */
#define FAULT_MAX_RUN 64

/* Everything a fault's handlers need to know of it. */
typedef struct {
    mmu *mmu;
    size_t pid;
    addr32 address; /* the page's first address */
    addr32 at;      /* the address that faulted, within that page */
    page_table_entry *entry;
    vm_area *area;             /* the area of the page, or NULL */
    vm_segmentation *segment;  /* or the segment, when it lies in no area */
    const mmu_access *access;
    /* The page's number in its file, or in its segment. */
    uint64_t page;
} vm_fault;

static uint64_t min_u64(uint64_t a, uint64_t b) {
    return a < b ? a : b;
}

/* Counts the fault served: major when the page itself was read. */
static void tally_fault(const vm_fault *f, enum trace_fault kind) {
    mmu *m = f->mmu;
    m->num_page_faults++;
    if (kind == TRACE_FAULT_MAJOR || kind == TRACE_FAULT_SWAP)
        m->num_major_faults++;
    else
        m->num_minor_faults++;
}

/* Tells the trace what kind of fault `address` took. */
static void report_fault(const vm_fault *f, addr32 address,
                         enum trace_fault kind) {
    if (trace_on())
        trace_report(&(trace_record){.event = TRACE_PAGE_FAULT,
                                     .pid = f->pid,
                                     .virtual_address = address,
                                     .fault = kind});
}

/* Counts the fault served in an area, and tells the trace how. */
static void count_fault(const vm_fault *f, enum trace_fault kind) {
    tally_fault(f, kind);
    report_fault(f, f->address, kind);
}

/* Sets an entry's rights; `cached`: it maps a frame of the page cache. */
static void protect(page_table_entry *entry, const vm_area *area,
                    bool cached) {
    entry->user_supervisor = (area->prot & READ) != 0;
    entry->read_write = (area->prot & WRITE) && (area->shared || !cached);
}

void fault_protect_entry(page_table_entry *entry, const vm_area *area) {
    addr32 frame = page_table_entry_frame(entry);
    /* Read-only until written: the cache's page, or one shared by fork. */
    bool copy_first = (area->file && page_cache_owns(frame)) ||
                      (!area->shared && anon_page_copy_on_write(frame));
    protect(entry, area, copy_first);
    if (anon_page_has_swap_copy(frame)) /* its first write drops the copy */
        entry->read_write = 0;
}

/*
 * Names the page the fault takes frames for, so that an eviction it
 * causes can say which page it made room for.
 */
static void wanting(const vm_fault *f, enum trace_frame_use use) {
    trace_frame_wanted = (trace_room_for){use, f->pid, f->address};
}

/* Tells the trace that an anonymous frame went to the fault's page. */
static void report_anonymous(const vm_fault *f, addr32 frame,
                             enum trace_frame_use use) {
    if (trace_on())
        trace_report(&(trace_record){.event = TRACE_FRAME_GIVEN,
                                     .pid = f->pid,
                                     .virtual_address = f->address,
                                     .physical_address = frame,
                                     .use = use,
                                     .page = (size_t)f->page});
}

/*
 * Maps the fault's page to `frame`, with the area's protection, or the
 * segment's: a segment's page is always readable (the segment's own
 * permissions were checked on the access) and writable if it is.
 */
static void grant_rights(const vm_fault *f, bool cached) {
    if (f->area) {
        protect(f->entry, f->area, cached);
    } else {
        f->entry->user_supervisor = 1;
        f->entry->read_write = (f->segment->permissions & WRITE) != 0;
    }
}

static void map_page(const vm_fault *f, addr32 frame, bool cached) {
    *f->entry = (page_table_entry){.present = 1,
                                   .base_addr = frame >> NUM_OFFSET_BITS};
    grant_rights(f, cached);
}

/* Maps an anonymous frame, which anon.c owns from now on. */
static void map_anonymous(const vm_fault *f, addr32 frame) {
    map_page(f, frame, false);
    anon_page_map(frame, f->mmu, f->pid, f->address);
}

/* One past the last page of the file the fault's area may touch. */
static uint64_t end_page(const vm_fault *f) {
    const vm_area *area = f->area;
    if (area->kept_end)
        return (area->kept_end + PAGE_SIZE - 1) / PAGE_SIZE;
    return page_cache_file_pages(area->file);
}

/*
 * Whether the fault's page lies wholly past the end of its file, as the
 * area sees the file: as it is now, or as it was when mapped for one that
 * keeps its length. A page past the end the cache last saw is looked at
 * again, since the file may have grown since.
 */
static bool past_end(const vm_fault *f) {
    if (f->page < end_page(f))
        return false;
    if (f->area->kept_end)
        return true;
    return page_cache_refresh(f->area->file) != 0 || f->page >= end_page(f);
}

/*
 * What the page cache may read with the page: the rest of the access and,
 * for a read that follows a cached page (sequential access), a full run
 * of read-ahead; never past the area or the file, nor more than a
 * sixteenth of the pool, so that one fault cannot flush a small pool. On a
 * write through a shared mapping, pages the access overwrites whole need
 * no read.
 */
static page_cache_request request_for(const vm_fault *f) {
    const vm_area *area = f->area;
    uint64_t limit = (area->end - f->address) / PAGE_SIZE;
    limit = min_u64(limit, end_page(f) - f->page);
    limit = min_u64(limit, kernel_frames_total() / MMU_READ_AHEAD_SHARE);
    limit = min_u64(limit, FAULT_MAX_RUN);
    uint64_t wanted = (f->access->end - 1 - f->address) / PAGE_SIZE + 1;
    if (!f->access->write && f->page > 0 &&
        page_cache_has(area->file, f->page - 1))
        wanted = FAULT_MAX_RUN;
    page_cache_request request = {
        .page = f->page,
        .run = (size_t)(limit > 0 ? min_u64(wanted, limit) : 1),
        .past_end_allowed = area->kept_end != 0,
    };
    if (f->access->write && area->shared) {
        /* Whole pages of the access inside the area, as page numbers. */
        uint64_t start = (f->access->start + PAGE_SIZE - 1) / PAGE_SIZE *
                         PAGE_SIZE;
        uint64_t end = min_u64(f->access->end, area->end) / PAGE_SIZE *
                       PAGE_SIZE;
        if (start < area->start)
            start = area->start;
        if (start < end) {
            request.overwritten_first =
                area->first_page + (start - area->start) / PAGE_SIZE;
            request.overwritten_end =
                area->first_page + (end - area->start) / PAGE_SIZE;
        }
    }
    return request;
}

/* A page wholly past the end of the file: Linux raises SIGBUS. */
static int fault_past_end(const vm_fault *f) {
    f->mmu->num_bus_errors++;
    if (trace_on())
        trace_report(&(trace_record){.event = TRACE_BUS_ERROR,
                                     .pid = f->pid,
                                     .virtual_address = f->address});
    errno = ENXIO;
    return -1;
}

/*
 * The cache's frame of the fault's page, read from the file if it is not
 * cached (`*was_read`); 0 with errno if it cannot be had, and a bus error
 * when the file turned out shorter than the page.
 */
static addr32 cached_frame(const vm_fault *f, bool *was_read) {
    page_cache_request request = request_for(f);
    wanting(f, TRACE_FRAME_PAGE);
    addr32 frame = page_cache_get(f->area->file, &request, was_read);
    if (frame == 0 && errno == ENXIO)
        fault_past_end(f);
    return frame;
}

/* A page read, or written through a shared mapping: the cache's frame. */
static int fault_file(const vm_fault *f) {
    bool was_read = false;
    addr32 frame = page_cache_find(f->area->file, f->page);
    if (frame == 0)
        frame = cached_frame(f, &was_read);
    if (frame == 0 || rmap_add(frame, f->mmu, f->pid, f->address) != 0)
        return -1;
    if (f->area->kept_end)
        page_cache_keep(frame, f->area->kept_end);
    map_page(f, frame, true);
    count_fault(f, was_read ? TRACE_FAULT_MAJOR : TRACE_FAULT_MINOR);
    return 0;
}

/*
 * A write through a private mapping to a page it has not copied yet:
 *   1. take a frame of the process's own (first, since taking it may
 *      evict the very page it copies);
 *   2. find the page: the cache's frame the entry maps, or the page cache
 *      (read from the file if it is not cached);
 *   3. copy it, and let go of the cache's frame;
 *   4. map the copy, writable if the area is.
 */
static int fault_copy_on_write(const vm_fault *f) {
    assert(f->area->file && !f->area->shared);
    wanting(f, TRACE_FRAME_COPY);
    addr32 copy = anon_page_take();
    if (copy == 0)
        return -1;
    bool was_mapped = f->entry->present, was_read = false;
    addr32 source;
    if (was_mapped) {
        source = page_table_entry_frame(f->entry);
    } else {
        source = cached_frame(f, &was_read);
        if (source == 0) {
            int failure = errno;
            anon_page_free(copy);
            errno = failure;
            return -1;
        }
    }
    memcpy(kernel_frame_memory(copy), kernel_frame_memory(source), PAGE_SIZE);
    if (was_mapped) {
        rmap_remove(source, f->mmu, f->pid, f->address);
        page_cache_unmapped(source, f->entry->dirty);
    }
    report_anonymous(f, copy, TRACE_FRAME_COPY);
    map_anonymous(f, copy);
    f->mmu->num_cow_faults++;
    count_fault(f, was_read ? TRACE_FAULT_MAJOR : TRACE_FAULT_COPY);
    return 0;
}

/* A frame of zeros for the fault's page, or 0 with errno. */
static addr32 zero_page(const vm_fault *f) {
    wanting(f, TRACE_FRAME_ZERO_PAGE);
    addr32 frame = anon_page_zeroed();
    if (frame != 0)
        report_anonymous(f, frame, TRACE_FRAME_ZERO_PAGE);
    return frame;
}

/* Anonymous memory: a frame of zeros. */
static int fault_anonymous(const vm_fault *f) {
    addr32 frame = zero_page(f);
    if (frame == 0)
        return -1;
    map_anonymous(f, frame);
    count_fault(f, TRACE_FAULT_ZERO);
    return 0;
}

/*
 * The first touch of a page of a mapped area: anonymous, or of a file
 * (see fault.h).
 */
static int fault_area_first_touch(const vm_fault *f) {
    if (!f->area->file)
        return fault_anonymous(f);
    if (past_end(f))
        return fault_past_end(f);
    if (f->access->write && !f->area->shared)
        return fault_copy_on_write(f);
    return fault_file(f);
}

/* Counts a copy-on-write fault (the copy made) in an area or a segment. */
static void count_copy(const vm_fault *f) {
    f->mmu->num_cow_faults++;
    if (f->area) {
        count_fault(f, TRACE_FAULT_COPY);
    } else {
        report_fault(f, f->at, TRACE_FAULT_COPY);
        tally_fault(f, TRACE_FAULT_COPY);
    }
}

/* Counts a swap-in fault, major or (from the swap cache) minor. */
static void count_swap_fault(const vm_fault *f, enum trace_fault kind) {
    if (f->area)
        count_fault(f, kind);
    else
        tally_fault(f, kind);
}

/*
 * A written page that went to swap while the frame for its copy was
 * taken (fault_write_shared_anonymous): read back into that frame, this
 * entry's own and writable, a major fault. Not through the swap cache:
 * the others that name the slot must not see the write. (No frame of
 * the cache can hold the slot: eviction just took it out.)
 */
static int fault_swap_in_copy(const vm_fault *f, addr32 copy) {
    swap_slot slot = page_table_entry_slot(f->entry);
    if (!f->area)
        report_fault(f, f->at, TRACE_FAULT_SWAP);
    if (swap_in(slot, kernel_frame_memory(copy)) != 0) {
        int failure = errno;
        anon_page_free(copy);
        errno = failure;
        return -1;
    }
    report_anonymous(f, copy, TRACE_FRAME_PAGE);
    map_anonymous(f, copy);
    anon_slot_release(slot);
    f->mmu->num_swap_ins++;
    count_swap_fault(f, TRACE_FAULT_SWAP);
    return 0;
}

/*
 * A write to an anonymous page that fork left read-only in several
 * processes (Linux's do_wp_page), or that was read-only only while its
 * copy in swap was valid (anon.h):
 *   1. a page of a shared mapping, or the only mapper left (the others
 *      wrote or ended, and no entry in swap names its slot of the swap
 *      cache): its copy in swap, if any, is dropped, and the entry is
 *      made writable in place; no copy, nothing counted;
 *   2. else take a frame of the process's own (first: taking it may
 *      evict the very page; then the entry is swapped, and the page is
 *      read back into that frame, fault_swap_in_copy);
 *   3. copy the page into it, drop this entry's share of the old frame;
 *   4. map the copy with the area's or segment's rights, counted in
 *      num_cow_faults.
 */
static int fault_write_shared_anonymous(const vm_fault *f) {
    addr32 source = page_table_entry_frame(f->entry);
    bool shared = f->area && f->area->shared;
    if (shared || !anon_page_copy_on_write(source)) {
        bool only_its_copy = anon_page_drop_swap_copy(source) &&
                             !anon_page_copy_on_write(source);
        grant_rights(f, false);
        if (!only_its_copy && trace_on())
            trace_report(&(trace_record){.event = TRACE_WRITE_IN_PLACE,
                                         .pid = f->pid,
                                         .virtual_address = f->address,
                                         .physical_address = source});
        return 0;
    }
    wanting(f, TRACE_FRAME_COPY);
    addr32 copy = anon_page_take();
    if (copy == 0)
        return -1;
    if (page_table_entry_state(f->entry) != PAGE_RESIDENT)
        return fault_swap_in_copy(f, copy);
    memcpy(kernel_frame_memory(copy), kernel_frame_memory(source), PAGE_SIZE);
    anon_page_unmap(source, f->mmu, f->pid, f->address);
    report_anonymous(f, copy, TRACE_FRAME_COPY);
    map_anonymous(f, copy);
    count_copy(f);
    return 0;
}

/*
 * A write to a present page its entry keeps read-only: a private page of
 * the page cache (copied), or an anonymous page shared since fork.
 */
static int fault_write_protected(const vm_fault *f) {
    if (page_cache_owns(page_table_entry_frame(f->entry))) {
        assert(f->area && f->area->file && !f->area->shared);
        return fault_copy_on_write(f);
    }
    return fault_write_shared_anonymous(f);
}

/*
 * A private page back from swap stays read-only while it is shared
 * (other mappers, or entries that still name its slot): the first write
 * copies it. Any page back from swap stays read-only while its copy in
 * swap is valid: the first write drops the copy.
 */
static void keep_shared_read_only(const vm_fault *f, addr32 frame) {
    bool private = f->area ? !f->area->shared : true;
    if ((private && anon_page_copy_on_write(frame)) ||
        anon_page_has_swap_copy(frame))
        f->entry->read_write = 0;
}

/*
 * A page in swap whose slot's page is in the swap cache (anon.h), read
 * back for another entry: the entry maps that frame, a minor fault, and
 * drops its share of the slot.
 */
static int fault_swap_cached(const vm_fault *f, addr32 frame,
                             swap_slot slot) {
    if (!f->area)
        report_fault(f, f->at, TRACE_FAULT_MINOR);
    if (anon_swap_cache_map(frame, f->mmu, f->pid, f->address) != 0)
        return -1;
    map_page(f, frame, false);
    anon_slot_release(slot);
    keep_shared_read_only(f, frame);
    count_swap_fault(f, TRACE_FAULT_MINOR);
    return 0;
}

/*
 * An anonymous page in swap (page_table.h): the swap cache's frame if
 * its slot has one; else read back into a frame, a major fault, mapped
 * with its area's or segment's rights (read-only while shared), and put
 * in the swap cache if other entries name the slot; the entry's share of
 * the slot is dropped. A segment's fault is told before its frame is
 * taken.
 */
static int fault_swap_in(const vm_fault *f) {
    swap_slot slot = page_table_entry_slot(f->entry);
    addr32 frame = anon_swap_cache_find(slot);
    if (frame != 0)
        return fault_swap_cached(f, frame, slot);
    if (!f->area)
        report_fault(f, f->at, TRACE_FAULT_SWAP);
    wanting(f, TRACE_FRAME_PAGE);
    frame = anon_page_take();
    if (frame == 0)
        return -1;
    if (swap_in(slot, kernel_frame_memory(frame)) != 0) {
        int failure = errno;
        anon_page_free(frame);
        errno = failure;
        return -1;
    }
    report_anonymous(f, frame, TRACE_FRAME_PAGE);
    map_anonymous(f, frame);
    anon_page_swapped_in(frame, slot);
    keep_shared_read_only(f, frame);
    f->mmu->num_swap_ins++;
    count_swap_fault(f, TRACE_FAULT_SWAP);
    return 0;
}

/*
 * A segment's page read ahead by an earlier fault, waiting in its entry
 * (cached): only mapped, a minor fault.
 */
static int fault_read_ahead(const vm_fault *f) {
    report_fault(f, f->at, TRACE_FAULT_MINOR);
    f->entry->cached = 0;
    f->entry->present = 1;
    tally_fault(f, TRACE_FAULT_MINOR);
    return 0;
}

/* A demand-zero segment's page: private anonymous memory. */
static int fault_demand_zero(const vm_fault *f) {
    report_fault(f, f->at, TRACE_FAULT_ZERO);
    addr32 frame = zero_page(f);
    if (frame == 0)
        return -1;
    map_anonymous(f, frame);
    tally_fault(f, TRACE_FAULT_ZERO);
    return 0;
}

/* A page of a segment with a pager: its store reads it in (major). */
static int fault_paged(const vm_fault *f) {
    report_fault(f, f->at, TRACE_FAULT_MAJOR);
    if (segment_pager_page_in(f->mmu, f->pid, f->segment, f->at, f->entry,
                              f->access) != 0)
        return -1;
    tally_fault(f, TRACE_FAULT_MAJOR);
    return 0;
}

/*
 * The first touch of a page of a segment (not of an area). The fault is
 * told to the trace before any frame is taken, evictions included, as
 * the lab's own paging always told it.
 */
static int fault_segment_first_touch(const vm_fault *f) {
    if (!f->segment->backing)
        return fault_demand_zero(f);
    return fault_paged(f);
}

/* Finds the area of the fault's page or, outside the areas, its segment. */
static void locate(vm_fault *f) {
    if (mmu_in_areas(f->mmu, f->pid, f->address)) {
        f->area = vma_find(f->mmu->areas[f->pid], f->address);
        assert(f->area); /* the access was checked against the areas */
        f->page =
            f->area->first_page + (f->address - f->area->start) / PAGE_SIZE;
        return;
    }
    f->segment = find_segment(f->mmu->segmentations[f->pid], f->at);
    assert(f->segment); /* the access was checked against the segments */
    f->page = (f->address - f->segment->start) / PAGE_SIZE;
}

int fault_handle(mmu *this, size_t pid, addr32 address,
                 page_table_entry *entry, const mmu_access *access) {
    vm_fault f = {
        .mmu = this,
        .pid = pid,
        .address = PAGE_ROUND_DOWN(address),
        .at = address,
        .entry = entry,
        .access = access,
    };
    locate(&f);
    switch (page_table_entry_state(entry)) {
    case PAGE_UNTOUCHED:
        return f.area ? fault_area_first_touch(&f)
                      : fault_segment_first_touch(&f);
    case PAGE_RESIDENT:
        /* a write to a page shared until written: the cache's, or fork's */
        return fault_write_protected(&f);
    case PAGE_READ_AHEAD:
        assert(!f.area); /* only a segment's pager reads ahead */
        return fault_read_ahead(&f);
    case PAGE_SWAPPED:
        return fault_swap_in(&f);
    }
    assert(!"fault_handle: an entry in no known state");
    return -1;
}
