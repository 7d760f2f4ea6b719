/*
 * io_fault.c: the faults armed for file I/O, one per direction, counted
 * down call by call.
 */
#define _GNU_SOURCE /* preadv and pwritev */
#define _FILE_OFFSET_BITS 64

#include "io_fault.h"

#include <errno.h>

/* The longest vector a short transfer trims: file_store's batch. */
#define IO_FAULT_MAX_VECTOR 64

unsigned io_fault_armed;

/*
 * The armed fault of each direction, [0] reads and [1] writes; nth 0:
 * none. nth counts down to 1, where the fault hits `times` calls.
 */
static io_fault armed[2];

static void update_armed(void) {
    io_fault_armed = (armed[0].nth != 0) + (armed[1].nth != 0);
}

void io_fault_inject(const io_fault *fault) {
    armed[fault->write] = *fault;
    update_armed();
}

void io_fault_clear(void) {
    armed[0] = armed[1] = (io_fault){0};
    update_armed();
}

static ssize_t real_transfer(int fd, const struct iovec *iov, int count,
                             off_t offset, bool write) {
    return write ? pwritev(fd, iov, count, offset)
                 : preadv(fd, iov, count, offset);
}

/* The call moves only the first `bytes` of the vector. */
static ssize_t short_transfer(int fd, const struct iovec *iov, int count,
                              off_t offset, bool write, size_t bytes) {
    struct iovec part[IO_FAULT_MAX_VECTOR];
    int used = 0;
    for (; used < count && used < IO_FAULT_MAX_VECTOR && bytes > 0; used++) {
        part[used] = iov[used];
        if (part[used].iov_len > bytes)
            part[used].iov_len = bytes;
        bytes -= part[used].iov_len;
    }
    return used == 0 ? 0 : real_transfer(fd, part, used, offset, write);
}

ssize_t io_fault_transfer(int fd, const struct iovec *iov, int count,
                          off_t offset, bool write) {
    io_fault *fault = &armed[write];
    if (fault->nth != 1) {
        if (fault->nth > 1)
            fault->nth--;
        return real_transfer(fd, iov, count, offset, write);
    }
    io_fault hit = *fault;
    if (fault->times <= 1)
        *fault = (io_fault){0};
    else if (fault->times != IO_FAULT_UNTIL_CLEARED)
        fault->times--;
    update_armed();
    if (hit.error) {
        errno = hit.error;
        return -1;
    }
    return short_transfer(fd, iov, count, offset, write, hit.bytes);
}
