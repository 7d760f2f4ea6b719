/*
 * mmap.c: a file mapped into a simulated address space, and the file
 * pager that backs it.
 *
 * The mapping owns an MMU with one process whose MMAP segment spans the
 * file; everything else is the MMU's job. The pager is this file's only
 * way in and out of the file: a run of pages comes in with one preadv and
 * goes out with one pwritev of the bytes inside the file's length, on the
 * stream's descriptor. Positioned I/O needs no seek, and going around
 * stdio saves the copy through its buffer; the stream is unbuffered all
 * the same, so nothing it holds could go stale. munmap keeps a list of
 * the mappings it may end, since its name replaces the C library's munmap
 * in the whole program. Left out: mapping part of a file, sharing a page
 * between mappings of one file.
 */
#define _FILE_OFFSET_BITS 64

#include "mmap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "trace.h"

/* Pages per preadv or pwritev call; well under IOV_MAX. */
#define PAGER_BATCH 64

static mmap *mapping_of(pager *backing) {
    return (mmap *)((char *)backing - offsetof(mmap, pager));
}

/* How many bytes of page `page` lie inside the file. */
static size_t file_bytes_in_page(const mmap *this, size_t page) {
    uint64_t start = (uint64_t)page * PAGE_SIZE;
    if (start >= this->length)
        return 0;
    uint64_t left = this->length - start;
    return left < PAGE_SIZE ? (size_t)left : PAGE_SIZE;
}

/*
 * Moves the bytes of `iov` between memory and the file at `offset`, with
 * as many calls as it takes, since one may move less than asked. Returns
 * the bytes moved, fewer only when a read meets the end of the file, or -1
 * with errno.
 */
