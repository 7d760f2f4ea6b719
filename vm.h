/*
 * vm.h: POSIX memory mappings on the simulated MMU: vm_mmap, vm_munmap,
 * vm_mprotect and vm_msync, with Linux's semantics (man 2 mmap, munmap,
 * mprotect, msync) unless a call below says otherwise; and vm_sbrk, the
 * program break (man 2 brk).
 *
 * The calls work on process `pid` of an MMU, as the MMU's own calls do;
 * its memory is then read and written with mmu_read_from_virtual_address
 * and mmu_write_to_virtual_address, and mmu_remove_process unmaps whatever
 * the process still maps, as vm_munmap does. Mappings live in the MMAP
 * region of the address space (segments.h): the MMAP segment grows to
 * cover the highest mapping, and each mapped area carries its own
 * protection and backing, which the MMU checks on every access.
 *
 * Mind the argument order: the vm_* calls take (mmu, pid, addr, ...), the
 * course's MMU, whose order is fixed, (mmu, addr, pid, ...) for
 * mmu_read_from_virtual_address and mmu_write_to_virtual_address. Both
 * are integers, so swapped arguments compile without a warning: a swapped
 * vm_munmap(m, addr, pid, length) fails with a bare EINVAL (the address,
 * 0x40000000 say, taken for a pid), and vm_mmap(m, 0, pid, ...), meant as
 * "anywhere in process pid", maps into process 0 if there is one.
 *
 * Pages of files live in one page cache per host process, keyed by the
 * file's device and inode, so every mapping of a file, in any process of
 * any MMU, reaches the same frame: a write through a shared mapping is
 * seen at once by every other mapping of that page that has not made its
 * own copy. A private mapping reads the cache until it writes a page; its
 * first write to a page copies it (a copy-on-write fault), and the copy is
 * never written to the file. Anonymous memory is zero-filled on first
 * touch; when the pool takes its frame it goes to swap (anon.h), and its
 * next touch reads it back (a major fault), keeping the slot as its copy
 * until it is written, so that a clean page is not written twice. So do
 * private copies. Dirty pages of shared file mappings go back to the file
 * at vm_msync, at eviction, and when their range is unmapped; only bytes
 * inside the file are written, so a mapping never grows its file, nor
 * writes bytes it did not have from the file. A file's pages leave the
 * cache, dirty ones written first, when its last mapping goes; a page
 * whose write-back fails is never dropped: it stays dirty in the cache,
 * and a later write-back of the file (a new mapping's vm_msync or
 * vm_munmap, an eviction, the end of any process: mmu_remove_process,
 * mmu_delete) writes it.
 *
 * The file's length is the one it has now, as for Linux, but the library
 * must ask the file (fstat), which it does at each vm_mmap of it, each
 * read of pages from it, each write-back and eviction of a dirty page,
 * and before refusing a page past the end it last saw. A file grown by
 * another program (ftruncate, write) can then be touched in the grown
 * part, and the writes reach it; a file truncated loses its pages wholly
 * past the new end from every mapping (dirty or not, as truncate(2) does),
 * a later access there is a bus error, and no write-back grows it again.
 *
 * An access is refused in one of two ways, as Linux signals it: outside
 * every mapping, or without the right, it is a segmentation fault (errno
 * EFAULT or EACCES, num_segmentation_faults; Linux's SIGSEGV); to a page
 * of a file mapping wholly past the file's end it is a bus error (errno
 * ENXIO, num_bus_errors; Linux's SIGBUS). Either stops the access there,
 * with the bytes before it copied. No call sets errno when it succeeds.
 *
 * Where this simulation differs from Linux, on purpose:
 * - Between the moments the library asks the file its length, a page
 *   already mapped is served as it was: Linux refuses a page the file no
 *   longer holds at once, and shows at once bytes another program wrote.
 *   Private copies of pages past a new end are kept; Linux drops them.
 * - A read needs VM_PROT_READ, whatever else is set: x86 Linux lets
 *   PROT_WRITE or PROT_EXEC alone read, this MMU does not.
 * - There is no background writer: VM_MS_ASYNC writes at once, as
 *   VM_MS_SYNC does.
 * - Bytes another program writes inside the length the library knew are
 *   seen by mapped pages only after they leave the cache (eviction, or
 *   vm_msync with VM_MS_INVALIDATE); Linux's page cache is that
 *   program's too.
 * - The simulated address space is 32 bits wide but lengths are size_t:
 *   a range is judged as Linux judges one that leaves a 64-bit process's
 *   space (vm_munmap, vm_mprotect and vm_msync below).
 * - A shared anonymous mapping has no object behind it (Linux's shmem):
 *   vm_fork gives each page of one that the parent never touched its
 *   frame of zeros first, so that both processes find it (Linux makes
 *   them at their first touch). Its pages in swap stay there: the swap
 *   cache (anon.h) brings a page shared before eviction back as one
 *   frame for every process, as Linux's does.
 * - vm_fork copies no page of a segment with a pager: it writes the
 *   parent's dirty ones back through the pager, and the child reads them
 *   from that store (which both use) at its first touch.
 * - vm_fork gives the child the lowest pid with no process; Linux hands
 *   out pids in increasing order and wraps.
 * - When the pool is full of pages that cannot leave (swap full, or
 *   write-backs failing), the access that needs a frame fails with
 *   ENOMEM and nothing is lost; Linux's out-of-memory killer would end a
 *   process instead.
 * - Swap is one unlinked temporary file of MMAP_SWAP_PAGES pages, made at
 *   the first swap-out; a swap-in reads one page (Linux reads a cluster
 *   around it ahead). A page read back keeps its slot as its copy until
 *   its first write (so a clean page is not written again), where Linux
 *   frees such slots early once swap is half full.
 *
 * Left out: vfork and clone's sharing of a whole address space, mremap,
 * madvise, mlock, MAP_NORESERVE and the other flags, huge pages, file
 * locks. Not thread-safe.
 */
