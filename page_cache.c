/*
 * page_cache.c: cached files, an index from (file, page) to frame, and a
 * record per frame of the page it holds.
 *
 * The records are a table indexed by frame number, as a kernel keeps a
 * struct page per frame. The index is one hash table for every file, with
 * as many buckets as the pool has frames (the cache cannot hold more pages
 * than that), so it never grows; each bucket's pages are chained through
 * their records. Each file also threads its pages on a list through them,
 * so that ending or invalidating a file visits only its own pages. Both
 * tables are reserved on first use and backed as they are touched.
 */
#include "page_cache.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "file_store.h"
#include "host_memory.h"
#include "kernel.h"
#include "rmap.h"
#include "trace.h"

/* The most pages one read brings in, and one write-back sends out. */
#define PAGE_CACHE_MAX_RUN 64

struct cached_file {
    file_store store;  /* store.length: the file's length as last asked */
    /* Mapped areas; 0 for a file kept only for dirty pages that its last
     * write-back could not write (see page_cache_release). */
    size_t references;
    uint32_t first;    /* the frame of one of its pages, 0: none */
    cached_file *next; /* every cached file */
};

/* What the cache knows of the page in one frame. */
typedef struct {
    cached_file *file; /* NULL: not a frame of the cache */
    uint64_t page;     /* the page's number in the file */
    uint32_t next, previous; /* the file's other pages (frame numbers) */
    uint32_t chain;          /* the next page in its index bucket */
    bool dirty;    /* a dirty entry was unmapped since the last write-back */
    bool uptodate; /* holds the file's bytes (false: awaiting a write) */
    bool referenced; /* used since the clock last passed (mapped or not) */
    /* Bytes of the page that write-back writes even past the file's end:
     * a mapping that keeps its length (the lab's, see vma.h) touched it. */
    uint16_t kept;
} cache_page;

static struct {
    cached_file *files;
    cache_page *pages; /* indexed by frame number */
    uint32_t *index;   /* buckets: the frame of their first page, or 0 */
    size_t index_mask; /* buckets - 1, a power of two minus one */
    frame_owner owner;
} cache;

static bool page_referenced(frame_owner *owner, uint32_t key);
static int page_evict(frame_owner *owner, uint32_t key);
static int refresh(cached_file *file, uint32_t evicting);
static bool page_dirty(uint32_t number);

static bool page_dirty(uint32_t number);
static bool page_is_dirty(frame_owner *owner, uint32_t key);

static const frame_owner_ops cache_frame_ops = {
    .referenced = page_referenced,
    .evict = page_evict,
    .dirty = page_is_dirty,
};

/* Reserves the tables for the pool's frames; false with errno if not. */
static bool cache_ready(void) {
    if (cache.pages)
        return true;
    size_t total = kernel_frames_capacity();
    if (total == 0)
        return false;
    size_t buckets = 64;
    while (buckets < total)
        buckets *= 2;
    cache.index =
        host_memory_reserve(host_memory_table_bytes(buckets, sizeof *cache.index));
    cache.pages =
        host_memory_reserve(host_memory_table_bytes(total + 1, sizeof *cache.pages));
    if (!cache.index || !cache.pages) {
        /* Only reserved, never touched: leaving them is harmless. */
        cache.pages = NULL;
        errno = ENOMEM;
        return false;
    }
    cache.index_mask = buckets - 1;
    cache.owner.ops = &cache_frame_ops;
    return true;
}

static uint32_t frame_number(addr32 frame) {
    return frame >> NUM_OFFSET_BITS;
}

static addr32 frame_address(uint32_t number) {
    return (addr32)number << NUM_OFFSET_BITS;
}

/*
 * A page's bucket. Neighbouring pages of a file share a block of
 * INDEX_BLOCK neighbouring buckets, so that a sequential read finds its
 * buckets in the cache lines it has just used; the blocks are scattered.
 */
#define INDEX_BLOCK 16
static size_t bucket_of(const cached_file *file, uint64_t page) {
    uint64_t key = (page / INDEX_BLOCK) * 0x9E3779B97F4A7C15u ^
                   (uintptr_t)file * 0xC2B2AE3D27D4EB4Fu;
    key ^= key >> 32;
    key = (key * 0xBF58476D1CE4E5B9u) >> 24;
    return (size_t)(key * INDEX_BLOCK + page % INDEX_BLOCK) & cache.index_mask;
}

