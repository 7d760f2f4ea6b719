/*
 * mmu.c: the access path of the simulated MMU, its page-fault handler,
 * and the MMU's side of eviction.
 *
 * An access is checked against the segments once for its whole range,
 * then served page by page: TLB, page walk, and on a page not present a
 * fault served by the segment's pager. The pool reaches the MMU through
 * `owner` to age and evict the pages it faulted in; a page is named to the
 * pool by its process id and virtual page number.
 */
#include "mmu.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"

/* A frame's key: the process id above the 20 bits of the page number. */
#define PAGE_NUMBER_BITS (32 - NUM_OFFSET_BITS)
#define PAGE_NUMBER_MASK ((1u << PAGE_NUMBER_BITS) - 1)
#define PAGE_KEY(pid, address)                                                 \
    ((uint32_t)(pid) << PAGE_NUMBER_BITS | VPN(address))
#define KEY_PID(key) ((size_t)((key) >> PAGE_NUMBER_BITS))
#define KEY_ADDRESS(key) ((addr32)((key)&PAGE_NUMBER_MASK) << NUM_OFFSET_BITS)

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
    return get_system_pointer_from_address(frame_address(entry));
}

static bool process_exists(const mmu *this, size_t pid) {
    return pid < MAX_PROCESS_ID && this->page_directories[pid] != NULL;
}

