/*
 * mmap_demo_sharing.c: mmap_demo --sharing: one file mapped with vm_mmap
 * by three processes of one MMU, A and B shared and C private, all
 * read-write. A short script of reads and writes to page 0 shows, after
 * each step, the frame each process's page-table entry points to, what
 * each reads, and the MMU's fault counters: one frame of the page cache
 * for all three until C writes, then a copy of C's own (copy-on-write);
 * A's writes reach B at once and C only until C has copied the page; and
 * msync sends A's bytes, never C's, to the file.
 */
/* open, and stat with 64-bit sizes. */
#define _POSIX_C_SOURCE 200809L
#define _FILE_OFFSET_BITS 64

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel.h"
#include "mmap_demo.h"
#include "mmu.h"
#include "page_cache.h"
#include "page_table.h"
#include "trace.h"
#include "vm.h"

/* The three processes: A and B map the file shared, C private. */
enum { PROCESS_A, PROCESS_B, PROCESS_C, NUM_PROCESSES };

/* Their pids, any three below MAX_PROCESS_ID; names by pid for the trace. */
#define FIRST_PID 1
static const char *const names_by_pid[FIRST_PID + NUM_PROCESSES] = {
    [FIRST_PID + PROCESS_A] = "A",
    [FIRST_PID + PROCESS_B] = "B",
    [FIRST_PID + PROCESS_C] = "C",
};

/* What every process reads, from the start of page 0, for the tables. */
#define SHOWN_BYTES 16

/*
 * The script's writes, all in page 0 and inside the bytes shown: A's two
 * words where the page starts, and C's a little further on, so that C's
 * copy shows A's first word beside its own.
 */
#define A_FIRST_WORD "A1A1"
#define A_SECOND_WORD "A2A2"
#define A_WORD_OFFSET 0
#define C_WORD "C1C1"
#define C_WORD_OFFSET 9
#define WORD_LENGTH 4
typedef char words_are_shown[C_WORD_OFFSET + WORD_LENGTH <= SHOWN_BYTES &&
                                     A_WORD_OFFSET + WORD_LENGTH <= SHOWN_BYTES
                                 ? 1
                                 : -1];

typedef struct {
    const char *name;
    size_t pid;
    int map_flags;  /* VM_MAP_SHARED or VM_MAP_PRIVATE */
    int open_flags; /* a private mapping's writes never reach the file, so
                       a read-only descriptor serves C: the demo says so */
    addr32 start;   /* where vm_mmap put the file */
} process;

/* The run: the MMU, its processes, the file and what the trace saw. */
typedef struct {
    mmu *mmu;
    process processes[NUM_PROCESSES];
    const char *path;
    size_t length; /* of the file, all of it mapped */
    event_log log;
    bool failed; /* a call of the script failed; the report said which */
} sharing_run;

/* Says that `what` failed with errno, and marks the run as failed. */
static void report_failure(sharing_run *run, const char *what) {
    printf("  %s failed: %s\n", what, strerror(errno));
    run->failed = true;
}

/* The entry of page 0 in `p`'s page table, or NULL if it has no table. */
static page_table_entry *page_0_entry(const sharing_run *run,
                                      const process *p) {
    return page_table_walk(run->mmu->page_directories[p->pid], p->start, false);
}

/* The frame `p`'s entry for page 0 points to; 0 when it is not present. */
static addr32 page_0_frame(const sharing_run *run, const process *p) {
    page_table_entry *entry = page_0_entry(run, p);
    if (!entry || !entry->present)
        return 0;
    return (addr32)entry->base_addr << NUM_OFFSET_BITS;
}

/*
 * One row of a step's table: the process, its mapping, its entry's rights
 * for page 0 and the frame it points to (whose frame: the page cache's,
 * shared with whoever maps the page, or a copy of the process's own), and,
 * with `read`, what the process reads at the start of page 0 (read before
 * the entry is looked at, since the read may fault the page in).
 */