/* The frame number holding page `page` of `file`, or 0. */
static uint32_t index_find(const cached_file *file, uint64_t page) {
    if (!cache.pages)
        return 0;
    uint32_t number = cache.index[bucket_of(file, page)];
    while (number &&
           (cache.pages[number].file != file || cache.pages[number].page != page))
        number = cache.pages[number].chain;
    return number;
}

/* Adds the page whose record is in frame `number` to the index. */
static void index_add(uint32_t number) {
    uint32_t *bucket =
        &cache.index[bucket_of(cache.pages[number].file, cache.pages[number].page)];
    cache.pages[number].chain = *bucket;
    *bucket = number;
}

/* Takes the page whose record is in frame `number` out of the index. */
static void index_remove(uint32_t number) {
    uint32_t *link =
        &cache.index[bucket_of(cache.pages[number].file, cache.pages[number].page)];
    while (*link != number)
        link = &cache.pages[*link].chain;
    *link = cache.pages[number].chain;
}

/* Puts the page now in frame `number` into the cache. */
static void page_insert(cached_file *file, uint64_t page, uint32_t number,
                        bool uptodate) {
    cache.pages[number] = (cache_page){
        .file = file, .page = page, .next = file->first, .uptodate = uptodate};
    if (file->first)
        cache.pages[file->first].previous = number;
    file->first = number;
    index_add(number);
    kernel_set_frame_owner(frame_address(number), &cache.owner, number);
}

/* Takes the page in frame `number` out of the cache and frees the frame. */
static void page_drop(uint32_t number) {
    cache_page *record = &cache.pages[number];
    cached_file *file = record->file;
    index_remove(number);
    if (record->previous)
        cache.pages[record->previous].next = record->next;
    else
        file->first = record->next;
    if (record->next)
        cache.pages[record->next].previous = record->previous;
    *record = (cache_page){0};
}

/*
 * The file grew past `old`, its length as last asked: the page that held
 * its end has, past that end, bytes the file now has (what another
 * program wrote, or zeros), as Linux's page cache would, shared with
 * write(2). Reads them in, behind any bytes a mapping that keeps its
 * length may write there.
 */
static int refill_tail(cached_file *file, uint64_t old) {
    static unsigned char scratch[PAGE_SIZE];
    uint32_t number = index_find(file, old / PAGE_SIZE);
    size_t from = (size_t)(old % PAGE_SIZE);
    if (!number || from == 0 || !cache.pages[number].uptodate)
        return 0;
    if (cache.pages[number].kept > from)
        from = cache.pages[number].kept;
    void *const frames[] = {scratch};
    if (file_store_read(&file->store, old / PAGE_SIZE, frames, 1) != 0)
        return -1;
    memcpy((char *)kernel_frame_memory(frame_address(number)) + from,
           scratch + from, PAGE_SIZE - from);
    return 0;
}

/*
 * The file shrank, as Linux's truncate does it: pages wholly past its new
 * end leave every mapping and the cache, dirty or not (their bytes are no
 * longer the file's), and the rest of its new last page reads as zeros;
 * only pages a mapping that keeps its length touched stay. The frame the
 * pool is evicting, `evicting`, is dropped but not given back: it is the
 * pool's.
 */
static void truncate_pages(cached_file *file, uint32_t evicting) {
    uint64_t length = file->store.length;
    for (uint32_t number = file->first, next; number; number = next) {
        next = cache.pages[number].next;
        cache_page *record = &cache.pages[number];
        if (record->kept != 0)
            continue;
        char *frame = kernel_frame_memory(frame_address(number));
        if (record->page * PAGE_SIZE >= length) {
            rmap_unmap_all(frame_address(number));
            page_drop(number);
            if (number != evicting)
                return_frame_to_kernel(frame_address(number));
        } else if (record->page == length / PAGE_SIZE) {
            memset(frame + length % PAGE_SIZE, 0, PAGE_SIZE - length % PAGE_SIZE);
        }
    }
}

