/*
 * anon.h: anonymous pages: zero-filled memory and private copies.
 *
 * An anonymous page has no file to go back to: the frames of demand-zero
 * memory (vm_mmap with VM_MAP_ANONYMOUS) and of the copies a private
 * mapping makes on its first write to a page. With no swap yet, they are
 * pinned: the pool never evicts them, and they stay until unmapped. Left
 * out: swap (the next step), sharing anonymous pages between processes
 * (fork).
 */
#ifndef ANON_H
#define ANON_H

#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A pinned frame of zeros, or 0 with errno (see ask_kernel_for_frame). */
addr32 anon_page_zeroed(void);

/*
 * A pinned frame whose contents the caller writes at once (a copy), or 0
 * with errno. Taking it may evict a page, so the caller looks up what it
 * copies only afterwards.
 */
addr32 anon_page_take(void);

/* Gives an anonymous page's frame back to the pool. */
void anon_page_free(addr32 frame);

#ifdef __cplusplus
}
#endif

#endif
