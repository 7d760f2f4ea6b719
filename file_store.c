/*
 * file_store.c: page runs in and out of a host file, and the checks on
 * opening a file to map.
 */
/* preadv and pwritev, O_PATH and O_DIRECT are not POSIX. */
#define _GNU_SOURCE
#define _FILE_OFFSET_BITS 64

#include "file_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/uio.h>
#include <unistd.h>

#include "io_fault.h"
#include "trace.h"
#include "types.h"

/* Pages per preadv or pwritev call; well under IOV_MAX. */
#define FILE_STORE_BATCH 64

/* Why a file of this kind cannot be mapped: 0 for a regular file. */
static int refusal_for(const struct stat *status) {
    if (S_ISDIR(status->st_mode))
        return EISDIR;
    return S_ISREG(status->st_mode) ? 0 : ENODEV;
}

int file_store_open_path(const char *path, bool *writable, off_t *length) {
    struct stat named, opened;
    if (stat(path, &named) != 0)
        return -1;
    int refusal = refusal_for(&named);
    if (refusal) {
        errno = refusal;
        return -1;
    }
    *writable = true;
    /* O_NONBLOCK: a FIFO put at the path after the stat must not block. */
    int fd = open(path, O_RDWR | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0 && (errno == EACCES || errno == EROFS || errno == EPERM ||
                   errno == ETXTBSY)) {
        *writable = false;
        fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    }
    if (fd < 0)
        return -1;
    int failure = 0;
    if (fstat(fd, &opened) != 0)
        failure = errno;
    else if (refusal_for(&opened))
        failure = refusal_for(&opened);
    else if (opened.st_dev != named.st_dev || opened.st_ino != named.st_ino)
        failure = EAGAIN;
    else if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0)
        failure = errno;
    if (failure) {
        close(fd);
        errno = failure;
        return -1;
    }
    *length = opened.st_size;
    return fd;
}

/*
 * Whether the file system of `fd` is one whose files have no pages to map
 * (Linux's mmap says ENODEV for them): a pseudo file system whose regular
 * files report a size of 0, or one that is computed at each read.
 */
static bool pseudo_file_system(int fd) {
    static const unsigned long magics[] = {
        0x9fa0,     /* proc */
        0x62656572, /* sysfs */
        0x64626720, /* debugfs */
        0x74726163, /* tracefs */
        0x73636673, /* securityfs */
        0x27e0eb,   /* cgroup */
        0x63677270, /* cgroup2 */
        0xcafe4a11, /* bpf */
        0x6165676c, /* pstore */
        0xde5e81e4, /* efivarfs */
        0x62656570, /* configfs */
    };
    struct statfs system;
    if (fstatfs(fd, &system) != 0)
        return false;
    for (size_t i = 0; i < sizeof magics / sizeof magics[0]; i++)
        if ((unsigned long)system.f_type == magics[i])
            return true;
    return false;
}

/*
 * A descriptor of the file open on `fd` that is the store's own: a new
 * opening of the file (through /proc/self/fd), so that no status flag of
 * the caller's, O_APPEND or O_DIRECT, now or set later with fcntl, reaches
 * the store's positioned I/O, as a duplicate sharing them would. Without
 * /proc, a duplicate, when the caller's flags do not matter to I/O.
 */
static int own_descriptor(int fd, int mode, const struct stat *status) {
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    int own = open(path, (mode & O_ACCMODE) | O_CLOEXEC | O_NOCTTY);
    struct stat opened;
    if (own >= 0 && fstat(own, &opened) == 0 &&
        opened.st_dev == status->st_dev && opened.st_ino == status->st_ino)
        return own;
    if (own >= 0)
        close(own);
    if (mode & (O_APPEND | O_DIRECT)) {
        errno = EACCES; /* the file cannot be opened again, and fd won't do */
        return -1;
    }
    return fcntl(fd, F_DUPFD_CLOEXEC, 0);
}

int file_store_open_descriptor(file_store *store, int fd) {
    int mode = fcntl(fd, F_GETFL);
    if (mode < 0 || (mode & O_PATH)) { /* O_PATH: no I/O, as for Linux */
        errno = EBADF;
        return -1;
    }
    struct stat status;
    if (fstat(fd, &status) != 0)
        return -1;
    if (!S_ISREG(status.st_mode) || pseudo_file_system(fd)) {
        errno = ENODEV;
        return -1;
    }
    if ((mode & O_ACCMODE) == O_WRONLY) {
        errno = EACCES;
        return -1;
    }
    int own = own_descriptor(fd, mode, &status);
    if (own < 0)
        return -1;
    *store = (file_store){
        .fd = own,
        .writable = (mode & O_ACCMODE) == O_RDWR,
        .device = status.st_dev,
        .inode = status.st_ino,
        .length = (uint64_t)status.st_size,
    };
    return 0;
}

void file_store_close(file_store *store) {
    close(store->fd);
    store->fd = -1;
}

/* How many bytes of page `page` lie inside the file. */
static size_t bytes_in_page(const file_store *store, uint64_t page) {
    uint64_t start = page * PAGE_SIZE;
    if (start >= store->length)
        return 0;
    uint64_t left = store->length - start;
    return left < PAGE_SIZE ? (size_t)left : PAGE_SIZE;
}