/*
 * Asks the file its length now, which another program may have changed,
 * and brings the cache in line with it. Returns 0, or -1 with errno (and
 * the length as it was).
 */
static int refresh(cached_file *file, uint32_t evicting) {
    uint64_t old = file->store.length;
    if (file_store_size(&file->store) != 0)
        return -1;
    if (file->store.length > old && refill_tail(file, old) != 0) {
        int failure = errno;
        file->store.length = old; /* so that the next ask tries again */
        errno = failure;
        return -1;
    }
    if (file->store.length < old)
        truncate_pages(file, evicting);
    return 0;
}

int page_cache_refresh(cached_file *file) {
    return refresh(file, 0);
}

void page_cache_keep(addr32 frame, uint64_t end) {
    cache_page *record = &cache.pages[frame_number(frame)];
    assert(record->file);
    uint64_t start = record->page * PAGE_SIZE;
    uint64_t bytes = end > start ? end - start : 0;
    if (bytes > PAGE_SIZE)
        bytes = PAGE_SIZE;
    if (bytes > record->kept)
        record->kept = (uint16_t)bytes;
}

cached_file *page_cache_open(int fd, bool *fd_writable) {
    if (!cache_ready())
        return NULL;
    file_store store;
    if (file_store_open_descriptor(&store, fd) != 0)
        return NULL;
    *fd_writable = store.writable;
    for (cached_file *file = cache.files; file; file = file->next) {
        if (file->store.device != store.device ||
            file->store.inode != store.inode)
            continue;
        /* Keep a descriptor that can write, once any mapping brings one. */
        if (store.writable && !file->store.writable) {
            file_store_close(&file->store);
            file->store.fd = store.fd;
            file->store.writable = true;
        } else {
            file_store_close(&store);
        }
        /* The size it has now, as a mapping made now sees it. */
        if (refresh(file, 0) != 0)
            return NULL;
        file->references++;
        return file;
    }
    cached_file *file = calloc(1, sizeof *file);
    if (!file) {
        file_store_close(&store);
        errno = ENOMEM;
        return NULL;
    }
    file->store = store;
    file->references = 1;
    file->next = cache.files;
    cache.files = file;
    return file;
}

void page_cache_hold(cached_file *file) {
    file->references++;
}

uint64_t page_cache_file_pages(const cached_file *file) {
    return (file->store.length + PAGE_SIZE - 1) / PAGE_SIZE;
}

bool page_cache_has(const cached_file *file, uint64_t page) {
    return index_find(file, page) != 0;
}

addr32 page_cache_find(cached_file *file, uint64_t page) {
    uint32_t number = index_find(file, page);
    if (!number || !cache.pages[number].uptodate)
        return 0;
    cache.pages[number].referenced = true;
    return frame_address(number);
}

bool page_cache_owns(addr32 frame) {
    return cache.pages && cache.pages[frame_number(frame)].file != NULL;
}

bool page_cache_describe(addr32 frame, const cached_file **file,
                         uint64_t *page, bool *dirty) {
    if (!page_cache_owns(frame))
        return false;
    const cache_page *record = &cache.pages[frame_number(frame)];
    if (file)
        *file = record->file;
    if (page)
        *page = record->page;
    if (dirty)
        *dirty = page_dirty(frame_number(frame));
    return true;
}

void page_cache_file_identity(const cached_file *file, uint64_t *device,
                              uint64_t *inode) {
    *device = (uint64_t)file->store.device;
    *inode = (uint64_t)file->store.inode;
}

void page_cache_unmapped(addr32 frame, bool dirty) {
    cache_page *record = &cache.pages[frame_number(frame)];
    assert(record->file);
    if (dirty)
        record->dirty = true;
}

/* Whether the page in frame `number` is dirty, here or in an entry. */
static bool page_dirty(uint32_t number) {
    return cache.pages[number].dirty || rmap_dirty(frame_address(number));
}

/* Whether page `page` of `file` is cached and dirty; its frame if so. */
static uint32_t dirty_page(const cached_file *file, uint64_t page) {
    uint32_t number = index_find(file, page);
    return number && page_dirty(number) ? number : 0;
}

