/*
 * vma.h: the mapped areas of a simulated process.
 *
 * Each area is a range [start, end) of whole pages made by one vm_mmap,
 * with its protection and its backing: a file of the page cache from some
 * offset, or anonymous memory. A process's areas are kept sorted by
 * address, never overlapping; this module finds, places, splits and
 * removes them, and checks an access against them. It knows nothing of
 * frames or I/O: the areas say what a page should be, the page tables say
 * what it is. Left out: merging neighbours with the same attributes (as
 * Linux does), growing an area (mremap).
 */
#ifndef VMA_H
#define VMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

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

typedef struct vm_areas {
    vm_area *areas; /* sorted by start */
    size_t count;
    size_t capacity;
    size_t last_found; /* vma_find looks here first */
} vm_areas;

/* Returns a process's empty list of areas, or NULL with errno ENOMEM. */
vm_areas *vma_create(void);

/* Frees `this` (the areas must be gone: their references are the caller's). */
void vma_delete(vm_areas *self);

/* The area holding `address`, or NULL. */
vm_area *vma_find(vm_areas *self, addr32 address);

/* The index of the first area that ends after `address` (count if none). */
size_t vma_index_after(const vm_areas *self, addr32 address);

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
 * of PAGE_SIZE), or 0 when none fits.
 */
addr32 vma_lowest_gap(const vm_areas *self, addr32 low, uint64_t high,
                      uint64_t bytes);

/*
 * Makes room for `more` areas, so that the inserts and splits that follow
 * cannot fail. Returns 0, or -1 with errno ENOMEM.
 */
int vma_reserve(vm_areas *self, size_t more);

/* Inserts `area`, which overlaps none, in order (room must be reserved). */
void vma_insert(vm_areas *self, const vm_area *area);

/*
 * Splits the area holding `address` in two at it, if `address` lies
 * strictly inside one (room must be reserved). The second half maps the
 * file from the page it starts at; both halves keep the file pointer, so
 * the caller takes one more reference on it. Returns the second half's
 * index, or count when nothing was split.
 */
size_t vma_split(vm_areas *self, addr32 address);

/* Removes the area at `index`; its file reference is the caller's. */
void vma_remove(vm_areas *self, size_t index);

/* The highest end of any area, or `otherwise` when there is none. */
addr32 vma_highest_end(const vm_areas *self, addr32 otherwise);

/* The union of every area's protection. */
uint32_t vma_all_prot(const vm_areas *self);

#ifdef __cplusplus
}
#endif

#endif
