/*
 * host_mmap.c: the host kernel's mmap of a whole file or of anonymous
 * memory, for the benchmark.
 */
#define _GNU_SOURCE

#include "host_mmap.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

const unsigned char *host_map_file(const char *path, size_t *length) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat status;
    void *mapping = MAP_FAILED;
    int failure = 0;
    if (fstat(fd, &status) != 0)
        failure = errno;
    else if (status.st_size == 0)
        failure = EINVAL;
    else if ((mapping = mmap(NULL, (size_t)status.st_size, PROT_READ,
                             MAP_SHARED, fd, 0)) == MAP_FAILED)
        failure = errno;
    close(fd); /* the mapping keeps the file */
    if (failure) {
        errno = failure;
        return NULL;
    }
    *length = (size_t)status.st_size;
    return mapping;
}

const unsigned char *host_map_anonymous(size_t length, bool writable) {
    void *mapping = mmap(NULL, length, PROT_READ | (writable ? PROT_WRITE : 0),
                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return mapping == MAP_FAILED ? NULL : mapping;
}

unsigned char *host_map_writable(size_t length) {
    void *mapping = mmap(NULL, length, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return mapping == MAP_FAILED ? NULL : mapping;
}

int host_unmap(const unsigned char *mapping, size_t length) {
    return syscall(SYS_munmap, mapping, length) == 0 ? 0 : -1;
}