/* The trace of a page written back, under its first mapper if any. */
static void report_write_back(uint32_t number) {
    trace_record record = {.event = TRACE_WRITE_BACK,
                           .physical_address = frame_address(number),
                           .page = (size_t)cache.pages[number].page};
    rmap_first(frame_address(number), &record.pid, &record.virtual_address);
    trace_report(&record);
}

/* How many bytes of page `page` lie inside the file, as last asked. */
static size_t bytes_inside(const cached_file *file, uint64_t page) {
    uint64_t start = page * PAGE_SIZE;
    if (start >= file->store.length)
        return 0;
    uint64_t left = file->store.length - start;
    return left < PAGE_SIZE ? (size_t)left : PAGE_SIZE;
}

/*
 * How much of the page in frame `number` write-back writes: the bytes
 * inside the file (it had them from the file, or a mapping wrote them
 * there), and no more, unless a mapping that keeps its length allows it.
 */
static size_t write_length(uint32_t number) {
    const cache_page *record = &cache.pages[number];
    size_t inside = bytes_inside(record->file, record->page);
    return record->kept > inside ? record->kept : inside;
}

/* Writes pages [page, page + count) of `file`, in `numbers`; marks them clean. */
static int write_pages(cached_file *file, uint64_t page,
                       const uint32_t numbers[], size_t count) {
    const void *frames[PAGE_CACHE_MAX_RUN] = {0};
    size_t lengths[PAGE_CACHE_MAX_RUN] = {0};
    for (size_t i = 0; i < count; i++) {
        frames[i] = kernel_frame_memory(frame_address(numbers[i]));
        lengths[i] = write_length(numbers[i]);
    }
    if (file_store_write(&file->store, page, frames, lengths, count) != 0)
        return -1;
    for (size_t i = 0; i < count; i++) {
        cache.pages[numbers[i]].dirty = false;
        rmap_clear_dirty(frame_address(numbers[i]));
        if (trace_on())
            report_write_back(numbers[i]);
    }
    return 0;
}

/*
 * Writes back the run of dirty pages around the dirty page in frame
 * `number`, within pages [first, end), in one write (as a kernel clusters
 * write-back); if that fails, each page alone, so that only the pages
 * that really cannot be written stay dirty. Returns 0, or -1 with errno.
 */
static int write_back_around(uint32_t number, uint64_t first, uint64_t end) {
    cached_file *file = cache.pages[number].file;
    uint64_t page = cache.pages[number].page, start = page;
    while (start > first && page - start + 1 < PAGE_CACHE_MAX_RUN &&
           dirty_page(file, start - 1))
        start--;
    uint32_t numbers[PAGE_CACHE_MAX_RUN] = {0};
    size_t count = 0;
    for (uint64_t at = start; at < end && count < PAGE_CACHE_MAX_RUN; at++) {
        uint32_t found = at <= page ? index_find(file, at) : dirty_page(file, at);
        if (!found)
            break;
        numbers[count++] = found;
    }
    if (write_pages(file, start, numbers, count) == 0)
        return 0;
    int failure = 0;
    for (size_t i = 0; i < count; i++)
        if (write_pages(file, start + i, &numbers[i], 1) != 0 && !failure)
            failure = errno;
    if (failure)
        errno = failure;
    return failure ? -1 : 0;
}

/*
 * Writes back the dirty pages of `file` numbered [first, end), without
 * asking the file its size first (the caller just did).
 */
static int write_back_range(cached_file *file, uint64_t first, uint64_t end) {
    int failure = 0;
    for (uint32_t number = file->first; number;
         number = cache.pages[number].next) {
        cache_page *record = &cache.pages[number];
        if (record->page < first || record->page >= end || !page_dirty(number))
            continue;
        if (write_back_around(number, first, end) != 0 && !failure)
            failure = errno;
    }
    if (failure)
        errno = failure;
    return failure ? -1 : 0;
}

int page_cache_write_back(cached_file *file, uint64_t first, uint64_t end) {
    /* Never write past the end the file has now: ask it first. */
    if (refresh(file, 0) != 0)
        return -1;
    return write_back_range(file, first, end);
}

