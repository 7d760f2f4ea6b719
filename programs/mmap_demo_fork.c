/*
 * mmap_demo_fork.c: mmap_demo --fork: process A maps anonymous memory
 * private, writes it, and vm_fork makes B. After each step, a table shows
 * the page-table entries of both processes, page by page: the same frames
 * for both, read-only (copy-on-write) after the fork; B's write to page 0
 * copies it; A's write to page 0, now its last sharer, needs no copy. In
 * a small pool, more memory of A's then sends a page to swap (its slot
 * shown) and a touch brings it back. The report ends with the MMU's
 * counters of faults, copies, swap-outs and swap-ins.
 * Left out: a shared anonymous mapping (--sharing shows sharing, of a
 * file), a file mapped private (--sharing's C).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kernel.h"
#include "mmap_demo.h"
#include "mmu.h"
#include "page_table.h"
#include "swap.h"
#include "trace.h"
#include "vm.h"

/* A is the first process of the MMU; vm_fork gives B the next pid. */
enum { PROCESS_A, PROCESS_B, NUM_PROCESSES };
static const char *const names_by_pid[NUM_PROCESSES] = {
    [PROCESS_A] = "A",
    [PROCESS_B] = "B",
};

/* A's mapping: few pages, so that every row of a table fits the story. */
#define STORY_PAGES 3
/* Bytes read at the start of a page, for the tables. */
#define SHOWN_BYTES 8
/* What A writes at the start of page k (k < 10) before the fork. */
#define A_WORD_FORMAT "A%zu-first"
/* The later writes to page 0, after the fork. */
#define B_WORD "B-copy!!"
#define A_LAST_WORD "A-again!"
typedef char words_fill_the_shown_bytes[sizeof B_WORD - 1 == SHOWN_BYTES &&
                                                sizeof A_LAST_WORD - 1 ==
                                                    SHOWN_BYTES
                                            ? 1
                                            : -1];

/* The run: the MMU, its two processes' pids, A's mappings and the trace. */
typedef struct {
    mmu *mmu;
    size_t pids[NUM_PROCESSES];
    bool forked;           /* B exists */
    addr32 start;          /* A's story mapping, at the same place in B */
    addr32 pressure;       /* A's second mapping, that fills the pool */
    size_t pressure_pages; /* of it; one page per frame of the pool */
    event_log log;
    bool failed; /* a call failed; the report said which */
} fork_run;

/* Says that `what` failed with errno, and marks the run as failed. */
static void report_failure(fork_run *run, const char *what) {
    printf("  %s failed: %s\n", what, strerror(errno));
    run->failed = true;
}

/* The entry of `address` in process `which`, or NULL with no table. */
static page_table_entry *entry_of(const fork_run *run, int which,
                                  addr32 address) {
    return page_table_walk(run->mmu->page_directories[run->pids[which]],
                           address, false);
}

/* The frame `which` maps page `page` of the story in; 0 if none. */
static addr32 frame_of(const fork_run *run, int which, size_t page) {
    page_table_entry *entry =
        entry_of(run, which, run->start + (addr32)(page * PAGE_SIZE));
    if (!entry || page_table_entry_state(entry) != PAGE_RESIDENT)
        return 0;
    return page_table_entry_frame(entry);
}

/* One process's entry: "A: rw 0x00005000", "A: swap slot 3", or "A: --". */
static void print_entry(const fork_run *run, int which, addr32 address) {
    page_table_entry *entry = entry_of(run, which, address);
    page_table_state state =
        entry ? page_table_entry_state(entry) : PAGE_UNTOUCHED;
    char text[32] = "--";
    if (state == PAGE_RESIDENT)
        snprintf(text, sizeof text, "%s 0x%08x",
                 entry->read_write ? "rw" : "r-",
                 page_table_entry_frame(entry));
    else if (state == PAGE_SWAPPED)
        snprintf(text, sizeof text, "swap slot %u",
                 page_table_entry_slot(entry));
    printf("%s: %-13s", names_by_pid[which], text);
}

/*
 * What process `which` reads at the start of `page` of the story, quoted;
 * the read may fault the page in, so it is done before the entry is shown.
 */
static void read_page(fork_run *run, int which, size_t page, char *bytes,
                      size_t *got) {
    *got = mmu_read_from_virtual_address(
        run->mmu, run->start + (addr32)(page * PAGE_SIZE), run->pids[which],
        bytes, SHOWN_BYTES);
    if (*got < SHOWN_BYTES)
        report_failure(run, "a read");
}