static void print_row(sharing_run *run, const process *p, bool read) {
    char bytes[SHOWN_BYTES];
    size_t got = 0;
    if (read)
        got = mmu_read_from_virtual_address(run->mmu, p->start, p->pid, bytes,
                                            SHOWN_BYTES);
    if (read && got < SHOWN_BYTES)
        run->failed = true;
    addr32 frame = page_0_frame(run, p);
    printf("  %s (pid %zu)  %-7s  ", p->name, p->pid,
           p->map_flags == VM_MAP_SHARED ? "shared" : "private");
    if (frame == 0)
        printf("--   %-25s  ", "no frame yet");
    else
        printf("%s   0x%08x  %-13s  ",
               page_0_entry(run, p)->read_write ? "rw" : "r-", frame,
               page_cache_owns(frame) ? "page cache" : "its own copy");
    if (read)
        demo_print_quoted(bytes, got, got);
    else
        printf("-");
    if (read && got < SHOWN_BYTES)
        printf(" (the read stopped: %s)", strerror(errno));
    printf("\n");
}

/* The MMU's fault counters, and the pager's calls the trace saw. */
static void print_counters(const sharing_run *run) {
    const mmu *m = run->mmu;
    printf("  faults: major %zu, minor %zu (copy-on-write %zu of them); "
           "file reads %zu, writes %zu\n",
           m->num_major_faults, m->num_minor_faults, m->num_cow_faults,
           run->log.reads.calls, run->log.writes.calls);
}

/* What goes before name `k` of `count` in a list: "A, B and C". */
static const char *list_separator(int k, int count) {
    if (k == 0)
        return "";
    return k + 1 == count ? " and " : ", ";
}

/* Lists the processes whose page 0 is in frames[first]: "A, B and C". */
static void print_sharers(const sharing_run *run, const addr32 *frames,
                          int first) {
    int sharers[NUM_PROCESSES], count = 0;
    for (int i = first; i < NUM_PROCESSES; i++)
        if (frames[i] == frames[first])
            sharers[count++] = i;
    for (int k = 0; k < count; k++)
        printf("%s%s", list_separator(k, count),
               run->processes[sharers[k]].name);
}

/*
 * Who shares which frame of page 0, in one line: "one frame for A, B and
 * C", or "one frame for A and B, another for C". A process without a
 * frame is left out.
 */
static void print_frame_groups(const sharing_run *run) {
    addr32 frames[NUM_PROCESSES];
    for (int i = 0; i < NUM_PROCESSES; i++)
        frames[i] = page_0_frame(run, &run->processes[i]);
    const char *lead = "  one frame for ";
    for (int i = 0; i < NUM_PROCESSES; i++) {
        bool named = frames[i] == 0; /* or with an earlier sharer */
        for (int j = 0; j < i && !named; j++)
            named = frames[j] == frames[i];
        if (named)
            continue;
        printf("%s", lead);
        print_sharers(run, frames, i);
        lead = ", another for ";
    }
    printf("\n");
}

/*
 * A step's table: every process's row (each reading page 0 first when
 * `read`), then the counters.
 */
static void print_table(sharing_run *run, bool read) {
    printf("  process    mapping  pte  frame of page 0            "
           "reads at offset 0\n");
    for (int i = 0; i < NUM_PROCESSES; i++)
        print_row(run, &run->processes[i], read);
    if (read)
        print_frame_groups(run);
    print_counters(run);
}

/* `p` writes `word` at `offset` of page 0, and says so. */
static void write_word(sharing_run *run, const process *p, size_t offset,
                       const char *word) {
    printf("  %s writes \"%s\" at offset %zu\n", p->name, word, offset);
    size_t wrote = mmu_write_to_virtual_address(run->mmu, p->start + offset,
                                                p->pid, word, WORD_LENGTH);
    if (wrote != WORD_LENGTH)
        report_failure(run, "the write");
}

/*
 * Opens the file for `p` and maps all of it at `hint` if that range is
 * free (0: anywhere); false, having said why.
 */
static bool map_file(sharing_run *run, process *p, addr32 hint) {
    int fd = open(run->path, p->open_flags);
    if (fd < 0) {
        report_failure(run, "open");
        return false;
    }
    p->start = vm_mmap(run->mmu, p->pid, hint, run->length,
                       VM_PROT_READ | VM_PROT_WRITE, p->map_flags, fd, 0);
    int failure = errno;
    close(fd); /* the mapping holds the file open itself */
    errno = failure;
    if (p->start == VM_MAP_FAILED) {
        report_failure(run, "vm_mmap");
        return false;
    }
    return true;
}