mmu *mmu_create(void) {
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

/*
 * Saves a dirty page through its segment's pager and marks it clean. A
 * page outside every segment (left behind by shrink_segment) or in one
 * without a pager has nowhere to go, so there is nothing to save.
 */
static int write_back(mmu *this, size_t pid, addr32 address,
                      page_table_entry *entry) {
    vm_segmentation *segment = find_segment(this->segmentations[pid], address);
    if (segment && segment->backing) {
        size_t page = (address - segment->start) / PAGE_SIZE;
        if (segment->backing->page_out(segment->backing, page,
                                       frame_of(entry)) != 0)
            return -1;
        trace(TRACE_WRITE_BACK, address, frame_address(entry));
    }
    entry->dirty = 0;
    return 0;
}

typedef int (*page_visitor)(mmu *this, size_t pid, addr32 address,
                            page_table_entry *entry);

/*
 * Calls `visit` on every present page of process `pid` in [start, end),
 * looking only at page tables that exist. Visits all of them even when one
 * fails; returns 0, or -1 with the errno of the first failure.
 */
static int for_each_present_page(mmu *this, size_t pid, addr32 start,
                                 addr32 end, page_visitor visit) {
    int result = 0, failure = 0;
    page_directory *directory = this->page_directories[pid];
    for (uint64_t address = PAGE_ROUND_DOWN(start); address < end;) {
        if (!directory->entries[PAGE_DIRECTORY_INDEX(address)].present) {
            address = (address / TABLE_SPAN + 1) * TABLE_SPAN;
            continue;
        }
        page_table_entry *entry =
            page_table_walk(directory, (addr32)address, false);
        if (entry->present && visit(this, pid, (addr32)address, entry) != 0 &&
            result == 0) {
            result = -1;
            failure = errno;
        }
        address += PAGE_SIZE;
    }
    if (result != 0)
        errno = failure;
    return result;
}

static int sync_page(mmu *this, size_t pid, addr32 address,
                     page_table_entry *entry) {
    return entry->dirty ? write_back(this, pid, address, entry) : 0;
}

int mmu_sync(mmu *this, size_t pid, addr32 start, addr32 end) {
    if (!this || !process_exists(this, pid)) {
        errno = EINVAL;
        return -1;
    }
    return for_each_present_page(this, pid, start, end, sync_page);
}

/* Saves the page if dirty, then frees its frame whatever came of that. */
static int release_page(mmu *this, size_t pid, addr32 address,
                        page_table_entry *entry) {
    int result = sync_page(this, pid, address, entry);
    return_frame_to_kernel(frame_address(entry));
    *entry = (page_table_entry){0};
    return result;
}

int mmu_remove_process(mmu *this, size_t pid) {
    if (!this || !process_exists(this, pid))
        return 0;
    /* Up to the last page: 0xFFFFF000 is the start of the top page. */
    int result = for_each_present_page(this, pid, 0, UINT32_MAX, release_page);
    int failure = errno;
    if (this->curr_pid == pid)
        tlb_flush(this->tlb);
    page_directory_delete(this->page_directories[pid]);
    free(this->segmentations[pid]);
    this->page_directories[pid] = NULL;
    this->segmentations[pid] = NULL;
    errno = failure;
    return result;
}

void mmu_delete(mmu *this) {
    if (!this)
        return;
    for (size_t pid = 0; pid < MAX_PROCESS_ID; pid++)
        mmu_remove_process(this, pid);
    tlb_delete(this->tlb);
    free(this);
}

/* The pool's second-chance question: used since the clock last passed? */
static bool page_referenced(frame_owner *owner, uint32_t key) {
    mmu *this = mmu_of(owner);
    page_table_entry *entry = page_table_walk(
        this->page_directories[KEY_PID(key)], KEY_ADDRESS(key), false);
    assert(entry && entry->present);
    bool referenced = entry->accessed;
    entry->accessed = 0;
    return referenced;
}

/* The pool takes the frame back: save the page, then unmap it. */
static int page_evict(frame_owner *owner, uint32_t key) {
    mmu *this = mmu_of(owner);
    size_t pid = KEY_PID(key);
    addr32 address = KEY_ADDRESS(key);
    page_table_entry *entry =
        page_table_walk(this->page_directories[pid], address, false);
    assert(entry && entry->present);
    if (entry->dirty && write_back(this, pid, address, entry) != 0)
        return -1;
    if (pid == this->curr_pid)
        tlb_invalidate(this->tlb, address);
    *entry = (page_table_entry){0};
    return 0;
}

/*
 * Serves a fault on the page of `address`: takes a frame (evicting if need
 * be), has the segment's pager fill it, or zeroes it for a segment with no
 * pager, and maps it. Pages with a pager can go back to it, so the pool may
 * evict them; the others are pinned.
 */
static int page_fault(mmu *this, size_t pid, addr32 address,
                      page_table_entry *entry) {
    trace(TRACE_PAGE_FAULT, address, 0);
    vm_segmentation *segment = find_segment(this->segmentations[pid], address);
    assert(segment);
    pager *backing = segment->backing;
    addr32 frame = ask_kernel_for_frame(backing ? &this->owner : NULL,
                                        PAGE_KEY(pid, address));
    if (frame == 0)
        return -1;
    void *memory = get_system_pointer_from_address(frame);
    if (!backing) {
        memset(memory, 0, PAGE_SIZE);
    } else if (backing->page_in(backing,
                                (PAGE_ROUND_DOWN(address) - segment->start) /
                                    PAGE_SIZE,
                                memory) != 0) {
        int failure = errno;
        return_frame_to_kernel(frame);
        errno = failure;
        return -1;
    }
    *entry = (page_table_entry){
        .present = 1,
        .read_write = (segment->permissions & WRITE) != 0,
        .user_supervisor = 1,
        .base_addr = frame >> NUM_OFFSET_BITS,
    };
    this->num_page_faults++;
    return 0;
}

/*
 * Returns the present entry mapping `address` in the current process:
 * from the TLB, else from a page walk, else after a page fault. NULL with
 * errno when the fault could not be served.
 */
static page_table_entry *translate(mmu *this, addr32 address) {
    page_table_entry *entry = tlb_get_pte(this->tlb, address);
    if (entry) {
        trace(TRACE_TLB_HIT, address, 0);
        return entry;
    }
    this->num_tlb_misses++;
    trace(TRACE_TLB_MISS, address, 0);
    size_t pid = this->curr_pid;
    entry = page_table_walk(this->page_directories[pid], address, true);
    if (!entry)
        return NULL;
    trace(TRACE_PAGE_WALK, address, entry->present ? frame_address(entry) : 0);
    if (!entry->present && page_fault(this, pid, address, entry) != 0)
        return NULL;
    tlb_add_pte(this->tlb, address, entry);
    return entry;
}

/*
 * Checks [address, address + num_bytes) segment by segment: every byte
 * must lie in a segment allowing `permission`. Counts a segmentation fault
 * and sets errno when one does not.
 */
static bool access_allowed(mmu *this, size_t pid, addr32 address,
                           size_t num_bytes, uint32_t permission) {
    uint64_t end = (uint64_t)address + num_bytes;
    for (uint64_t at = address; at < end;) {
        vm_segmentation *segment =
            at > UINT32_MAX
                ? NULL
                : find_segment(this->segmentations[pid], (addr32)at);
        if (!segment || !(segment->permissions & permission)) {
            this->num_segmentation_faults++;
            trace(TRACE_SEGFAULT, (addr32)at, 0);
            errno = segment ? EACCES : EFAULT;
            return false;
        }
        at = segment->end;
    }
    return true;
}

/* Makes `pid` the running process; its TLB entries are not ours. */
static void switch_to(mmu *this, size_t pid) {
    if (this->curr_pid != pid) {
        tlb_flush(this->tlb);
        this->curr_pid = pid;
    }
}

/*
 * The one path of every access: `memory` is copied from (write) or into
 * (read) the simulated memory at `address`, page by page.
 */
static size_t access_memory(mmu *this, addr32 address, size_t pid, void *memory,
                            size_t num_bytes, bool write) {
    if (!this || !process_exists(this, pid) || (!memory && num_bytes)) {
        errno = EINVAL;
        return 0;
    }
    if (num_bytes == 0)
        return 0;
    if (!access_allowed(this, pid, address, num_bytes, write ? WRITE : READ))
        return 0;
    switch_to(this, pid);
    char *bytes = memory;
    size_t done = 0;
    while (done < num_bytes) {
        addr32 at = address + (addr32)done;
        page_table_entry *entry = translate(this, at);
        if (!entry)
            break;
        size_t offset = PAGE_OFFSET(at);
        size_t chunk = PAGE_SIZE - offset;
        if (chunk > num_bytes - done)
            chunk = num_bytes - done;
        char *frame = frame_of(entry);
        if (write) {
            memcpy(frame + offset, bytes + done, chunk);
            entry->dirty = 1;
        } else {
            memcpy(bytes + done, frame + offset, chunk);
        }
        entry->accessed = 1;
        done += chunk;
    }
    return done;
}

size_t mmu_read_from_virtual_address(mmu *this, addr32 virtual_address,
                                     size_t pid, void *buffer,
                                     size_t num_bytes) {
    return access_memory(this, virtual_address, pid, buffer, num_bytes, false);
}

size_t mmu_write_to_virtual_address(mmu *this, addr32 virtual_address,
                                    size_t pid, const void *buffer,
                                    size_t num_bytes) {
    return access_memory(this, virtual_address, pid, (void *)buffer, num_bytes,
                         true);
}
