/*
 * mmap.c: a file mapped into a simulated address space, and the file
 * pager that backs it.
 *
 * The mapping owns an MMU with one process whose MMAP segment spans the
 * file; everything else is the MMU's job. The pager is this file's only
 * way in and out of the file: a page comes in with fseek and fread, and
 * goes out with fseek and fwrite of the bytes inside the file's length.
 * The stream is unbuffered, so a write-back reaches the file (or fails)
 * when the pager says it did. Left out: mapping part of a file, sharing a
 * page between mappings of one file.
 */
#define _FILE_OFFSET_BITS 64

#include "mmap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

static int file_page_in(pager *backing, size_t page, void *frame) {
    mmap *this = mapping_of(backing);
    size_t wanted = file_bytes_in_page(this, page), got = 0;
    if (wanted > 0) {
        if (fseeko(this->stream, (off_t)page * PAGE_SIZE, SEEK_SET) != 0)
            return -1;
        got = fread(frame, 1, wanted, this->stream);
        if (got < wanted && ferror(this->stream)) {
            clearerr(this->stream);
            return -1;
        }
        /* Shorter only if the file shrank under us: read that as zeros. */
        clearerr(this->stream);
    }
    memset((char *)frame + got, 0, PAGE_SIZE - got);
    return 0;
}

static int file_page_out(pager *backing, size_t page, const void *frame) {
    mmap *this = mapping_of(backing);
    size_t length = file_bytes_in_page(this, page);
    if (length == 0)
        return 0;
    if (fseeko(this->stream, (off_t)page * PAGE_SIZE, SEEK_SET) != 0)
        return -1;
    if (fwrite(frame, 1, length, this->stream) != length) {
        clearerr(this->stream);
        return -1;
    }
    return 0;
}

/*
 * Opens `path` read-write if allowed, else read-only, refusing anything
 * but a regular file. O_NONBLOCK keeps the open of a FIFO from waiting
 * for a writer before it can be refused.
 */
static FILE *open_regular_file(const char *path, bool *writable,
                               off_t *length) {
    *writable = true;
    int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0 && (errno == EACCES || errno == EROFS || errno == EPERM ||
                   errno == ETXTBSY)) {
        *writable = false;
        fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    }
    if (fd < 0)
        return NULL;
    struct stat status;
    int failure = 0;
    if (fstat(fd, &status) != 0)
        failure = errno;
    else if (S_ISDIR(status.st_mode))
        failure = EISDIR;
    else if (!S_ISREG(status.st_mode))
        failure = ENODEV;
    else if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0)
        failure = errno;
    FILE *stream = failure ? NULL : fdopen(fd, *writable ? "r+" : "r");
    if (!stream) {
        failure = failure ? failure : errno;
        close(fd);
        errno = failure;
        return NULL;
    }
    setvbuf(stream, NULL, _IONBF, 0);
    *length = status.st_size;
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

mmap *mmap_create(const char *path_to_file) {
    if (!path_to_file) {
        errno = EINVAL;
        return NULL;
    }
    bool writable;
    off_t length;
    FILE *stream = open_regular_file(path_to_file, &writable, &length);
    if (!stream)
        return NULL;
    mmap *this = calloc(1, sizeof *this);
    if (!this) {
        fclose(stream);
        errno = ENOMEM;
        return NULL;
    }
    this->stream = stream;
    this->length = (size_t)length;
    this->writable = writable;
    this->pager = (pager){.page_in = file_page_in, .page_out = file_page_out};
    this->mmu = mmu_create();
    if (!this->mmu || mmu_add_process(this->mmu, DEFAULT_PID) != 0 ||
        map_file_segment(this, pages_spanned((uint64_t)length)) != 0) {
        int failure = errno;
        munmap(this);
        errno = failure;
        return NULL;
    }
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
    /* The MMU writes dirty pages back through the pager, so it goes first. */
    mmu_delete(this->mmu);
    if (this->stream)
        fclose(this->stream);
    free(this);
}
