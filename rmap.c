/*
 * rmap.c: each frame's mappers: the first in a table indexed by frame
 * number, any others on a list hanging from it. The table is reserved as
 * the pool's frame table is, on first use, and backed as it is touched.
 */
#include "rmap.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "host_memory.h"

typedef struct rmap_node rmap_node;

/* One entry that maps a frame. */
typedef struct {
    mmu *mmu; /* NULL: no mapper */
    uint32_t pid;
    addr32 address;
} mapper;

struct rmap_node {
    mapper who;
    rmap_node *next;
};

/* What the table holds for one frame. */
typedef struct {
    mapper first;
    rmap_node *others;
} frame_mappers;

static frame_mappers *table; /* indexed by frame number */

static frame_mappers *mappers_of(addr32 frame) {
    return &table[frame >> NUM_OFFSET_BITS];
}

/* Reserves the table for the pool's frames; false with errno if it cannot. */
static bool table_ready(void) {
    if (table)
        return true;
    size_t total = kernel_frames_capacity();
    if (total == 0)
        return false;
    table = host_memory_reserve(host_memory_table_bytes(total + 1, sizeof *table));
    return table != NULL;
}

int rmap_add(addr32 frame, mmu *mmu, size_t pid, addr32 address) {
    if (!table_ready())
        return -1;
    frame_mappers *all = mappers_of(frame);
    mapper who = {mmu, (uint32_t)pid, address};
    if (!all->first.mmu) {
        all->first = who;
        return 0;
    }
    rmap_node *node = malloc(sizeof *node);
    if (!node) {
        errno = ENOMEM;
        return -1;
    }
    *node = (rmap_node){who, all->others};
    all->others = node;
    return 0;
}

static bool same(const mapper *who, mmu *mmu, size_t pid, addr32 address) {
    return who->mmu == mmu && who->pid == pid && who->address == address;
}

void rmap_remove(addr32 frame, mmu *mmu, size_t pid, addr32 address) {
    frame_mappers *all = mappers_of(frame);
    if (same(&all->first, mmu, pid, address)) {
        rmap_node *next = all->others;
        if (next) {
            all->first = next->who;
            all->others = next->next;
            free(next);
        } else {
            all->first = (mapper){0};
        }
        return;
    }
    for (rmap_node **link = &all->others; *link; link = &(*link)->next) {
        if (same(&(*link)->who, mmu, pid, address)) {
            rmap_node *gone = *link;
            *link = gone->next;
            free(gone);
            return;
        }
    }
    assert(!"rmap_remove: no such mapping");
}

/* The entry a mapper names; it exists, since the page is mapped there. */
static page_table_entry *entry_of(const mapper *who) {
    page_table_entry *entry = page_table_walk(
        who->mmu->page_directories[who->pid], who->address, false);
    assert(entry && entry->present);
    return entry;
}

typedef void (*mapper_visitor)(const mapper *who, page_table_entry *entry,
                               void *context);

static void for_each_mapper(addr32 frame, mapper_visitor visit,
                            void *context) {
    if (!table)
        return;
    frame_mappers *all = mappers_of(frame);
    if (!all->first.mmu)
        return;
    visit(&all->first, entry_of(&all->first), context);
    for (rmap_node *node = all->others; node; node = node->next)
        visit(&node->who, entry_of(&node->who), context);
}

bool rmap_first(addr32 frame, size_t *pid, addr32 *address) {
    if (!table || !mappers_of(frame)->first.mmu)
        return false;
    *pid = mappers_of(frame)->first.pid;
    *address = mappers_of(frame)->first.address;
    return true;
}

static void count_one(const mapper *who, page_table_entry *entry,
                      void *context) {
    (void)who, (void)entry;
    (*(size_t *)context)++;
}

size_t rmap_count(addr32 frame) {
    size_t count = 0;
    for_each_mapper(frame, count_one, &count);
    return count;
}

static void clear_accessed(const mapper *who, page_table_entry *entry,
                           void *context) {
    (void)who;
    if (entry->accessed) {
        *(bool *)context = true;
        entry->accessed = 0;
    }
}

bool rmap_clear_accessed(addr32 frame) {
    bool accessed = false;
    for_each_mapper(frame, clear_accessed, &accessed);
    return accessed;
}

static void note_dirty(const mapper *who, page_table_entry *entry,
                       void *context) {
    (void)who;
    if (entry->dirty)
        *(bool *)context = true;
}

bool rmap_dirty(addr32 frame) {
    bool dirty = false;
    for_each_mapper(frame, note_dirty, &dirty);
    return dirty;
}

static void clear_dirty(const mapper *who, page_table_entry *entry,
                        void *context) {
    (void)who, (void)context;
    if (entry->dirty)
        entry->dirty = 0;
}

void rmap_clear_dirty(addr32 frame) {
    for_each_mapper(frame, clear_dirty, NULL);
}

static void unmap_one(const mapper *who, page_table_entry *entry,
                      void *context) {
    if (entry->dirty)
        *(bool *)context = true;
    *entry = (page_table_entry){0};
    if (who->mmu->curr_pid == who->pid)
        tlb_invalidate(who->mmu->tlb, who->address);
}

bool rmap_unmap_all(addr32 frame) {
    bool dirty = false;
    for_each_mapper(frame, unmap_one, &dirty);
    if (table) {
        frame_mappers *all = mappers_of(frame);
        while (all->others) {
            rmap_node *gone = all->others;
            all->others = gone->next;
            free(gone);
        }
        all->first = (mapper){0};
    }
    return dirty;
}
