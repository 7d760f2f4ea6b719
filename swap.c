/*
 * swap.c: the swap store, a bitmap of slots with a count of references
 * each, over an unlinked temporary file where slot N is page N - 1.
 */
/* mkostemp, preadv and pwritev are not C99. */
#define _GNU_SOURCE
#define _FILE_OFFSET_BITS 64

#include "swap.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <unistd.h>

#include "host_memory.h"
#include "io_fault.h"
#include "settings.h"
#include "trace.h"

/* Slots per word of the bitmap. */
#define SWAP_WORD_BITS 64

/* Where the file is made when $TMPDIR is unset or empty. */
#define SWAP_DEFAULT_DIRECTORY "/tmp"

static struct {
    size_t total;            /* slots 1 .. total; 0: setting not read yet */
    bool ready;              /* the tables are reserved and the file made */
    int fd;                  /* the unlinked file, when ready */
    uint64_t *bitmap;        /* bit (slot - 1): the slot is held */
    uint32_t *references;    /* indexed by slot; [0] unused */
    size_t used;             /* slots held */
    size_t first_free_word;  /* every word before it is full */
} store;

size_t swap_slots_total(void) {
    if (store.total == 0)
        store.total = settings_count("MMAP_SWAP_PAGES", SWAP_DEFAULT_PAGES,
                                     SWAP_MIN_PAGES, SWAP_MAX_PAGES);
    return store.total;
}

static size_t bitmap_words(void) {
    return (store.total + SWAP_WORD_BITS - 1) / SWAP_WORD_BITS;
}

static size_t bitmap_bytes(void) {
    return host_memory_table_bytes(bitmap_words(), sizeof *store.bitmap);
}

static size_t references_bytes(void) {
    return host_memory_table_bytes(store.total + 1, sizeof *store.references);
}

/*
 * Makes the file in $TMPDIR (or /tmp) and unlinks it at once, so that it
 * is never seen in the directory and goes with the process however it
 * ends. Returns its descriptor, or -1 with errno.
 */
static int make_unlinked_file(void) {
    const char *directory = getenv("TMPDIR");
    char path[PATH_MAX];
    if (!directory || !*directory)
        directory = SWAP_DEFAULT_DIRECTORY;
    int length = snprintf(path, sizeof path, "%s/mmap-swap-XXXXXX", directory);
    if (length < 0 || (size_t)length >= sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0)
        return -1;
    if (unlink(path) != 0) {
        int error = errno;
        close(fd);
        errno = error;
        return -1;
    }
    return fd;
}

/*
 * Reserves the tables, zero-filled and backed only as they are touched,
 * and makes the file; false with errno, nothing kept, if it cannot.
 */
static bool store_set_up(void) {
    if (swap_slots_total() == 0)
        return false;
    store.bitmap = host_memory_reserve(bitmap_bytes());
    store.references = host_memory_reserve(references_bytes());
    int error = ENOMEM;
    if (store.bitmap && store.references) {
        store.fd = make_unlinked_file();
        if (store.fd >= 0) {
            store.ready = true;
            return true;
        }
        error = errno;
    }
    host_memory_release(store.bitmap, bitmap_bytes());
    host_memory_release(store.references, references_bytes());
    store.bitmap = NULL;
    store.references = NULL;
    errno = error;
    return false;
}

static bool slot_held(swap_slot slot) {
    return store.ready && slot != SWAP_NO_SLOT && slot <= store.total &&
           store.references[slot] > 0;
}

/* Takes the lowest free slot, held once, or SWAP_NO_SLOT with ENOSPC. */
static swap_slot take_slot(void) {
    size_t words = bitmap_words();
    for (size_t word = store.first_free_word; word < words; word++) {
        uint64_t bits = store.bitmap[word];
        if (bits == UINT64_MAX)
            continue;
        store.first_free_word = word;
        size_t index = word * SWAP_WORD_BITS + (size_t)__builtin_ctzll(~bits);
        if (index >= store.total)
            break;
        store.bitmap[word] = bits | (uint64_t)1 << (index % SWAP_WORD_BITS);
        store.references[index + 1] = 1;
        store.used++;
        return (swap_slot)(index + 1);
    }
    errno = ENOSPC;
    return SWAP_NO_SLOT;
}

static void release_slot(swap_slot slot) {
    size_t index = slot - 1, word = index / SWAP_WORD_BITS;
    store.references[slot] = 0;
    store.bitmap[word] &= ~((uint64_t)1 << (index % SWAP_WORD_BITS));
    store.used--;
    if (word < store.first_free_word)
        store.first_free_word = word;
}

/*
 * Moves one page between memory and slot `slot` of the file, with as
 * many calls as it takes, as file_store.c's transfer does: a short call
 * is continued from where it stopped, an interrupted one tried again, and
 * every call goes through io_fault.h while a fault is armed. Returns 0,
 * or -1 with errno (EIO when the file ends inside the slot).
 */
static int transfer(swap_slot slot, void *page, bool write) {
    off_t offset = (off_t)(slot - 1) * PAGE_SIZE;
    size_t moved = 0;
    while (moved < PAGE_SIZE) {
        struct iovec iov = {(char *)page + moved, PAGE_SIZE - moved};
        off_t at = offset + (off_t)moved;
        ssize_t n;
        if (io_fault_armed)
            n = io_fault_transfer(store.fd, &iov, 1, at, write);
        else
            n = write ? pwritev(store.fd, &iov, 1, at)
                      : preadv(store.fd, &iov, 1, at);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0) {
            errno = EIO;
            return -1;
        }
        moved += (size_t)n;
    }
    return 0;
}

static void trace_slot(enum trace_event event, swap_slot slot) {
    if (trace_on())
        trace_report(&(trace_record){.event = event, .page = slot});
}

swap_slot swap_out(const void *page) {
    if (!store.ready && !store_set_up())
        return SWAP_NO_SLOT;
    swap_slot slot = take_slot();
    if (slot == SWAP_NO_SLOT)
        return SWAP_NO_SLOT;
    /* pwritev only reads the page; iovec's field is not const. */
    if (transfer(slot, (void *)(uintptr_t)page, true) != 0) {
        int error = errno;
        release_slot(slot);
        errno = error;
        return SWAP_NO_SLOT;
    }
    trace_slot(TRACE_SWAP_OUT, slot);
    return slot;
}

int swap_in(swap_slot slot, void *page) {
    if (!slot_held(slot)) {
        errno = EINVAL;
        return -1;
    }
    if (transfer(slot, page, false) != 0)
        return -1;
    trace_slot(TRACE_SWAP_IN, slot);
    return 0;
}

int swap_write(swap_slot slot, const void *page) {
    if (!slot_held(slot)) {
        errno = EINVAL;
        return -1;
    }
    /* pwritev only reads the page; iovec's field is not const. */
    if (transfer(slot, (void *)(uintptr_t)page, true) != 0)
        return -1;
    trace_slot(TRACE_SWAP_OUT, slot);
    return 0;
}

void swap_hold(swap_slot slot) {
    assert(slot_held(slot) && "swap_hold: slot not held");
    assert(store.references[slot] < UINT32_MAX);
    store.references[slot]++;
}

void swap_free(swap_slot slot) {
    assert(slot_held(slot) && "swap_free: slot not held");
    if (--store.references[slot] == 0)
        release_slot(slot);
}

size_t swap_slot_references(swap_slot slot) {
    return slot_held(slot) ? store.references[slot] : 0;
}

size_t swap_slots_used(void) {
    return store.used;
}
