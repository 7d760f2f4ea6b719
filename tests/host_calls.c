/*
 * tests/host_calls.c: a file of the program that uses the host's memory
 * calls, as the other files of a program that links the library do.
 *
 * It includes <sys/mman.h> and never mmap.h, so the munmap it calls is
 * declared as the host's, munmap(addr, length). The linker resolves every
 * call to munmap in the program to the library's one definition
 * (munmap.c), which must do here what the host's does: unmap the range and
 * return 0, or return -1 with errno. The functions are declared in
 * host_calls.h, which declares no munmap, so the suite's files that
 * include mmap.h can call them.
 */
#define _GNU_SOURCE /* MAP_ANONYMOUS, mincore */

#include "host_calls.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { HOST_PAGE = 4096 };

int host_calls_munmap(void *addr, size_t length) {
    return munmap(addr, length);
}

/* Two anonymous read-write pages; setup failures end the grandchild. */
static unsigned char *map_two_pages(void) {
    void *pages = mmap(NULL, 2 * HOST_PAGE, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (pages == MAP_FAILED) {
        perror("mmap of two anonymous pages");
        _exit(2); /* in a grandchild of the runner: never return */
    }
    return pages;
}

static bool page_is_mapped(const unsigned char *page) {
    unsigned char resident;

    /* ENOMEM: not mapped; mincore fails no other way for an aligned page. */
    return mincore((void *)page, HOST_PAGE, &resident) == 0 || errno != ENOMEM;
}

void host_calls_unmap_first_of_two_pages(host_unmapper *unmap,
                                         host_unmapping *out) {
    unsigned char *pages = map_two_pages();

    memset(pages, 'A', HOST_PAGE);
    memset(pages + HOST_PAGE, 'B', HOST_PAGE);
    errno = 0;
    out->result = unmap(pages, HOST_PAGE);
    out->error = out->result == 0 ? 0 : errno;
    out->first_page_gone = !page_is_mapped(pages);
    out->second_page_kept = page_is_mapped(pages + HOST_PAGE) &&
                            pages[HOST_PAGE] == 'B' &&
                            pages[2 * HOST_PAGE - 1] == 'B';
    syscall(SYS_munmap, pages, 2 * (size_t)HOST_PAGE);
}

static void refuse(host_unmapper *unmap, void *addr, size_t length,
                   host_refusal *out) {
    errno = 0;
    out->result = unmap(addr, length);
    out->error = errno;
    errno = 0;
    out->syscall_result = (int)syscall(SYS_munmap, addr, length);
    out->syscall_error = errno;
}

void host_calls_refused_munmaps(host_unmapper *unmap, host_refusal *unaligned,
                                host_refusal *empty) {
    unsigned char *pages = map_two_pages();

    refuse(unmap, pages + 1, HOST_PAGE, unaligned);
    refuse(unmap, pages, 0, empty);
    syscall(SYS_munmap, pages, 2 * (size_t)HOST_PAGE);
}