#ifndef VM_H
#define VM_H

#include <stddef.h>
#include <sys/types.h>

#include "mmu.h"
#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Protections: the values of Linux's PROT_* (and of enum permissions). */
#define VM_PROT_NONE 0x0
#define VM_PROT_READ 0x1
#define VM_PROT_WRITE 0x2
#define VM_PROT_EXEC 0x4

/* Flags: the values of Linux's MAP_*. */
#define VM_MAP_SHARED 0x01
#define VM_MAP_PRIVATE 0x02
#define VM_MAP_FIXED 0x10
#define VM_MAP_ANONYMOUS 0x20

/* vm_msync flags: the values of Linux's MS_*. */
#define VM_MS_ASYNC 1
#define VM_MS_INVALIDATE 2
#define VM_MS_SYNC 4

/* What vm_mmap returns on failure (never a page-aligned address). */
#define VM_MAP_FAILED ((addr32)-1)

/*
 * Maps `length` bytes (rounded up to whole pages) of the file open on host
 * descriptor `fd` from byte `offset`, or, with VM_MAP_ANONYMOUS, zero-filled
 * memory (`fd` is then ignored and `offset` must be 0), into process `pid`.
 * `flags` holds exactly one of VM_MAP_SHARED and VM_MAP_PRIVATE, and may
 * add VM_MAP_FIXED and VM_MAP_ANONYMOUS. Nothing is read now. The mapping
 * holds the file open itself, through an opening of its own (of
 * /proc/self/fd/`fd`; a duplicate where /proc is missing): closing `fd`
 * changes nothing, and no status flag of `fd` (O_APPEND, O_DIRECT, or one
 * set later with fcntl) changes how pages are read and written back.
 *
 * Placement: without VM_MAP_FIXED, a page-aligned `addr` whose whole range
 * is free inside the MMAP region is used as given (a hint, as on Linux);
 * otherwise the mapping goes in the lowest free range of the region that
 * fits. With VM_MAP_FIXED, `addr` is used exactly, and whatever the
 * process mapped there is unmapped first, as vm_munmap does; a failed
 * write-back of its dirty pages does not fail vm_mmap (Linux's mmap
 * writes nothing back): the pages stay dirty in the page cache, and the
 * file's next write-back (another mapping's vm_msync or vm_munmap, a new
 * mapping's, eviction) writes them and reports how it went.
 *
 * Returns the mapping's address, or VM_MAP_FAILED with errno:
 *   EINVAL  no such process, `this` NULL, `length` 0, `offset` negative or
 *           not page-aligned (or not 0 with VM_MAP_ANONYMOUS), not exactly
 *           one of SHARED and PRIVATE, unknown bits in `prot` or `flags`,
 *           VM_MAP_FIXED with an unaligned `addr`, or an MMAP segment that
 *           the process grew by hand (segments.h), which mappings cannot
 *           share;
 *   EBADF   `fd` is not an open descriptor, or one opened O_PATH (without
 *           VM_MAP_ANONYMOUS);
 *   EACCES  `fd` is not open for reading, or VM_MAP_SHARED with
 *           VM_PROT_WRITE and `fd` not open for writing, or `fd` has
 *           O_APPEND or O_DIRECT and /proc cannot open the file again;
 *   ENODEV  `fd` is not a regular file, or one of a pseudo file system
 *           (/proc, /sys, ...) whose files have no pages;
 *   ENOMEM  no free range of the MMAP region fits, a VM_MAP_FIXED range
 *           leaves the region, or no memory for the records;
 *   EOVERFLOW `offset + length` is past what off_t holds;
 *   or what fstat(2) or dup(2) says.
 */