/*
 * Moves the bytes of `iov` between memory and the file at `offset`, with
 * as many calls as it takes, since one may move less than asked (a short
 * write is retried from where it stopped, never taken as done). Every
 * call goes through here, and through io_fault.h while a fault is armed,
 * so that tests can make any of them fail. Returns the bytes moved,
 * fewer only when a read meets the end of the file, or -1 with errno.
 */
static ssize_t transfer(int fd, struct iovec *iov, int count, off_t offset,
                        bool write) {
    size_t moved = 0;
    while (count > 0) {
        off_t at = offset + (off_t)moved;
        ssize_t n;
        if (io_fault_armed)
            n = io_fault_transfer(fd, iov, count, at, write);
        else
            n = write ? pwritev(fd, iov, count, at)
                      : preadv(fd, iov, count, at);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0 && write) {
            errno = EIO;
            return -1;
        }
        if (n == 0)
            break;
        moved += (size_t)n;
        while (count > 0 && (size_t)n >= iov->iov_len) {
            n -= (ssize_t)iov->iov_len;
            iov++;
            count--;
        }
        if (count > 0) {
            iov->iov_base = (char *)iov->iov_base + n;
            iov->iov_len -= (size_t)n;
        }
    }
    return (ssize_t)moved;
}

/*
 * Describes pages `page` .. `page + count - 1` as one vector of the bytes
 * that lie inside the file, and returns how many entries that took.
 */
static int file_vector(const file_store *store, uint64_t page,
                       void *const frames[], size_t count, struct iovec iov[]) {
    int used = 0;
    for (size_t i = 0; i < count; i++) {
        size_t length = bytes_in_page(store, page + i);
        if (length == 0)
            break;
        iov[used++] = (struct iovec){frames[i], length};
    }
    return used;
}

int file_store_read(const file_store *store, uint64_t page,
                    void *const frames[], size_t count) {
    for (size_t first = 0; first < count; first += FILE_STORE_BATCH) {
        size_t batch = count - first < FILE_STORE_BATCH ? count - first
                                                        : FILE_STORE_BATCH;
        struct iovec iov[FILE_STORE_BATCH];
        int used = file_vector(store, page + first, frames + first, batch, iov);
        ssize_t got = used == 0 ? 0
                                : transfer(store->fd, iov, used,
                                           (off_t)((page + first) * PAGE_SIZE),
                                           false);
        if (got < 0)
            return -1;
        if (trace_on())
            trace_report(&(trace_record){.event = TRACE_PAGER_READ,
                                         .page = (size_t)(page + first),
                                         .pages = batch,
                                         .bytes = (size_t)got});
        /* Past the end of the file, or short if it shrank under us: zeros. */
        for (size_t i = 0; i < batch; i++) {
            size_t filled =
                (size_t)got > i * PAGE_SIZE ? (size_t)got - i * PAGE_SIZE : 0;
            if (filled < PAGE_SIZE)
                memset((char *)frames[first + i] + filled, 0,
                       PAGE_SIZE - filled);
        }
    }
    return 0;
}

/*
 * Writes the first lengths[i] bytes of frames[i] for pages `page` .. `page
 * + count - 1`, which must be contiguous in the file: every page but the
 * last is whole. One pwritev, however many calls it takes.
 */
static int write_contiguous(const file_store *store, uint64_t page,
                            const void *const frames[], const size_t lengths[],
                            size_t count) {
    struct iovec iov[FILE_STORE_BATCH];
    size_t length = 0;
    for (size_t i = 0; i < count; i++) {
        /* The vector only reads the frames, whatever its type says. */
        iov[i] = (struct iovec){(void *)frames[i], lengths[i]};
        length += lengths[i];
    }
    if (transfer(store->fd, iov, (int)count, (off_t)(page * PAGE_SIZE),
                 true) != (ssize_t)length)
        return -1;
    if (trace_on())
        trace_report(&(trace_record){.event = TRACE_PAGER_WRITE,
                                     .page = (size_t)page,
                                     .pages = count,
                                     .bytes = length});
    return 0;
}

int file_store_write(const file_store *store, uint64_t page,
                     const void *const frames[], const size_t lengths[],
                     size_t count) {
    size_t first = 0;
    while (first < count) {
        size_t end = first;
        /* A run ends after a partial page, or at the batch's size. */
        while (end < count && end - first < FILE_STORE_BATCH &&
               lengths[end] == PAGE_SIZE)
            end++;
        if (end < count && end - first < FILE_STORE_BATCH && lengths[end] > 0)
            end++;
        if (end == first) { /* an empty page: nothing of it to write */
            first++;
            continue;
        }
        if (write_contiguous(store, page + first, frames + first,
                             lengths + first, end - first) != 0)
            return -1;
        first = end;
    }
    return 0;
}

int file_store_size(file_store *store) {
    struct stat status;
    if (fstat(store->fd, &status) != 0)
        return -1;
    store->length = (uint64_t)status.st_size;
    return 0;
}