/*
 * Where the processes map the file: one address, each in its own address
 * space, since B and C ask for A's (the trace names pages by it).
 */
static void print_addresses(const sharing_run *run) {
    const process *procs = run->processes;
    if (procs[PROCESS_B].start == procs[PROCESS_A].start &&
        procs[PROCESS_C].start == procs[PROCESS_A].start)
        printf("  each at 0x%08x, in its own address space", procs[0].start);
    else
        printf("  A at 0x%08x, B at 0x%08x, C at 0x%08x", procs[0].start,
               procs[1].start, procs[2].start);
    printf("; C's descriptor is read-only\n");
}

/* Step 1: the three processes, their mappings; nothing is read yet. */
static bool step_map(sharing_run *run) {
    printf("\n1. A and B map the whole file MAP_SHARED, C MAP_PRIVATE, all "
           "read-write\n");
    for (int i = 0; i < NUM_PROCESSES; i++) {
        process *p = &run->processes[i];
        if (mmu_add_process(run->mmu, p->pid) != 0) {
            report_failure(run, "mmu_add_process");
            return false;
        }
        if (!map_file(run, p, i == PROCESS_A ? 0 : run->processes[0].start))
            return false;
    }
    run->log.start_address = run->processes[PROCESS_A].start;
    run->log.num_pages = (run->length + PAGE_SIZE - 1) / PAGE_SIZE;
    print_addresses(run);
    print_table(run, false);
    return true;
}

/* Steps 2 to 4: reads, A's write, C's copy-on-write. */
static void steps_read_and_write(sharing_run *run) {
    const process *a = &run->processes[PROCESS_A];
    const process *c = &run->processes[PROCESS_C];
    printf("\n2. A, B and C read page 0, in that order\n");
    print_table(run, true);
    printf("\n3. A writes; B and C read (C has not written: it still shares "
           "the page)\n");
    write_word(run, a, A_WORD_OFFSET, A_FIRST_WORD);
    print_table(run, true);
    printf("\n4. C writes (a copy-on-write fault), then A writes again\n");
    write_word(run, c, C_WORD_OFFSET, C_WORD);
    write_word(run, a, A_WORD_OFFSET, A_SECOND_WORD);
    print_table(run, true);
}

/*
 * Shows the first SHOWN_BYTES of the file on disk after `label`, and
 * copies them to `bytes` (zeros past the file's end).
 */
static void print_file_start(sharing_run *run, const char *label, char *bytes) {
    size_t shown = run->length < SHOWN_BYTES ? run->length : SHOWN_BYTES;
    memset(bytes, 0, SHOWN_BYTES);
    printf("  %s the file on disk holds ", label);
    errno = 0;
    if (demo_read_file_bytes(run->path, 0, bytes, shown))
        demo_print_quoted(bytes, shown, shown);
    else
        report_failure(run, "reading it");
    printf("\n");
}

/* How many of the WORD_LENGTH bytes at `offset` lie inside the file. */
static size_t word_bytes_in_file(const sharing_run *run, size_t offset) {
    if (offset >= run->length)
        return 0;
    size_t left = run->length - offset;
    return left < WORD_LENGTH ? left : WORD_LENGTH;
}

/*
 * Says whether the file holds A's last word and not C's, as it must: msync
 * writes the page cache's frame, which C stopped mapping when it copied.
 * Only the bytes of a word inside the file can be there: a mapping never
 * grows its file, so in a file of 2 bytes A's word is "A2".
 */
static void judge_file(sharing_run *run, const char *bytes) {
    size_t a_bytes = word_bytes_in_file(run, A_WORD_OFFSET);
    size_t c_bytes = word_bytes_in_file(run, C_WORD_OFFSET);
    bool has_a = memcmp(bytes + A_WORD_OFFSET, A_SECOND_WORD, a_bytes) == 0;
    bool has_c =
        c_bytes > 0 && memcmp(bytes + C_WORD_OFFSET, C_WORD, c_bytes) == 0;
    if (has_a && !has_c) {
        printf("  A's last write is in the file");
        if (a_bytes < WORD_LENGTH)
            printf(" (its first %zu byte%s: the file ends there)", a_bytes,
                   demo_plural(a_bytes));
        printf("; C's \"%s\" is not: a private copy never is\n", C_WORD);
        return;
    }
    printf("  wrong: the file should hold A's \"%.*s\" and not C's \"%s\"\n",
           (int)a_bytes, A_SECOND_WORD, C_WORD);
    run->failed = true;
}

