/*
 * fault.h: the one page-fault path of the MMU, split by the kind of page.
 *
 * The MMU calls fault_handle (through the table vm.c gives every MMU,
 * mmu_area_ops) for every page whose entry cannot serve the access, of a
 * mapped area or of a segment. One descriptor of the fault travels
 * through one function per kind, as in Linux's mm/memory.c, chosen first
 * by the state the entry records (page_table_entry_state):
 *   - an anonymous page in swap (swapped): read back into a frame of its
 *     own with its area's or segment's rights, its slot freed; a major
 *     fault, counted in num_swap_ins too (TRACE_FAULT_SWAP);
 *   - anonymous memory (an anonymous area, or a segment without a pager,
 *     the lab's demand-zero memory): a zeroed frame;
 *   - a page of a segment with a pager: read by the segment's store
 *     (segment_pager.h) in a run with read-ahead (a major fault), or, when
 *     read ahead already and waiting in its entry (cached), only mapped
 *     (minor);
 *   - a file page, read, or written through a shared mapping: the page
 *     cache's frame, read from the file when it is not cached yet (a
 *     major fault) and mapped as it is otherwise (minor);
 *   - a write through a private mapping: a copy of the page cache's frame
 *     in a frame of the process's own (copy-on-write), whether the page
 *     was mapped already (read-only, shared with the cache) or not;
 *   - a write to an anonymous page that vm_fork left read-only: made
 *     writable in place when this entry is its last mapper, else copied
 *     into a frame of the process's own (num_cow_faults);
 *   - a page wholly past the end of the file: refused, a bus error
 *     (Linux's SIGBUS), counted in num_bus_errors, errno ENXIO; the file
 *     is asked its length first, since it may have grown.
 * Each first touch counts one page fault in the MMU, major when the page
 * itself was read from its store, minor otherwise; copies count in
 * num_cow_faults as well. A segment's fault is told to the trace before
 * its frames are taken, an area's once it is served. Calls go down: this
 * module calls the page cache, the segments' store, anon, rmap and the
 * pool. Left out: fault-around (mapping cached neighbours at once), huge
 * pages, userfaultfd.
 */
#ifndef FAULT_H
#define FAULT_H

#include <stddef.h>

#include "mmu.h"
#include "types.h"
#include "vma.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Serves a fault on the page of `address` in process `pid`, which lies in
 * one of its areas or, outside them, in one of its segments, and which
 * that area or segment allows the access (see mmu_area_ops). Returns 0
 * with `entry` present and allowing the access, or -1 with errno: ENOMEM
 * (no frame), the file's or the pager's errno (a failed read), ENXIO (a
 * page past the end of the file: a bus error is counted).
 */
int fault_handle(mmu *self, size_t pid, addr32 address,
                 page_table_entry *entry, const mmu_access *access);

/*
 * Sets the permission bits of a present `entry` of `area` from the area's
 * protection: user_supervisor allows reading, read_write writing, except
 * that a private mapping's entry for a page of the page cache is never
 * writable (its first write must copy the page).
 */
void fault_protect_entry(page_table_entry *entry, const vm_area *area);

#ifdef __cplusplus
}
#endif

#endif
