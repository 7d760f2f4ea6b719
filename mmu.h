/*
 * mmu.h: the simulated memory-management unit.
 *
 * Every access goes one way: check the segments (an address outside them,
 * or against their permissions, is a segmentation fault; in the MMAP
 * segment of a process with mapped areas, the areas decide), then the TLB,
 * then a walk of the process's two-level page table; an entry that is not
 * present, or lacks the right the access needs (user_supervisor to read,
 * read_write to write), is a page fault. The MMU serves no fault itself:
 * as a processor traps to the handler its kernel installed, it calls the
 * VM layer's fault path (vm_mmu_ops, installed by mmu_create) for every
 * page, of a segment or of a mapped area (vm.h), and that path chooses by
 * the kind of page (fault.h). A page of a segment with a pager is read in
 * a run with the rest of the access and, for a read that follows a
 * resident page, read-ahead; pages read ahead wait in their entries,
 * marked cached, and their first touch is a minor fault that only maps
 * them. Writes set the page's dirty bit; a segment's dirty pages go back
 * through its pager, neighbours together, on eviction, mmu_sync and
 * process removal. Pages of segments without a pager are demand-zero
 * anonymous memory: when the pool takes their frames they go to swap
 * (anon.h), and a fault reads them back (num_swap_outs, num_swap_ins).
 * Left out: kernel mode; fork is vm_fork's (vm.h).
 *
 * Mind the argument order: the course fixes it as (mmu, virtual address,
 * pid, ...) for mmu_read_from_virtual_address and
 * mmu_write_to_virtual_address, while vm.h's calls take (mmu, pid,
 * address, ...). Both are integers, so swapped arguments compile without
 * a warning: mmu_read_from_virtual_address(m, pid, addr, ...) reads
 * nothing, with a bare EINVAL (the address, 0x40000000 say, taken for a
 * pid).
 */
#ifndef MMU_H
#define MMU_H

#include <stdbool.h>
#include <stddef.h>

#include "kernel.h"
#include "page_table.h"
#include "segments.h"
#include "tlb.h"
#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Process ids run from 0 to MAX_PROCESS_ID - 1. */
#define MAX_PROCESS_ID 1024

/*
 * One fault brings in at most kernel_frames_total() / MMU_READ_AHEAD_SHARE
 * pages, its own included, so that read-ahead cannot flush a small pool: a
 * pool of fewer than 2 * MMU_READ_AHEAD_SHARE frames reads nothing ahead.
 */
#define MMU_READ_AHEAD_SHARE 16

typedef struct mmu mmu;

/* The bytes one access touches: what a fault may bring in with its page. */
typedef struct {
    uint64_t start, end; /* [start, end) */
    bool write;
} mmu_access;

/*
 * What the MMU asks of the VM layer above it: the only calls it makes
 * upward. mmu_create installs the VM layer's table (vm_mmu_ops) in every
 * MMU, so that a process that never maps an area has its segments' pages
 * served all the same.
 */
typedef struct {
    /*
     * Serves a fault on the page of `address`, which lies in a segment
     * (or, in a process with areas, an area) that allows the access:
     * `entry` is not present (or only cached: read ahead), or present
     * without the permission the access needs (a write to a page shared
     * until written). Returns 0 with `entry` present and allowing the
     * access, or -1 with errno (and then the access stops there).
     */
    int (*fault)(mmu *self, size_t pid, addr32 address,
                 page_table_entry *entry, const mmu_access *access);
    /* mmu_sync: the dirty pages of `pid` in [start, end) written back. */
    int (*sync)(mmu *self, size_t pid, addr32 start, addr32 end);
    /*
     * Ends the memory of `pid` as the process ends: unmaps every area,
     * writes the segments' dirty pages back and gives every page's frame
     * back, leaving only the page tables. 0, or -1: errno.
     */
    int (*release)(mmu *self, size_t pid);
    /*
     * Checks an access of [start, end), inside the MMAP segment of a
     * process with areas, needing `permission`: 0, or EFAULT (no area) or
     * EACCES (an area without it), with `*stop` at the first byte refused.
     */
    int (*check)(mmu *self, size_t pid, addr32 start, uint64_t end,
                 uint32_t permission, addr32 *stop);
} mmu_area_ops;

struct vm_areas;