/* Step 5: msync in A sends the shared page, with A's bytes, to the file. */
static void step_msync(sharing_run *run) {
    const process *a = &run->processes[PROCESS_A];
    char bytes[SHOWN_BYTES];
    printf("\n5. A calls vm_msync on its mapping\n");
    print_file_start(run, "before:", bytes);
    if (vm_msync(run->mmu, a->pid, a->start, run->length, VM_MS_SYNC) != 0)
        report_failure(run, "vm_msync");
    print_file_start(run, "after: ", bytes);
    judge_file(run, bytes);
    print_counters(run);
}

/* Step 6: C unmaps; its copy goes back to the pool, A and B keep theirs. */
static void step_unmap_private(sharing_run *run) {
    const process *c = &run->processes[PROCESS_C];
    size_t free_before = kernel_frames_free();
    printf("\n6. C unmaps the file with vm_munmap\n");
    if (vm_munmap(run->mmu, c->pid, c->start, run->length) != 0)
        report_failure(run, "vm_munmap");
    printf("  C's page 0 %s; free frames %zu -> %zu: its copy went back\n",
           page_0_frame(run, c) ? "is still mapped" : "is not mapped",
           free_before, kernel_frames_free());
    print_frame_groups(run);
}

/* The processes of the script, and the file's length; false if empty. */
static bool set_up_run(sharing_run *run, const char *path,
                       const options *opts) {
    *run = (sharing_run){.path = path, .log = {.print = opts->trace}};
    run->log.process_names = names_by_pid;
    run->log.num_process_names = FIRST_PID + NUM_PROCESSES;
    for (int i = 0; i < NUM_PROCESSES; i++)
        run->processes[i] = (process){
            .name = names_by_pid[FIRST_PID + i],
            .pid = FIRST_PID + (size_t)i,
            .map_flags = i == PROCESS_C ? VM_MAP_PRIVATE : VM_MAP_SHARED,
            .open_flags = i == PROCESS_C ? O_RDONLY : O_RDWR,
        };
    struct stat info;
    if (stat(path, &info) != 0) {
        fprintf(stderr, "mmap_demo: %s: %s\n", path, strerror(errno));
        return false;
    }
    if (info.st_size == 0) {
        fprintf(stderr, "mmap_demo: %s: the file is empty: no page to share\n",
                path);
        return false;
    }
    run->length = (size_t)info.st_size;
    return true;
}

/* What is mapped, by whom, in which pool. */
static void print_heading(const sharing_run *run, const options *opts) {
    size_t pages = (run->length + PAGE_SIZE - 1) / PAGE_SIZE;
    printf("Sharing %s between three processes of one MMU\n", run->path);
    if (!opts->path)
        printf("  (a copy of %s, removed at the end)\n", DEFAULT_FILE);
    printf("  %zu byte%s (%zu page%s); a pool of %zu frames\n", run->length,
           demo_plural(run->length), pages, demo_plural(pages),
           kernel_frames_total());
    printf("  pte: the page-table entry's rights (r- on a private page: a "
           "write copies it)\n");
}

int demo_run_sharing(const char *path, const options *opts) {
    sharing_run run;
    if (!set_up_run(&run, path, opts))
        return 1;
    trace_set_hook(demo_log_event, &run.log);
    run.mmu = mmu_create();
    if (!run.mmu) {
        int failure = errno;
        trace_set_hook(NULL, NULL);
        demo_explain_create_failure(path, failure);
        return 1;
    }
    print_heading(&run, opts);
    if (step_map(&run)) {
        steps_read_and_write(&run);
        step_msync(&run);
        step_unmap_private(&run);
    }
    mmu_delete(run.mmu); /* ends the processes: A and B unmap the file */
    trace_set_hook(NULL, NULL);
    /* With every process gone, no frame may stay in use. */
    size_t in_use = kernel_frames_total() - kernel_frames_free();
    if (in_use > 0)
        printf("  wrong: %zu frame%s still in use after the MMU is gone\n",
               in_use, demo_plural(in_use));
    return run.failed || in_use > 0 ? 1 : 0;
}