void page_cache_invalidate(cached_file *file, uint64_t first, uint64_t end) {
    for (uint32_t number = file->first, next; number; number = next) {
        next = cache.pages[number].next;
        cache_page *record = &cache.pages[number];
        if (record->page < first || record->page >= end || page_dirty(number))
            continue;
        rmap_unmap_all(frame_address(number));
        page_drop(number);
        return_frame_to_kernel(frame_address(number));
    }
}

/*
 * Gives the frames of the clean pages of `file`, which no entry maps any
 * more, back to the pool; and, when no dirty page is left, forgets the
 * file and closes its descriptor.
 */
static void drop_unmapped_file(cached_file *file) {
    for (uint32_t number = file->first, next; number; number = next) {
        next = cache.pages[number].next;
        assert(rmap_count(frame_address(number)) == 0);
        if (cache.pages[number].dirty) /* no entry maps it to say more */
            continue;
        page_drop(number);
        return_frame_to_kernel(frame_address(number));
    }
    if (file->first)
        return; /* dirty pages stay, and the file with them */
    file_store_close(&file->store);
    for (cached_file **link = &cache.files; *link; link = &(*link)->next) {
        if (*link == file) {
            *link = file->next;
            break;
        }
    }
    free(file);
}

/*
 * Tries again to write the dirty pages of files no mapping holds any
 * more, whose last write-back failed. A failure here is not the caller's:
 * the pages stay for the next try, and errno is left alone.
 */
static void retry_unmapped_except(const cached_file *except) {
    int saved = errno;
    for (cached_file *file = cache.files, *next; file; file = next) {
        next = file->next;
        if (file->references == 0 && file != except &&
            page_cache_write_back(file, 0, UINT64_MAX) == 0)
            drop_unmapped_file(file);
    }
    errno = saved;
}

void page_cache_retry_unmapped(void) {
    retry_unmapped_except(NULL);
}

int page_cache_release(cached_file *file) {
    assert(file->references > 0);
    if (--file->references > 0)
        return 0;
    int result = page_cache_write_back(file, 0, UINT64_MAX);
    int failure = errno;
    /* Pages that could not be written stay dirty in the cache, never lost. */
    retry_unmapped_except(file);
    drop_unmapped_file(file);
    if (result != 0)
        errno = failure;
    return result;
}

static bool overwritten(const page_cache_request *request, uint64_t page) {
    return page >= request->overwritten_first &&
           page < request->overwritten_end;
}

/*
 * Reads pages [page, page + count) of `file` into `frames`, one read per
 * stretch of pages that are not overwritten.
 */
static int fill(cached_file *file, const page_cache_request *request,
                uint64_t page, void *frames[], size_t count) {
    for (size_t i = 0; i < count;) {
        if (overwritten(request, page + i)) {
            i++;
            continue;
        }
        size_t j = i + 1;
        while (j < count && !overwritten(request, page + j))
            j++;
        if (file_store_read(&file->store, page + i, frames + i, j - i) != 0)
            return -1;
        i = j;
    }
    return 0;
}

/* A page in the cache, perhaps not filled yet: fills it if the access reads it. */
static addr32 cached_page(cached_file *file, const page_cache_request *request,
                          uint32_t number, bool *was_read) {
    cache_page *record = &cache.pages[number];
    if (!record->uptodate && !overwritten(request, request->page)) {
        void *frame = kernel_frame_memory(frame_address(number));
        if (file_store_read(&file->store, request->page, &frame, 1) != 0)
            return 0;
        *was_read = true;
    }
    record->uptodate = true;
    record->referenced = true;
    return frame_address(number);
}

/*
 * Takes up to `count` frames, pinned so that the clock cannot take them
 * half-read, and fills them with the pages from request->page on; when
 * the whole run cannot be read, the page alone. Returns how many frames
 * hold their page (the first of `frames`; the rest went back to the
 * pool), or 0 with errno.
 */
static size_t take_and_fill(cached_file *file,
                            const page_cache_request *request,
                            addr32 frames[], size_t count) {
    void *memory[PAGE_CACHE_MAX_RUN];
    size_t taken = 0;
    for (; taken < count; taken++) {
        frames[taken] = ask_kernel_for_frame(NULL, 0);
        if (frames[taken] == 0)
            break;
        memory[taken] = kernel_frame_memory(frames[taken]);
    }
    count = taken;
    int filled = count > 0 ? fill(file, request, request->page, memory, count)
                           : -1;
    if (filled != 0 && count > 1) {
        count = 1; /* the read-ahead failed: the page itself may not */
        filled = fill(file, request, request->page, memory, count);
    }
    int failure = errno;
    for (size_t i = filled == 0 ? count : 0; i < taken; i++)
        return_frame_to_kernel(frames[i]);
    errno = failure;
    return filled == 0 ? count : 0;
}

