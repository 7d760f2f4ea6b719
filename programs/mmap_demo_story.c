/*
 * mmap_demo_story.c: mmap_demo --sharing and --fork, each a scenario of
 * scenarios/ (sharing.scn: A and B map a file shared, C private; and
 * fork_story.scn: copy-on-write after vm_fork, then swap) run by the
 * playground's engine (play.h), which keeps each step's snapshot. The
 * report is read from those snapshots, never from the machine: after each
 * statement, for each page of the story, every process's entry (rights,
 * frame or swap slot), whose frame it is and what the process last read
 * there; who shares which frame; a page that went to swap or came back, a
 * copy made by a write or a write made in place; and the counters. With
 * --trace, each step's events as the engine tells them (play_print.h, as
 * mmap_play prints them). --sharing points its scenario's file at FILE in
 * place (`file NAME at PATH`), so the demo can show the file on disk
 * before and after the run.
 * Left out: pages of the story past MAX_SHOWN_PAGES, processes past Z,
 * the file's contents between two steps (the engine keeps none).
 */
/* stat with 64-bit sizes. */
#define _POSIX_C_SOURCE 200809L
#define _FILE_OFFSET_BITS 64

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mmap_demo.h"
#include "play.h"
#include "play_print.h"
#include "play_snapshot.h"
#include "types.h"

#define SHARING_SCENARIO "scenarios/sharing.scn"
#define FORK_SCENARIO "scenarios/fork_story.scn"

/* Processes A to Z, pids 0 to 25, as a scenario names them. */
#define NUM_NAMES 26
/* Pages of the story's mapping a report shows, and how far it looks. */
#define MAX_SHOWN_PAGES 4
#define PAGES_LOOKED_AT 64
/* Bytes of a read shown in a table, and of the file on disk. */
#define SHOWN_BYTES 16

/*
 * The words sharing.scn writes: A's last, at offset 0, must reach the
 * file through msync; C's, at offset 9 of its private copy, never does.
 */
#define A_LAST_WORD "A2A2"
#define A_WORD_OFFSET 0
#define C_WORD "C1C1"
#define C_WORD_OFFSET 9
#define WORD_LENGTH 4

/* What the report reads from the run, step by step. */
typedef struct {
    const play_run *run;
    addr32 start[NUM_NAMES]; /* each process's first mapping; 0: none */
    addr32 first;            /* the scenario's first mapping */
    size_t story_pages;      /* its pages */
    size_t pages[MAX_SHOWN_PAGES], num_pages; /* of the story, shown */
    /* The step of each process's last read of each page shown. */
    const play_step *last_read[NUM_NAMES][MAX_SHOWN_PAGES];
    size_t file_reads, file_writes; /* the pager's calls so far */
    bool trace;
    bool failed; /* a statement was refused: the story went wrong */
} story;

/* The name of process `pid`, as the engine gives it by default. */
static char process_letter(size_t pid) {
    return (char)('A' + pid);
}

/* Where process `pid` has the story's mapping: a child has its parent's. */
static addr32 story_start(const story *s, size_t pid) {
    return s->start[pid] ? s->start[pid] : s->first;
}

/* Each process's first mapping: the value of its first vm_mmap. */
static void find_mappings(story *s) {
    for (size_t i = 0; i < play_run_steps(s->run); i++) {
        const play_step *step = play_run_step(s->run, i);
        if (!step->source || !strstr(step->source, "vm_mmap(") ||
            step->outcome != PLAY_OUTCOME_VALUE || step->pid < 0 ||
            step->pid >= NUM_NAMES)
            continue;
        if (!s->start[step->pid])
            s->start[step->pid] = (addr32)step->value;
        play_snapshot_area area;
        if (!s->first && play_snapshot_area_of(step->snapshot,
                                               (uint32_t)step->pid,
                                               (addr32)step->value, &area)) {
            s->first = (addr32)step->value;
            s->story_pages = (area.end - area.start) / PAGE_SIZE;
        }
    }
}

/* Whether any process holds page `page` of the story in any step. */
static bool page_ever_held(const story *s, size_t page) {
    play_snapshot_entry entry;
    for (size_t i = 0; i < play_run_steps(s->run); i++)
        for (size_t pid = 0; pid < NUM_NAMES; pid++)
            if (play_snapshot_entry_of(
                    play_run_step(s->run, i)->snapshot, (uint32_t)pid,
                    story_start(s, pid) + (addr32)(page * PAGE_SIZE), &entry))
                return true;
    return false;
}