addr32 vm_mmap(mmu *self, size_t pid, addr32 addr, size_t length, int prot,
               int flags, int fd, off_t offset);

/*
 * Unmaps every mapped page of [addr, addr + length rounded up to a page)
 * in process `pid`, splitting mappings as needed (unmapping the middle of
 * one leaves two); pages that are not mapped are ignored, and then 0 is
 * returned, as on Linux. A later access to the range is a segmentation
 * fault, also for a page whose translation the TLB held. Dirty pages of
 * shared file mappings in the range are written back; private copies and
 * anonymous pages are freed; page tables left with no page go back to
 * the pool. Returns 0, or -1 with errno: EINVAL (unaligned `addr`,
 * `length` 0, a range that runs past the 32-bit space or a `length` whose
 * rounding up wraps, as Linux refuses one past its own: nothing is
 * unmapped; no such process; `this` NULL), or the errno of a failed
 * write-back, in which case the range is unmapped all the same and the
 * page stays dirty in the page cache, even when this was the file's last
 * mapping, where a later write-back (another mapping's, a new mapping's,
 * or eviction) tries again.
 */
int vm_munmap(mmu *self, size_t pid, addr32 addr, size_t length);

/*
 * Sets the protection of [addr, addr + length rounded up) in process
 * `pid` to `prot`, splitting mappings as needed, at once: a translation
 * the TLB holds is dropped, so an access just made illegal is refused.
 * Returns 0, or -1 with errno and nothing changed: EINVAL (unaligned
 * `addr`, unknown bits in `prot`, no such process, `this` NULL), ENOMEM (a
 * page of the range is not mapped, the range runs past the 32-bit space
 * or `length` wraps when rounded up, or no memory for a split), EACCES
 * (VM_PROT_WRITE on a shared mapping of a file not open for writing when
 * it was mapped). A `length` of 0 changes nothing and returns 0.
 */
int vm_mprotect(mmu *self, size_t pid, addr32 addr, size_t length, int prot);

/*
 * Writes the dirty pages of shared file mappings in [addr, addr + length
 * rounded up) of process `pid` back to their files and marks them clean.
 * VM_MS_SYNC and VM_MS_ASYNC both write at once (there is no background
 * writer to hand the work to); one of them, or neither, may be given. With
 * VM_MS_INVALIDATE, the clean pages of file mappings in the range are then
 * dropped from the page cache and unmapped from every process that maps
 * them, so the next touch reads the file again and sees what other
 * programs wrote to it; private copies are kept. Returns 0, or -1 with
 * errno: EINVAL (unaligned `addr`, both VM_MS_SYNC and VM_MS_ASYNC, unknown
 * bits, no such process, `this` NULL), ENOMEM (a page of the range is not
 * mapped, or the range runs past the 32-bit space), or the errno of a
 * failed write, whose pages stay dirty. A `length` of 0, or one so large
 * that rounding it up to a page wraps to 0, does nothing and returns 0,
 * as Linux's msync does.
 */
