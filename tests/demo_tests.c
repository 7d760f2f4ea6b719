/*
 * tests/demo_tests.c: what mmap_demo shows, run as the program a student
 * runs: the report of --sharing, where processes A and B map one file
 * shared and C maps it private, and of --fork, where B is forked from A,
 * a write copies a page, and a page goes to swap and back. The demo is
 * programs/mmap_demo, run from the repository root (where test_files/ is);
 * build it first (make builds it with the tests).
 */
#include "helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* Room for the whole report; the --sharing report is about 3 KB. */
#define REPORT_SIZE 32768

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
 * Copies the line of step `step` of `report` that starts with `start`
 * (after the two spaces of indentation) into `line` (LINE_SIZE bytes).
 * A step runs from its heading "N. " to the next blank line.
 */
static void step_line(const char *report, int step, const char *start,
                      char *line) {
    char heading[16], prefix[LINE_SIZE];
    const char *begin, *end, *at;

    snprintf(heading, sizeof heading, "\n%d. ", step);
    begin = strstr(report, heading);
    if (!begin)
        fail(__FILE__, __LINE__, "the report has no step %d:\n%s", step,
             report);
    end = strstr(begin + 1, "\n\n");
    if (!end)
        end = begin + strlen(begin);
    snprintf(prefix, sizeof prefix, "\n  %s", start);
    at = strstr(begin, prefix);
    if (!at || at >= end)
        fail(__FILE__, __LINE__,
             "step %d of the report: expected a line starting \"%s\":%.*s",
             step, start, (int)(end - begin), begin);
    at += 3; /* past "\n  " */
    snprintf(line, LINE_SIZE, "%.*s", (int)strcspn(at, "\n"), at);
}

/*
 * The frame of page 0 that process `name` ("A", "B", "C") shows in the
 * table of step `step`, and (if `reads` is not NULL, LINE_SIZE bytes)
 * what it read there, without the quotes.
 */
static unsigned step_frame(const char *report, int step, const char *name,
                           char *reads) {
    char line[LINE_SIZE], start[8];
    unsigned frame = 0;
    const char *quote;

    snprintf(start, sizeof start, "%s (pid", name);
    step_line(report, step, start, line);
    /* "A (pid 1)  shared   rw   0x00005000  page cache     \"...\"" */
    if (sscanf(line, "%*s (pid %*u) %*s %*s %x", &frame) != 1 || frame == 0)
        fail(__FILE__, __LINE__, "step %d: expected a frame for %s in: %s",
             step, name, line);
    if (reads) {
        quote = strchr(line, '"');
        if (!quote || !strrchr(line, '"') || strrchr(line, '"') == quote)
            fail(__FILE__, __LINE__,
                 "step %d: expected what %s read, in "
                 "quotes: %s",
                 step, name, line);
        snprintf(reads, LINE_SIZE, "%.*s",
                 (int)(strrchr(line, '"') - quote - 1), quote + 1);
    }
    return frame;
}

/* Whether `text` begins with `prefix`. */
static bool starts_with(const char *text, const char *prefix) {
    return strncmp(text, prefix, strlen(prefix)) == 0;
}

static void
test_demo_sharing_shows_one_frame_for_a_b_and_c_until_c_writes(void) {
    char *report = malloc(REPORT_SIZE), line[LINE_SIZE];
    unsigned a, b, c;
    int step;

    if (!report)
        setup_failed("malloc");
    run_sharing_demo(NULL, report);
    for (step = 2; step <= 3; step++) {
        a = step_frame(report, step, "A", NULL);
        b = step_frame(report, step, "B", NULL);
        c = step_frame(report, step, "C", NULL);
        expect_hex(b, a, describe("step %d: B's frame of page 0 (A's)", step));
        expect_hex(c, a, describe("step %d: C's frame of page 0 (A's)", step));
        step_line(report, step, "one frame for", line);
        expect_true(strcmp(line, "one frame for A, B and C") == 0,
                    describe("step %d says so: %s", step, line));
    }
    step_line(report, 2, "faults:", line);
    expect_true(starts_with(line, "faults: major 1, minor 2 (copy-on-write 0"),
                describe("step 2: one major fault, two minor: %s", line));
    expect_true(strstr(line, "file reads 1,") != NULL,
                describe("step 2: the file read once: %s", line));
    free(report);
}