/* The pages of the story shown: those some process ever held. */
static void find_pages(story *s) {
    for (size_t page = 0; page < s->story_pages && page < PAGES_LOOKED_AT &&
                          s->num_pages < MAX_SHOWN_PAGES; page++)
        if (page_ever_held(s, page))
            s->pages[s->num_pages++] = page;
}

/* The address of shown page `k` of the story in process `pid`. */
static addr32 page_address(const story *s, size_t pid, size_t k) {
    return story_start(s, pid) + (addr32)(s->pages[k] * PAGE_SIZE);
}

/* Notes a read's step under its process and page; counts pager calls. */
static void note_step(story *s, const play_step *step) {
    for (size_t e = 0; e < step->num_events; e++) {
        s->file_reads += strcmp(step->events[e].kind, "pager_read") == 0;
        s->file_writes += strcmp(step->events[e].kind, "pager_write") == 0;
    }
    if (step->outcome != PLAY_OUTCOME_READ || step->pid < 0 ||
        step->pid >= NUM_NAMES)
        return;
    for (size_t k = 0; k < s->num_pages; k++)
        if ((step->address & ~(unsigned long)(PAGE_SIZE - 1)) ==
            page_address(s, (size_t)step->pid, k))
            s->last_read[step->pid][k] = step;
}

/* "rw frame 5  page cache", "-- swap slot 3", "-- no frame yet". */
static void print_entry(const play_snapshot *snap, const play_snapshot_entry *e,
                        bool found) {
    char where[32] = "no frame";
    const char *owner = "";
    if (found && e->present) {
        snprintf(where, sizeof where, "frame %u", e->frame);
        owner = play_snapshot_owner_name(
            play_snapshot_frame_owner(snap, e->frame));
    } else if (found && e->swapped) {
        snprintf(where, sizeof where, "swap slot %u", e->slot);
    }
    printf("%s %-13s %-10s  ",
           found && e->present ? (e->writable ? "rw" : "r-") : "--", where,
           owner);
}

/*
 * One row: process `pid`'s area and entry for shown page `k`, and what it
 * last read there.
 */
static void print_row(const story *s, const play_snapshot *snap, size_t pid,
                      size_t k) {
    addr32 address = page_address(s, pid, k);
    play_snapshot_area area;
    play_snapshot_entry entry;
    bool found = play_snapshot_entry_of(snap, (uint32_t)pid, address, &entry);
    bool mapped = play_snapshot_area_of(snap, (uint32_t)pid, address, &area);
    printf("  %c (pid %zu)  page %zu  %-17s  ", process_letter(pid), pid,
           s->pages[k], mapped ? area.kind : "not mapped");
    print_entry(snap, &entry, found);
    const play_step *read = s->last_read[pid][k];
    if (read)
        demo_print_quoted(read->bytes, read->num_bytes < SHOWN_BYTES
                                           ? read->num_bytes : SHOWN_BYTES,
                          read->num_bytes);
    else
        printf("-");
    printf("\n");
}

/* The frame of shown page `k` in `pid`, or 0 when it holds none. */
static uint32_t frame_of(const story *s, const play_snapshot *snap,
                         size_t pid, size_t k) {
    play_snapshot_entry e;
    if (!play_snapshot_entry_of(snap, (uint32_t)pid, page_address(s, pid, k),
                                &e) ||
        !e.present)
        return 0;
    return e.frame;
}

/*
 * Who shares which frame of shown page `k`: "page 0: one frame for A, B
 * and C, another for D". A process without a frame is left out.
 */
static void print_frame_groups(const story *s, const play_snapshot *snap,
                               size_t k) {
    uint32_t frames[NUM_NAMES];
    for (size_t pid = 0; pid < NUM_NAMES; pid++)
        frames[pid] = frame_of(s, snap, pid, k);
    const char *lead = "one frame for ";
    printf("  page %zu: ", s->pages[k]);
    for (size_t pid = 0; pid < NUM_NAMES; pid++) {
        bool named = frames[pid] == 0;
        for (size_t j = 0; j < pid && !named; j++)
            named = frames[j] == frames[pid];
        if (named)
            continue;
        size_t count = 0, total = 0;
        for (size_t j = pid; j < NUM_NAMES; j++)
            total += frames[j] == frames[pid];
        printf("%s", lead);
        for (size_t j = pid; j < NUM_NAMES; j++)
            if (frames[j] == frames[pid])
                printf("%s%c", count++ == 0 ? "" : count == total ? " and " :
                       ", ", process_letter(j));
        lead = ", another for ";
    }
    printf("%s\n", lead[0] == 'o' ? "no frame" : "");
}

