/*
 * fork.h: a process copied in its MMU, sharing every page and copying
 * none until one is written: the work behind vm_fork (vm.h), whose
 * contract it keeps. Calls go down: vm.c calls here; this module calls
 * the areas, the page tables, anon, rmap, the page cache, the segments'
 * pagers and swap. Left out: vfork, clone's shared address spaces, and
 * copying the pages of segments with a pager (written back instead).
 */
#ifndef FORK_H
#define FORK_H

#include <stddef.h>

#include "mmu.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Copies process `parent` of `mmu` into the lowest free pid; see vm_fork
 * for the contract and the errors. Returns the child's pid, or -1 with
 * errno.
 */
int fork_process(mmu *mmu, size_t parent);

#ifdef __cplusplus
}
#endif

#endif
