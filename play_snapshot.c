/*
 * play_snapshot.c: the playground's snapshots (play_snapshot.h): plain
 * records in arrays, filled by reading the machine, compared as bytes
 * (every record is zeroed before it is filled, padding included) and
 * written as JSON and words only where they differ.
 *
 * The frames' mappers are gathered from the page tables in one pass and
 * sorted by frame with a counting sort, so a snapshot costs one walk of
 * each process's tables and one look at each frame of the pool. Left out:
 * keeping the unchanged part of the previous snapshot (each snapshot is
 * taken whole; only its delta is kept).
 */
#include "play_snapshot.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anon.h"
#include "kernel.h"
#include "page_cache.h"
#include "swap.h"
#include "vma.h"

#define NAME_SIZE 16
/* Area kinds past the four of vm_mmap: a segment, by enum segments. */
#define KIND_SEGMENT 10

typedef struct {
    void *items;
    size_t count, room, size;
} vec;

typedef struct {
    uint32_t page, frame, slot;
    uint8_t present, writable, dirty, accessed, cow, swapped, cached, pad;
} snap_entry;

typedef struct {
    uint32_t start, end, prot;
    int32_t kind, file;
} snap_area;

typedef struct {
    uint32_t index, frame;
} snap_table;

typedef struct {
    uint32_t pid, directory;
    char name[NAME_SIZE];
    size_t tables_first, num_tables, areas_first, num_areas;
    size_t entries_first, num_entries;
} snap_process;

typedef struct {
    uint32_t pid, page, frame, writable;
} snap_tlb;

typedef struct {
    uint32_t owner;
    int32_t file;
    uint64_t page;
    uint32_t dirty;
    size_t mappers_first, num_mappers;
} snap_frame;

/* An entry naming a frame or a slot (`key`), as the tables are walked. */
typedef struct {
    uint32_t key, pid, page, dirty;
} snap_found;

typedef struct {
    uint32_t pid, page;
} snap_mapper;

typedef struct {
    int32_t file;
    uint32_t frame;
    uint64_t page;
    uint32_t dirty, pad;
} snap_cached;

typedef struct {
    uint32_t slot;
    size_t refs, mappers_first, num_mappers;
} snap_slot;

typedef play_snapshot_counters snap_counters;

struct play_snapshot {
    vec processes, tables, areas, entries;
    snap_tlb tlb[TLB_SIZE];
    size_t num_tlb;
    snap_frame *frames; /* indexed by frame number, 0 unused */
    size_t num_frames;
    vec frame_mappers, cached, slots, slot_mappers, found;
    snap_counters counters;
    bool failed;
};

/* A new zeroed item at the end of `v`, or NULL (and failed). */
static void *push(play_snapshot *self, vec *v) {
    if (v->count == v->room) {
        size_t room = v->room ? v->room * 2 : 64;
        void *grown = realloc(v->items, room * v->size);
        if (!grown) {
            self->failed = true;
            return NULL;
        }
        v->items = grown;
        v->room = room;
    }
    void *item = (char *)v->items + v->count++ * v->size;
    memset(item, 0, v->size);
    return item;
}

/* Item `i` of `v`; NULL while `v` has never held one (no pointer
 * arithmetic on NULL, which C leaves undefined even for an offset of 0). */
static void *item(const vec *v, size_t i) {
    return v->items ? (char *)v->items + i * v->size : NULL;
}

#define AT(v, type, i) ((type *)item(&(v), (i)))

play_snapshot *play_snapshot_create(void) {
    play_snapshot *self = calloc(1, sizeof *self);
    if (!self) {
        errno = ENOMEM;
        return NULL;
    }
    self->processes.size = sizeof(snap_process);
    self->tables.size = sizeof(snap_table);
    self->areas.size = sizeof(snap_area);
    self->entries.size = sizeof(snap_entry);
    self->frame_mappers.size = self->slot_mappers.size = sizeof(snap_mapper);
    self->cached.size = sizeof(snap_cached);
    self->slots.size = sizeof(snap_slot);
    self->found.size = sizeof(snap_found);
    return self;
}

void play_snapshot_delete(play_snapshot *self) {
    if (!self)
        return;
    vec *all[] = {&self->processes, &self->tables, &self->areas,
                  &self->entries, &self->frame_mappers, &self->cached,
                  &self->slots, &self->slot_mappers, &self->found};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        free(all[i]->items);
    free(self->frames);
    free(self);
}

/* The index in view->files of `file`, or -1 when it has no name there. */
static int32_t file_index(const play_view *view, const cached_file *file) {
    uint64_t device, inode;
    page_cache_file_identity(file, &device, &inode);
    for (size_t i = 0; i < view->num_files; i++)
        if (view->files[i].device == device && view->files[i].inode == inode)
            return (int32_t)i;
    return -1;
}