/* Whether A's and B's entries of `page` name one frame, and how. */
static void print_sharing(const fork_run *run, size_t page) {
    addr32 a = frame_of(run, PROCESS_A, page);
    addr32 b = run->forked ? frame_of(run, PROCESS_B, page) : 0;
    if (a != 0 && a == b)
        printf("one frame: copy-on-write");
    else if (a != 0 && b != 0)
        printf("a frame each");
}

/*
 * One row: the page, each process's entry (with `read`, after what it
 * reads there), and whether they share a frame. The reads come first, so
 * that the events they cause (--trace) print before the row.
 */
static void print_row(fork_run *run, size_t page, bool read) {
    addr32 address = run->start + (addr32)(page * PAGE_SIZE);
    int processes = run->forked ? NUM_PROCESSES : 1;
    char bytes[NUM_PROCESSES][SHOWN_BYTES];
    size_t got[NUM_PROCESSES] = {0};
    for (int which = 0; which < processes && read; which++)
        read_page(run, which, page, bytes[which], &got[which]);
    printf("  page %zu  ", page);
    for (int which = 0; which < processes; which++) {
        print_entry(run, which, address);
        printf(" ");
        if (read)
            demo_print_quoted(bytes[which], got[which], got[which]);
        printf("   ");
    }
    print_sharing(run, page);
    printf("\n");
}

/* The MMU's counters, in the line CI looks for. */
static void print_counters(const fork_run *run) {
    const mmu *m = run->mmu;
    printf("  faults: %zu (copy-on-write %zu of them), swap-outs %zu, "
           "swap-ins %zu\n",
           m->num_page_faults, m->num_cow_faults, m->num_swap_outs,
           m->num_swap_ins);
}

/* A step's table: a row per page of the story, then the counters. */
static void print_table(fork_run *run, bool read) {
    for (size_t page = 0; page < STORY_PAGES; page++)
        print_row(run, page, read);
    print_counters(run);
}

/* Process `which` writes `word` at the start of `page` of the story. */
static bool write_word(fork_run *run, int which, size_t page,
                       const char *word) {
    size_t wrote = mmu_write_to_virtual_address(
        run->mmu, run->start + (addr32)(page * PAGE_SIZE), run->pids[which],
        word, SHOWN_BYTES);
    if (wrote != SHOWN_BYTES)
        report_failure(run, "a write");
    return wrote == SHOWN_BYTES;
}

/* Maps `pages` pages of anonymous memory, private and read-write, in A. */
static addr32 map_anonymous(fork_run *run, size_t pages) {
    addr32 start = vm_mmap(run->mmu, run->pids[PROCESS_A], 0,
                           pages * PAGE_SIZE, VM_PROT_READ | VM_PROT_WRITE,
                           VM_MAP_PRIVATE | VM_MAP_ANONYMOUS, -1, 0);
    if (start == VM_MAP_FAILED)
        report_failure(run, "vm_mmap");
    return start;
}

/* Step 1: A maps the story's pages and writes a word in each. */
static bool step_map(fork_run *run) {
    printf("\n1. A maps %d pages of anonymous memory MAP_PRIVATE and writes "
           "each\n",
           STORY_PAGES);
    if (mmu_add_process(run->mmu, run->pids[PROCESS_A]) != 0) {
        report_failure(run, "mmu_add_process");
        return false;
    }
    run->start = map_anonymous(run, STORY_PAGES);
    if (run->start == VM_MAP_FAILED)
        return false;
    run->log.start_address = run->start;
    run->log.num_pages = STORY_PAGES;
    printf("  at 0x%08x; a write to an untouched page is a zero-fill "
           "fault\n",
           run->start);
    for (size_t page = 0; page < STORY_PAGES; page++) {
        char word[SHOWN_BYTES + 1];
        snprintf(word, sizeof word, A_WORD_FORMAT, page);
        if (!write_word(run, PROCESS_A, page, word))
            return false;
    }
    print_table(run, true);
    return true;
}

/* Step 2: vm_fork makes B, whose entries name A's frames, read-only. */
static bool step_fork(fork_run *run) {
    printf("\n2. A forks: vm_fork makes B, a copy of A's page tables, not "
           "of its pages\n");
    int child = vm_fork(run->mmu, run->pids[PROCESS_A]);
    if (child < 0) {
        report_failure(run, "vm_fork");
        return false;
    }
    if ((size_t)child >= NUM_PROCESSES) {
        printf("  wrong: B is pid %d, not %d\n", child, PROCESS_B);
        run->failed = true;
        return false;
    }
    run->pids[PROCESS_B] = (size_t)child;
    run->forked = true;
    printf("  B is pid %d; both entries of each page name one frame, "
           "read-only (r-)\n  in both: the first write of either copies "
           "it\n",
           child);
    print_table(run, true);
    return true;
}

