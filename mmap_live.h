/*
 * mmap_live.h: the one call munmap.c needs from mmap.c, the lab's unmapping.
 *
 * Internal to the library: a driver calls munmap. This header does not
 * include mmap.h, so munmap.c can see the host's <sys/mman.h> instead.
 * Left out: everything else of the lab's mappings.
 */
#ifndef MMAP_LIVE_H
#define MMAP_LIVE_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * When `mapping` is a mapping mmap_create returned and munmap has not
 * ended, ends it as mmap.h's munmap promises (write-back, frames, stream,
 * memory) and returns true. Otherwise returns false and touches nothing,
 * not even what `mapping` points to: NULL, a host address, a mapping
 * already ended.
 */
bool mmap_end_if_live(void *mapping);

#ifdef __cplusplus
}
#endif

#endif
