/*
 * host_memory.h: where the simulated physical memory lives on the host.
 *
 * The frame pool reserves its memory here: address space only, which the
 * host backs a page at a time when a page is first touched, so a pool
 * costs what is used of it, never its size. The reservation is aligned to
 * a huge host page and asks the host for huge pages where it offers them.
 * The benchmark's floor takes its memory the same way. Left out: giving
 * memory back to the host before the reservation ends; under WebAssembly,
 * laziness and the huge-page alignment (host_memory.c says why).
 */
#ifndef HOST_MEMORY_H
#define HOST_MEMORY_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The size of a huge page on x86-64 hosts; reservations are aligned to it. */
#define HOST_HUGE_PAGE ((size_t)2 << 20)

/*
 * Reserves `bytes` (a multiple of 4096) of zero-filled host memory and
 * returns its start, aligned to HOST_HUGE_PAGE. Nothing is backed yet: the
 * host backs each page at its first touch. Returns NULL with errno ENOMEM
 * when the host cannot reserve the address space (a limit on it, or
 * strict overcommit). End it with host_memory_release.
 */
void *host_memory_reserve(size_t bytes);

/*
 * The bytes to reserve for a table of `count` records of `record` bytes:
 * whole huge pages, since a smaller reservation cannot hold one. The
 * pool's own tables (frame table, free stack, reverse map, page-cache
 * records and index) are reserved so, and backed as they are touched.
 */
size_t host_memory_table_bytes(size_t count, size_t record);

/* Ends a reservation of `bytes` made by host_memory_reserve; NULL is ignored. */
void host_memory_release(void *memory, size_t bytes);

#ifdef __cplusplus
}
#endif

#endif