int vm_msync(mmu *self, size_t pid, addr32 addr, size_t length, int flags);

/*
 * Moves the program break of process `pid`, the end of its HEAP segment
 * (segments.h), by `increment` bytes, as sbrk(2) does (man 2 brk): the new
 * break is the old one plus `increment`, rounded up to a whole page, so
 * the break is always page-aligned. Growing reserves nothing: the new
 * pages are demand-zero, filled at their first touch and swappable like
 * anonymous memory. Shrinking frees each page wholly past the new break,
 * its frame or its swap slot, drops its translation from the TLB, and
 * gives back page tables left empty; a later access there is a
 * segmentation fault (EFAULT). A heap with a pager (segments.h) writes
 * its dirty pages past the new break back through it first. An
 * `increment` of 0 returns the break and changes nothing.
 *
 * Returns the old break, or VM_MAP_FAILED with errno, and nothing
 * changed:
 *   ENOMEM  the heap would grow past its region, into MMAP (where every
 *           mapping lives), or shrink below its start;
 *   EINVAL  no such process, or `this` NULL;
 *   or the pager's errno when writing back a page past the new break
 *   fails (that page stays, dirty).
 *
 * Where this differs from Linux: Linux keeps the break to the byte and
 * maps the pages it reaches; here the break is always page-aligned, so
 * vm_sbrk(m, pid, 1) moves it a whole page (the next call returns the
 * old break plus PAGE_SIZE, not plus 1), and vm_sbrk(m, pid, -1) leaves
 * it where it was: a page is freed only when the new break lies wholly
 * below it, which is also when Linux frees one.
 * Linux's brk(2) ignores a break below the heap's start, and glibc's sbrk
 * then reports success without moving it; here that is ENOMEM. There is
 * no RLIMIT_DATA and no randomised heap start: the heap starts at
 * 0x10000000 and may reach 0x40000000.
 */
addr32 vm_sbrk(mmu *self, size_t pid, long increment);

/*
 * Creates a copy of process `parent` as a new process of the same MMU,
 * the lowest pid with no process, as fork(2) does: its segments, its
 * mapped areas (each file area holding the file once more) and its page
 * tables, never its pages. Shared mappings (of files, or anonymous) go on
 * sharing their frames: a write by either process is seen by the other
 * at once. Private pages (private anonymous memory, private copies of
 * file pages, the pages of segments without a pager) become read-only in
 * both, and the first write by either gives the writer a copy of its own
 * (counted in num_cow_faults); the last process mapping such a frame
 * writes it in place, with no copy and nothing counted. Private file
 * pages not yet copied stay the page cache's. A page in swap stays there,
 * its slot named by both; the first to touch it reads it back (a major
 * fault), the other then maps that same frame (a minor one), read-only
 * if private. Pages of a segment with a pager are written back through
 * it and read again by the child (see above). The child's end is
 * mmu_remove_process, which drops its share of every page.
 * The steps (fork.c has them in full): 1. take the lowest free pid;
 * 2. write back the parent's dirty pages of segments with a pager;
 * 3. make the child's directory and segments; 4. copy the areas; 5. give
 * untouched pages of shared anonymous areas their frames of zeros;
 * 6. copy each entry, sharing its frame or slot, private ones read-only
 * in both; 7. flush the parent's TLB; 8. on a failure in 3-6, end the
 * child, leaving nothing of it.
 * Returns the child's pid, or -1 with errno: EINVAL (`this` NULL, no
 * process `parent`), EAGAIN (every pid has a process), ENOMEM (no frame
 * or memory for the child's tables and records: then nothing of the child
 * remains; pages of the parent's shared anonymous mappings given frames
 * of zeros for it stay the parent's), or the errno of a failed
 * write-back through a pager (no child is made).
 */
int vm_fork(mmu *self, size_t parent);

#ifdef __cplusplus
}
#endif

#endif