addr32 page_cache_get(cached_file *file, const page_cache_request *request,
                      bool *was_read) {
    int saved = errno; /* a failed read-ahead's errno is not the caller's */
    *was_read = false;
    if (!cache_ready())
        return 0;
    /* A page that needs no read needs no question to the file either. */
    uint32_t number = index_find(file, request->page);
    if (number && (cache.pages[number].uptodate ||
                   overwritten(request, request->page)))
        return cached_page(file, request, number, was_read);
    if (refresh(file, 0) != 0)
        return 0;
    uint64_t pages = page_cache_file_pages(file);
    if (!request->past_end_allowed && request->page >= pages) {
        errno = ENXIO; /* the file is shorter now than when the fault began */
        return 0;
    }
    number = index_find(file, request->page); /* refresh may have dropped it */
    if (number)
        return cached_page(file, request, number, was_read);
    size_t count = 1;
    while (count < request->run && count < PAGE_CACHE_MAX_RUN &&
           (request->past_end_allowed || request->page + count < pages) &&
           !index_find(file, request->page + count))
        count++;
    addr32 frames[PAGE_CACHE_MAX_RUN];
    count = take_and_fill(file, request, frames, count);
    if (count == 0)
        return 0;
    errno = saved;
    for (size_t i = 0; i < count; i++) {
        uint64_t page = request->page + i;
        /* The faulting page is written at once; others wait for a read. */
        page_insert(file, page, frame_number(frames[i]),
                    i == 0 || !overwritten(request, page));
        if (trace_on())
            trace_report(&(trace_record){.event = TRACE_FRAME_GIVEN,
                                         .physical_address = frames[i],
                                         .use = TRACE_FRAME_PAGE,
                                         .page = (size_t)page});
    }
    cache.pages[frame_number(frames[0])].referenced = true;
    *was_read = !overwritten(request, request->page);
    return frames[0];
}

/* The pool's nru question: would evicting the page write it back? */
static bool page_is_dirty(frame_owner *owner, uint32_t key) {
    (void)owner;
    return page_dirty(key);
}

/* The pool's second-chance question: used since the clock last passed? */
static bool page_referenced(frame_owner *owner, uint32_t key) {
    (void)owner;
    cache_page *record = &cache.pages[key];
    bool referenced = rmap_clear_accessed(frame_address(key)) ||
                      record->referenced;
    record->referenced = false;
    return referenced;
}

/*
 * The pool takes the frame back: write the page back if it is dirty (its
 * dirty neighbours along, in the same write; they stay cached, clean and
 * cheap to evict when the clock reaches them), unmap it everywhere, and
 * drop it from the cache.
 */
static int page_evict(frame_owner *owner, uint32_t key) {
    (void)owner;
    cache_page *record = &cache.pages[key];
    cached_file *file = record->file;
    bool dirty = page_dirty(key);
    if (dirty && refresh(file, key) != 0)
        return -1;
    if (!record->file)
        return 0; /* the file shrank past it: dropped, nothing to write */
    dirty = page_dirty(key);
    if (dirty && write_back_around(key, 0, UINT64_MAX) != 0 && page_dirty(key))
        return -1; /* kept; the pool looks for another victim */
    if (trace_on()) {
        trace_record event = {.event = TRACE_EVICTION,
                              .physical_address = frame_address(key),
                              .dirty = dirty,
                              .room_for = trace_frame_wanted,
                              .page = (size_t)record->page};
        rmap_first(frame_address(key), &event.pid, &event.virtual_address);
        trace_report(&event);
    }
    rmap_unmap_all(frame_address(key));
    page_drop(key);
    if (file->references == 0 && !file->first)
        drop_unmapped_file(file); /* its last page, kept for a failed write */
    return 0;
}
