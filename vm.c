/*
 * vm.c: vm_mmap, vm_munmap, vm_mprotect and vm_msync: the checks of their
 * arguments, then the areas (vma.h), the page tables and the page cache.
 *
 * The MMAP segment of a process with areas spans from the region's start
 * to the end of its highest area, with every protection any area has, so
 * that the MMU's first look at an access (its segment) stays one test;
 * the areas then decide (mmu.c asks vma_check) and the entries carry each
 * page's own rights (fault_protect_entry). Changing an area's pages goes
 * through the page tables of the process: a page of the page cache is
 * unmapped in the reverse map and keeps its dirty bit in the cache; an
 * anonymous page goes back to the pool, or frees its swap slot.
 *
 * It also gives every MMU the table it calls upward (vm_mmu_ops, mmu.h):
 * the one fault path (fault.h), mmu_sync and the end of a process, for
 * segments and areas alike, and the areas' check of an access.
 */
#include "vm.h"

#include <errno.h>
#include <stdint.h>

#include "anon.h"
#include "fault.h"
#include "fork.h"
#include "heap.h"
#include "page_cache.h"
#include "rmap.h"
#include "segment_pager.h"
#include "vma.h"

#define VM_PROT_ALL (VM_PROT_READ | VM_PROT_WRITE | VM_PROT_EXEC)
#define VM_MAP_ALL                                                             \
    (VM_MAP_SHARED | VM_MAP_PRIVATE | VM_MAP_FIXED | VM_MAP_ANONYMOUS)
#define VM_MS_ALL (VM_MS_ASYNC | VM_MS_INVALIDATE | VM_MS_SYNC)

typedef char vm_prot_is_permissions[VM_PROT_READ == READ &&
                                            VM_PROT_WRITE == WRITE &&
                                            VM_PROT_EXEC == EXEC
                                        ? 1
                                        : -1];

static int sync_process(mmu *this, size_t pid, addr32 start, addr32 end);
static int release_process(mmu *this, size_t pid);
static int check_areas(mmu *this, size_t pid, addr32 start, uint64_t end,
                       uint32_t permission, addr32 *stop);

const mmu_area_ops vm_mmu_ops = {
    .fault = fault_handle,
    .sync = sync_process,
    .release = release_process,
    .check = check_areas,
};

static bool process_exists(const mmu *this, size_t pid) {
    return this && pid < MAX_PROCESS_ID && this->page_directories[pid];
}

static vm_segmentation *mmap_segment(mmu *this, size_t pid) {
    return &this->segmentations[pid]->segments[MMAP];
}

static uint64_t page_round_up(uint64_t bytes) {
    return (bytes + PAGE_SIZE - 1) / PAGE_SIZE * PAGE_SIZE;
}

/*
 * The end of the range of `length` bytes from `addr` in whole pages, as
 * Linux computes it: 0 when rounding `length` up to a page wraps past
 * SIZE_MAX (Linux's PAGE_ALIGN then gives 0, and each call answers that
 * in its own way); otherwise the end, which may lie past the 32-bit space
 * (UINT64_MAX when it would pass even 64 bits).
 */
static uint64_t range_end(addr32 addr, size_t length) {
    size_t bytes = (length + (PAGE_SIZE - 1)) & ~(size_t)(PAGE_SIZE - 1);
    if (bytes == 0)
        return 0;
    return bytes > UINT64_MAX - addr ? UINT64_MAX : (uint64_t)addr + bytes;
}

/*
 * The process's areas, made at its first mapping. NULL with errno: EINVAL
 * when its MMAP segment was grown by hand, ENOMEM.
 */
static vm_areas *areas_of(mmu *this, size_t pid) {
    if (this->areas[pid])
        return this->areas[pid];
    vm_segmentation *segment = mmap_segment(this, pid);
    if (segment->end != segment->start) {
        errno = EINVAL;
        return NULL;
    }
    this->areas[pid] = vma_create();
    return this->areas[pid];
}

/* Fits the MMAP segment to the areas: their extent and every protection. */
static void fit_segment(mmu *this, size_t pid) {
    vm_segmentation *segment = mmap_segment(this, pid);
    addr32 end = vma_highest_end(this->areas[pid], segment->start);
    if (end > segment->end)
        grow_segment(segment, (end - segment->end) / PAGE_SIZE);
    else
        shrink_segment(segment, (segment->end - end) / PAGE_SIZE);
    segment->permissions = vma_all_prot(this->areas[pid]);
}

