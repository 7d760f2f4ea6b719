/*
 * tests/host_mappings.c: the host kernel's mappings for the differential
 * test of vm.h (see host_mappings.h). The one file of the suite that sees
 * <sys/mman.h>; it never includes mmap.h, and unmaps through the raw
 * system call, since the program's munmap is the library's.
 */
#define _GNU_SOURCE /* MAP_ANONYMOUS, mincore */

#include "host_mappings.h"

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vm.h"

/* One value means the same to vm.h and to the host. */
typedef char host_prot_values_are_vm_values
    [PROT_NONE == VM_PROT_NONE && PROT_READ == VM_PROT_READ &&
             PROT_WRITE == VM_PROT_WRITE && PROT_EXEC == VM_PROT_EXEC
         ? 1
         : -1];
typedef char host_map_values_are_vm_values
    [MAP_SHARED == VM_MAP_SHARED && MAP_PRIVATE == VM_MAP_PRIVATE &&
             MAP_FIXED == VM_MAP_FIXED && MAP_ANONYMOUS == VM_MAP_ANONYMOUS
         ? 1
         : -1];
typedef char
    host_ms_values_are_vm_values[MS_ASYNC == VM_MS_ASYNC &&
                                         MS_INVALIDATE == VM_MS_INVALIDATE &&
                                         MS_SYNC == VM_MS_SYNC
                                     ? 1
                                     : -1];
typedef char host_page_is_vm_page[PAGE_SIZE == 4096 ? 1 : -1];

unsigned char *host_mapping_map(void *addr, size_t length, int prot, int flags,
                                int fd, off_t offset) {
    void *mapping = mmap(addr, length, prot, flags, fd, offset);

    return mapping == MAP_FAILED ? NULL : mapping;
}

int host_mapping_unmap(void *addr, size_t length) {
    return syscall(SYS_munmap, addr, length) == 0 ? 0 : -1;
}

int host_mapping_protect(void *addr, size_t length, int prot) {
    return mprotect(addr, length, prot);
}

bool host_page_is_mapped(const void *page) {
    unsigned char resident;

    /* ENOMEM: not mapped; mincore fails no other way for an aligned page. */
    return mincore((void *)page, PAGE_SIZE, &resident) == 0 || errno != ENOMEM;
}

/* What the host lets the process do with a page, as far as valgrind cares. */
enum page_access { PAGE_NOT_MAPPED, PAGE_NO_ACCESS, PAGE_ACCESSIBLE };

/*
 * The page's entry in /proc/self/maps ("start-end rwxp ..."): not mapped,
 * mapped with PROT_NONE, or mapped with some access. If the file cannot be
 * read, the page counts as accessible, and the access itself tells.
 */
static enum page_access page_access_of(uintptr_t page) {
    enum page_access found = PAGE_NOT_MAPPED;
    FILE *maps = fopen("/proc/self/maps", "re");
    char line[PATH_MAX + 128], perms[5];
    unsigned long start, end;

    if (!maps)
        return PAGE_ACCESSIBLE;
    while (fgets(line, sizeof line, maps)) {
        if (sscanf(line, "%lx-%lx %4s", &start, &end, perms) != 3 ||
            page < start || page >= end)
            continue;
        found =
            strncmp(perms, "---", 3) == 0 ? PAGE_NO_ACCESS : PAGE_ACCESSIBLE;
        break;
    }
    fclose(maps);
    return found;
}

static uintptr_t page_of(const void *address) {
    return (uintptr_t)address & ~(uintptr_t)(PAGE_SIZE - 1);
}

/*
 * valgrind reports a range given to msync that holds pages it cannot
 * touch (not mapped, or PROT_NONE), so such a range goes to the kernel in
 * pieces: first with length 0, which checks the flags and the address
 * and does nothing else, then each run of the other pages; the answer is
 * then ENOMEM if a page is not mapped, as mm/msync.c answers for every
 * flag, else 0 (msync does not look at protections).
 */
int host_mapping_sync(void *addr, size_t length, int flags) {
    uintptr_t end = (uintptr_t)addr + length, page, run = 0;
    bool whole = true, hole = false;

    for (page = page_of(addr); page < end; page += PAGE_SIZE)
        whole = whole && page_access_of(page) == PAGE_ACCESSIBLE;
    if (whole)
        return msync(addr, length, flags);
    if (msync(addr, 0, flags) != 0)
        return -1;
    for (page = page_of(addr); page < end + PAGE_SIZE; page += PAGE_SIZE) {
        enum page_access access =
            page < end ? page_access_of(page) : PAGE_NOT_MAPPED;

        hole = hole || (page < end && access == PAGE_NOT_MAPPED);
        if (access == PAGE_ACCESSIBLE && !run)
            run = page;
        if (access != PAGE_ACCESSIBLE && run) {
            if (msync((void *)run, page - run, flags) != 0)
                return -1;
            run = 0;
        }
    }
    if (hole)
        errno = ENOMEM;
    return hole ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* Accesses that survive a fault                                       */
/* ------------------------------------------------------------------ */

static sigjmp_buf fault_jump;
static volatile sig_atomic_t fault_signal;

static void on_fault(int signal) {
    fault_signal = signal;
    siglongjmp(fault_jump, 1);
}

/*
 * The bytes from `address` up to the first page the host does not map or
 * maps with PROT_NONE: any access to it faults, and valgrind would report
 * the access besides.
 */
static size_t touchable_extent(uintptr_t address, size_t n) {
    uintptr_t page = page_of((const void *)address);
    size_t reach = 0;

    while (reach < n) {
        if (page_access_of(page) != PAGE_ACCESSIBLE)
            return reach;
        reach = page + PAGE_SIZE - address;
        page += PAGE_SIZE;
    }
    return n;
}

/*
 * Copies byte by byte with SIGSEGV and SIGBUS caught, the first `reach`
 * bytes at most (those before a page no access can touch). The handlers
 * are the caller's again on return.
 */
static size_t copy_catching_faults(volatile unsigned char *to,
                                   const volatile unsigned char *from, size_t n,
                                   size_t reach, int *signal) {
    struct sigaction catch_fault, old_segv, old_bus;
    volatile size_t done = 0;

    catch_fault.sa_handler = on_fault;
    sigemptyset(&catch_fault.sa_mask);
    catch_fault.sa_flags = 0;
    sigaction(SIGSEGV, &catch_fault, &old_segv);
    sigaction(SIGBUS, &catch_fault, &old_bus);
    fault_signal = 0;
    if (sigsetjmp(fault_jump, 1) == 0)
        for (; done < reach; done++)
            to[done] = from[done];
    sigaction(SIGSEGV, &old_segv, NULL);
    sigaction(SIGBUS, &old_bus, NULL);
    *signal = done < n ? (fault_signal ? (int)fault_signal : SIGSEGV) : 0;
    return done;
}

size_t host_mapping_read(const void *from, void *to, size_t n, int *signal) {
    return copy_catching_faults(to, from, n,
                                touchable_extent((uintptr_t)from, n), signal);
}

size_t host_mapping_write(void *to, const void *from, size_t n, int *signal) {
    return copy_catching_faults(to, from, n, touchable_extent((uintptr_t)to, n),
                                signal);
}