/*
 * What happened to process `pid`'s shown page `k` between `before` and
 * `after`, when it is one of the story's moments: a swap-out, a swap-in,
 * a write that copied the page or one made in place.
 */
static void print_change(const story *s, const play_snapshot *before,
                         const play_snapshot *after, size_t pid, size_t k) {
    addr32 address = page_address(s, pid, k);
    play_snapshot_entry b, a;
    if (!play_snapshot_entry_of(before, (uint32_t)pid, address, &b) ||
        !play_snapshot_entry_of(after, (uint32_t)pid, address, &a))
        return;
    char who = process_letter(pid);
    size_t page = s->pages[k];
    if (b.present && a.swapped)
        printf("  %c's page %zu (va 0x%08x) went to swap slot %u\n", who, page,
               address, a.slot);
    else if (b.swapped && a.present)
        printf("  %c's page %zu (va 0x%08x) came back from swap slot %u into "
               "frame %u\n", who, page, address, b.slot, a.frame);
    else if (b.present && a.present && !b.writable && a.writable &&
             a.frame == b.frame)
        printf("  in place: %c's page %zu stays in frame %u, now writable: "
               "no one else maps it, no copy made\n", who, page, a.frame);
    else if (b.present && a.present && !b.writable && a.writable)
        printf("  copy-on-write: %c's page %zu leaves frame %u for frame %u, "
               "a copy of its own\n", who, page, b.frame, a.frame);
}

/* The counters: the line CI looks for, then the faults' kinds and I/O. */
static void print_counters(const story *s, const play_snapshot *snap) {
    play_snapshot_counters c = play_snapshot_counts(snap);
    printf("  faults: %zu (copy-on-write %zu of them), swap-outs %zu, "
           "swap-ins %zu\n", c.page_faults, c.cow_faults, c.swap_outs,
           c.swap_ins);
    printf("  major %zu, minor %zu; file reads %zu, writes %zu\n",
           c.major_faults, c.minor_faults, s->file_reads, s->file_writes);
}

/* Whether `a` and `b` (either may be absent) differ. */
static bool entries_differ(bool has_a, const play_snapshot_entry *a,
                           bool has_b, const play_snapshot_entry *b) {
    if (has_a != has_b)
        return true;
    return has_a && (a->present != b->present || a->writable != b->writable ||
                     a->swapped != b->swapped || a->frame != b->frame ||
                     a->slot != b->slot);
}

/*
 * Whether `step` changed what the table shows: a process, an area or an
 * entry of a page shown, or what a process read there.
 */
static bool shown_changed(const story *s, const play_snapshot *before,
                          const play_step *step) {
    const play_snapshot *after = step->snapshot;
    if (step->outcome == PLAY_OUTCOME_READ)
        return true;
    for (size_t pid = 0; pid < NUM_NAMES; pid++) {
        uint32_t p = (uint32_t)pid;
        if (play_snapshot_has_process(before, p) !=
            play_snapshot_has_process(after, p))
            return true;
        for (size_t k = 0; k < s->num_pages; k++) {
            addr32 address = page_address(s, pid, k);
            play_snapshot_entry a, b;
            play_snapshot_area x;
            bool has_b = play_snapshot_entry_of(before, p, address, &b);
            bool has_a = play_snapshot_entry_of(after, p, address, &a);
            if (entries_differ(has_a, &a, has_b, &b) ||
                play_snapshot_area_of(before, p, address, &x) !=
                    play_snapshot_area_of(after, p, address, &x))
                return true;
        }
    }
    return false;
}