/* Step 3: B writes page 0: a copy-on-write fault, a frame of B's own. */
static void step_child_writes(fork_run *run) {
    printf("\n3. B writes \"%s\" to page 0: a copy-on-write fault gives B a "
           "copy\n",
           B_WORD);
    write_word(run, PROCESS_B, 0, B_WORD);
    print_table(run, true);
}

/*
 * Step 4: A writes page 0, whose frame only A maps now: the entry is made
 * writable in place, with no copy and no copy-on-write fault counted.
 */
static void step_last_sharer_writes(fork_run *run) {
    addr32 before = frame_of(run, PROCESS_A, 0);
    size_t copies = run->mmu->num_cow_faults;
    printf("\n4. A writes \"%s\" to page 0: A is its last sharer now\n",
           A_LAST_WORD);
    write_word(run, PROCESS_A, 0, A_LAST_WORD);
    addr32 after = frame_of(run, PROCESS_A, 0);
    if (after == before && run->mmu->num_cow_faults == copies) {
        printf("  in place: A's page 0 stays in frame 0x%08x, no copy "
               "made\n",
               after);
    } else {
        printf("  wrong: A's page 0 moved from frame 0x%08x to 0x%08x, "
               "copy-on-write faults %zu -> %zu\n",
               before, after, copies, run->mmu->num_cow_faults);
        run->failed = true;
    }
    print_table(run, true);
}

/* A page that went to swap: whose, where, its slot, the bytes it holds. */
typedef struct {
    int which; /* the process whose entry names the slot */
    addr32 address;
    uint32_t slot;
    char expected[SHOWN_BYTES + 1];
} swapped_page;

/* What A writes at the start of page `page` of its second mapping. */
static void pressure_word(size_t page, char *word) {
    snprintf(word, SHOWN_BYTES + 1, "P%07zu", page % 10000000);
}

/* What `which` last wrote at the start of page `page` of the story. */
static void story_word(int which, size_t page, char *word) {
    if (page == 0)
        snprintf(word, SHOWN_BYTES + 1, "%s",
                 which == PROCESS_A ? A_LAST_WORD : B_WORD);
    else
        snprintf(word, SHOWN_BYTES + 1, A_WORD_FORMAT, page);
}

/* Whether `which` maps `address` to a slot; fills `out` if so. */
static bool find_swapped(const fork_run *run, int which, addr32 address,
                         swapped_page *out) {
    page_table_entry *entry = entry_of(run, which, address);
    if (!entry || page_table_entry_state(entry) != PAGE_SWAPPED)
        return false;
    *out = (swapped_page){which, address, page_table_entry_slot(entry), ""};
    return true;
}

/*
 * The first page in swap, a page of the story first (A's, then B's),
 * else a page of the second mapping; false when none is.
 */
static bool first_swapped(const fork_run *run, swapped_page *out) {
    for (int which = 0; which < NUM_PROCESSES; which++)
        for (size_t page = 0; page < STORY_PAGES; page++)
            if (find_swapped(run, which,
                             run->start + (addr32)(page * PAGE_SIZE), out)) {
                story_word(which, page, out->expected);
                return true;
            }
    for (size_t page = 0; page < run->pressure_pages; page++)
        if (find_swapped(run, PROCESS_A,
                         run->pressure + (addr32)(page * PAGE_SIZE), out)) {
            pressure_word(page, out->expected);
            return true;
        }
    return false;
}

/* "page 2 of the story (va 0x...)" or "page 5 of the second mapping". */
static void print_swapped_page(const fork_run *run, const swapped_page *s) {
    bool story = s->address - run->start < STORY_PAGES * PAGE_SIZE;
    addr32 first = story ? run->start : run->pressure;
    printf("%s's page %u of its %s mapping (va 0x%08x)", names_by_pid[s->which],
           (s->address - first) / PAGE_SIZE, story ? "first" : "second",
           s->address);
}

/*
 * Writes a word to each page of a second mapping of A's, one page per
 * frame of the pool, until the pool sends a page to swap.
 */
static void fill_pool(fork_run *run) {
    size_t page = 0;
    while (page < run->pressure_pages && run->mmu->num_swap_outs == 0) {
        char word[SHOWN_BYTES + 1];
        pressure_word(page, word);
        size_t wrote = mmu_write_to_virtual_address(
            run->mmu, run->pressure + (addr32)(page * PAGE_SIZE),
            run->pids[PROCESS_A], word, SHOWN_BYTES);
        if (wrote != SHOWN_BYTES) {
            report_failure(run, "a write");
            return;
        }
        page++;
    }
    printf("  A wrote %zu page%s of it; the pool had %zu frames\n", page,
           demo_plural(page), kernel_frames_total());
}

