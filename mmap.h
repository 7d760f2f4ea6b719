/*
 * mmap.h: a file mapped into a simulated 32-bit address space.
 *
 * mmap_create maps a whole file into the MMAP segment of process
 * DEFAULT_PID of its own MMU, reading nothing. Each mmap_read and
 * mmap_write goes through that MMU: a page is read from the file the first
 * time it is touched, writes mark pages dirty, and dirty pages go back to
 * the file at mmap_sync, at munmap, or when the frame pool evicts them.
 * Only bytes inside the length the file had when it was mapped are ever
 * written, so a mapping never shrinks its file and never grows it past
 * that length. If another program shrinks the file meanwhile, pages past
 * its new end read as zeros, and writing back a dirty page there extends
 * the file again, up to the end of that page's bytes inside the mapped
 * length (as a write(2) past the end of a file would). This rule is the
 * lab's own, and each mapping keeps it whatever other mappings of the
 * file (vm.h's, whose rule is Linux's: the file as it is now) do.
 *
 * The typedef `mmap` and the function `munmap` shadow the POSIX names:
 * never include <sys/mman.h> in a file that includes this header. A program
 * has one munmap, and the library's (munmap.c) serves both: the program's
 * other files and its shared libraries may call the host's munmap(addr,
 * length) as usual, and get what the host's does. It is defined with the
 * host's signature and tells the two kinds of call apart by the pointer
 * alone: a mapping mmap_create made and munmap has not ended is the lab's
 * call, anything else the host's. That relies on the ABI: on x86-64 and
 * AArch64 (the only targets it builds for) both arguments travel in
 * registers, so a lab call, which passes one, leaves garbage where the
 * length goes, and the length is read only for the host's calls.
 *
 * How this layer meets the MMU's: the struct records what mmap_create saw
 * and did, and never changes after. `writable` says how the file was
 * opened; whether a write gets through is decided by the MMU's page rights
 * alone, so a vm_mprotect(this->mmu, DEFAULT_PID, ...) to read-only makes
 * mmap_write fail with the MMU's errno (EACCES) while `writable` stays
 * true. `start_address` is a uintptr_t by the handout's layout, but it
 * always holds an addr32 (the MMAP segment lies in the 32-bit space), so
 * (addr32)this->start_address is exact for the mmu_* and vm_* calls.
 */
#ifndef MMAP_H
#define MMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mmu.h"
#include "segments.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DEFAULT_PID 42

typedef struct {
    struct mmu *mmu;         /* owned: the mapping's own MMU */
    FILE *stream;            /* owned: the mapped file, unbuffered */
    size_t length;           /* the file's length when mapped, in bytes */
    uintptr_t start_address; /* virtual address of byte 0, page-aligned */
    bool writable;           /* opened for writing */
} mmap;

/*
 * Maps the regular file at `path_to_file`, read-write when it can be opened
 * for writing and read-only otherwise. Nothing is read yet. Returns the
 * mapping, which the caller ends with munmap, or NULL with errno: EINVAL
 * (NULL path, or MMAP_FRAMES is not a whole number), what stat(2) and
 * open(2) say (ENOENT, EACCES, ENOTDIR, ...), EISDIR (a directory), ENODEV
 * (not a regular file: FIFO, socket, device; refused before it is opened,
 * so opening it has no effect), EAGAIN (the path named another file by the
 * time it was opened), ENOMEM (no memory, the frame pool cannot be
 * reserved, or a file larger than the MMAP region of 1.75 GiB).
 */
mmap *mmap_create(const char *path_to_file);

/*
 * Copies up to `num_bytes` from byte `offset` of the mapping into `buff`,
 * stopping at the file's length. Returns the number of bytes copied: 0 at
 * or past the end. A shorter count than asked for inside the file means a
 * page could not be brought in (errno from the MMU). NULL `this` or
 * `buff`: 0 with errno EINVAL.
 */
size_t mmap_read(mmap *self, void *buff, size_t offset, size_t num_bytes);

/*
 * Copies up to `num_bytes` from `buff` to byte `offset` of the mapping,
 * stopping at the file's length (the file never grows). Returns the number
 * of bytes copied, as mmap_read. A read-only mapping refuses every write,
 * whatever the offset and count: 0 with errno EACCES (as write(2) refuses
 * a descriptor not open for writing, even for 0 bytes); when the write
 * would have reached bytes of the file, the MMU refused it and counted a
 * segmentation fault. The file sees the bytes only at mmap_sync, munmap or
 * eviction.
 */
size_t mmap_write(mmap *self, const void *buff, size_t offset,
                  size_t num_bytes);

/*
 * Writes every dirty page back to the file (only the bytes inside its
 * length) and marks it clean. Returns 0, or -1 with errno; pages that could
 * not be written stay dirty. NULL `this`: -1 with errno EINVAL.
 */
int mmap_sync(mmap *self);

/*
 * Writes dirty pages back, returns every frame to the pool, closes the
 * stream and frees `this`. NULL does nothing. A failed write-back cannot be
 * reported here (call mmap_sync first when it matters), but loses nothing:
 * the pages stay dirty in the page cache (vm.h), and a later mapping of
 * the file writes them. Any other pointer is
 * taken for a call of the host's munmap(addr, length) (see the opening
 * comment) and handed to the system call with whatever length the caller's
 * register held. A mapping already unmapped is never page aligned, so
 * that call refuses it: nothing is freed twice or unmapped, and errno is
 * EINVAL. Do not hand munmap a struct mmap_create did not return (one on
 * the stack, say): should it be page aligned, the host would unmap from
 * there.
 */
void munmap(mmap *self);

#ifdef __cplusplus
}
#endif

#endif
