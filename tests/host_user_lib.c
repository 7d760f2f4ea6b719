/*
 * tests/host_user_lib.c: tests/libhostuser.so, a shared library that calls
 * the host's munmap, as a library a driver links (SQLite with PRAGMA
 * mmap_size, say) does. Its reference to munmap is resolved by the dynamic
 * linker, which finds the executable's definition (the library's munmap.c)
 * before the C library's; the suite checks that it does and that the call
 * still does what the host's munmap does.
 */
#include <sys/mman.h>

#include "host_calls.h"

int host_user_munmap(void *addr, size_t length) {
    return munmap(addr, length);
}

host_unmapper *host_user_munmap_address(void) {
    return munmap;
}
