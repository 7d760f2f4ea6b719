/*
 * file_store.h: a host file as the store of mapped pages.
 *
 * A file store is an open host descriptor and what the page cache needs to
 * know of its file: its identity (device and inode), whether it may be
 * written, and its length. Pages move in runs: a run of neighbouring pages
 * comes in with one preadv and goes out with one pwritev of the bytes
 * inside what the caller allows (the file's length, unless a mapping's
 * rule says otherwise).
 * Positioned I/O needs no seek. This module also makes the checks on
 * opening a file to map, by path (mmap_create) or by descriptor (vm_mmap).
 * Left out: asynchronous I/O, direct I/O, file locks.
 */
#ifndef FILE_STORE_H
#define FILE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int fd;          /* owned */
    bool writable;   /* fd is open for writing */
    dev_t device;    /* the file's identity: device and inode */
    ino_t inode;
    uint64_t length; /* bytes; pages past it read as zeros, never written */
} file_store;

/*
 * Opens the regular file at `path` read-write when allowed, else read-only,
 * without opening anything but a regular file: the path is looked at
 * first, since opening a FIFO or a device can itself do something (it
 * releases a writer waiting on the FIFO), and the descriptor is checked
 * again after the open, so that one put at the path in between is never
 * mapped. Returns the descriptor (the caller's), with `*writable` and
 * `*length` set, or -1 with errno: what stat(2) and open(2) say, EISDIR,
 * ENODEV (not a regular file), EAGAIN (the path named another file by the
 * time it was opened).
 */
int file_store_open_path(const char *path, bool *writable, off_t *length);

/*
 * Fills `store` for the file open on `fd`, with a duplicate of `fd` that
 * the store owns (close it with file_store_close). Returns 0, or -1 with
 * errno: EBADF (`fd` not open), EACCES (not open for reading), ENODEV (not
 * a regular file), or what fstat(2) or dup(2) says.
 */
int file_store_open_descriptor(file_store *store, int fd);

/* Closes the store's descriptor. */
void file_store_close(file_store *store);

/*
 * Fills frames[0] .. frames[count - 1] (PAGE_SIZE bytes each) with pages
 * `page` .. `page + count - 1` of the file; bytes past its end read as
 * zeros. Returns 0, or -1 with errno.
 */
int file_store_read(const file_store *store, uint64_t page,
                    void *const frames[], size_t count);

/*
 * Writes the first lengths[i] bytes (at most PAGE_SIZE; 0: none) of each
 * of frames[0] .. frames[count - 1] as pages `page` .. `page + count - 1`,
 * all the way to the file, so that a failure is reported here: the caller
 * decides how much of each page may be written (the file's length, or
 * more where a mapping's rule allows). Returns 0, or -1 with errno, and
 * then no page of the run counts as written.
 */
int file_store_write(const file_store *store, uint64_t page,
                     const void *const frames[], const size_t lengths[],
                     size_t count);

/*
 * Asks the file its length now (another program may have changed it) and
 * sets store->length. Returns 0, or -1 with fstat(2)'s errno.
 */
int file_store_size(file_store *store);

#ifdef __cplusplus
}
#endif

#endif
