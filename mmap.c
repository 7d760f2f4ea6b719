/*
 * mmap.c: the lab's mapping of a whole file, as a client of vm.h.
 *
 * A mapping owns an MMU with one process, DEFAULT_PID, and maps the whole
 * file shared into its MMAP segment with vm_mmap; everything else is the
 * page cache's and the MMU's job. Two mappings of one file therefore share
 * its pages: a write through one is read through the other at once. The
 * stream is the lab's handle on the file; the page cache keeps a duplicate
 * of its descriptor and does every read and write with positioned I/O, so
 * the stream is unbuffered, and nothing it holds could go stale. The
 * program's one munmap (munmap.c) is also the host's, so this file keeps a
 * list of the live mappings, by which it tells a lab call from a host one.
 * Left out: mapping part of a file (vm_mmap does that).
 */
/* fdopen and fileno are POSIX, not C99. */
#define _POSIX_C_SOURCE 200809L
#define _FILE_OFFSET_BITS 64

#include "mmap.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "file_store.h"
#include "mmap_live.h"
#include "vm.h"
#include "vma.h"

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

/*
 * Maps the whole file shared into the process, read-write when it was
 * opened so. An empty file maps nothing (vm_mmap refuses a length of 0):
 * its MMAP segment stays empty, where every access is past the end.
 */
static int map_file(mmap *this) {
    vm_segmentation *segment =
        &this->mmu->segmentations[DEFAULT_PID]->segments[MMAP];
    this->start_address = segment->start;
    if (this->length == 0)
        return 0;
    if ((uint64_t)this->length > UINT32_MAX) {
        errno = ENOMEM;
        return -1;
    }
    addr32 start = vm_mmap(this->mmu, DEFAULT_PID, segment->start, this->length,
                           VM_PROT_READ | (this->writable ? VM_PROT_WRITE : 0),
                           VM_MAP_SHARED, fileno(this->stream), 0);
    if (start == VM_MAP_FAILED)
        return -1;
    /*
     * The lab's rule, not Linux's (mmap.h): the mapping keeps the length
     * the file had, whatever another program does to the file later.
     */
    vma_find(this->mmu->areas[DEFAULT_PID], start)->kept_end = this->length;
    this->start_address = start;
    return 0;
}

/*
 * A mapping as mmap_create allocates it: the link that keeps it on the list
 * of live mappings, then what the caller sees. The caller's pointer is
 * therefore 8 bytes into a block malloc aligned to 16 bytes (the alignment
 * of max_align_t on the ABIs munmap.c accepts), so it is never page
 * aligned: once the mapping has ended, the host's munmap refuses that
 * pointer (EINVAL) whatever length it is given, and a second munmap of it
 * can neither free it again nor unmap a page.
 */
typedef struct live_mapping {
    struct live_mapping *next;
    mmap map;
} live_mapping;

typedef char mapping_is_not_at_the_start_of_its_block
    [offsetof(live_mapping, map) % 16 == 8 ? 1 : -1];

/*
 * Every mapping mmap_create made and munmap has not ended, newest first, so
 * that munmap can tell one of ours from any other pointer without touching
 * what that pointer points to.
 */
static live_mapping *live_mappings;

static live_mapping *live_mapping_of(mmap *this) {
    return (live_mapping *)((char *)this - offsetof(live_mapping, map));
}

/*
 * Takes `mapping` off the list of live mappings; false when it is not on
 * it. Only addresses are compared: a pointer that is not ours is never read.
 */
static bool forget_mapping(const void *mapping) {
    for (live_mapping **link = &live_mappings; *link; link = &(*link)->next) {
        if (&(*link)->map == mapping) {
            *link = (*link)->next;
            return true;
        }
    }
    return false;
}

/* Ends a mapping: write-back, frames, stream, memory. */
static void end_mapping(mmap *this) {
    /* Ending the process writes dirty pages back, so it goes first. */
    mmu_delete(this->mmu);
    if (this->stream)
        fclose(this->stream);
    free(live_mapping_of(this));
}

mmap *mmap_create(const char *path_to_file) {
    if (!path_to_file) {
        errno = EINVAL;
        return NULL;
    }
    bool writable;
    off_t length;
    int fd = file_store_open_path(path_to_file, &writable, &length);
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
    this->mmu = mmu_create();
    if (!this->mmu || mmu_add_process(this->mmu, DEFAULT_PID) != 0 ||
        map_file(this) != 0) {
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
    if (this->length == 0)
        return 0;
    return vm_msync(this->mmu, DEFAULT_PID, (addr32)this->start_address,
                    pages_spanned(this->length) * PAGE_SIZE, VM_MS_SYNC);
}

bool mmap_end_if_live(void *mapping) {
    if (!mapping || !forget_mapping(mapping))
        return false;
    /* The invariant a stale pointer's safety rests on (see live_mapping). */
    assert((uintptr_t)mapping % PAGE_SIZE != 0);
    end_mapping(mapping);
    return true;
}
