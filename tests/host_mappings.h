/*
 * tests/host_mappings.h: the host kernel's mmap, munmap, mprotect and
 * msync, the twin of every call that tests/vm_kernel_tests.c makes through
 * vm.h, and accesses to host memory that report a fault instead of dying
 * of it.
 *
 * It lives apart because mmap.h (which helpers.h includes) shadows the
 * POSIX names: only tests/host_mappings.c sees <sys/mman.h>, and it unmaps
 * through the raw system call. Protections and flags are vm.h's VM_*
 * values, which are Linux's own (host_mappings.c checks that when it is
 * compiled), so one value means the same on both sides.
 *
 * Left out: anything but what the differential test needs; not
 * thread-safe (the fault handler jumps through one static buffer).
 */
#ifndef TESTS_HOST_MAPPINGS_H
#define TESTS_HOST_MAPPINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * mmap(2): maps `length` bytes at `addr` (a hint, or exact with
 * VM_MAP_FIXED). Returns the mapping, or NULL with errno.
 */
unsigned char *host_mapping_map(void *addr, size_t length, int prot, int flags,
                                int fd, off_t offset);

/*
 * munmap(2), mprotect(2), msync(2): 0, or -1 with errno. A range given to
 * msync that holds pages not mapped or mapped PROT_NONE goes to the kernel
 * in pieces, since valgrind reports such a range: the flags and address
 * checked first, then the other pages; then it fails with ENOMEM if a page
 * is not mapped, as msync(2) does, and returns 0 otherwise.
 */
int host_mapping_unmap(void *addr, size_t length);
int host_mapping_protect(void *addr, size_t length, int prot);
int host_mapping_sync(void *addr, size_t length, int flags);

/* Whether the host maps the page at `page` (aligned) at all (mincore(2)). */
bool host_page_is_mapped(const void *page);

/*
 * Copies `n` bytes from host memory `from` into `to`, one byte at a time
 * and in order, as far as the host lets the process: a SIGSEGV or SIGBUS
 * stops the copy. Returns the bytes copied; `*signal` gets 0 when all were,
 * else the signal that stopped it. A page that is not mapped, or mapped
 * PROT_NONE (/proc/self/maps says), is never touched: the copy stops
 * before it with SIGSEGV, as the access would, so that valgrind sees no
 * access to memory it knows to be inaccessible.
 */
size_t host_mapping_read(const void *from, void *to, size_t n, int *signal);

/* The same, from `from` into host memory `to`. */
size_t host_mapping_write(void *to, const void *from, size_t n, int *signal);

#endif
