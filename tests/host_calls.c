/*
 * tests/host_calls.c: a file of the program that uses the host's memory
 * calls, as the other files of a program that links the library do.
 *
 * It includes <sys/mman.h> and never mmap.h, so the munmap it calls is
 * declared as the host's, munmap(addr, length). But the linker resolves
 * every call to munmap in the program to one definition, and the library
 * defines munmap(mmap *): that is the function this file reaches, with the
 * host page as its mapping and the length ignored. The library cannot
 * prevent the call; it can only see that the pointer is not one of its
 * mappings and stop with a message, rather than free or write through a
 * host page (a crash, or a heap corrupted far from the cause). In C terms
 * the call goes through a declaration of another type, which is undefined;
 * on the hosts the suite runs on the page arrives as munmap's one argument,
 * which is all the library's check needs. The function is declared in
 * helpers.h, which this file cannot include since helpers.h includes
 * mmap.h.
 */
#define _GNU_SOURCE /* MAP_ANONYMOUS */

#include <stddef.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

void unmap_a_host_page_from_a_file_without_mmap_h(void);

void unmap_a_host_page_from_a_file_without_mmap_h(void) {
    const size_t length = 4096;
    void *page = mmap(NULL, length, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (page == MAP_FAILED) {
        perror("mmap of one anonymous page");
        _exit(2); /* in a grandchild of the runner: never return */
    }
    munmap(page, length); /* the library's munmap, not the host's */
}