static void
test_demo_sharing_shows_c_on_a_frame_of_its_own_after_it_writes(void) {
    char *report = malloc(REPORT_SIZE), line[LINE_SIZE];
    unsigned a, b, c;

    if (!report)
        setup_failed("malloc");
    run_sharing_demo(NULL, report);
    a = step_frame(report, 4, "A", NULL);
    b = step_frame(report, 4, "B", NULL);
    c = step_frame(report, 4, "C", NULL);
    expect_hex(b, a, "step 4: B's frame of page 0 (still A's)");
    expect_true(c != a, describe("step 4: C's frame 0x%x differs from A's "
                                 "0x%x",
                                 c, a));
    expect_hex(a, step_frame(report, 3, "A", NULL),
               "step 4: A's frame, the one all three shared in step 3");
    step_line(report, 4, "one frame for", line);
    expect_true(strcmp(line, "one frame for A and B, another for C") == 0,
                describe("step 4 says so: %s", line));
    step_line(report, 4, "faults:", line);
    expect_true(strstr(line, "(copy-on-write 1 of them)") != NULL,
                describe("step 4: one copy-on-write fault: %s", line));
    free(report);
}

static void
test_demo_sharing_shows_b_seeing_a_s_writes_and_c_only_the_first(void) {
    char *report = malloc(REPORT_SIZE), reads[LINE_SIZE];

    if (!report)
        setup_failed("malloc");
    run_sharing_demo(NULL, report);
    step_frame(report, 3, "B", reads);
    expect_true(starts_with(reads, "A1A1"),
                describe("step 3: B reads A's first write: \"%s\"", reads));
    step_frame(report, 3, "C", reads);
    expect_true(starts_with(reads, "A1A1"),
                describe("step 3: C, not written yet, reads A's first write: "
                         "\"%s\"",
                         reads));
    step_frame(report, 4, "B", reads);
    expect_true(starts_with(reads, "A2A2"),
                describe("step 4: B reads A's second write: \"%s\"", reads));
    step_frame(report, 4, "C", reads);
    expect_true(strstr(reads, "A2A2") == NULL && starts_with(reads, "A1A1") &&
                    strstr(reads, "C1C1") != NULL,
                describe("step 4: C reads its copy (A's first write and its "
                         "own), not A's second: \"%s\"",
                         reads));
    free(report);
}