/* The TLB must not keep a translation that no longer holds. */
static void forget_translation(mmu *this, size_t pid, addr32 address) {
    if (this->curr_pid == pid)
        tlb_invalidate(this->tlb, address);
}

typedef struct {
    mmu *mmu;
    size_t pid;
    const vm_area *area;
} page_visit;

/*
 * Unmaps one page: the cache keeps the page (and its dirty bit); an
 * anonymous page's frame, or its swap slot, loses this entry's share,
 * and is freed with its last.
 */
static void unmap_page(addr32 address, page_table_entry *entry,
                       void *context) {
    page_visit *visit = context;
    bool present = entry->present;
    addr32 frame = page_table_entry_frame(entry);
    if (present && page_cache_owns(frame)) {
        rmap_remove(frame, visit->mmu, visit->pid, address);
        page_cache_unmapped(frame, entry->dirty);
        *entry = (page_table_entry){0};
    } else {
        /* anonymous: its share of the frame or of the slot */
        anon_entry_release(entry, visit->mmu, visit->pid, address);
    }
    if (present)
        forget_translation(visit->mmu, visit->pid, address);
}

/* Sets one page's rights from its area's protection. */
static void protect_page(addr32 address, page_table_entry *entry,
                         void *context) {
    page_visit *visit = context;
    if (!entry->present)
        return;
    fault_protect_entry(entry, visit->area);
    forget_translation(visit->mmu, visit->pid, address);
}

static void for_each_page(mmu *this, size_t pid, const vm_area *area,
                          page_table_visitor visit) {
    page_visit context = {this, pid, area};
    page_table_for_each(this->page_directories[pid], area->start, area->end,
                        visit, &context);
}

/* The file pages [first, end) that the part [start, end) of `area` maps. */
static void file_pages_of(const vm_area *area, addr32 start, uint64_t end,
                          uint64_t *first, uint64_t *last) {
    addr32 from = start > area->start ? start : area->start;
    uint64_t to = end < area->end ? end : area->end;
    *first = area->first_page + (from - area->start) / PAGE_SIZE;
    *last = area->first_page + (to - area->start) / PAGE_SIZE;
}

/*
 * Splits the areas at `start` and `end`, so that every area is wholly
 * inside [start, end) or wholly outside; the half of a file's area takes
 * its own reference. Room for two areas must be reserved.
 */
static void split_at(vm_areas *areas, addr32 start, uint64_t end) {
    vm_area *half = vma_split(areas, start);
    if (half && half->file)
        page_cache_hold(half->file);
    if (end < ADDRESS_SPACE_END) {
        half = vma_split(areas, (addr32)end);
        if (half && half->file)
            page_cache_hold(half->file);
    }
}

/*
 * Unmaps every area of `pid` in [start, end): their pages, then the dirty
 * pages of shared file mappings written back, then the areas themselves.
 * Room for two areas must be reserved. Returns 0, or -1 with the errno of
 * the first failed write-back (the range is unmapped all the same).
 */
static int unmap_range(mmu *this, size_t pid, addr32 start, uint64_t end) {
    vm_areas *areas = this->areas[pid];
    split_at(areas, start, end);
    int failure = 0;
    vm_area *next = vma_first_ending_after(areas, start);
    while (next && next->start < end) {
        vm_area area = *next;
        for_each_page(this, pid, &area, unmap_page);
        next = vma_remove(areas, next);
        if (area.file && area.shared) {
            uint64_t first, last;
            file_pages_of(&area, area.start, area.end, &first, &last);
            if (page_cache_write_back(area.file, first, last) != 0 && !failure)
                failure = errno;
        }
        if (area.file && page_cache_release(area.file) != 0 && !failure)
            failure = errno;
    }
    page_table_release_unused(this->page_directories[pid], start, end);
    fit_segment(this, pid);
    if (failure)
        errno = failure;
    return failure ? -1 : 0;
}

/* Where a mapping of `bytes` goes: see vm_mmap. 0 when nowhere. */
static addr32 place(mmu *this, size_t pid, addr32 addr, uint64_t bytes,
                    bool fixed) {
    vm_segmentation *segment = mmap_segment(this, pid);
    addr32 low = segment->start;
    uint64_t high = segment->limit;
    bool inside = addr >= low && addr + bytes <= high;
    if (fixed)
        return inside ? addr : 0;
    if (inside && PAGE_OFFSET(addr) == 0 &&
        vma_range_free(this->areas[pid], addr, addr + bytes))
        return addr;
    return vma_lowest_gap(this->areas[pid], low, high, bytes);
}

