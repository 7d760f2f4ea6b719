/*
 * play_event.c: trace records told as sentences, each with its rule
 * (play_event.h). One function per kind of record; the rules are written
 * once, as constants, so that the terminal and the web page say the same.
 * Left out: the pager's segments' names (a pager read is told by page).
 */
#include "play_event.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmu.h"

const char play_event_rule_tlb_flush[] =
    "the TLB holds the translations of one process: a switch to another "
    "process, or a change to many entries at once (fork marking pages "
    "read-only, a process's end), empties it";
const char play_event_rule_frame_freed[] =
    "a frame that no entry, cache or table needs any more goes back to the "
    "pool's free frames";

static const char rule_tlb_hit[] =
    "the TLB caches recent translations: a hit needs no page walk";
static const char rule_tlb_miss[] =
    "a translation not in the TLB is looked up by walking the page table, "
    "then cached in the TLB (the least recently used entry makes room)";
static const char rule_walk[] =
    "the MMU reads the page directory, then the page table: a present entry "
    "gives the frame; one not present, or without the right, is a page fault";
static const char rule_major[] =
    "a page touched for the first time is read from its file: a major fault";
static const char rule_minor[] =
    "a page already in memory (in the page cache, read ahead, or in the swap "
    "cache) is only mapped: a minor fault, no I/O";
static const char rule_zero[] =
    "anonymous memory is demand-zero: its first touch gets a frame of zeros "
    "and reads nothing";
static const char rule_copy[] =
    "a write to a private page shared until written (copy-on-write: a "
    "private file mapping, or a page shared since fork) gets a copy of its "
    "own; the others keep the original";
static const char rule_swap[] =
    "an anonymous page in swap is read back from its slot: a major fault";
static const char rule_given_page[] =
    "a fault takes a frame from the pool for the page it brings in";
static const char rule_given_table[] =
    "a page table is made at the first touch of the 4 MiB it maps, in a "
    "frame of its own, pinned while it maps anything";
static const char rule_given_directory[] =
    "every process has a page directory, in a pinned frame of its own";
/* Why the pool chose its victim: each policy's rule (policy.h). */
static const struct {
    const char *policy, *rule;
} choice_rules[] = {
    {"clock", "clock (second chance): the hand passes over frames referenced "
              "since it last came by, clearing their mark, and takes the "
              "first that was not; pinned frames (tables, directories) are "
              "never taken"},
    {"fifo", "FIFO: the frame loaded longest ago goes, however recently it "
             "was used; pinned frames are never taken"},
    {"lru", "LRU: the frame whose last access is oldest goes (the MMU stamps "
            "every access); pinned frames are never taken"},
    {"random", "random: a frame drawn from a seeded generator goes "
               "(MMAP_POLICY_SEED), the next that can go if it cannot; "
               "pinned frames are never taken"},
    {"nru", "NRU (the enhanced clock): the hand looks for a frame neither "
            "referenced nor dirty, else the lowest class it met (referenced "
            "counts more than dirty); pinned frames are never taken"},
};

static const char *choice_rule(const char *policy) {
    for (size_t i = 0; i < sizeof choice_rules / sizeof choice_rules[0]; i++)
        if (strcmp(choice_rules[i].policy, policy) == 0)
            return choice_rules[i].rule;
    return choice_rules[0].rule;
}

static const char rule_eviction[] =
    "when no frame is free the pool takes one back: a dirty file page is "
    "written to its file first, an anonymous page goes to swap, and every "
    "entry that maps it is cleared (found through the reverse map)";
static const char rule_write_back[] =
    "a dirty page of a shared file mapping goes back to its file at msync, "
    "at munmap, at eviction and at the process's end";
static const char rule_segfault[] =
    "an address outside every area and segment, or an access without the "
    "right (PROT_*), is a segmentation fault (SIGSEGV)";
static const char rule_bus_error[] =
    "a page of a file mapping wholly past the file's end has no bytes to "
    "show: touching it is a bus error (SIGBUS)";
static const char rule_pager[] =
    "a segment with a store moves its pages through its pager, neighbours "
    "together in one I/O";
static const char rule_swap_out[] =
    "an anonymous page has no file to go back to: when its frame is taken "
    "it is written to a swap slot, and its entries name the slot";
static const char rule_swap_in[] =
    "a fault on an entry naming a swap slot reads the page back; the slot "
    "is freed when no entry names it any more";
static const char rule_in_place[] =
    "the last process mapping a page shared since fork writes it in place: "
    "nothing to copy, the entry only becomes writable";

/* An event with no fields set, its rule given; text made by vsnprintf. */
static int make(play_event *out, const char *kind, const char *rule,
                const char *format, va_list args) {
    *out = (play_event){kind, PLAY_EVENT_NONE, PLAY_EVENT_NONE,
                        PLAY_EVENT_NONE, PLAY_EVENT_NONE, NULL, NULL, rule};
    char text[400];
    int n = vsnprintf(text, sizeof text, format, args);
    if (n < 0)
        n = 0;
    out->text = malloc((size_t)n + 1);
    if (!out->text) {
        errno = ENOMEM;
        return -1;
    }
    snprintf(out->text, (size_t)n + 1, "%s", text);
    return 0;
}