static int compare_areas(const void *a, const void *b) {
    const snap_area *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* The areas of `pid`, mapped areas and segments, in address order. */
static void take_areas(play_snapshot *self, const play_view *view, size_t pid,
                       snap_process *process) {
    const mmu *m = view->machine;
    process->areas_first = self->areas.count;
    const vm_areas *areas = m->areas[pid];
    for (vm_area *a = areas ? vma_first_ending_after(areas, 0) : NULL; a;
         a = vma_next(areas, a)) {
        snap_area *s = push(self, &self->areas);
        if (!s)
            return;
        *s = (snap_area){a->start, a->end, a->prot,
                         (a->shared ? 0 : 1) + (a->file ? 0 : 2),
                         a->file ? file_index(view, a->file) : -1};
    }
    for (int i = 0; i < NUM_SEGMENTS; i++) {
        const vm_segmentation *g = &m->segmentations[pid]->segments[i];
        if (i == MMAP || g->start == g->end)
            continue;
        snap_area *s = push(self, &self->areas);
        if (!s)
            return;
        *s = (snap_area){g->start, g->end, g->permissions, KIND_SEGMENT + i, -1};
    }
    process->num_areas = self->areas.count - process->areas_first;
    if (process->num_areas > 1)
        qsort(AT(self->areas, snap_area, process->areas_first), process->num_areas,
          sizeof(snap_area), compare_areas);
}

/* Whether the area holding `page` (areas sorted, from *cursor) allows writes. */
static bool area_writable(const play_snapshot *self, const snap_process *p,
                          size_t *cursor, uint32_t page) {
    while (*cursor < p->num_areas &&
           AT(self->areas, snap_area, p->areas_first + *cursor)->end <= page)
        (*cursor)++;
    if (*cursor == p->num_areas)
        return false;
    const snap_area *a = AT(self->areas, snap_area, p->areas_first + *cursor);
    return a->start <= page && (a->prot & 0x2);
}

/* The entries of one page table that hold a frame or a slot. */
static void take_table(play_snapshot *self, const snap_process *p,
                       uint32_t index, uint32_t frame, size_t *cursor) {
    const page_table *table =
        kernel_frame_memory((addr32)frame << NUM_OFFSET_BITS);
    for (uint32_t i = 0; i < NUM_ENTRIES; i++) {
        const page_table_entry *e = &table->entries[i];
        if (!e->present && !e->cached && !e->swapped)
            continue;
        snap_entry *s = push(self, &self->entries);
        if (!s)
            return;
        s->page = index << 22 | i << NUM_OFFSET_BITS;
        s->present = e->present;
        s->cached = e->cached;
        s->swapped = e->swapped;
        s->frame = e->swapped ? 0 : e->base_addr;
        s->slot = e->swapped ? e->base_addr : 0;
        s->writable = e->read_write;
        s->dirty = e->dirty;
        s->accessed = e->accessed;
        s->cow = e->present && !e->read_write &&
                 area_writable(self, p, cursor, s->page);
    }
}

/* Process `pid`: its directory, tables, areas and entries. */
static void take_process(play_snapshot *self, const play_view *view,
                         size_t pid) {
    const page_directory *directory = view->machine->page_directories[pid];
    snap_process *p = push(self, &self->processes);
    if (!p)
        return;
    p->pid = (uint32_t)pid;
    const char *name = view->process_names ? view->process_names[pid] : NULL;
    if (name)
        strncpy(p->name, name, NAME_SIZE - 1);
    p->directory = get_address_from_system_pointer(directory) >> NUM_OFFSET_BITS;
    take_areas(self, view, pid, p);
    p->tables_first = self->tables.count;
    p->entries_first = self->entries.count;
    size_t cursor = 0;
    for (uint32_t i = 0; i < NUM_ENTRIES; i++) {
        const page_directory_entry *d = &directory->entries[i];
        snap_table *t = d->present ? push(self, &self->tables) : NULL;
        if (!t)
            continue;
        *t = (snap_table){i, d->base_addr};
        take_table(self, p, i, d->base_addr, &cursor);
    }
    p->num_tables = self->tables.count - p->tables_first;
    p->num_entries = self->entries.count - p->entries_first;
}

static void take_tlb(play_snapshot *self, const mmu *m) {
    self->num_tlb = 0;
    memset(self->tlb, 0, sizeof self->tlb);
    for (int i = 0; i < TLB_SIZE; i++) {
        const tlb_slot *slot = &m->tlb->slots[i];
        if (slot->vpn == TLB_NO_PAGE)
            continue;
        self->tlb[self->num_tlb++] =
            (snap_tlb){(uint32_t)m->curr_pid, slot->vpn << NUM_OFFSET_BITS,
                       slot->entry->base_addr, slot->entry->read_write};
    }
}

/* Gathers (frame or slot, pid, page) of every entry present or swapped. */
static void gather(play_snapshot *self, bool swapped) {
    self->found.count = 0;
    for (size_t i = 0; i < self->processes.count; i++) {
        const snap_process *p = AT(self->processes, snap_process, i);
        for (size_t j = 0; j < p->num_entries; j++) {
            const snap_entry *e = AT(self->entries, snap_entry,
                                     p->entries_first + j);
            if (swapped ? !e->swapped : !e->present)
                continue;
            snap_found *f = push(self, &self->found);
            if (f)
                *f = (snap_found){swapped ? e->slot : e->frame, p->pid,
                                  e->page, e->dirty};
        }
    }
}

/* The frames' mappers, by frame (a counting sort of the entries found). */
static void sort_mappers(play_snapshot *self) {
    gather(self, false);
    snap_frame *frames = self->frames;
    for (size_t i = 0; i < self->found.count; i++) {
        snap_found *f = AT(self->found, snap_found, i);
        if (f->key < self->num_frames) {
            frames[f->key].num_mappers++;
            frames[f->key].dirty |= f->dirty;
        }
    }
    size_t first = 0;
    for (size_t n = 0; n < self->num_frames; n++) {
        frames[n].mappers_first = first;
        first += frames[n].num_mappers;
        frames[n].num_mappers = 0;
    }
    self->frame_mappers.count = 0;
    while (self->frame_mappers.count < first)
        if (!push(self, &self->frame_mappers))
            return;
    for (size_t i = 0; i < self->found.count; i++) {
        snap_found *f = AT(self->found, snap_found, i);
        if (f->key >= self->num_frames)
            continue;
        snap_frame *frame = &frames[f->key];
        *AT(self->frame_mappers, snap_mapper,
            frame->mappers_first + frame->num_mappers++) =
            (snap_mapper){f->pid, f->page};
    }
}

/* The owner of frame `n`, which no process holds as a table. */
static void classify(play_snapshot *self, const play_view *view, uint32_t n) {
    snap_frame *frame = &self->frames[n];
    addr32 address = (addr32)n << NUM_OFFSET_BITS;
    const cached_file *file;
    uint64_t page;
    bool dirty;
    if (page_cache_describe(address, &file, &page, &dirty)) {
        frame->owner = PLAY_FRAME_PAGE_CACHE;
        frame->file = file_index(view, file);
        frame->page = page;
        frame->dirty = dirty;
    } else if (anon_page_owns(address)) {
        frame->owner = view->copies && view->copies[n] ? PLAY_FRAME_COPY
                                                       : PLAY_FRAME_ANONYMOUS;
    } else if (frame->num_mappers) {
        frame->owner = PLAY_FRAME_OTHER;
    }
}

static void take_frames(play_snapshot *self, const play_view *view) {
    size_t count = view->frames + 1;
    if (count > self->num_frames) {
        snap_frame *grown = realloc(self->frames, count * sizeof *grown);
        if (!grown) {
            self->failed = true;
            return;
        }
        self->frames = grown;
    }
    self->num_frames = count;
    memset(self->frames, 0, count * sizeof *self->frames);
    for (size_t i = 0; i < count; i++)
        self->frames[i].file = -1;
    sort_mappers(self);
    for (size_t i = 0; i < self->processes.count; i++) {
        const snap_process *p = AT(self->processes, snap_process, i);
        if (p->directory < count)
            self->frames[p->directory].owner = PLAY_FRAME_DIRECTORY;
        for (size_t t = 0; t < p->num_tables; t++) {
            uint32_t n = AT(self->tables, snap_table, p->tables_first + t)->frame;
            if (n < count)
                self->frames[n].owner = PLAY_FRAME_TABLE;
        }
    }
    for (uint32_t n = 1; n < count; n++)
        if (self->frames[n].owner == PLAY_FRAME_FREE)
            classify(self, view, n);
}

static int compare_cached(const void *a, const void *b) {
    const snap_cached *x = a, *y = b;
    if (x->file != y->file)
        return x->file < y->file ? -1 : 1;
    return x->page < y->page ? -1 : x->page > y->page;
}

static void take_page_cache(play_snapshot *self) {
    self->cached.count = 0;
    for (uint32_t n = 1; n < self->num_frames; n++) {
        const snap_frame *f = &self->frames[n];
        snap_cached *c = f->owner == PLAY_FRAME_PAGE_CACHE
                             ? push(self, &self->cached) : NULL;
        if (c)
            *c = (snap_cached){f->file, n, f->page, f->dirty, 0};
    }
    if (self->cached.count > 1)
        qsort(self->cached.items, self->cached.count, sizeof(snap_cached),
              compare_cached);
}

static int compare_found(const void *a, const void *b) {
    const snap_found *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    if (x->pid != y->pid)
        return x->pid < y->pid ? -1 : 1;
    return x->page < y->page ? -1 : x->page > y->page;
}

/* The slots that entries name, and the swap cache's frames. */
static void take_swap(play_snapshot *self) {
    gather(self, true);
    if (self->found.count > 1)
        qsort(self->found.items, self->found.count, sizeof(snap_found),
              compare_found);
    self->slots.count = self->slot_mappers.count = 0;
    snap_slot *slot = NULL;
    for (size_t i = 0; i < self->found.count; i++) {
        snap_found f = *AT(self->found, snap_found, i);
        if (!slot || slot->slot != f.key) {
            if (!(slot = push(self, &self->slots)))
                return;
            slot->slot = f.key;
            slot->refs = swap_slot_references(f.key);
            slot->mappers_first = self->slot_mappers.count;
            addr32 cached = anon_swap_cache_find(f.key);
            uint32_t n = cached >> NUM_OFFSET_BITS;
            if (cached && n < self->num_frames &&
                self->frames[n].owner == PLAY_FRAME_FREE)
                self->frames[n].owner = PLAY_FRAME_ANONYMOUS;
        }
        snap_mapper *m = push(self, &self->slot_mappers);
        if (!m)
            return;
        *m = (snap_mapper){f.pid, f.page};
        slot->num_mappers++;
    }
}

static void take_counters(play_snapshot *self, const play_view *view) {
    const mmu *m = view->machine;
    snap_counters *c = &self->counters;
    c->tlb_hits = view->counts->tlb_hits;
    c->tlb_misses = m->num_tlb_misses;
    c->page_faults = m->num_page_faults;
    c->major_faults = m->num_major_faults;
    c->minor_faults = m->num_minor_faults;
    c->cow_faults = m->num_cow_faults;
    c->evictions = view->counts->evictions;
    c->write_backs = view->counts->write_backs;
    c->swap_outs = m->num_swap_outs;
    c->swap_ins = m->num_swap_ins;
    c->segmentation_faults = m->num_segmentation_faults;
    c->bus_errors = m->num_bus_errors;
}

int play_snapshot_take(play_snapshot *self, const play_view *view) {
    self->failed = false;
    self->processes.count = self->tables.count = 0;
    self->areas.count = self->entries.count = 0;
    for (size_t pid = 0; pid < MAX_PROCESS_ID; pid++)
        if (view->machine->page_directories[pid])
            take_process(self, view, pid);
    take_tlb(self, view->machine);
    take_frames(self, view);
    take_swap(self);
    take_page_cache(self);
    take_counters(self, view);
    if (self->failed) {
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

play_frame_owner play_snapshot_frame_owner(const play_snapshot *self,
                                           uint32_t frame) {
    return frame < self->num_frames ? (play_frame_owner)self->frames[frame].owner
                                    : PLAY_FRAME_FREE;
}

static const snap_process *process_of(const play_snapshot *self,
                                      uint32_t pid) {
    for (size_t i = 0; i < self->processes.count; i++)
        if (AT(self->processes, snap_process, i)->pid == pid)
            return AT(self->processes, snap_process, i);
    return NULL;
}

bool play_snapshot_has_process(const play_snapshot *self, uint32_t pid) {
    return process_of(self, pid) != NULL;
}

bool play_snapshot_entry_of(const play_snapshot *self, uint32_t pid,
                            uint32_t address, play_snapshot_entry *out) {
    const snap_process *p = process_of(self, pid);
    uint32_t page = address & ~(uint32_t)(PAGE_SIZE - 1);
    for (size_t i = 0; p && i < p->num_entries; i++) {
        const snap_entry *e = AT(self->entries, snap_entry,
                                 p->entries_first + i);
        if (e->page != page || (!e->present && !e->swapped))
            continue;
        *out = (play_snapshot_entry){e->present, e->writable, e->swapped,
                                     e->dirty, e->cow, e->frame, e->slot};
        return true;
    }
    return false;
}

bool play_snapshot_area_of(const play_snapshot *self, uint32_t pid,
                           uint32_t address, play_snapshot_area *out) {
    static const char *const kinds[] = {"shared file", "private file",
                                        "shared anonymous",
                                        "private anonymous"};
    const snap_process *p = process_of(self, pid);
    for (size_t i = 0; p && i < p->num_areas; i++) {
        const snap_area *a = AT(self->areas, snap_area, p->areas_first + i);
        if (a->kind < KIND_SEGMENT && a->start <= address && address < a->end) {
            *out = (play_snapshot_area){a->start, a->end, kinds[a->kind]};
            return true;
        }
    }
    return false;
}

play_snapshot_counters play_snapshot_counts(const play_snapshot *self) {
    return self->counters;
}

const char *play_snapshot_owner_name(play_frame_owner owner) {
    static const char *const names[] = {
        [PLAY_FRAME_FREE] = "free",
        [PLAY_FRAME_PAGE_CACHE] = "page cache",
        [PLAY_FRAME_ANONYMOUS] = "anonymous",
        [PLAY_FRAME_COPY] = "copy",
        [PLAY_FRAME_TABLE] = "page table",
        [PLAY_FRAME_DIRECTORY] = "page directory",
        [PLAY_FRAME_OTHER] = "other",
    };
    return names[owner];
}

/* ---- The delta, as JSON and as words ---- */

/* One JSON object being written: a comma before every key but the first. */
typedef struct {
    play_text *text;
    bool any;
} object;

static void key(object *o, const char *name) {
    play_text_puts(o->text, o->any ? ",\"" : "\"");
    play_text_puts(o->text, name);
    play_text_puts(o->text, "\":");
    o->any = true;
}

static void key_number(object *o, uint64_t number, const char *format) {
    char name[32];
    snprintf(name, sizeof name, format, (unsigned long long)number);
    key(o, name);
}

static const char *bool_text(uint32_t value) {
    return value ? "true" : "false";
}

static const char *file_name(const play_view *view, int32_t file) {
    return file >= 0 && (size_t)file < view->num_files ? view->files[file].name
                                                       : "?";
}

/* A process's name for words: its name, or its pid. */
static const char *process_name(const snap_process *p, char buffer[16]) {
    if (p->name[0])
        return p->name;
    snprintf(buffer, 16, "%u", (unsigned)p->pid);
    return buffer;
}

static void entry_json(play_text *t, const snap_entry *e) {
    play_text_printf(t, "{\"frame\":");
    if (e->present || e->cached)
        play_text_printf(t, "%u", (unsigned)e->frame);
    else
        play_text_puts(t, "null");
    play_text_printf(t, ",\"present\":%s,\"writable\":%s,\"dirty\":%s,"
                     "\"accessed\":%s,\"cow\":%s,\"swapped\":%s,\"slot\":",
                     bool_text(e->present), bool_text(e->writable),
                     bool_text(e->dirty), bool_text(e->accessed),
                     bool_text(e->cow), bool_text(e->swapped));
    if (e->swapped)
        play_text_printf(t, "%u", (unsigned)e->slot);
    else
        play_text_puts(t, "null");
    play_text_printf(t, ",\"cached\":%s}", bool_text(e->cached));
}

static void entry_words(play_text *w, const char *who, const snap_entry *e) {
    play_text_printf(w, "%s 0x%08x: ", who, (unsigned)e->page);
    if (e->swapped)
        play_text_printf(w, "in swap slot %u\n", (unsigned)e->slot);
    else
        play_text_printf(w, "frame %u%s%s%s%s%s\n", (unsigned)e->frame,
                         e->present ? "" : " (read ahead, not mapped)",
                         e->writable ? " writable" : " read-only",
                         e->cow ? " copy-on-write" : "",
                         e->dirty ? " dirty" : "",
                         e->accessed ? " accessed" : "");
}

static void prot_text(uint32_t prot, char out[4]) {
    out[0] = prot & 0x1 ? 'r' : '-';
    out[1] = prot & 0x2 ? 'w' : '-';
    out[2] = prot & 0x4 ? 'x' : '-';
    out[3] = '\0';
}

static void area_kind(const snap_area *a, char out[32]) {
    static const char *const kinds[] = {"shared file", "private file",
                                        "shared anonymous",
                                        "private anonymous"};
    if (a->kind >= KIND_SEGMENT)
        snprintf(out, 32, "segment %s",
                 segment_name((enum segments)(a->kind - KIND_SEGMENT)));
    else
        snprintf(out, 32, "%s", kinds[a->kind]);
}

static void areas_json(play_text *t, const snap_area *areas, size_t count,
                       const play_view *view) {
    play_text_puts(t, "[");
    for (size_t i = 0; i < count; i++) {
        char prot[4], kind[32];
        prot_text(areas[i].prot, prot);
        area_kind(&areas[i], kind);
        play_text_printf(t, "%s{\"start\":\"0x%08x\",\"end\":\"0x%08x\","
                         "\"prot\":\"%s\",\"kind\":\"%s\",\"file\":",
                         i ? "," : "", (unsigned)areas[i].start,
                         (unsigned)areas[i].end, prot, kind);
        if (areas[i].file >= 0)
            play_text_json(t, file_name(view, areas[i].file),
                           strlen(file_name(view, areas[i].file)));
        else
            play_text_puts(t, "null");
        play_text_puts(t, "}");
    }
    play_text_puts(t, "]");
}

static void areas_words(play_text *w, const char *who, const snap_area *areas,
                        size_t count, const play_view *view) {
    play_text_printf(w, "%s's areas:", who);
    for (size_t i = 0; i < count; i++) {
        char prot[4], kind[32];
        prot_text(areas[i].prot, prot);
        area_kind(&areas[i], kind);
        play_text_printf(w, "%s 0x%08x-0x%08x %s %s%s%s", i ? ";" : "",
                         (unsigned)areas[i].start, (unsigned)areas[i].end,
                         prot, kind, areas[i].file >= 0 ? " " : "",
                         areas[i].file >= 0 ? file_name(view, areas[i].file)
                                            : "");
    }
    play_text_puts(w, count ? "\n" : " none\n");
}

static void tables_json(play_text *t, const snap_table *tables, size_t count) {
    object o = {t, false};
    play_text_puts(t, "{");
    for (size_t i = 0; i < count; i++) {
        key_number(&o, tables[i].index, "%llu");
        play_text_printf(t, "%u", (unsigned)tables[i].frame);
    }
    play_text_puts(t, "}");
}

/* Whether ranges of two snapshots' arrays hold the same records. */
static bool same(const vec *a, size_t a_first, size_t a_count, const vec *b,
                 size_t b_first, size_t b_count) {
    return a_count == b_count &&
           (a_count == 0 ||
            memcmp((char *)a->items + a_first * a->size,
                   (char *)b->items + b_first * b->size, a_count * a->size) == 0);
}

/* The entries of two versions of a process that differ, merged by page. */
static void entries_delta(const play_snapshot *b, const snap_process *pb,
                          const play_snapshot *a, const snap_process *pa,
                          const char *who, play_text *t, play_text *w) {
    object o = {t, false};
    size_t i = 0, j = 0, nb = pb ? pb->num_entries : 0, na = pa->num_entries;
    play_text_puts(t, "{");
    while (i < nb || j < na) {
        const snap_entry *x = i < nb ? AT(b->entries, snap_entry,
                                          pb->entries_first + i) : NULL;
        const snap_entry *y = j < na ? AT(a->entries, snap_entry,
                                          pa->entries_first + j) : NULL;
        if (y && (!x || y->page < x->page)) {
            key_number(&o, y->page, "0x%08llx");
            entry_json(t, y);
            if (w)
                entry_words(w, who, y);
            j++;
        } else if (x && (!y || x->page < y->page)) {
            key_number(&o, x->page, "0x%08llx");
            play_text_puts(t, "null");
            if (w)
                play_text_printf(w, "%s 0x%08x: entry cleared\n", who,
                                 (unsigned)x->page);
            i++;
        } else {
            if (memcmp(x, y, sizeof *x) != 0) {
                key_number(&o, y->page, "0x%08llx");
                entry_json(t, y);
                if (w)
                    entry_words(w, who, y);
            }
            i++, j++;
        }
    }
    play_text_puts(t, "}");
}

/* What of a process changed: its name, directory, tables, areas, entries. */
typedef struct {
    bool name, directory, tables, areas, entries;
} process_changes;

static process_changes changes_of(const play_snapshot *b,
                                  const snap_process *pb,
                                  const play_snapshot *a,
                                  const snap_process *pa) {
    if (!pb)
        return (process_changes){true, true, true, true, true};
    return (process_changes){
        strcmp(pb->name, pa->name) != 0, pb->directory != pa->directory,
        !same(&b->tables, pb->tables_first, pb->num_tables, &a->tables,
              pa->tables_first, pa->num_tables),
        !same(&b->areas, pb->areas_first, pb->num_areas, &a->areas,
              pa->areas_first, pa->num_areas),
        !same(&b->entries, pb->entries_first, pb->num_entries, &a->entries,
              pa->entries_first, pa->num_entries)};
}

static void tables_words(play_text *w, const char *who,
                         const snap_table *list, size_t count) {
    play_text_printf(w, "%s's page tables:", who);
    for (size_t i = 0; i < count; i++)
        play_text_printf(w, " 0x%08x.. in frame %u",
                         (unsigned)list[i].index << 22,
                         (unsigned)list[i].frame);
    play_text_puts(w, count ? "\n" : " none\n");
}

/* Process `pa` (now) against `pb` (before, or NULL), as the delta's value. */
static void process_delta(const play_snapshot *b, const snap_process *pb,
                          const play_snapshot *a, const snap_process *pa,
                          const play_view *view, object *parent,
                          play_text *w) {
    process_changes c = changes_of(b, pb, a, pa);
    if (!c.name && !c.directory && !c.tables && !c.areas && !c.entries)
        return;
    char buffer[16];
    const char *who = process_name(pa, buffer);
    play_text *t = parent->text;
    key_number(parent, pa->pid, "%llu");
    object o = {t, false};
    play_text_puts(t, "{");
    if (c.name) {
        key(&o, "name");
        play_text_json(t, who, strlen(who));
    }
    if (c.directory) {
        key(&o, "directory");
        play_text_printf(t, "%u", (unsigned)pa->directory);
        if (w)
            play_text_printf(w, "%s: page directory in frame %u\n", who,
                             (unsigned)pa->directory);
    }
    if (c.tables) {
        const snap_table *list = AT(a->tables, snap_table, pa->tables_first);
        key(&o, "tables");
        tables_json(t, list, pa->num_tables);
        if (w)
            tables_words(w, who, list, pa->num_tables);
    }
    if (c.areas) {
        const snap_area *list = AT(a->areas, snap_area, pa->areas_first);
        key(&o, "areas");
        areas_json(t, list, pa->num_areas, view);
        if (w)
            areas_words(w, who, list, pa->num_areas, view);
    }
    if (c.entries) {
        key(&o, "entries");
        entries_delta(b, pb, a, pa, who, t, w);
    }
    play_text_puts(t, "}");
}

/* The processes section, if anything in it changed. */
static void processes_delta(const play_snapshot *b, const play_snapshot *a,
                            const play_view *view, object *top, play_text *w) {
    play_text section = {0};
    object o = {&section, false};
    size_t i = 0, j = 0, nb = b ? b->processes.count : 0;
    while (i < nb || j < a->processes.count) {
        const snap_process *x = i < nb ? AT(b->processes, snap_process, i)
                                       : NULL;
        const snap_process *y = j < a->processes.count
                                    ? AT(a->processes, snap_process, j) : NULL;
        if (x && (!y || x->pid < y->pid)) {
            char buffer[16];
            key_number(&o, x->pid, "%llu");
            play_text_puts(&section, "null");
            if (w)
                play_text_printf(w, "process %s is gone\n",
                                 process_name(x, buffer));
            i++;
            continue;
        }
        bool both = x && x->pid == y->pid;
        process_delta(b, both ? x : NULL, a, y, view, &o, w);
        i += both;
        j++;
    }
    if (o.any || !b) {
        key(top, "processes");
        play_text_puts(top->text, "{");
        play_text_add(top->text, section.text, section.length);
        play_text_puts(top->text, "}");
    }
    top->text->failed |= section.failed;
    play_text_free(&section);
}

/* The TLB, whole, when any of its entries changed. */
static void tlb_delta(const play_snapshot *b, const play_snapshot *a,
                      object *top, play_text *w) {
    if (b && b->num_tlb == a->num_tlb &&
        memcmp(b->tlb, a->tlb, a->num_tlb * sizeof a->tlb[0]) == 0)
        return;
    key(top, "tlb");
    play_text_puts(top->text, "[");
    if (w)
        play_text_puts(w, a->num_tlb ? "TLB:" : "TLB: empty");
    for (size_t i = 0; i < a->num_tlb; i++) {
        const snap_tlb *e = &a->tlb[i];
        play_text_printf(top->text, "%s{\"pid\":%u,\"page\":\"0x%08x\","
                         "\"frame\":%u,\"writable\":%s}", i ? "," : "",
                         (unsigned)e->pid, (unsigned)e->page,
                         (unsigned)e->frame, bool_text(e->writable));
        if (w)
            play_text_printf(w, " 0x%08x->%u%s", (unsigned)e->page,
                             (unsigned)e->frame, e->writable ? "w" : "r");
    }
    play_text_puts(top->text, "]");
    if (w)
        play_text_puts(w, "\n");
}

static const char *mapper_name(const play_view *view, uint32_t pid,
                               char buffer[16]) {
    const char *name = view->process_names && pid < MAX_PROCESS_ID
                           ? view->process_names[pid] : NULL;
    if (name)
        return name;
    snprintf(buffer, 16, "%u", (unsigned)pid);
    return buffer;
}

static void mappers_json(play_text *t, const snap_mapper *m, size_t count) {
    play_text_puts(t, "[");
    for (size_t i = 0; i < count; i++)
        play_text_printf(t, "%s{\"pid\":%u,\"page\":\"0x%08x\"}", i ? "," : "",
                         (unsigned)m[i].pid, (unsigned)m[i].page);
    play_text_puts(t, "]");
}

static void mappers_words(play_text *w, const play_view *view,
                          const snap_mapper *m, size_t count) {
    play_text_puts(w, count ? ", mapped by" : ", mapped by no entry");
    for (size_t i = 0; i < count; i++) {
        char buffer[16];
        play_text_printf(w, "%s %s 0x%08x", i ? "," : "",
                         mapper_name(view, m[i].pid, buffer),
                         (unsigned)m[i].page);
    }
    play_text_puts(w, "\n");
}

static void frame_json(play_text *t, const play_snapshot *s, uint32_t n,
                       const play_view *view) {
    const snap_frame *f = &s->frames[n];
    play_text_printf(t, "{\"owner\":\"%s\",\"file\":",
                     play_snapshot_owner_name((play_frame_owner)f->owner));
    if (f->owner == PLAY_FRAME_PAGE_CACHE) {
        const char *name = file_name(view, f->file);
        play_text_json(t, name, strlen(name));
        play_text_printf(t, ",\"page\":%llu", (unsigned long long)f->page);
    } else {
        play_text_puts(t, "null,\"page\":null");
    }
    play_text_printf(t, ",\"dirty\":%s,\"mappers\":", bool_text(f->dirty));
    mappers_json(t, AT(s->frame_mappers, snap_mapper, f->mappers_first),
                 f->num_mappers);
    play_text_puts(t, "}");
}

static void frame_words(play_text *w, const play_snapshot *s, uint32_t n,
                        const play_view *view) {
    const snap_frame *f = &s->frames[n];
    play_text_printf(w, "frame %u: %s", (unsigned)n,
                     play_snapshot_owner_name((play_frame_owner)f->owner));
    if (f->owner == PLAY_FRAME_PAGE_CACHE)
        play_text_printf(w, " (%s page %llu)", file_name(view, f->file),
                         (unsigned long long)f->page);
    if (f->dirty)
        play_text_puts(w, ", dirty");
    if (f->owner == PLAY_FRAME_TABLE || f->owner == PLAY_FRAME_DIRECTORY) {
        play_text_puts(w, "\n");
        return;
    }
    mappers_words(w, view, AT(s->frame_mappers, snap_mapper, f->mappers_first),
                  f->num_mappers);
}

/* Whether frame `n` reads the same in both snapshots. */
static bool same_frame(const play_snapshot *b, const play_snapshot *a,
                       uint32_t n) {
    const snap_frame *x = n < b->num_frames ? &b->frames[n] : NULL;
    const snap_frame *y = &a->frames[n];
    if (!x)
        return y->owner == PLAY_FRAME_FREE;
    return x->owner == y->owner && x->file == y->file && x->page == y->page &&
           x->dirty == y->dirty &&
           same(&b->frame_mappers, x->mappers_first, x->num_mappers,
                &a->frame_mappers, y->mappers_first, y->num_mappers);
}

static void frames_delta(const play_snapshot *b, const play_snapshot *a,
                         const play_view *view, object *top, play_text *w) {
    object o = {top->text, false};
    for (uint32_t n = 1; n < a->num_frames; n++) {
        if (b ? same_frame(b, a, n) : a->frames[n].owner == PLAY_FRAME_FREE)
            continue;
        if (!o.any) {
            key(top, "frames");
            play_text_puts(top->text, "{");
        }
        key_number(&o, n, "%llu");
        if (a->frames[n].owner == PLAY_FRAME_FREE) {
            play_text_puts(top->text, "null");
            if (w)
                play_text_printf(w, "frame %u: free\n", (unsigned)n);
            continue;
        }
        frame_json(top->text, a, n, view);
        if (w)
            frame_words(w, a, n, view);
    }
    if (!o.any && !b) {
        key(top, "frames");
        play_text_puts(top->text, "{");
    }
    if (o.any || !b)
        play_text_puts(top->text, "}");
}

static void cached_key(object *o, const snap_cached *c, const play_view *view) {
    char name[160];
    snprintf(name, sizeof name, "%s:%llu", file_name(view, c->file),
             (unsigned long long)c->page);
    play_text_puts(o->text, o->any ? "," : "");
    play_text_json(o->text, name, strlen(name));
    play_text_puts(o->text, ":");
    o->any = true;
}

/* One page of the cache, now (`c`) or gone (`gone`). */
static void cached_change(object *o, const snap_cached *c, bool gone,
                          const play_view *view, play_text *w) {
    cached_key(o, c, view);
    const char *name = file_name(view, c->file);
    if (gone) {
        play_text_puts(o->text, "null");
        if (w)
            play_text_printf(w, "page cache: %s page %llu left the cache\n",
                             name, (unsigned long long)c->page);
        return;
    }
    play_text_puts(o->text, "{\"file\":");
    play_text_json(o->text, name, strlen(name));
    play_text_printf(o->text, ",\"page\":%llu,\"frame\":%u,\"dirty\":%s}",
                     (unsigned long long)c->page, (unsigned)c->frame,
                     bool_text(c->dirty));
    if (w)
        play_text_printf(w, "page cache: %s page %llu in frame %u%s\n", name,
                         (unsigned long long)c->page, (unsigned)c->frame,
                         c->dirty ? ", dirty" : "");
}

static void page_cache_delta(const play_snapshot *b, const play_snapshot *a,
                             const play_view *view, object *top,
                             play_text *w) {
    play_text section = {0};
    object o = {&section, false};
    size_t i = 0, j = 0, nb = b ? b->cached.count : 0;
    while (i < nb || j < a->cached.count) {
        const snap_cached *x = i < nb ? AT(b->cached, snap_cached, i) : NULL;
        const snap_cached *y = j < a->cached.count
                                   ? AT(a->cached, snap_cached, j) : NULL;
        int order = !x ? 1 : !y ? -1 : compare_cached(x, y);
        if (order < 0)
            cached_change(&o, x, true, view, w), i++;
        else if (order > 0)
            cached_change(&o, y, false, view, w), j++;
        else {
            if (memcmp(x, y, sizeof *x) != 0)
                cached_change(&o, y, false, view, w);
            i++, j++;
        }
    }
    if (o.any || !b) {
        key(top, "page_cache");
        play_text_puts(top->text, "{");
        play_text_add(top->text, section.text, section.length);
        play_text_puts(top->text, "}");
    }
    top->text->failed |= section.failed;
    play_text_free(&section);
}

/* One slot, now (in `s`) or gone. */
static void slot_change(object *o, const play_snapshot *s, const snap_slot *x,
                        bool gone, const play_view *view, play_text *w) {
    key_number(o, x->slot, "%llu");
    if (gone) {
        play_text_puts(o->text, "null");
        if (w)
            play_text_printf(w, "swap slot %u: free\n", (unsigned)x->slot);
        return;
    }
    const snap_mapper *m = AT(s->slot_mappers, snap_mapper, x->mappers_first);
    play_text_printf(o->text, "{\"refs\":%zu,\"mappers\":", x->refs);
    mappers_json(o->text, m, x->num_mappers);
    play_text_puts(o->text, "}");
    if (w) {
        play_text_printf(w, "swap slot %u: %zu reference%s", (unsigned)x->slot,
                         x->refs, x->refs == 1 ? "" : "s");
        mappers_words(w, view, m, x->num_mappers);
    }
}

static bool same_slot(const play_snapshot *b, const snap_slot *x,
                      const play_snapshot *a, const snap_slot *y) {
    return x->refs == y->refs &&
           same(&b->slot_mappers, x->mappers_first, x->num_mappers,
                &a->slot_mappers, y->mappers_first, y->num_mappers);
}

static void swap_delta(const play_snapshot *b, const play_snapshot *a,
                       const play_view *view, object *top, play_text *w) {
    play_text section = {0};
    object o = {&section, false};
    size_t i = 0, j = 0, nb = b ? b->slots.count : 0;
    while (i < nb || j < a->slots.count) {
        const snap_slot *x = i < nb ? AT(b->slots, snap_slot, i) : NULL;
        const snap_slot *y = j < a->slots.count ? AT(a->slots, snap_slot, j)
                                                : NULL;
        if (x && (!y || x->slot < y->slot))
            slot_change(&o, b, x, true, view, w), i++;
        else if (y && (!x || y->slot < x->slot))
            slot_change(&o, a, y, false, view, w), j++;
        else {
            if (!same_slot(b, x, a, y))
                slot_change(&o, a, y, false, view, w);
            i++, j++;
        }
    }
    if (o.any || !b) {
        key(top, "swap");
        play_text_puts(top->text, "{");
        play_text_add(top->text, section.text, section.length);
        play_text_puts(top->text, "}");
    }
    top->text->failed |= section.failed;
    play_text_free(&section);
}

static void counters_delta(const play_snapshot *b, const play_snapshot *a,
                           object *top, play_text *w) {
    static const char *const names[] = {
        "tlb_hits", "tlb_misses", "page_faults", "major_faults",
        "minor_faults", "cow_faults", "evictions", "write_backs",
        "swap_outs", "swap_ins", "segmentation_faults", "bus_errors"};
    const size_t *now = &a->counters.tlb_hits;
    const size_t *then = b ? &b->counters.tlb_hits : NULL;
    if (then && memcmp(then, now, sizeof a->counters) == 0)
        return;
    key(top, "counters");
    object o = {top->text, false};
    play_text_puts(top->text, "{");
    bool any_word = false;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        key(&o, names[i]);
        play_text_printf(top->text, "%zu", now[i]);
        if (w && then && now[i] != then[i]) {
            play_text_printf(w, "%s %s %zu (+%zu)", any_word ? "," : "counters:",
                             names[i], now[i], now[i] - then[i]);
            any_word = true;
        }
    }
    play_text_puts(top->text, "}");
    if (any_word)
        play_text_puts(w, "\n");
}

void play_snapshot_diff(const play_snapshot *before, const play_snapshot *after,
                        const play_view *view, play_text *json,
                        play_text *words) {
    object top = {json, false};
    play_text_puts(json, "{");
    processes_delta(before, after, view, &top, words);
    tlb_delta(before, after, &top, words);
    frames_delta(before, after, view, &top, words);
    page_cache_delta(before, after, view, &top, words);
    swap_delta(before, after, view, &top, words);
    counters_delta(before, after, &top, words);
    play_text_puts(json, "}");
}