/* The checks of vm_mmap that need no file: 0, or an errno. */
static int mmap_refusal(mmu *this, size_t pid, addr32 addr, size_t length,
                        int prot, int flags, off_t offset) {
    int type = flags & (VM_MAP_SHARED | VM_MAP_PRIVATE);
    if (!process_exists(this, pid) || length == 0 || (prot & ~VM_PROT_ALL) ||
        (flags & ~VM_MAP_ALL) ||
        (type != VM_MAP_SHARED && type != VM_MAP_PRIVATE) || offset < 0 ||
        offset % PAGE_SIZE != 0 ||
        ((flags & VM_MAP_ANONYMOUS) && offset != 0) ||
        ((flags & VM_MAP_FIXED) && PAGE_OFFSET(addr) != 0))
        return EINVAL;
    /* 64 bits: a 32-bit host's size_t never exceeds the space's end. */
    if ((uint64_t)length > ADDRESS_SPACE_END)
        return ENOMEM;
    if ((uint64_t)offset > (uint64_t)INT64_MAX - page_round_up(length))
        return EOVERFLOW;
    return 0;
}

addr32 vm_mmap(mmu *this, size_t pid, addr32 addr, size_t length, int prot,
               int flags, int fd, off_t offset) {
    int refusal = mmap_refusal(this, pid, addr, length, prot, flags, offset);
    if (refusal) {
        errno = refusal;
        return VM_MAP_FAILED;
    }
    uint64_t bytes = page_round_up(length);
    vm_areas *areas = areas_of(this, pid);
    if (!areas || vma_reserve(areas, 3) != 0)
        return VM_MAP_FAILED;
    vm_area area = {.prot = (uint32_t)prot,
                    .shared = (flags & VM_MAP_SHARED) != 0};
    if (!(flags & VM_MAP_ANONYMOUS)) {
        area.file = page_cache_open(fd, &area.file_writable);
        if (!area.file)
            return VM_MAP_FAILED;
        if (area.shared && (prot & VM_PROT_WRITE) && !area.file_writable) {
            page_cache_release(area.file);
            errno = EACCES;
            return VM_MAP_FAILED;
        }
        area.first_page = (uint64_t)offset / PAGE_SIZE;
    }
    area.start = place(this, pid, addr, bytes, flags & VM_MAP_FIXED);
    if (area.start == 0) {
        if (area.file)
            page_cache_release(area.file);
        errno = ENOMEM;
        return VM_MAP_FAILED;
    }
    area.end = (addr32)(area.start + bytes);
    if (flags & VM_MAP_FIXED) /* a failed write-back stays dirty: no error */
        unmap_range(this, pid, area.start, area.start + bytes);
    vma_insert(areas, &area);
    fit_segment(this, pid);
    return area.start;
}

int vm_munmap(mmu *this, size_t pid, addr32 addr, size_t length) {
    uint64_t end = range_end(addr, length);
    /* Linux refuses a range that leaves the address space, unmapping nothing. */
    if (!process_exists(this, pid) || PAGE_OFFSET(addr) != 0 || end <= addr ||
        end > ADDRESS_SPACE_END) {
        errno = EINVAL;
        return -1;
    }
    if (!this->areas[pid])
        return 0;
    if (vma_reserve(this->areas[pid], 2) != 0)
        return -1;
    return unmap_range(this, pid, addr, end);
}

int vm_mprotect(mmu *this, size_t pid, addr32 addr, size_t length, int prot) {
    if (!process_exists(this, pid) || PAGE_OFFSET(addr) != 0 ||
        (prot & ~VM_PROT_ALL)) {
        errno = EINVAL;
        return -1;
    }
    if (length == 0)
        return 0;
    vm_areas *areas = this->areas[pid];
    uint64_t end = range_end(addr, length);
    /* A length that wraps, or a range past the space, is not all mapped. */
    if (!areas || end <= addr || end > ADDRESS_SPACE_END ||
        !vma_range_mapped(areas, addr, end)) {
        errno = ENOMEM;
        return -1;
    }
    for (const vm_area *area = vma_first_ending_after(areas, addr);
         area && area->start < end; area = vma_next(areas, area)) {
        if (area->file && area->shared && !area->file_writable &&
            (prot & VM_PROT_WRITE)) {
            errno = EACCES;
            return -1;
        }
    }
    if (vma_reserve(areas, 2) != 0)
        return -1;
    split_at(areas, addr, end);
    for (vm_area *area = vma_first_ending_after(areas, addr);
         area && area->start < end; area = vma_next(areas, area)) {
        vma_protect(areas, area, (uint32_t)prot);
        for_each_page(this, pid, area, protect_page);
    }
    fit_segment(this, pid);
    return 0;
}

