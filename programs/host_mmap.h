/*
 * host_mmap.h: the host kernel's own mmap, the baseline mmap_bench
 * measures the simulated one against.
 *
 * It lives apart because mmap.h shadows the POSIX names `mmap` and
 * `munmap`: this file pair is the only place that sees <sys/mman.h>, and
 * it unmaps through the raw system call, since a program linked with our
 * library calls our munmap by that name.
 */
#ifndef HOST_MMAP_H
#define HOST_MMAP_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Maps the whole file at `path` read-only and shared, faulting nothing in,
 * and stores its length in `*length`. Returns the mapping, or NULL with
 * errno (from open, fstat or mmap; EINVAL for an empty file). Unmap it with
 * host_unmap.
 */
const unsigned char *host_map_file(const char *path, size_t *length);

/*
 * Maps `length` bytes of private anonymous memory wherever the kernel
 * places them, readable, and writable too with `writable`. Returns the
 * mapping, or NULL with errno (from mmap). Unmap it with host_unmap.
 */
const unsigned char *host_map_anonymous(size_t length, bool writable);

/*
 * Maps `length` bytes of private anonymous memory, readable and writable,
 * for a caller that writes through the pointer: as
 * host_map_anonymous(length, true), without the const. Returns the
 * mapping, or NULL with errno (from mmap). Unmap it with host_unmap.
 */
unsigned char *host_map_writable(size_t length);

/* Unmaps what host_map_file, host_map_anonymous or host_map_writable
 * returned. Returns 0, or -1 with errno. */
int host_unmap(const unsigned char *mapping, size_t length);

#ifdef __cplusplus
}
#endif

#endif
