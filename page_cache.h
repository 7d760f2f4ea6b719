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

/*
 * Tries again to write the dirty pages that files no mapping holds any
 * more kept after a failed write-back (see page_cache_release), and
 * forgets each file whose pages are all written. A failure is no one's
 * to report here: those pages wait for the next try, and errno is left
 * alone. Cheap when there are none: one look at each cached file.
 */
void page_cache_retry_unmapped(void);

/* Takes one more reference on `file` (an area split in two). */
void page_cache_hold(cached_file *file);

/*
 * Drops one reference on `file`. With the last, the file's dirty pages are
 * written back, its frames go back to the pool (no entry may map them any
 * more) and its descriptor is closed. Returns 0, or -1 with the errno of
 * a failed write-back: then nothing is lost, the pages that could not be
 * written stay dirty in the cache, with the file and its descriptor, and
 * are tried again at their eviction, at any later last release of a file,
 * at page_cache_retry_unmapped (the end of every process),
 * and by a new mapping of the file, whose write-backs (vm_msync, vm_munmap)
 * include them and report how they went.
 */
int page_cache_release(cached_file *file);

/*
 * The file's length in pages (rounded up), as the cache last asked it: at
 * each mapping, each read of pages from it, each write-back (none of
 * which costs a minor fault anything).
 */
uint64_t page_cache_file_pages(const cached_file *file);

/*
 * Asks the file its length now, since another program may have changed
 * it, and does what Linux's page cache, which write(2) and truncate(2)
 * share, would have done at once: when the file grew, the part of its old
 * last page past the old end is read in again (another program's bytes,
 * or zeros); when it shrank, pages wholly past its new end are unmapped
 * everywhere and dropped, dirty or not, and the rest of the new last page
 * reads as zeros (pages that a mapping keeping its length touched stay).
 * Returns 0, or -1 with errno (fstat(2)'s, or a failed read).
 */
int page_cache_refresh(cached_file *file);

/*
 * A mapping that keeps its length (the lab's mmap_create: vma.h) mapped
 * the cache's page in frame `frame`, and may write back its bytes before
 * file offset `end`, even past the file's end when another program shrank
 * it: the page remembers it for its write-backs.
 */
void page_cache_keep(addr32 frame, uint64_t end);

/* A page wanted by a fault, and what may come in with it. */
typedef struct {
    uint64_t page; /* the page's number in the file */
    size_t run;    /* pages from `page` on that one read may bring in */
    /* Pages that the access overwrites whole: they need no read. */
    uint64_t overwritten_first, overwritten_end;
    /* A mapping that keeps its length may touch pages past the file's end
     * (they read as zeros); any other is refused them. */
    bool past_end_allowed;
} page_cache_request;

/*
 * Returns the frame holding the page `request` names, reading it (with as
 * much of its run as is not cached yet, in one read) when it is not in the
 * cache; `*was_read` tells whether the page itself was read from the file.
 * The file is asked its length first (page_cache_refresh) when the page
 * must be read. Returns 0 with
 * errno when no frame could be had or the read failed, or ENXIO when the
 * page lies wholly past the file's end and the request does not allow it.
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
 * For an observer (the playground, play.h), changing nothing: whether the
 * frame at `frame` holds a page of the cache, and then its file, its
 * number in the file and whether it is dirty (in the cache, or in an
 * entry that maps it), through the pointers that are not NULL.
 */
bool page_cache_describe(addr32 frame, const cached_file **file,
                         uint64_t *page, bool *dirty);

/* The identity of `file`, its device and inode, for an observer. */
void page_cache_file_identity(const cached_file *file, uint64_t *device,
                              uint64_t *inode);

/*
 * An entry that mapped the cache's frame `frame` was cleared; `dirty` is
 * its dirty bit, which the page keeps. The caller forgets the mapping in
 * the reverse map.
 */
void page_cache_unmapped(addr32 frame, bool dirty);

/*
 * Writes the dirty pages of `file` numbered [first, end) back and marks
 * them clean: of each page, the bytes inside the file's length now (the
 * file is asked first), or more where a mapping keeping its length allows
 * it (page_cache_keep). Returns 0, or -1 with the errno of the first
 * failure; the pages that failed stay dirty.
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