/* Step 5: A's second mapping fills the pool, and a page goes to swap. */
static bool step_swap_out(fork_run *run, swapped_page *swapped) {
    printf("\n5. A maps more anonymous memory and writes it until the pool "
           "is full\n");
    run->pressure_pages = kernel_frames_total();
    run->pressure = map_anonymous(run, run->pressure_pages);
    if (run->pressure == VM_MAP_FAILED)
        return false;
    fill_pool(run);
    if (!first_swapped(run, swapped)) {
        printf("  wrong: no page went to swap\n");
        run->failed = true;
        return false;
    }
    printf("  ");
    print_swapped_page(run, swapped);
    printf(" went to swap slot %u\n", swapped->slot);
    print_table(run, false);
    return true;
}

/* Step 6: a touch of the page in swap reads it back: a swap-in. */
static void step_swap_in(fork_run *run, const swapped_page *swapped) {
    char bytes[SHOWN_BYTES];
    printf("\n6. %s reads the page again: a swap-in\n",
           names_by_pid[swapped->which]);
    size_t got = mmu_read_from_virtual_address(
        run->mmu, swapped->address, run->pids[swapped->which], bytes,
        SHOWN_BYTES);
    page_table_entry *entry = entry_of(run, swapped->which, swapped->address);
    bool back = entry && page_table_entry_state(entry) == PAGE_RESIDENT;
    bool same = got == SHOWN_BYTES &&
                memcmp(bytes, swapped->expected, SHOWN_BYTES) == 0;
    printf("  ");
    print_swapped_page(run, swapped);
    if (back)
        printf(" came back from swap slot %u into frame 0x%08x, reading ",
               swapped->slot, page_table_entry_frame(entry));
    else
        printf(" did not come back from swap slot %u, reading ",
               swapped->slot);
    demo_print_quoted(bytes, got, got);
    printf(same ? " as before\n" : ", not \"%s\": wrong\n",
           swapped->expected);
    run->failed |= !back || !same;
    print_table(run, false);
}

/* Step 7: B ends, then A: every frame and every slot is free again. */
static void step_end(fork_run *run) {
    printf("\n7. B ends, then A (mmu_remove_process)\n");
    for (int which = NUM_PROCESSES - 1; which >= 0; which--)
        if (mmu_remove_process(run->mmu, run->pids[which]) != 0)
            report_failure(run, "mmu_remove_process");
    size_t in_use = kernel_frames_total() - kernel_frames_free();
    printf("  frames in use %zu, swap slots in use %zu\n", in_use,
           swap_slots_used());
    if (in_use > 0 || swap_slots_used() > 0) {
        printf("  wrong: every frame and slot should be free\n");
        run->failed = true;
    }
    print_counters(run);
}

/* The steps after A's mapping: the fork, the writes, the swap. */
static void run_steps(fork_run *run) {
    swapped_page swapped;
    if (!step_map(run) || !step_fork(run))
        return;
    step_child_writes(run);
    step_last_sharer_writes(run);
    if (step_swap_out(run, &swapped))
        step_swap_in(run, &swapped);
}

/* What is shown, in which pool, and how to read the tables. */
static void print_heading(const options *opts) {
    printf("Forking a process with anonymous memory, in a pool of %zu "
           "frames",
           kernel_frames_total());
    if (opts->small_pool)
        printf(" (MMAP_FRAMES,\n  set by the demo so that a page goes to "
               "swap)");
    printf("\n  each row: a page, each process's entry (rights and frame, or "
           "swap slot)\n  and what it reads there\n");
}

int demo_run_fork(const options *opts) {
    fork_run run = {.pids = {PROCESS_A, PROCESS_B},
                    .log = {.print = opts->trace,
                            .process_names = names_by_pid,
                            .num_process_names = NUM_PROCESSES,
                            .mapping_name = "A's first mapping"}};
    trace_set_hook(demo_log_event, &run.log);
    run.mmu = mmu_create();
    if (!run.mmu) {
        int failure = errno;
        trace_set_hook(NULL, NULL);
        demo_explain_create_failure("the MMU", failure);
        return 1;
    }
    print_heading(opts);
    run_steps(&run);
    if (run.forked)
        step_end(&run);
    mmu_delete(run.mmu);
    trace_set_hook(NULL, NULL);
    return run.failed ? 1 : 0;
}
