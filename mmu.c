/*
 * mmu.c: the access path of the simulated MMU and the life of its
 * processes.
 *
 * An access is checked against the segments (and, in the MMAP segment of
 * a process with mapped areas, the areas) once for its whole range, then
 * served page by page: TLB, page walk, the entry's rights, and on a page
 * that cannot serve the access a fault, handed to the VM layer's fault
 * path through the table mmu_create installs (area_ops); so are the
 * areas' check of an access, mmu_sync and the end of a process. Nothing
 * else here calls upward. The usual access, one page whose translation
 * needs no fault, takes the same steps in one short function
 * (access_usual) before the general one (access_memory) is called.
 */
#include "mmu.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"

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


static char *frame_of(const page_table_entry *entry) {
    return kernel_frame_memory(page_table_entry_frame(entry));
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
    /* The VM layer's fault path, installed as a kernel installs its trap
     * handler: the access path only ever calls this table. */
    this->area_ops = &vm_mmu_ops;
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

int mmu_sync(mmu *this, size_t pid, addr32 start, addr32 end) {
    if (!this || !process_exists(this, pid)) {
        errno = EINVAL;
        return -1;
    }
    return this->area_ops->sync(this, pid, start, end);
}

int mmu_remove_process(mmu *this, size_t pid) {
    if (!this || !process_exists(this, pid))
        return 0;
    int result = this->area_ops->release(this, pid);
    int failure = errno;
    if (this->curr_pid == pid)
        tlb_flush(this->tlb);
    page_directory_delete(this->page_directories[pid]);
    free(this->segmentations[pid]);
    this->page_directories[pid] = NULL;
    this->segmentations[pid] = NULL;
    if (result != 0)
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

/* Serves a fault on the page of `address`: the VM layer's fault path. */
static int page_fault(mmu *this, size_t pid, addr32 address,
                      page_table_entry *entry, const mmu_access *span) {
    /* The fault may take frames: the table `entry` lies in must stay. */
    page_table_hold(this->page_directories[pid], address);
    int result = this->area_ops->fault(this, pid, address, entry, span);
    page_table_unhold();
    return result;
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
        trace_event_at(TRACE_TLB_MISS, pid, address, 0);
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
        trace_event_at(TRACE_PAGE_WALK, pid, address,
                       entry->present ? page_table_entry_frame(entry) : 0);
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
        int refusal = this->area_ops->check(this, pid, (addr32)*at, to,
                                            permission, &stop);
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
            trace_event_at(TRACE_SEGFAULT, pid, (addr32)at, 0);
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
 * A policy that wants every access (lru) is told of it: one branch on a
 * flag that does not change during a run, so predicted, for the others.
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
    if (kernel_notes_accesses)
        kernel_note_access(page_table_entry_frame(&seen));
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
            trace_event_at(TRACE_TLB_HIT, pid, at, 0);
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
