/*
 * munmap.c: the program's one munmap, both the lab's munmap(mmap *) of
 * mmap.h and the host's munmap(addr, length) of <sys/mman.h>.
 *
 * The handout fixes the lab's name and signature, and a program (with its
 * shared libraries) has one function named munmap: this one, which the
 * executable's definition gives to every caller, the C library's own
 * callers aside. It is defined with the host's signature, and this file
 * sees <sys/mman.h>, never mmap.h. A lab caller passes one argument, the
 * mapping; a host caller two. On the ABIs accepted below both arguments
 * travel in registers (x86-64: rdi, rsi; AArch64: x0, x1), so a lab call
 * arrives with `addr` right and `length` holding whatever the caller's
 * register held, and its int result is ignored by a caller that expects
 * nothing. That is safe because `length` is read only when `addr` is not
 * a live lab mapping, that is, only for host calls. In C terms a lab call
 * goes through a declaration of another type; the ABI, not the standard,
 * makes it work, which is why an unknown ABI is refused at build time (and
 * why link-time optimisation, which would see both declarations, is not
 * supported). Left out: the host's other memory calls, which mmap.h never
 * shadowed.
 */
#if !(defined(__x86_64__) || defined(__aarch64__))
/* Where a lab caller's missing second argument is known to be harmless. */
#error "munmap.c serves munmap(mmap *) on x86-64 and AArch64 only"
#endif

#define _DEFAULT_SOURCE /* syscall, also under -std=c99 */

#include <stddef.h>
#include <sys/mman.h> /* the host's declaration, checked against ours */
#include <sys/syscall.h>
#include <unistd.h>

#include "mmap_live.h"

/*
 * A live lab mapping: ended, 0. NULL: 0 and nothing else, since the lab's
 * munmap(NULL) does nothing and a lab caller's `length` is garbage: the
 * host would unmap whatever lies in [0, length), the program included
 * (for a host caller the one difference: munmap(NULL, 0) is 0, not
 * EINVAL). Anything else is the host's call, answered by the system call
 * itself, since the C library's munmap is this function: a mapping
 * already ended is never page aligned (see live_mapping in mmap.c) and
 * gets -1 with EINVAL.
 */
int munmap(void *addr, size_t length) {
    if (mmap_end_if_live(addr) || !addr)
        return 0;
    return (int)syscall(SYS_munmap, addr, length);
}
