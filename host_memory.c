/*
 * host_memory.c: lazily backed, huge-page aligned reservations of host
 * memory, through the host kernel's anonymous mmap.
 *
 * Left out under WebAssembly (Emscripten): laziness and huge pages, which
 * it has neither of. Its mmap is an aligned malloc, zero-filled at once,
 * and its munmap frees a whole mapping or nothing, so there a reservation
 * is exactly the bytes asked, with no slack to trim.
 */
/* MAP_ANONYMOUS, MAP_NORESERVE, madvise and syscall are not POSIX. */
#define _GNU_SOURCE

#include "host_memory.h"

#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef __EMSCRIPTEN__
/* Asked beyond the bytes wanted, so an aligned start fits inside. */
#define RESERVE_SLACK HOST_HUGE_PAGE

/*
 * The host's munmap. The library defines a function named munmap (the
 * lab's, in mmap.h) that replaces the C library's in every program linked
 * with it, so the host's is reached through the system call itself.
 */
static void host_unmap(void *memory, size_t bytes) {
    syscall(SYS_munmap, memory, bytes);
}
#else
/* No system calls there, and the web build leaves munmap.c out. */
#define RESERVE_SLACK 0
#define host_unmap munmap
#endif

void *host_memory_reserve(size_t bytes) {
    if (bytes == 0 || bytes > SIZE_MAX - HOST_HUGE_PAGE) {
        errno = ENOMEM;
        return NULL;
    }
    /*
     * One huge page more than asked, so an aligned start fits inside; the
     * slack on either side goes straight back. MAP_NORESERVE: the host
     * promises no memory for pages never touched.
     */
    size_t span = bytes + RESERVE_SLACK;
    char *start = mmap(NULL, span, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (start == MAP_FAILED) {
        errno = ENOMEM;
        return NULL;
    }
    if (RESERVE_SLACK == 0)
        return start;
    uintptr_t at = (uintptr_t)start;
    char *aligned = start + ((HOST_HUGE_PAGE - at % HOST_HUGE_PAGE) %
                             HOST_HUGE_PAGE);
    if (aligned > start)
        host_unmap(start, (size_t)(aligned - start));
    char *end = aligned + bytes;
    if (end < start + span)
        host_unmap(end, (size_t)(start + span - end));
#ifdef MADV_HUGEPAGE
    madvise(aligned, bytes, MADV_HUGEPAGE); /* only a hint: ignore a refusal */
#endif
    return aligned;
}

void host_memory_release(void *memory, size_t bytes) {
    if (memory)
        host_unmap(memory, bytes);
}

size_t host_memory_table_bytes(size_t count, size_t record) {
    return (count * record + HOST_HUGE_PAGE - 1) / HOST_HUGE_PAGE *
           HOST_HUGE_PAGE;
}