int play_event_make(play_event *out, const char *kind, const char *rule,
                    const char *format, ...) {
    va_list args;
    va_start(args, format);
    int result = make(out, kind, rule, format, args);
    va_end(args);
    return result;
}

/* A process's name: its own, or its pid. */
static const char *who(const play_event_context *c, size_t pid,
                       char buffer[24]) {
    const char *name = c->process_names && pid < MAX_PROCESS_ID
                           ? c->process_names[pid] : NULL;
    if (name)
        return name;
    snprintf(buffer, 24, "process %zu", pid);
    return buffer;
}

static long frame_of(addr32 physical) {
    return physical ? (long)(physical >> NUM_OFFSET_BITS) : PLAY_EVENT_NONE;
}

static size_t tlb_event(const trace_record *r, const play_event_context *c,
                        play_event *out) {
    char b[24];
    bool hit = r->event == TRACE_TLB_HIT;
    if (play_event_make(out, hit ? "tlb_hit" : "tlb_miss",
                        hit ? rule_tlb_hit : rule_tlb_miss,
                        "%s's %s of 0x%08x %s the TLB", who(c, r->pid, b),
                        c->access, (unsigned)r->virtual_address,
                        hit ? "hit" : "missed") < 0)
        return 0;
    return 1;
}

static size_t walk_event(const trace_record *r, const play_event_context *c,
                         play_event *out) {
    char b[24];
    int made = r->physical_address
                   ? play_event_make(out, "page_walk", rule_walk,
                                     "the walk of %s's table finds 0x%08x in "
                                     "frame %u", who(c, r->pid, b),
                                     (unsigned)r->virtual_address,
                                     (unsigned)(r->physical_address >>
                                                NUM_OFFSET_BITS))
                   : play_event_make(out, "page_walk", rule_walk,
                                     "the walk of %s's table finds 0x%08x not "
                                     "present", who(c, r->pid, b),
                                     (unsigned)r->virtual_address);
    if (made < 0)
        return 0;
    out->frame = frame_of(r->physical_address);
    return 1;
}

static size_t fault_event(const trace_record *r, const play_event_context *c,
                          play_event *out) {
    static const struct {
        const char *name, *rule, *how;
    } kinds[] = {
        [TRACE_FAULT_MAJOR] = {"major", rule_major, "read from its file"},
        [TRACE_FAULT_MINOR] = {"minor", rule_minor, "already in memory: only "
                                                    "mapped"},
        [TRACE_FAULT_ZERO] = {"zero", rule_zero, "a frame of zeros"},
        [TRACE_FAULT_COPY] = {"copy", rule_copy, "a private copy"},
        [TRACE_FAULT_SWAP] = {"swap", rule_swap, "read back from swap"},
    };
    char b[24];
    if (play_event_make(out, "fault", kinds[r->fault].rule,
                        "%s's %s of 0x%08x faults (%s): %s", who(c, r->pid, b),
                        c->access, (unsigned)r->virtual_address,
                        kinds[r->fault].name, kinds[r->fault].how) < 0)
        return 0;
    out->fault = kinds[r->fault].name;
    return 1;
}

static size_t given_event(const trace_record *r, const play_event_context *c,
                          play_event *out) {
    char b[24];
    unsigned frame = (unsigned)(r->physical_address >> NUM_OFFSET_BITS);
    const char *name = who(c, r->pid, b);
    unsigned address = (unsigned)r->virtual_address;
    int made;
    if (r->use == TRACE_FRAME_COPY)
        made = play_event_make(out, "cow_copy", rule_copy, "frame %u gets a "
                               "copy of the page at 0x%08x, %s's own", frame,
                               address, name);
    else if (r->use == TRACE_FRAME_TABLE)
        made = play_event_make(out, "frame_given", rule_given_table, "frame %u "
                               "becomes a page table, for 0x%08x..", frame,
                               address);
    else if (r->use == TRACE_FRAME_DIRECTORY)
        made = play_event_make(out, "frame_given", rule_given_directory,
                               "frame %u becomes a page directory", frame);
    else if (r->use == TRACE_FRAME_ZERO_PAGE)
        made = play_event_make(out, "frame_given", rule_given_page, "frame %u, "
                               "zeroed, is given to %s's page 0x%08x", frame,
                               name, address);
    else
        made = play_event_make(out, "frame_given", rule_given_page, "frame %u "
                               "is given to a page read from its store",
                               frame);
    if (made < 0)
        return 0;
    out->frame = frame;
    return 1;
}

/* The page an eviction took out, in words. */
static void victim(const trace_record *r, const play_event_context *c,
                   char out[80]) {
    char b[24];
    if (r->virtual_address)
        snprintf(out, 80, "%s's page 0x%08x", who(c, r->pid, b),
                 (unsigned)r->virtual_address);
    else
        snprintf(out, 80, "page %zu of its file, mapped by no one", r->page);
}