static void
test_demo_sharing_shows_the_file_holding_a_s_bytes_after_msync(void) {
    char *report = malloc(REPORT_SIZE), line[LINE_SIZE];

    if (!report)
        setup_failed("malloc");
    run_sharing_demo(NULL, report);
    step_line(report, 5, "before:", line);
    expect_true(strstr(line, "\"page 00, line 00\"") != NULL,
                describe("step 5: the file before msync: %s", line));
    step_line(report, 5, "after:", line);
    expect_true(strstr(line, "\"A2A2 00, line 00\"") != NULL,
                describe("step 5: A's bytes, not C's, after msync: %s", line));
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
        step_line(report, 5, "A's last write", line);
        expect_true(strstr(line, "C's \"C1C1\" is not") != NULL,
                    describe("step 5 of a %zu-byte file: %s", length, line));
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

/*
 * The rights ("rw" or "r-", in `rights`, 3 bytes) and frame that process
 * `name` ("A" or "B") shows for page `page` in the table of step `step`.
 */
static unsigned fork_entry(const char *report, int step, unsigned page,
                           const char *name, char *rights) {
    char line[LINE_SIZE], start[16], key[8];
    unsigned frame = 0;
    const char *at;

    snprintf(start, sizeof start, "page %u ", page);
    step_line(report, step, start, line);
    /* "page 0  A: r- 0x00003000 \"A0-first\"   B: r- 0x00003000 ..." */
    snprintf(key, sizeof key, " %s: ", name);
    at = strstr(line, key);
    if (!at || sscanf(at + strlen(key), "%2s %x", rights, &frame) != 2 ||
        frame == 0)
        fail(__FILE__, __LINE__,
             "step %d: expected %s's rights and frame of page %u in: %s",
             step, name, page, line);
    return frame;
}

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
        a = fork_entry(report, 2, page, "A", a_rights);
        b = fork_entry(report, 2, page, "B", b_rights);
        expect_hex(b, a, describe("step 2: B's frame of page %u (A's)", page));
        expect_true(strcmp(a_rights, "r-") == 0 && strcmp(b_rights, "r-") == 0,
                    describe("step 2, page %u: read-only in both, but A %s, "
                             "B %s",
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
    a3 = fork_entry(report, 3, 0, "A", rights);
    b3 = fork_entry(report, 3, 0, "B", rights);
    expect_true(strcmp(rights, "rw") == 0,
                describe("step 3: B's copy is writable, but %s", rights));
    expect_true(b3 != a3, describe("step 3: B's frame 0x%x differs from A's "
                                   "0x%x",
                                   b3, a3));
    step_line(report, 3, "faults:", line);
    expect_true(strstr(line, "(copy-on-write 1 of them)") != NULL,
                describe("step 3: one copy-on-write fault: %s", line));
    a4 = fork_entry(report, 4, 0, "A", rights);
    expect_hex(a4, a3, "step 4: A's frame of page 0, written in place");
    expect_true(strcmp(rights, "rw") == 0,
                describe("step 4: A's entry writable, but %s", rights));
    step_line(report, 4, "in place:", line);
    step_line(report, 4, "faults:", line);
    expect_true(strstr(line, "(copy-on-write 1 of them)") != NULL,
                describe("step 4: still one copy-on-write fault: %s", line));
    free(report);
}

static void test_demo_fork_shows_a_page_going_to_swap_and_back(void) {
    char *report = malloc(REPORT_SIZE), line[LINE_SIZE];
    unsigned out_slot = 0, in_slot = 0, outs = 0, ins = 0;
    const char *at;

    if (!report)
        setup_failed("malloc");
    run_fork_demo(false, report);
    step_line(report, 5, "A's page", line);
    at = strstr(line, "went to swap slot ");
    expect_true(at && sscanf(at, "went to swap slot %u", &out_slot) == 1 &&
                    out_slot > 0,
                describe("step 5: a page went to a swap slot: %s", line));
    step_line(report, 6, "A's page", line);
    at = strstr(line, "came back from swap slot ");
    expect_true(at && sscanf(at, "came back from swap slot %u", &in_slot) == 1,
                describe("step 6: the page came back from swap: %s", line));
    expect_size(in_slot, out_slot, "step 6: the slot it came back from");
    expect_true(strstr(line, "as before") != NULL,
                describe("step 6: its bytes as before: %s", line));
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
    static const char *const words[] = {
        "page fault   B: page 0 of A's first mapping (va 0x",
        "copy-on-write, copied into a frame of its own",
        "swap out     a page written to swap slot ",
        "swap in      a page read back from swap slot ",
        "swap-in, an anonymous page read back from swap",
        "; written to swap first",
    };
    char *report = malloc(REPORT_SIZE);
    size_t i;

    if (!report)
        setup_failed("malloc");
    run_fork_demo(true, report);
    for (i = 0; i < sizeof words / sizeof words[0]; i++)
        expect_true(strstr(report, words[i]) != NULL,
                    describe("the trace says \"%s\"", words[i]));
    expect_true(strstr(report, "va 0x00000000: refused") == NULL,
                "no event of the trace taken for a refused access at 0");
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
