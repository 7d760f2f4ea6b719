/*
 * tests/demo_tests.c: what mmap_demo shows, run as the program a student
 * runs: the report of --sharing, where processes A and B map one file
 * shared and C maps it private, and of --fork, where B is forked from A,
 * a write copies a page, and a page goes to swap and back. The demo is
 * programs/mmap_demo, run from the repository root (where test_files/ is);
 * build it first (make builds it with the tests).
 */
#include "helpers.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* Room for the whole report; the --fork report with --trace is about
 * 20 KB. */
#define REPORT_SIZE 65536

/* The longest line of the report a check looks at. */
#define LINE_SIZE 256


/* Seconds the demo may take (it takes well under one). */
#define DEMO_TIMEOUT_SECONDS 10

/* The demo's arguments after its name, at most: "--fork --trace". */
#define MAX_DEMO_ARGS 3

/*
 * In the forked child: runs the demo from the root with `args` (NULL
 * ended), stdout to `out`. Without MMAP_FRAMES the demo picks its pool.
 */
static void exec_demo(const char *root, const char *demo, int out,
                      char *const *args) {
    char *argv[MAX_DEMO_ARGS + 2] = {"mmap_demo"};
    int i;

    close(message_fd); /* the runner hears from the test, not the demo */
    if (chdir(root) != 0 || dup2(out, STDOUT_FILENO) < 0)
        _exit(126);
    close(out);
    for (i = 0; i < MAX_DEMO_ARGS && args[i]; i++)
        argv[i + 1] = args[i];
    unsetenv("MMAP_FRAMES");
    alarm(DEMO_TIMEOUT_SECONDS); /* kept across execv */
    execv(demo, argv);
    _exit(127);
}

/*
 * Runs programs/mmap_demo with `args` (NULL ended) from the repository
 * root and puts what it printed in `report` (REPORT_SIZE bytes); fails unless it
 * exits with status 0.
 */