static ssize_t transfer(int fd, struct iovec *iov, int count, off_t offset,
                        bool write) {
    size_t moved = 0;
    while (count > 0) {
        ssize_t n = write ? pwritev(fd, iov, count, offset + (off_t)moved)
                          : preadv(fd, iov, count, offset + (off_t)moved);
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
static int file_vector(const mmap *this, size_t page, void *const frames[],
                       size_t count, struct iovec iov[]) {
    int used = 0;
    for (size_t i = 0; i < count; i++) {
        size_t length = file_bytes_in_page(this, page + i);
        if (length == 0)
            break;
        iov[used++] = (struct iovec){frames[i], length};
    }
    return used;
}

static int file_page_in(pager *backing, size_t page, void *const frames[],
                        size_t count) {
    mmap *this = mapping_of(backing);
    for (size_t first = 0; first < count; first += PAGER_BATCH) {
        size_t batch =
            count - first < PAGER_BATCH ? count - first : PAGER_BATCH;
        struct iovec iov[PAGER_BATCH];
        int used = file_vector(this, page + first, frames + first, batch, iov);
        ssize_t got = used == 0
                          ? 0
                          : transfer(fileno(this->stream), iov, used,
                                     (off_t)(page + first) * PAGE_SIZE, false);
        if (got < 0)
            return -1;
        if (trace_on())
            trace_report(&(trace_record){.event = TRACE_PAGER_READ,
                                         .page = page + first,
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

static int file_page_out(pager *backing, size_t page,
                         const void *const frames[], size_t count) {
    mmap *this = mapping_of(backing);
    for (size_t first = 0; first < count; first += PAGER_BATCH) {
        size_t batch =
            count - first < PAGER_BATCH ? count - first : PAGER_BATCH;
        struct iovec iov[PAGER_BATCH];
        /* The vector only reads the frames, whatever its type says. */
        int used = file_vector(this, page + first,
                               (void *const *)(frames + first), batch, iov);
        size_t length = 0;
        for (int i = 0; i < used; i++)
            length += iov[i].iov_len;
        if (used > 0 && transfer(fileno(this->stream), iov, used,
                                 (off_t)(page + first) * PAGE_SIZE,
                                 true) != (ssize_t)length)
            return -1;
        if (trace_on())
            trace_report(&(trace_record){.event = TRACE_PAGER_WRITE,
                                         .page = page + first,
                                         .pages = batch,
                                         .bytes = length});
    }
    return 0;
}

/* Why a file of this kind cannot be mapped: 0 for a regular file. */
static int refusal_for(const struct stat *status) {
    if (S_ISDIR(status->st_mode))
        return EISDIR;
    return S_ISREG(status->st_mode) ? 0 : ENODEV;
}

/*
 * Opens `path` read-write if allowed, else read-only, refusing anything
 * but a regular file. The path is looked at before it is opened, since
 * opening a FIFO or a device can itself do something (it releases a writer
 * waiting on the FIFO, which then dies of SIGPIPE when we close it). The
 * descriptor is checked again after the open, so that a FIFO or device put
 * at the path in between is never mapped, and O_NONBLOCK keeps such an
 * open from waiting. Returns the descriptor, or -1 with errno; EAGAIN when
 * the path named another file by the time it was opened.
 */
static int open_regular_file(const char *path, bool *writable, off_t *length) {
    struct stat named, opened;
    if (stat(path, &named) != 0)
        return -1;
    int refusal = refusal_for(&named);
    if (refusal) {
        errno = refusal;
        return -1;
    }
    *writable = true;
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

/* The stream of the mapping over descriptor `fd`, unbuffered; NULL: errno. */
static FILE *stream_of(int fd, bool writable) {
    FILE *stream = fdopen(fd, writable ? "r+" : "r");
    if (!stream) {
        int failure = errno;
        close(fd);
        errno = failure;
        return NULL;
    }
    setvbuf(stream, NULL, _IONBF, 0);
    return stream;
}

static size_t pages_spanned(uint64_t length) {
    return (size_t)((length + PAGE_SIZE - 1) / PAGE_SIZE);
}

/* Gives the process an MMAP segment of `pages` pages backed by the file. */
static int map_file_segment(mmap *this, size_t pages) {
    vm_segmentation *segment =
        &this->mmu->segmentations[DEFAULT_PID]->segments[MMAP];
    if (pages > UINT32_MAX || grow_segment(segment, (uint32_t)pages) != 0) {
        errno = ENOMEM;
        return -1;
    }
    segment->permissions = READ | (this->writable ? WRITE : 0);
    segment->backing = &this->pager;
    this->start_address = segment->start;
    return 0;
}

/*
 * A mapping as mmap_create allocates it: what the caller sees, and the
 * link that keeps it on the list of live mappings.
 */
typedef struct live_mapping {
    mmap map; /* first: the caller's pointer is this one */
    struct live_mapping *next;
} live_mapping;

/*
 * Every mapping mmap_create made and munmap has not ended, newest first, so
 * that munmap can tell one of ours from any other pointer without touching
 * what that pointer points to.
 */
static live_mapping *live_mappings;

/*
 * Takes `this` off the list of live mappings; false when it is not on it.
 * Only addresses are compared: a pointer that is not ours is never read.
 */
static bool forget_mapping(const mmap *this) {
    for (live_mapping **link = &live_mappings; *link; link = &(*link)->next) {
        if (&(*link)->map == this) {
            *link = (*link)->next;
            return true;
        }
    }
    return false;
}

/* Ends a mapping: write-back, frames, stream, memory. */
static void end_mapping(mmap *this) {
    /* The MMU writes dirty pages back through the pager, so it goes first. */
    mmu_delete(this->mmu);
    if (this->stream)
        fclose(this->stream);
    free(this); /* the first member of its live_mapping: frees that */
}

mmap *mmap_create(const char *path_to_file) {
    if (!path_to_file) {
        errno = EINVAL;
        return NULL;
    }
    bool writable;
    off_t length;
    int fd = open_regular_file(path_to_file, &writable, &length);
    FILE *stream = fd < 0 ? NULL : stream_of(fd, writable);
    if (!stream)
        return NULL;
    live_mapping *live = calloc(1, sizeof *live);
    if (!live) {
        fclose(stream);
        errno = ENOMEM;
        return NULL;
    }
    mmap *this = &live->map;
    this->stream = stream;
    this->length = (size_t)length;
    this->writable = writable;
    this->pager = (pager){.page_in = file_page_in, .page_out = file_page_out};
    this->mmu = mmu_create();
    if (!this->mmu || mmu_add_process(this->mmu, DEFAULT_PID) != 0 ||
        map_file_segment(this, pages_spanned((uint64_t)length)) != 0) {
        int failure = errno;
        end_mapping(this);
        errno = failure;
        return NULL;
    }
    live->next = live_mappings;
    live_mappings = live;
    return this;
}

/*
 * Checks the arguments of a read or write and returns how many of
 * `num_bytes` from `offset` lie inside the file: 0 when there is nothing
 * to copy, with errno EINVAL for a NULL map or buffer.
 */
static size_t bytes_to_copy(const mmap *this, const void *buff, size_t offset,
                            size_t num_bytes) {
    if (!this || !buff) {
        errno = EINVAL;
        return 0;
    }
    if (offset >= this->length)
        return 0;
    size_t left = this->length - offset;
    return num_bytes < left ? num_bytes : left;
}

size_t mmap_read(mmap *this, void *buff, size_t offset, size_t num_bytes) {
    num_bytes = bytes_to_copy(this, buff, offset, num_bytes);
    if (num_bytes == 0)
        return 0;
    return mmu_read_from_virtual_address(this->mmu,
                                         (addr32)(this->start_address + offset),
                                         DEFAULT_PID, buff, num_bytes);
}

size_t mmap_write(mmap *this, const void *buff, size_t offset,
                  size_t num_bytes) {
    num_bytes = bytes_to_copy(this, buff, offset, num_bytes);
    if (this && buff && !this->writable && num_bytes == 0) {
        /* Refused like the writes the MMU sees; nothing touched, no fault. */
        errno = EACCES;
        return 0;
    }
    if (num_bytes == 0)
        return 0;
    return mmu_write_to_virtual_address(this->mmu,
                                        (addr32)(this->start_address + offset),
                                        DEFAULT_PID, buff, num_bytes);
}

int mmap_sync(mmap *this) {
    if (!this) {
        errno = EINVAL;
        return -1;
    }
    addr32 start = (addr32)this->start_address;
    addr32 end = start + (addr32)(pages_spanned(this->length) * PAGE_SIZE);
    return mmu_sync(this->mmu, DEFAULT_PID, start, end);
}

void munmap(mmap *this) {
    if (!this)
        return;
    if (!forget_mapping(this)) {
        /*
         * Most likely another file of the program called the C library's
         * munmap(addr, length), which this one replaces; going on would
         * free or write through a pointer that is not ours.
         */
        fprintf(stderr,
                "munmap(%p): not a mapping made by mmap_create, or one "
                "already unmapped. This program's munmap is the simulated "
                "one of mmap.h; to unmap a host mapping in a file that does "
                "not use mmap.h, call syscall(SYS_munmap, addr, length) "
                "there.\n",
                (void *)this);
        abort();
    }
    end_mapping(this);
}