/* Step `i` of the run: its statement, outcome, events and table. */
static void print_step(story *s, size_t i) {
    const play_step *step = play_run_step(s->run, i);
    const play_snapshot *before = play_run_step(s->run, i - 1)->snapshot;
    note_step(s, step);
    printf("\n%zu. %s\n", i, step->source);
    printf("  => %s\n", step->outcome_text);
    if (s->trace)
        play_print_events(step, false, "  ");
    if (step->outcome == PLAY_OUTCOME_ERRNO ||
        step->outcome == PLAY_OUTCOME_SEGFAULT ||
        step->outcome == PLAY_OUTCOME_BUS_ERROR) {
        printf("  wrong: the story expects no refusal (line %zu)\n",
               step->line);
        s->failed = true;
    }
    for (size_t k = 0; k < s->num_pages; k++)
        for (size_t pid = 0; pid < NUM_NAMES; pid++)
            print_change(s, before, step->snapshot, pid, k);
    if (shown_changed(s, before, step)) {
        for (size_t k = 0; k < s->num_pages; k++)
            for (size_t pid = 0; pid < NUM_NAMES; pid++)
                if (play_snapshot_has_process(step->snapshot, (uint32_t)pid))
                    print_row(s, step->snapshot, pid, k);
        for (size_t k = 0; k < s->num_pages; k++)
            print_frame_groups(s, step->snapshot, k);
    }
    print_counters(s, step->snapshot);
}

/*
 * Runs `text` (read from `scenario`) with the engine, keeping its
 * snapshots; NULL, having said why, when it could not or the scenario has
 * an error.
 */
static play_run *run_story(const char *text, const char *scenario) {
    play_run *run = play_run_scenario_keeping(text, scenario, ".");
    if (!run) {
        fprintf(stderr, "mmap_demo: the engine could not run %s: %s\n",
                scenario, strerror(errno));
        return NULL;
    }
    if (!play_run_ok(run)) {
        const scenario_error *e = play_run_error(run);
        fprintf(stderr, "mmap_demo: %s:%zu:%zu: %s\n", scenario, e->line,
                e->column, e->message);
        play_run_delete(run);
        return NULL;
    }
    return run;
}

/* Prints every step of `run` after step 0; false if one went wrong. */
static bool tell_story(const play_run *run, const options *opts) {
    story s = {.run = run, .trace = opts->trace};
    find_mappings(&s);
    find_pages(&s);
    printf("  each row: a process, a page of its first mapping, the area, "
           "the entry's rights\n  (r- on a private page: a write copies "
           "it), its frame or swap slot, whose\n  frame it is, and what "
           "the process last read there\n");
    for (size_t i = 1; i < play_run_steps(run); i++)
        print_step(&s, i);
    return !s.failed;
}

/* The scenario's text, or NULL having said where it should be. */
static char *read_scenario(const char *scenario) {
    char *text = play_print_read_text(scenario);
    if (!text)
        fprintf(stderr, "mmap_demo: %s: %s (run mmap_demo from the "
                "repository root, where scenarios/ and test_files/ are)\n",
                scenario, strerror(errno));
    return text;
}

/* ---- --sharing ---- */

/*
 * `text` with its first `file NAME from PATH` line made `file NAME at
 * "path"`, so that the run maps the file at `path` in place; a string
 * the caller frees, or NULL with no such line (EINVAL) or ENOMEM.
 */
static char *point_file_at(const char *text, const char *path) {
    const char *line = text;
    while (line && strncmp(line, "file ", 5) != 0)
        line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL;
    const char *from = line ? strstr(line, " from ") : NULL;
    const char *end = line ? line + strcspn(line, "\n") : NULL;
    if (!from || from > end) {
        errno = EINVAL;
        return NULL;
    }
    size_t room = strlen(text) + 2 * strlen(path) + 16;
    char *out = malloc(room);
    if (!out) {
        errno = ENOMEM;
        return NULL;
    }
    size_t n = (size_t)(from - text);
    memcpy(out, text, n);
    n += (size_t)sprintf(out + n, " at \"");
    for (const char *c = path; *c; c++) {
        if (*c == '"' || *c == '\\')
            out[n++] = '\\';
        out[n++] = *c;
    }
    out[n++] = '"';
    strcpy(out + n, end);
    return out;
}

/*
 * Reads the file's first bytes into `bytes` (zeros past its end); false
 * with errno.
 */
static bool read_file_start(const char *path, size_t length, char *bytes) {
    memset(bytes, 0, SHOWN_BYTES);
    return demo_read_file_bytes(path, 0, bytes,
                                length < SHOWN_BYTES ? length : SHOWN_BYTES);
}

/* Shows what read_file_start read (`read`: whether it could) after `label`. */
static void print_file_start(const char *label, const char *bytes,
                             size_t length, bool read) {
    size_t shown = length < SHOWN_BYTES ? length : SHOWN_BYTES;
    printf("  %s the file on disk holds ", label);
    if (read)
        demo_print_quoted(bytes, shown, shown);
    else
        printf("(unreadable)");
    printf("\n");
}

