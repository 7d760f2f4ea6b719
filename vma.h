/*
 * vma.h: the mapped areas of a simulated process.
 *
 * Each area is a range [start, end) of whole pages made by one vm_mmap,
 * with its protection and its backing: a file of the page cache from some
 * offset, or anonymous memory. A process's areas are kept in order of
 * address, never overlapping, in a balanced search tree; this module
 * finds, places, splits and removes them, and checks an access against
 * them, each in logarithmic time. It knows nothing of frames or I/O: the
 * areas say what a page should be, the page tables say what it is. Left
 * out: merging neighbours with the same attributes (as Linux does),
 * growing an area (mremap).
 */
#ifndef VMA_H
#define VMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "types.h"

struct cached_file;

typedef struct {
    addr32 start; /* page-aligned */
    addr32 end;   /* one past the last byte, page-aligned */
    uint32_t prot; /* VM_PROT_* of vm.h, the same bits as enum permissions */
    bool shared;   /* VM_MAP_SHARED; else private */
    /* The file mapped, NULL for anonymous memory; the area holds a reference. */
    struct cached_file *file;
    uint64_t first_page; /* the file's page at `start` (offset / PAGE_SIZE) */
    /*
     * 0 for a mapping of vm.h, whose pages are those inside the file as it
     * is now (a page wholly past its end is a bus error), and whose
     * write-back writes only bytes inside it. The lab's mapping
     * (mmap_create) keeps its length instead: kept_end is the file's
     * length when it was mapped; every page before it may be touched,
     * and write-back writes every byte before it, growing again a file
     * that another program shrank (mmap.h).
     */
    uint64_t kept_end;
    bool file_writable; /* the descriptor mapped was open for writing */
} vm_area;

/* A process's areas: a balanced tree of them, opaque. */
typedef struct vm_areas vm_areas;

/*
 * Every call below costs at most logarithmic time in the number of areas,
 * but vma_delete and vma_valid (linear). An area stays at its address
 * from its insert (or split) to its removal, so a caller may keep a
 * pointer to it. Its start, end and prot are the tree's to change (prot
 * through vma_protect); its other fields are the caller's.
 *
 * Walking the areas that meet [start, end):
 *
 *     for (vm_area *a = vma_first_ending_after(areas, start);
 *          a && a->start < end; a = vma_next(areas, a))
 *
 * A walk may split the area it stands on (its first half stays where it
 * is, the second half comes next) and may remove it: vma_remove returns
 * the area after it, to go on from.
 */

/* Returns a process's empty list of areas, or NULL with errno ENOMEM. */
vm_areas *vma_create(void);

/*
 * Frees `this` and every area left in it (their file references are the
 * caller's, to release before); NULL is allowed.
 */
void vma_delete(vm_areas *self);

/* The area holding `address`, or NULL. Looks at the one found last first. */
vm_area *vma_find(vm_areas *self, addr32 address);

/* The lowest area that ends after `address`, or NULL if none does. */
vm_area *vma_first_ending_after(const vm_areas *self, addr32 address);

/* The area after `area` (which is in `this`), or NULL when it is the last. */
vm_area *vma_next(const vm_areas *self, const vm_area *area);

/*
 * Checks an access of [start, end) needing `permission` (VM_PROT_READ or
 * VM_PROT_WRITE): returns 0 when every byte lies in an area allowing it,
 * EFAULT when one lies in no area, EACCES when one lies in an area without
 * it; `*stop` gets the first address refused.
 */
int vma_check(vm_areas *self, addr32 start, uint64_t end, uint32_t permission,
              addr32 *stop);

/* Whether no area overlaps [start, end). */
bool vma_range_free(const vm_areas *self, addr32 start, uint64_t end);

/* Whether every page of [start, end) lies in some area. */
bool vma_range_mapped(const vm_areas *self, addr32 start, uint64_t end);

/*
 * The lowest start in [low, high) of a free range of `bytes` (a multiple
 * of PAGE_SIZE, not 0) that ends by `high`, or 0 when none fits.
 */
addr32 vma_lowest_gap(const vm_areas *self, addr32 low, uint64_t high,
                      uint64_t bytes);

/*
 * Makes room for `more` areas, so that the inserts and splits that follow
 * cannot fail. Returns 0, or -1 with errno ENOMEM.
 */
int vma_reserve(vm_areas *self, size_t more);

/*
 * Inserts a copy of `area`, which overlaps none, in order (room must be
 * reserved). Returns the area as kept.
 */
vm_area *vma_insert(vm_areas *self, const vm_area *area);

/*
 * Splits the area holding `address` in two at it, if `address` lies
 * strictly inside one (room must be reserved). The first half stays where
 * the area was; the second half maps the file from the page it starts at.
 * Both halves keep the file pointer, so the caller takes one more
 * reference on it. Returns the second half, or NULL when nothing was split.
 */
vm_area *vma_split(vm_areas *self, addr32 address);

/*
 * Removes `area` and frees it; its file reference is the caller's (read
 * what is needed first). Returns the area that followed it, or NULL.
 */
vm_area *vma_remove(vm_areas *self, vm_area *area);

/* Sets the protection of `area` (in `this`) to `prot`. */
void vma_protect(vm_areas *self, vm_area *area, uint32_t prot);

/* The highest end of any area, or `otherwise` when there is none. */
addr32 vma_highest_end(const vm_areas *self, addr32 otherwise);

/* The union of every area's protection. */
uint32_t vma_all_prot(const vm_areas *self);

/*
 * Whether the tree holds together: its areas in order and apart, every
 * node balanced and its subtree's summaries (extent, widest gap,
 * protections) true. For the tests: it visits every area.
 */
bool vma_valid(const vm_areas *self);

#endif
