/*
 * page_cache.h: the pages of mapped files, one cache per host process.
 *
 * A file is known by its identity (device and inode), so every mapping of
 * it, from any process of any MMU and whatever descriptor it came through,
 * finds the same cached file and the same frame for each page: this is
 * what makes a write through a shared mapping visible to every other
 * mapping at once. Each mapped area holds a reference on its file; when
 * the last goes, the file's dirty pages are written back and its frames
 * given to the pool.
 *
 * The cache owns its frames (it is their frame_owner). A page is dirty
 * when any entry mapping it is dirty, or when a dirty entry was unmapped
 * since the page was last written back. Under pressure the pool asks the
 * cache for a victim's frame: the cache writes the page back if dirty,
 * with its dirty neighbours in the same write, unmaps it from every entry
 * that maps it (rmap.h), and gives the frame up. Pages read ahead wait in
 * the cache, mapped by no one, until their first touch.
 *
 * Calls go down: fault and vm call the cache; the cache calls rmap,
 * file_store and the pool. Left out: a background writer, an LRU of its
 * own (the pool's clock ages every frame), file holes, locking.
 */
#ifndef PAGE_CACHE_H
#define PAGE_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cached_file cached_file;

/*
 * Finds or adds the file open on host descriptor `fd`, taking one
 * reference on it (a mapping's); `*fd_writable` tells whether `fd` itself
 * is open for writing. The cache keeps its own duplicate of a
 * descriptor, one open for writing once any mapping gives it one.
 * Returns the file, or NULL with errno: EBADF, EACCES (not open for
 * reading), ENODEV (not a regular file), ENOMEM, or what fstat(2) or
 * dup(2) says.
 */
cached_file *page_cache_open(int fd, bool *fd_writable);

/* Takes one more reference on `file` (an area split in two). */
void page_cache_hold(cached_file *file);

/*
 * Drops one reference on `file`. With the last, the file's dirty pages are
 * written back, its frames go back to the pool (no entry may map them any
 * more) and its descriptor is closed. Returns 0, or -1 with the errno of
 * a failed write-back (those bytes are lost).
 */
int page_cache_release(cached_file *file);

/* The file's length in pages (rounded up), as of its latest opening. */
uint64_t page_cache_file_pages(const cached_file *file);

/* A page wanted by a fault, and what may come in with it. */
typedef struct {
    uint64_t page; /* the page's number in the file */
    size_t run;    /* pages from `page` on that one read may bring in */
    /* Pages that the access overwrites whole: they need no read. */
    uint64_t overwritten_first, overwritten_end;
} page_cache_request;

/*
 * Returns the frame holding the page `request` names, reading it (with as
 * much of its run as is not cached yet, in one read) when it is not in the
 * cache; `*was_read` tells whether the page itself was read from the file.
 * Returns 0 with errno when no frame could be had or the read failed.
 */
addr32 page_cache_get(cached_file *file, const page_cache_request *request,
                      bool *was_read);

/*
 * The frame holding page `page` of `file` when the cache has it filled, or
 * 0: the usual minor fault's lookup, which needs no request.
 */
addr32 page_cache_find(cached_file *file, uint64_t page);

/* Whether page `page` of `file` is in the cache. */
bool page_cache_has(const cached_file *file, uint64_t page);

/* Whether the frame at `frame` holds a page of the cache. */
bool page_cache_owns(addr32 frame);

/*
 * An entry that mapped the cache's frame `frame` was cleared; `dirty` is
 * its dirty bit, which the page keeps. The caller forgets the mapping in
 * the reverse map.
 */
void page_cache_unmapped(addr32 frame, bool dirty);

/*
 * Writes the dirty pages of `file` numbered [first, end) back and marks
 * them clean. Returns 0, or -1 with the errno of the first failure; the
 * pages that failed stay dirty.
 */
int page_cache_write_back(cached_file *file, uint64_t first, uint64_t end);

/*
 * Drops the clean pages of `file` numbered [first, end) from the cache,
 * unmapping them wherever they are mapped; dirty pages stay.
 */
void page_cache_invalidate(cached_file *file, uint64_t first, uint64_t end);

#ifdef __cplusplus
}
#endif

#endif
