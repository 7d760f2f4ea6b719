/*
 * heap.h: the program break: the end of a process's HEAP segment
 * (segments.h), moved by whole pages, and the pages a lower break frees.
 *
 * vm_sbrk (vm.h) checks its arguments and calls here. Growing only moves
 * the segment's end: the pages are demand-zero, served by the one fault
 * path (fault.h) at their first touch. Shrinking gives back the frames and
 * swap slots of the pages past the new break, as the end of a process
 * gives back a segment's pages. Left out: RLIMIT_DATA, a randomised heap
 * start, a break kept to the byte.
 */
#ifndef HEAP_H
#define HEAP_H

#include <stddef.h>

#include "mmu.h"
#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Moves the break of process `pid` (which exists) of `mmu` by `increment`
 * bytes, the new break rounded up to a page, and sets *old_break to the
 * break before the call; see vm_sbrk for what moving it does. Returns 0,
 * or -1 with errno and nothing changed: ENOMEM when the heap would leave
 * its region (grow into MMAP, or shrink below its start), or the pager's
 * errno when the write-back of a dirty page past the new break fails.
 */
int heap_move_break(mmu *mmu, size_t pid, long increment, addr32 *old_break);

#ifdef __cplusplus
}
#endif

#endif