/* How many of the WORD_LENGTH bytes at `offset` lie inside the file. */
static size_t word_bytes_in_file(size_t length, size_t offset) {
    if (offset >= length)
        return 0;
    return length - offset < WORD_LENGTH ? length - offset : WORD_LENGTH;
}

/*
 * Whether the file holds A's last word and not C's, as it must: msync
 * wrote the page cache's frame, which C stopped mapping when it copied.
 * Only the bytes of a word inside the file can be there: a mapping never
 * grows its file, so in a file of 2 bytes A's word is "A2".
 */
static bool judge_file(const char *bytes, size_t length) {
    size_t a_bytes = word_bytes_in_file(length, A_WORD_OFFSET);
    size_t c_bytes = word_bytes_in_file(length, C_WORD_OFFSET);
    bool has_a = memcmp(bytes + A_WORD_OFFSET, A_LAST_WORD, a_bytes) == 0;
    bool has_c =
        c_bytes > 0 && memcmp(bytes + C_WORD_OFFSET, C_WORD, c_bytes) == 0;
    if (!has_a || has_c) {
        printf("  wrong: the file should hold A's \"%.*s\" and not C's "
               "\"%s\"\n", (int)a_bytes, A_LAST_WORD, C_WORD);
        return false;
    }
    printf("  A's last write is in the file");
    if (a_bytes < WORD_LENGTH)
        printf(" (its first %zu byte%s: the file ends there)", a_bytes,
               demo_plural(a_bytes));
    printf("; C's \"%s\" is not: a private copy never is\n", C_WORD);
    return true;
}

/* The file's length; 0, having said why, if it has none to share. */
static size_t file_length(const char *path) {
    struct stat info;
    if (stat(path, &info) != 0) {
        fprintf(stderr, "mmap_demo: %s: %s\n", path, strerror(errno));
        return 0;
    }
    if (info.st_size == 0)
        fprintf(stderr, "mmap_demo: %s: the file is empty: no page to share\n",
                path);
    return (size_t)info.st_size;
}

/* Runs sharing.scn on the file at `path` and tells it; the exit status. */
static int share_file(const char *text, const char *path, size_t length,
                      const options *opts) {
    char *pointed = point_file_at(text, path);
    if (!pointed) {
        fprintf(stderr, "mmap_demo: %s: %s (expected a line `file NAME from "
                "PATH` to point at the file)\n", SHARING_SCENARIO,
                strerror(errno));
        return 1;
    }
    char before[SHOWN_BYTES], after[SHOWN_BYTES];
    bool read_before = read_file_start(path, length, before);
    play_run *run = run_story(pointed, SHARING_SCENARIO);
    free(pointed);
    if (!run)
        return 1;
    printf("Sharing %s between three processes of one machine:\n  %s run by "
           "the playground's engine, its file at %s in place\n", path,
           SHARING_SCENARIO, path);
    if (!opts->path)
        printf("  (a copy of %s, removed at the end)\n", DEFAULT_FILE);
    printf("  %zu byte%s; a pool of %zu frames, policy %s\n", length,
           demo_plural(length), play_run_frames(run), play_run_policy(run));
    print_file_start("before:", before, length, read_before);
    bool told = tell_story(run, opts);
    play_run_delete(run);
    bool read_after = read_file_start(path, length, after);
    printf("\nAfter the run (A's msync wrote its page back; C's copy went "
           "with C's vm_munmap)\n");
    print_file_start("after: ", after, length, read_after);
    bool right = read_after && judge_file(after, length);
    return told && right ? 0 : 1;
}

int demo_run_sharing(const char *path, const options *opts) {
    size_t length = file_length(path);
    if (length == 0)
        return 1;
    char *text = read_scenario(SHARING_SCENARIO);
    if (!text)
        return 1;
    int status = share_file(text, path, length, opts);
    free(text);
    return status;
}

/* ---- --fork ---- */

int demo_run_fork(const options *opts) {
    char *text = read_scenario(FORK_SCENARIO);
    if (!text)
        return 1;
    play_run *run = run_story(text, FORK_SCENARIO);
    free(text);
    if (!run)
        return 1;
    printf("Forking a process with anonymous memory:\n  %s run by the "
           "playground's engine, in a pool of %zu frames, policy %s\n",
           FORK_SCENARIO, play_run_frames(run), play_run_policy(run));
    bool told = tell_story(run, opts);
    play_run_delete(run);
    return told ? 0 : 1;
}
