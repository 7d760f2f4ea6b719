/*
 * mmap.h: a file mapped into a simulated 32-bit address space.
 *
 * mmap_create maps a whole file into the MMAP segment of process
 * DEFAULT_PID of its own MMU, reading nothing. Each mmap_read and
 * mmap_write goes through that MMU: a page is read from the file the first
 * time it is touched, writes mark pages dirty, and dirty pages go back to
 * the file at mmap_sync, at munmap, or when the frame pool evicts them.
 * Only bytes inside the file's length are ever written: the file never
 * grows or shrinks through a mapping.
 *
 * The typedef `mmap` and the function `munmap` shadow the POSIX names:
 * never include <sys/mman.h> in a file that includes this header.
 */
#ifndef MMAP_H
#define MMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mmu.h"
#include "segments.h"

#define DEFAULT_PID 42

typedef struct {
    mmu *mmu;                /* owned: the mapping's own MMU */
    FILE *stream;            /* owned: the mapped file, unbuffered */
    size_t length;           /* the file's length when mapped, in bytes */
    uintptr_t start_address; /* virtual address of byte 0, page-aligned */
    pager pager;             /* the file as the MMAP segment's backing store */
    bool writable;           /* opened for writing */
} mmap;

/*
 * Maps the regular file at `path_to_file`, read-write when it can be opened
 * for writing and read-only otherwise. Nothing is read yet. Returns the
 * mapping, which the caller ends with munmap, or NULL with errno: EINVAL
 * (NULL path), what fopen says (ENOENT, EACCES, ...), EISDIR (a directory),
 * ENODEV (not a regular file), ENOMEM (no memory, or a file larger than the
 * MMAP region of 1.75 GiB).
 */
mmap *mmap_create(const char *path_to_file);

/*
 * Copies up to `num_bytes` from byte `offset` of the mapping into `buff`,
 * stopping at the file's length. Returns the number of bytes copied: 0 at
 * or past the end. A shorter count than asked for inside the file means a
 * page could not be brought in (errno from the MMU). NULL `this` or
 * `buff`: 0 with errno EINVAL.
 */
size_t mmap_read(mmap *this, void *buff, size_t offset, size_t num_bytes);

/*
 * Copies up to `num_bytes` from `buff` to byte `offset` of the mapping,
 * stopping at the file's length (the file never grows). Returns the number
 * of bytes copied, as mmap_read. A read-only mapping returns 0 with errno
 * EACCES and the MMU counts a segmentation fault. The file sees the bytes
 * only at mmap_sync, munmap or eviction.
 */
size_t mmap_write(mmap *this, const void *buff, size_t offset,
                  size_t num_bytes);

/*
 * Writes every dirty page back to the file (only the bytes inside its
 * length) and marks it clean. Returns 0, or -1 with errno; pages that could
 * not be written stay dirty. NULL `this`: -1 with errno EINVAL.
 */
int mmap_sync(mmap *this);

/*
 * Writes dirty pages back, returns every frame to the pool, closes the
 * stream and frees `this`. NULL does nothing. A failed write-back cannot be
 * reported here: call mmap_sync first when it matters.
 */
void munmap(mmap *this);

#endif