/*
 * Writes back the dirty pages of shared file mappings in [start, end) and,
 * with `invalidate`, drops the clean pages of every file mapping there.
 */
static int sync_range(mmu *this, size_t pid, addr32 start, uint64_t end,
                      bool invalidate) {
    vm_areas *areas = this->areas[pid];
    int failure = 0;
    for (const vm_area *area = vma_first_ending_after(areas, start);
         area && area->start < end; area = vma_next(areas, area)) {
        if (!area->file)
            continue;
        uint64_t first, last;
        file_pages_of(area, start, end, &first, &last);
        if (area->shared &&
            page_cache_write_back(area->file, first, last) != 0 && !failure)
            failure = errno;
        if (invalidate)
            page_cache_invalidate(area->file, first, last);
    }
    if (failure)
        errno = failure;
    return failure ? -1 : 0;
}

int vm_msync(mmu *this, size_t pid, addr32 addr, size_t length, int flags) {
    if (!process_exists(this, pid) || PAGE_OFFSET(addr) != 0 ||
        (flags & ~VM_MS_ALL) ||
        ((flags & VM_MS_SYNC) && (flags & VM_MS_ASYNC))) {
        errno = EINVAL;
        return -1;
    }
    uint64_t end = range_end(addr, length);
    if (length == 0 || end == 0) /* Linux: a length that wraps is empty */
        return 0;
    if (!this->areas[pid] || end > ADDRESS_SPACE_END ||
        !vma_range_mapped(this->areas[pid], addr, end)) {
        errno = ENOMEM;
        return -1;
    }
    return sync_range(this, pid, addr, end, flags & VM_MS_INVALIDATE);
}

/* The program break: heap.h, apart from the areas this file keeps. */
addr32 vm_sbrk(mmu *this, size_t pid, long increment) {
    addr32 old_break;
    if (!process_exists(this, pid)) {
        errno = EINVAL;
        return VM_MAP_FAILED;
    }
    if (heap_move_break(this, pid, increment, &old_break) != 0)
        return VM_MAP_FAILED;
    return old_break;
}

/*
 * mmu_sync: the segments' dirty pages through their pagers, then those of
 * shared file mappings to their files.
 */
static int sync_process(mmu *this, size_t pid, addr32 start, addr32 end) {
    int failure = 0;
    if (segment_pager_sync(this, pid, start, end) != 0)
        failure = errno;
    if (this->areas[pid] && sync_range(this, pid, start, end, false) != 0 &&
        !failure)
        failure = errno;
    if (failure)
        errno = failure;
    return failure ? -1 : 0;
}

static int release_areas(mmu *this, size_t pid) {
    int result = unmap_range(this, pid, 0, ADDRESS_SPACE_END);
    int failure = errno;
    vma_delete(this->areas[pid]);
    this->areas[pid] = NULL;
    if (failure)
        errno = failure;
    return result;
}

/*
 * A segment's page as its process ends, written back already: a frame a
 * pager filled is the process's alone; a demand-zero page's frame, or its
 * swap slot, loses this entry's share (fork may have made others).
 */
static void free_segment_page(addr32 address, page_table_entry *entry,
                              void *context) {
    page_visit *visit = context;
    anon_entry_release(entry, visit->mmu, visit->pid, address);
}

/*
 * The end of a process's memory (mmu_remove_process): its areas unmapped
 * as vm_munmap does, then its segments' dirty pages written back and
 * every frame of theirs given back, even when a write-back failed.
 */
static int release_process(mmu *this, size_t pid) {
    int failure = 0;
    if (this->areas[pid] && release_areas(this, pid) != 0)
        failure = errno;
    /* Up to the last page: 0xFFFFF000 is the start of the top page. */
    if (sync_process(this, pid, 0, UINT32_MAX) != 0 && !failure)
        failure = errno;
    page_visit visit = {this, pid, NULL};
    page_table_for_each(this->page_directories[pid], 0, UINT32_MAX,
                        free_segment_page, &visit);
    /* A process's end, and so mmu_delete, is a later call for those too. */
    page_cache_retry_unmapped();
    if (failure)
        errno = failure;
    return failure ? -1 : 0;
}

static int check_areas(mmu *this, size_t pid, addr32 start, uint64_t end,
                       uint32_t permission, addr32 *stop) {
    return vma_check(this->areas[pid], start, end, permission, stop);
}

int vm_fork(mmu *this, size_t parent) {
    return fork_process(this, parent);
}