static size_t eviction_events(const trace_record *r,
                              const play_event_context *c, play_event out[2]) {
    char page[80], b[24];
    unsigned frame = (unsigned)(r->physical_address >> NUM_OFFSET_BITS);
    victim(r, c, page);
    if (play_event_make(&out[0], "policy_choice", choice_rule(c->policy),
                        "%s chooses frame %u (%s) to make room for %s's "
                        "%s 0x%08x", c->policy, frame, page,
                        who(c, r->room_for.pid, b),
                        r->room_for.use == TRACE_FRAME_TABLE ? "page table at"
                                                             : "page",
                        (unsigned)r->room_for.virtual_address) < 0)
        return 0;
    out[0].frame = frame;
    if (play_event_make(&out[1], "eviction", rule_eviction,
                        "frame %u is taken from %s%s", frame, page,
                        r->dirty ? " (dirty: saved first)" : "") < 0) {
        free(out[0].text);
        return 0;
    }
    out[1].frame = frame;
    if (r->virtual_address) {
        out[1].pid = (long)r->pid;
        out[1].address = (long)r->virtual_address;
    }
    return 2;
}

/* The events that name a page: write-back, segfault, bus error, in place. */
static size_t page_event(const trace_record *r, const play_event_context *c,
                         play_event *out) {
    char b[24], page[80];
    const char *name = who(c, r->pid, b);
    unsigned address = (unsigned)r->virtual_address;
    int made;
    if (r->event == TRACE_WRITE_BACK) {
        victim(r, c, page);
        made = play_event_make(out, "write_back", rule_write_back, "frame %u "
                               "(%s) is written back to its file",
                               (unsigned)(r->physical_address >>
                                          NUM_OFFSET_BITS), page);
    } else if (r->event == TRACE_SEGFAULT) {
        made = play_event_make(out, "segfault", rule_segfault, "%s's %s of "
                               "0x%08x is refused: segmentation fault", name,
                               c->access, address);
    } else if (r->event == TRACE_BUS_ERROR) {
        made = play_event_make(out, "bus_error", rule_bus_error, "%s's %s of "
                               "0x%08x is refused: bus error (past the "
                               "file's end)", name, c->access, address);
    } else {
        made = play_event_make(out, "write_in_place", rule_in_place, "%s "
                               "writes 0x%08x in place in frame %u: no one "
                               "else maps it", name, address,
                               (unsigned)(r->physical_address >>
                                          NUM_OFFSET_BITS));
    }
    if (made < 0)
        return 0;
    out->frame = frame_of(r->physical_address);
    return 1;
}

static size_t store_event(const trace_record *r, play_event *out) {
    int made;
    bool slot = r->event == TRACE_SWAP_OUT || r->event == TRACE_SWAP_IN;
    if (r->event == TRACE_SWAP_OUT)
        made = play_event_make(out, "swap_out", rule_swap_out, "a page is "
                               "written to swap slot %zu", r->page);
    else if (r->event == TRACE_SWAP_IN)
        made = play_event_make(out, "swap_in", rule_swap_in, "swap slot %zu "
                               "is read back", r->page);
    else
        made = play_event_make(out, r->event == TRACE_PAGER_READ
                                        ? "pager_read" : "pager_write",
                               rule_pager, "the pager %s %zu page%s from "
                               "page %zu (%zu bytes)",
                               r->event == TRACE_PAGER_READ ? "reads" : "writes",
                               r->pages, r->pages == 1 ? "" : "s", r->page,
                               r->bytes);
    if (made < 0)
        return 0;
    if (slot)
        out->slot = (long)r->page;
    return 1;
}

size_t play_event_describe(const trace_record *record,
                           const play_event_context *context,
                           play_event out[2]) {
    size_t made;
    switch (record->event) {
    case TRACE_TLB_HIT:
    case TRACE_TLB_MISS:
        made = tlb_event(record, context, out);
        break;
    case TRACE_PAGE_WALK:
        made = walk_event(record, context, out);
        break;
    case TRACE_PAGE_FAULT:
        made = fault_event(record, context, out);
        break;
    case TRACE_FRAME_GIVEN:
        made = given_event(record, context, out);
        break;
    case TRACE_EVICTION:
        return eviction_events(record, context, out);
    case TRACE_SWAP_OUT:
    case TRACE_SWAP_IN:
    case TRACE_PAGER_READ:
    case TRACE_PAGER_WRITE:
        return store_event(record, out);
    default:
        made = page_event(record, context, out);
        break;
    }
    if (made && record->event == TRACE_WRITE_BACK &&
        !record->virtual_address) {
        /* a page of the cache that no entry maps: no process to name */
    } else if (made && record->event != TRACE_FRAME_GIVEN) {
        out->pid = (long)record->pid;
        out->address = (long)record->virtual_address;
    } else if (made && (record->use == TRACE_FRAME_ZERO_PAGE ||
                        record->use == TRACE_FRAME_COPY)) {
        out->pid = (long)record->pid;
        out->address = (long)record->virtual_address;
    }
    return made;
}