static void run_demo(char *const *args, char *report) {
    char root[PATH_MAX], demo[PATH_MAX];
    int fds[2], status;
    pid_t child;

    repository_root(root);
    join_path(demo, root, "programs/mmap_demo");
    if (access(demo, X_OK) != 0)
        fail(__FILE__, __LINE__, "%s: %s (build it with make)", demo,
             strerror(errno));
    if (pipe(fds) != 0)
        setup_failed("pipe");
    fflush(stdout);
    child = fork();
    if (child < 0)
        setup_failed("fork the demo");
    if (child == 0) {
        close(fds[0]);
        exec_demo(root, demo, fds[1], args);
    }
    close(fds[1]);
    read_to_end_of(fds[0], report, REPORT_SIZE);
    close(fds[0]);
    while (waitpid(child, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail(__FILE__, __LINE__,
             "mmap_demo %s%s%s: expected exit status 0, but it %s; it "
             "printed:\n%s",
             args[0], args[1] ? " " : "", args[1] ? args[1] : "",
             describe_wait_status(status), report);
}

/*
 * Runs programs/mmap_demo --sharing [FILE] (FILE NULL: the demo's own copy
 * of its bundled file), as run_demo does.
 */
static void run_sharing_demo(const char *file, char *report) {
    char *args[] = {"--sharing", (char *)file, NULL};
    run_demo(args, report);
}

/*
 * The section of `report` of the `occurrence`-th step (1 for the first)
 * whose statement is `source`: from its heading "N. SOURCE" to the next
 * blank line, into *begin and *end.
 */
static void find_step(const char *report, const char *source, int occurrence,
                      const char **begin, const char **end) {
    char needle[LINE_SIZE];
    const char *at = report, *digits;
    int seen = 0;

    snprintf(needle, sizeof needle, ". %s\n", source);
    while ((at = strstr(at, needle)) != NULL) {
        digits = at;
        while (digits > report && isdigit((unsigned char)digits[-1]))
            digits--;
        if (digits < at && digits > report && digits[-1] == '\n' &&
            ++seen == occurrence) {
            *begin = digits - 1;
            *end = strstr(at, "\n\n");
            if (!*end)
                *end = at + strlen(at);
            return;
        }
        at++;
    }
    fail(__FILE__, __LINE__, "the report has no step %s (number %d):\n%s",
         source, occurrence, report);
}

/*
 * Copies the line of `report` between `begin` and `end` that starts with
 * `start` (after the two spaces of indentation) into `line` (LINE_SIZE
 * bytes).
 */
static void line_between(const char *begin, const char *end,
                         const char *start, char *line) {
    char prefix[LINE_SIZE];
    const char *at;

    snprintf(prefix, sizeof prefix, "\n  %s", start);
    at = strstr(begin, prefix);
    if (!at || at >= end)
        fail(__FILE__, __LINE__, "expected a line starting \"%s\" in:%.*s",
             start, (int)(end - begin), begin);
    at += 3; /* past "\n  " */
    snprintf(line, LINE_SIZE, "%.*s", (int)strcspn(at, "\n"), at);
}

/* The line starting with `start` in the step of `source` (its occurrence). */
static void step_line(const char *report, const char *source, int occurrence,
                      const char *start, char *line) {
    const char *begin, *end;

    find_step(report, source, occurrence, &begin, &end);
    line_between(begin, end, start, line);
}

/* The first line of the report, past its first, that starts with `start`. */
static void report_line(const char *report, const char *start, char *line) {
    line_between(report, report + strlen(report), start, line);
}

/*
 * The row of process `name` ("A", "B", "C": pids 0, 1, 2) for page `page`
 * in the step of `source`: its rights ("rw" or "r-", into `rights`, 3
 * bytes) and frame, and (if `reads` is not NULL, LINE_SIZE bytes) what it
 * last read there, without the quotes. A row reads
 * "A (pid 0)  page 0  shared file        rw frame 5       page cache  \"...\"".
 */
static unsigned row_frame(const char *report, const char *source,
                          int occurrence, const char *name, unsigned page,
                          char *rights, char *reads) {
    char line[LINE_SIZE], start[32];
    unsigned frame = 0;
    const char *at, *quote;

    snprintf(start, sizeof start, "%s (pid %d)  page %u ", name,
             name[0] - 'A', page);
    step_line(report, source, occurrence, start, line);
    at = strstr(line, " frame ");
    if (!at || at - line < 3 || sscanf(at, " frame %u", &frame) != 1 ||
        frame == 0)
        fail(__FILE__, __LINE__, "%s: expected a frame for %s in: %s", source,
             name, line);
    if (rights)
        snprintf(rights, 3, "%.2s", at - 2);
    if (reads) {
        quote = strchr(line, '"');
        if (!quote || strrchr(line, '"') == quote)
            fail(__FILE__, __LINE__, "%s: expected what %s read, in quotes: "
                 "%s", source, name, line);
        snprintf(reads, LINE_SIZE, "%.*s",
                 (int)(strrchr(line, '"') - quote - 1), quote + 1);
    }
    return frame;
}

/* Whether `text` begins with `prefix`. */
static bool starts_with(const char *text, const char *prefix) {
    return strncmp(text, prefix, strlen(prefix)) == 0;
}

/* The statements of scenarios/sharing.scn the checks look at. */
#define READ_B "read(B, b, 16)"
#define READ_C "read(C, c, 16)"
#define WRITE_C "write(C, c + 9, \"C1C1\")"
#define MSYNC_A "vm_msync(A, a, 4096, MS_SYNC)"

static void
test_demo_sharing_shows_one_frame_for_a_b_and_c_until_c_writes(void) {
    char *report = malloc(REPORT_SIZE), line[LINE_SIZE];
    unsigned a, b, c;
    int read;

    if (!report)
        setup_failed("malloc");
    run_sharing_demo(NULL, report);
    /* After C's first and second reads, before C writes. */
    for (read = 1; read <= 2; read++) {
        a = row_frame(report, READ_C, read, "A", 0, NULL, NULL);
        b = row_frame(report, READ_C, read, "B", 0, NULL, NULL);
        c = row_frame(report, READ_C, read, "C", 0, NULL, NULL);
        expect_hex(b, a, describe("read %d of C: B's frame of page 0 (A's)",
                                  read));
        expect_hex(c, a, describe("read %d of C: C's frame of page 0 (A's)",
                                  read));
        step_line(report, READ_C, read, "page 0:", line);
        expect_true(strcmp(line, "page 0: one frame for A, B and C") == 0,
                    describe("read %d of C says so: %s", read, line));
    }
    step_line(report, READ_C, 1, "major", line);
    expect_true(starts_with(line, "major 1, minor 2;"),
                describe("the three reads: one major fault, two minor: %s",
                         line));
    expect_true(strstr(line, "file reads 1,") != NULL,
                describe("the file read once: %s", line));
    step_line(report, READ_C, 1, "faults:", line);
    expect_true(strstr(line, "(copy-on-write 0 of them)") != NULL,
                describe("no copy yet: %s", line));
    free(report);
}

static void
test_demo_sharing_shows_c_on_a_frame_of_its_own_after_it_writes(void) {
    char *report = malloc(REPORT_SIZE), line[LINE_SIZE], rights[3];
    unsigned a, b, c;

    if (!report)
        setup_failed("malloc");
    run_sharing_demo(NULL, report);
    a = row_frame(report, WRITE_C, 1, "A", 0, NULL, NULL);
    b = row_frame(report, WRITE_C, 1, "B", 0, NULL, NULL);
    c = row_frame(report, WRITE_C, 1, "C", 0, rights, NULL);
    expect_hex(b, a, "C's write: B's frame of page 0 (still A's)");
    expect_true(c != a, describe("C's write: C's frame %u differs from A's "
                                 "%u", c, a));
    expect_true(strcmp(rights, "rw") == 0,
                describe("C's copy is writable: %s", rights));
    expect_hex(a, row_frame(report, READ_C, 2, "A", 0, NULL, NULL),
               "A's frame, the one all three shared before C wrote");
    step_line(report, WRITE_C, 1, "page 0:", line);
    expect_true(strcmp(line, "page 0: one frame for A and B, another for C") ==
                    0,
                describe("C's write says so: %s", line));
    step_line(report, WRITE_C, 1, "copy-on-write:", line);
    step_line(report, WRITE_C, 1, "faults:", line);
    expect_true(strstr(line, "(copy-on-write 1 of them)") != NULL,
                describe("C's write: one copy-on-write fault: %s", line));
    free(report);
}

static void
test_demo_sharing_shows_b_seeing_a_s_writes_and_c_only_the_first(void) {
    char *report = malloc(REPORT_SIZE), reads[LINE_SIZE];

    if (!report)
        setup_failed("malloc");
    run_sharing_demo(NULL, report);
    row_frame(report, READ_B, 2, "B", 0, NULL, reads);
    expect_true(starts_with(reads, "A1A1"),
                describe("B reads A's first write: \"%s\"", reads));
    row_frame(report, READ_C, 2, "C", 0, NULL, reads);
    expect_true(starts_with(reads, "A1A1"),
                describe("C, not written yet, reads A's first write: \"%s\"",
                         reads));
    row_frame(report, READ_B, 3, "B", 0, NULL, reads);
    expect_true(starts_with(reads, "A2A2"),
                describe("B reads A's second write: \"%s\"", reads));
    row_frame(report, READ_C, 3, "C", 0, NULL, reads);
    expect_true(strstr(reads, "A2A2") == NULL && starts_with(reads, "A1A1") &&
                    strstr(reads, "C1C1") != NULL,
                describe("C reads its copy (A's first write and its own), "
                         "not A's second: \"%s\"",
                         reads));
    free(report);
}

static void
test_demo_sharing_shows_the_file_holding_a_s_bytes_after_msync(void) {
    char *report = malloc(REPORT_SIZE), line[LINE_SIZE];

    if (!report)
        setup_failed("malloc");
    run_sharing_demo(NULL, report);
    report_line(report, "before:", line);
    expect_true(strstr(line, "\"page 00, line 00\"") != NULL,
                describe("the file before the run: %s", line));
    step_line(report, READ_C, 3, "major", line);
    expect_true(strstr(line, "writes 0") != NULL,
                describe("nothing written to the file before msync: %s",
                         line));
    step_line(report, MSYNC_A, 1, "major", line);
    expect_true(strstr(line, "writes 1") != NULL,
                describe("msync writes the page to the file: %s", line));
    report_line(report, "after:", line);
    expect_true(strstr(line, "\"A2A2 00, line 00\"") != NULL,
                describe("A's bytes, not C's, after msync: %s", line));
    free(report);
}

static void test_demo_sharing_of_a_named_file_leaves_a_s_bytes_in_it(void) {
    char *report = malloc(REPORT_SIZE), path[PATH_MAX];
    unsigned char *bytes, *original;
    size_t size, original_size;

    if (!report)
        setup_failed("malloc");
    copy_fixture("pages.txt", path);
    run_sharing_demo(path, report);
    bytes = load_file(path, &size);
    original = load_fixture("pages.txt", &original_size);
    expect_size(size, original_size, "the file's size, unchanged");
    expect_bytes(bytes, "A2A2", 4, "bytes 0-3: A's last write");
    expect_bytes(bytes + 4, original + 4, size - 4,
                 "every other byte, as it was (none of C's \"C1C1\")");
    free(original);
    free(bytes);
    free(report);
}

/*
 * A file shorter than A's word keeps the bytes of it that fit: the demo
 * judges those, says so, and exits 0.
 */
static void
test_demo_sharing_of_a_file_shorter_than_a_word_keeps_the_bytes_that_fit(void) {
    static const char *const files[] = {"ab", "abc"};
    char *report = malloc(REPORT_SIZE), path[PATH_MAX], line[LINE_SIZE];
    unsigned char *bytes;
    size_t i, size, length;

    if (!report)
        setup_failed("malloc");
    for (i = 0; i < sizeof files / sizeof files[0]; i++) {
        length = strlen(files[i]);
        write_new_file(length == 2 ? "two.txt" : "three.txt", files[i], length,
                       path);
        run_sharing_demo(path, report); /* fails unless it exits 0 */
        report_line(report, "A's last write", line);
        expect_true(strstr(line, "C's \"C1C1\" is not") != NULL,
                    describe("the end of a %zu-byte file's run: %s", length,
                             line));
        bytes = load_file(path, &size);
        expect_size(size, length, "the file's size, unchanged");
        expect_bytes(
            bytes, "A2A2", length,
            describe("the %zu bytes of A's last write that fit", length));
        free(bytes);
    }
    free(report);
}

/* Runs programs/mmap_demo --fork, with --trace when `trace`, into `report`. */
static void run_fork_demo(bool trace, char *report) {
    char *args[] = {"--fork", trace ? "--trace" : NULL, NULL};
    run_demo(args, report);
}

/* The statements of scenarios/fork_story.scn the checks look at. */
#define FORK "B = vm_fork(A)"
#define WRITE_B "write(B, p, \"B-copy!!\")"
#define WRITE_A "write(A, p, \"A-again!\")"
#define READ_A "read(A, p, 8)"

/* The last line of `report` that starts with "  faults:", into `line`. */
static void last_counters(const char *report, char *line) {
    const char *at = NULL, *next = report;

    while ((next = strstr(next, "\n  faults: ")) != NULL)
        at = ++next;
    if (!at)
        fail(__FILE__, __LINE__, "the report has no counters:\n%s", report);
    at += 2;
    snprintf(line, LINE_SIZE, "%.*s", (int)strcspn(at, "\n"), at);
}

static void test_demo_fork_shows_a_and_b_on_one_read_only_frame_a_page(void) {
    char *report = malloc(REPORT_SIZE), a_rights[3], b_rights[3];
    unsigned page, a, b;

    if (!report)
        setup_failed("malloc");
    run_fork_demo(false, report);
    for (page = 0; page < 3; page++) {
        a = row_frame(report, FORK, 1, "A", page, a_rights, NULL);
        b = row_frame(report, FORK, 1, "B", page, b_rights, NULL);
        expect_hex(b, a, describe("the fork: B's frame of page %u (A's)",
                                  page));
        expect_true(strcmp(a_rights, "r-") == 0 && strcmp(b_rights, "r-") == 0,
                    describe("the fork, page %u: read-only in both, but A "
                             "%s, B %s",
                             page, a_rights, b_rights));
    }
    free(report);
}

static void
test_demo_fork_shows_b_s_write_copying_and_a_s_writing_in_place(void) {
    char *report = malloc(REPORT_SIZE), rights[3], line[LINE_SIZE];
    unsigned a3, b3, a4;

    if (!report)
        setup_failed("malloc");
    run_fork_demo(false, report);
    a3 = row_frame(report, WRITE_B, 1, "A", 0, NULL, NULL);
    b3 = row_frame(report, WRITE_B, 1, "B", 0, rights, NULL);
    expect_true(strcmp(rights, "rw") == 0,
                describe("B's write: B's copy is writable, but %s", rights));
    expect_true(b3 != a3, describe("B's write: B's frame %u differs from "
                                   "A's %u",
                                   b3, a3));
    step_line(report, WRITE_B, 1, "faults:", line);
    expect_true(strstr(line, "(copy-on-write 1 of them)") != NULL,
                describe("B's write: one copy-on-write fault: %s", line));
    a4 = row_frame(report, WRITE_A, 1, "A", 0, rights, NULL);
    expect_hex(a4, a3, "A's write: A's frame of page 0, written in place");
    expect_true(strcmp(rights, "rw") == 0,
                describe("A's write: A's entry writable, but %s", rights));
    step_line(report, WRITE_A, 1, "in place:", line);
    step_line(report, WRITE_A, 1, "faults:", line);
    expect_true(strstr(line, "(copy-on-write 1 of them)") != NULL,
                describe("A's write: still one copy-on-write fault: %s",
                         line));
    free(report);
}

static void test_demo_fork_shows_a_page_going_to_swap_and_back(void) {
    char *report = malloc(REPORT_SIZE), line[LINE_SIZE], back[LINE_SIZE];
    char reads[LINE_SIZE];
    unsigned page = 0, address = 0, out_slot = 0, outs = 0, ins = 0;

    if (!report)
        setup_failed("malloc");
    run_fork_demo(false, report);
    report_line(report, "A's page", line);
    expect_true(sscanf(line, "A's page %u (va 0x%x) went to swap slot %u",
                       &page, &address, &out_slot) == 3 &&
                    out_slot > 0,
                describe("a page of A's went to a swap slot: %s", line));
    snprintf(back, sizeof back, "A's page %u (va 0x%08x) came back from swap "
             "slot %u into frame ", page, address, out_slot);
    expect_true(strstr(report, back) != NULL,
                describe("it came back from the same slot: \"%s\"", back));
    row_frame(report, READ_A, 1, "A", page, NULL, reads);
    expect_true(strcmp(reads, "A-again!") == 0,
                describe("A reads its last write, as before the swap: "
                         "\"%s\"", reads));
    last_counters(report, line);
    expect_true(sscanf(line, "faults: %*u (copy-on-write %*u of them), "
                             "swap-outs %u, swap-ins %u",
                       &outs, &ins) == 2 &&
                    outs >= 1 && ins >= 1,
                describe("the last counters: a swap-out and a swap-in: %s",
                         line));
    free(report);
}

static void test_demo_fork_trace_names_the_copy_and_the_swap(void) {
    static const struct {
        const char *step, *words;
    } events[] = {
        {WRITE_B, "- B's write of 0x"},
        {WRITE_B, "faults (copy): a private copy"},
        {WRITE_B, "gets a copy of the page at 0x"},
        {WRITE_A, "in place in frame"},
        {READ_A, "faults (swap): read back from swap"},
        {READ_A, "is read back"},
    };
    char *report = malloc(REPORT_SIZE);
    const char *begin, *end, *at;
    size_t i;

    if (!report)
        setup_failed("malloc");
    run_fork_demo(true, report);
    for (i = 0; i < sizeof events / sizeof events[0]; i++) {
        find_step(report, events[i].step, 1, &begin, &end);
        at = strstr(begin, events[i].words);
        expect_true(at && at < end,
                    describe("the trace of %s says \"%s\"", events[i].step,
                             events[i].words));
    }
    expect_true(strstr(report, "- a page is written to swap slot ") != NULL,
                "the trace tells of the swap-out");
    expect_true(strstr(report, "is refused") == NULL,
                "no event of a refused access: the story refuses nothing");
    run_fork_demo(false, report);
    expect_true(strstr(report, "faults (copy)") == NULL,
                "without --trace, no events");
    free(report);
}

static const test_case demo_tests[] = {
    TEST(demo_sharing_shows_one_frame_for_a_b_and_c_until_c_writes),
    TEST(demo_sharing_shows_c_on_a_frame_of_its_own_after_it_writes),
    TEST(demo_sharing_shows_b_seeing_a_s_writes_and_c_only_the_first),
    TEST(demo_sharing_shows_the_file_holding_a_s_bytes_after_msync),
    TEST(demo_sharing_of_a_named_file_leaves_a_s_bytes_in_it),
    TEST(demo_sharing_of_a_file_shorter_than_a_word_keeps_the_bytes_that_fit),
    TEST(demo_fork_shows_a_and_b_on_one_read_only_frame_a_page),
    TEST(demo_fork_shows_b_s_write_copying_and_a_s_writing_in_place),
    TEST(demo_fork_shows_a_page_going_to_swap_and_back),
    TEST(demo_fork_trace_names_the_copy_and_the_swap),
};

const test_suite demo_suite = {"demo", demo_tests,
                               sizeof demo_tests / sizeof demo_tests[0]};