struct mmu {
    page_directory *page_directories[MAX_PROCESS_ID];
    vm_segmentations *segmentations[MAX_PROCESS_ID];
    struct tlb *tlb; /* C++ needs "struct": the member shares the type's name */
    size_t num_page_faults;         /* pages mapped, each at first touch */
    size_t num_segmentation_faults; /* accesses refused by the segments */
    size_t num_tlb_misses;          /* translations not found in the TLB */
    size_t curr_pid;                /* whose translations the TLB holds */
    frame_owner owner;              /* how the pool reaches us */
    /*
     * num_page_faults split by what serving them took: a major fault read
     * the page from its store; a minor one did not (the page was in the
     * page cache or read ahead, or demand-zero, or a copy made on write).
     */
    size_t num_major_faults;
    size_t num_minor_faults;
    size_t num_cow_faults; /* copies made on a write, counted above too */
    /* Each process's mapped areas (vma.h), NULL before its first vm_mmap. */
    struct vm_areas *areas[MAX_PROCESS_ID];
    const mmu_area_ops *area_ops; /* the VM layer's, from mmu_create on */
    /*
     * Accesses refused because their page of a mapped file lies wholly
     * past the end of the file: Linux's SIGBUS, where an address outside
     * every mapping or without the right is a segmentation fault (SIGSEGV,
     * num_segmentation_faults). errno ENXIO, against EFAULT and EACCES.
     */
    size_t num_bus_errors;
    /*
     * Anonymous pages (anon.h) written to swap when the pool took their
     * frames, and read back by a fault (each such fault is major, counted
     * in num_major_faults as well).
     */
    size_t num_swap_outs;
    size_t num_swap_ins;
};

/*
 * The VM layer's operations (vm.c), which mmu_create installs in every
 * MMU, as a kernel's start-up installs its trap handlers: the one name of
 * a layer above that the MMU knows, and only its constructor uses it.
 */
extern const mmu_area_ops vm_mmu_ops;

/*
 * Whether `address` lies in the mapped areas of process `pid`: with areas,
 * the MMAP segment is theirs alone (vm.h), so its extent decides.
 */
static inline bool mmu_in_areas(const mmu *self, size_t pid, addr32 address) {
    const vm_segmentation *segment = &self->segmentations[pid]->segments[MMAP];
    return self->areas[pid] &&
           address - segment->start < segment->end - segment->start;
}

/*
 * Returns an MMU with no process, setting up the frame pool if this is its
 * first use, or NULL with errno: ENOMEM (no memory, or the pool cannot be
 * reserved), EINVAL (MMAP_FRAMES is not a whole number; see kernel.h).
 */
mmu *mmu_create(void);

/*
 * Gives process `pid` an empty page directory and a fresh address space
 * (see segmentations_create). Returns 0, or -1 with errno: EINVAL for a pid
 * out of range, EEXIST if it exists, ENOMEM.
 */
int mmu_add_process(mmu *self, size_t pid);

/*
 * Ends process `pid`: unmaps every area it maps as vm_munmap does (dirty
 * pages of shared file mappings written back; a file's pages leave the
 * page cache with its last mapping), writes the dirty pages of its
 * segments back through their pagers, then returns every frame it held
 * (pages, page tables, directory) to the pool and frees its segments.
 * Returns 0, or -1 with errno if a write-back failed; everything is
 * freed all the same, but a file page that could not be written stays
 * dirty in the page cache (vm.h), while a segment's page is lost, having
 * no other place to go. A pid with no process is ignored.
 */
int mmu_remove_process(mmu *self, size_t pid);

/* Removes every process and frees `this`; NULL is allowed. */
void mmu_delete(mmu *self);

/*
 * Copies `num_bytes` from `virtual_address` onward in process `pid` into
 * `buffer`; the range may span pages and segments. Returns the number of
 * bytes copied. On a segmentation fault nothing is copied, the fault is
 * counted and errno is EFAULT (outside every segment) or EACCES (a segment
 * without READ). A shorter count means a page fault could not be served
 * (errno ENOMEM, or the pager's errno), or a bus error: a page of a mapped
 * file wholly past the file's end (errno ENXIO, num_bus_errors; vm.h).
 * EINVAL: no such process, or NULL buffer with a non-zero count. errno is
 * left alone when every byte is copied.
 */
size_t mmu_read_from_virtual_address(mmu *self, addr32 virtual_address,
                                     size_t pid, void *buffer,
                                     size_t num_bytes);

/*
 * The same as mmu_read_from_virtual_address, copying `buffer` into memory
 * and marking the pages dirty; a segment without WRITE refuses with
 * EACCES.
 */
size_t mmu_write_to_virtual_address(mmu *self, addr32 virtual_address,
                                    size_t pid, const void *buffer,
                                    size_t num_bytes);

/*
 * Writes every dirty page of process `pid` in [start, end) back: a
 * segment's through its pager, a shared file mapping's to its file (as
 * vm_msync), and clears its dirty bit. Pages stay resident. Returns 0, or
 * -1 with the errno of the first failure; the pages that failed stay
 * dirty and the rest are still written.
 */
int mmu_sync(mmu *self, size_t pid, addr32 start, addr32 end);

#ifdef __cplusplus
}
#endif

#endif
