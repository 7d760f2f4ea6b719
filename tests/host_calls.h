/*
 * tests/host_calls.h: host munmap calls made from files of the program that
 * do not include mmap.h (tests/host_calls.c) and from a shared library
 * (tests/host_user_lib.c), as a driver's other files and its libraries
 * make them. Neither declares munmap here, so this header sits beside
 * mmap.h or beside <sys/mman.h> alike.
 */
#ifndef TESTS_HOST_CALLS_H
#define TESTS_HOST_CALLS_H

#include <stdbool.h>
#include <stddef.h>

/* Where a host munmap call is made: a function with munmap's signature. */
typedef int host_unmapper(void *addr, size_t length);

/* What one host munmap(page, 4096) of the first of two pages did. */
typedef struct {
    int result;            /* what munmap returned */
    int error;             /* errno after it; 0 when it returned 0 */
    bool first_page_gone;  /* mincore says ENOMEM for it */
    bool second_page_kept; /* still mapped, still holding what was written */
} host_unmapping;

/* munmap(addr, length) called in tests/host_calls.c; errno as it left it. */
int host_calls_munmap(void *addr, size_t length);

/*
 * Maps two anonymous host pages, writes both, has `unmap` unmap the first
 * one only (length 4096) and reports what happened. Setup failures end the
 * process with status 2 (run it in a grandchild).
 */
void host_calls_unmap_first_of_two_pages(host_unmapper *unmap,
                                         host_unmapping *out);

/* A host munmap's result and errno, and the system call's for the same. */
typedef struct {
    int result, error;
    int syscall_result, syscall_error;
} host_refusal;

/*
 * munmap of one page's address plus 1 (unaligned) and of its address with
 * length 0, each beside the raw system call given the same arguments.
 */
void host_calls_refused_munmaps(host_unmapper *unmap, host_refusal *unaligned,
                                host_refusal *empty);

/* tests/libhostuser.so: munmap(addr, length), called inside the library. */
int host_user_munmap(void *addr, size_t length);

/* The address of munmap as the library's own code resolves it. */
host_unmapper *host_user_munmap_address(void);

#endif
