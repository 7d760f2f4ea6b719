/*
 * tests/replay_tests.c: the policy lab's replay (replay.h) and
 * programs/mmap_replay: the textbook numbers, Belady's anomaly, every
 * policy's choices on a short trace step by step, the trace forms, the
 * JSON, and the program's table and CSV.
 */
#include "helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "replay.h"

#define OUTPUT_SIZE 16384
#define MAX_STEPS 64

/* What a run's steps showed, one word per reference. */
typedef struct {
    char summary[1024]; /* "f f f f(1) h ...": hit, fault, fault(victim) */
    size_t victim_frames[MAX_STEPS];
    char victim_notes[MAX_STEPS][40]; /* the policy's, before it left */
    size_t victims;
    const replay_trace *trace;
} steps_seen;

static void record_step(void *context, const replay_result *run,
                        const replay_step *step) {
    steps_seen *seen = context;
    size_t used = strlen(seen->summary);
    char name[32] = "";
    (void)run;
    if (step->evicted) {
        replay_page_name(seen->trace, step->victim.page, name, sizeof name);
        if (seen->victims < MAX_STEPS) {
            memcpy(seen->victim_notes[seen->victims], step->victim.note,
                   sizeof step->victim.note);
            seen->victim_frames[seen->victims++] = step->victim.frame;
        }
    }
    snprintf(seen->summary + used, sizeof seen->summary - used, "%s%s%s%s%s",
             used ? " " : "", step->fault ? "f" : "h",
             step->evicted ? "(" : "", name, step->evicted ? ")" : "");
}

/* Parses `text`, or fails the test naming the parser's complaint. */
static replay_trace *parse_or_fail(const char *text) {
    char error[128] = "";
    replay_trace *trace = replay_parse(text, error, sizeof error);
    if (!trace)
        fail(__FILE__, __LINE__, "replay_parse(\"%s\"): expected a trace, "
             "got %s (%s)", text, errno_name(errno), error);
    return trace;
}

/* One run of `text` under `policy` with `frames`, its steps into `seen`. */
static replay_result run_steps(const char *text, kernel_policy policy,
                               size_t frames, steps_seen *seen) {
    replay_result result;
    memset(seen, 0, sizeof *seen);
    seen->trace = parse_or_fail(text);
    if (replay_runs(seen->trace, &policy, 1, frames, frames, &result,
                    record_step, seen) != 0)
        fail(__FILE__, __LINE__, "replay_runs(%s, %zu frames): %s",
             kernel_policy_name(policy), frames, errno_name(errno));
    replay_trace_free((replay_trace *)seen->trace);
    seen->trace = NULL;
    return result;
}

/* The faults of `text` under `policy` with `frames`, without steps. */
static size_t faults_of(const char *text, kernel_policy policy, size_t frames) {
    replay_trace *trace = parse_or_fail(text);
    replay_result result;
    if (replay_runs(trace, &policy, 1, frames, frames, &result, NULL, NULL) != 0)
        fail(__FILE__, __LINE__, "replay_runs(%s, %zu frames): %s",
             kernel_policy_name(policy), frames, errno_name(errno));
    replay_trace_free(trace);
    return result.faults;
}

static void expect_steps(const steps_seen *seen, const char *want,
                         const char *what) {
    if (strcmp(seen->summary, want) != 0)
        fail(__FILE__, __LINE__, "%s: expected the steps\n  %s\nbut they were\n  %s",
             what, want, seen->summary);
}

static const char beladys_string[] = "1,2,3,4,1,2,5,1,2,3,4,5";
static const char silberschatz_string[] =
    "7,0,1,2,0,3,0,4,2,3,0,3,2,1,2,0,1,7,0,1";

static void test_replay_fifo_on_beladys_string_faults_9_with_3_frames_and_10_with_4(void) {
    expect_size(faults_of(beladys_string, KERNEL_POLICY_FIFO, 3), 9,
                "FIFO faults on Belady's string with 3 frames");
    expect_size(faults_of(beladys_string, KERNEL_POLICY_FIFO, 4), 10,
                "FIFO faults on Belady's string with 4 frames");
}

static void test_replay_reference_string_may_be_separated_by_blanks(void) {
    const char *blanks = "1 2 3 4 1 2 5 1 2 3 4 5";
    expect_size(faults_of(blanks, KERNEL_POLICY_FIFO, 3), 9,
                "FIFO's faults, 3 frames, numbers separated by blanks");
    expect_size(faults_of(blanks, KERNEL_POLICY_FIFO, 4), 10,
                "FIFO's faults, 4 frames, numbers separated by blanks");
    expect_size(faults_of("1 , 2,3\t4", KERNEL_POLICY_FIFO, 3), 4,
                "commas and blanks mixed");
}

static void test_replay_silberschatz_string_with_3_frames_faults_15_fifo_12_lru_9_opt(void) {
    expect_size(faults_of(silberschatz_string, KERNEL_POLICY_FIFO, 3), 15,
                "FIFO faults on the Silberschatz string with 3 frames");
    expect_size(faults_of(silberschatz_string, KERNEL_POLICY_LRU, 3), 12,
                "LRU faults on the Silberschatz string with 3 frames");
    expect_size(faults_of(silberschatz_string, KERNEL_POLICY_OPT, 3), 9,
                "OPT faults on the Silberschatz string with 3 frames");
}

static void test_replay_flags_beladys_anomaly_only_where_more_frames_fault_more(void) {
    kernel_policy policies[] = {KERNEL_POLICY_FIFO, KERNEL_POLICY_LRU};
    replay_result results[2 * 3];
    replay_trace *trace = parse_or_fail(beladys_string);

    expect_size(replay_runs(trace, policies, 2, 2, 4, results, NULL, NULL), 0,
                "replay_runs, fifo and lru, 2 to 4 frames");
    replay_trace_free(trace);
    for (size_t i = 0; i < 6; i++) {
        bool anomaly = results[i].policy == KERNEL_POLICY_FIFO &&
                       results[i].frames == 4;
        expect_true(results[i].belady == anomaly,
                    describe("belady flag of %s with %zu frames (%zu faults)",
                             kernel_policy_name(results[i].policy),
                             results[i].frames, results[i].faults));
        expect_size(results[i].references, 12, "references per run");
        expect_size(results[i].hits, 12 - results[i].faults, "hits per run");
    }
}

static void test_replay_fifo_steps_evict_in_load_order(void) {
    steps_seen seen;
    run_steps(beladys_string, KERNEL_POLICY_FIFO, 3, &seen);
    expect_steps(&seen, "f f f f(1) f(2) f(3) f(4) h h f(1) f(2) h",
                 "FIFO, 3 frames, Belady's string");
}

static void test_replay_lru_steps_evict_the_page_used_longest_ago(void) {
    steps_seen seen;
    run_steps(beladys_string, KERNEL_POLICY_LRU, 3, &seen);
    expect_steps(&seen, "f f f f(1) f(2) f(3) f(4) h h f(5) f(1) f(2)",
                 "LRU, 3 frames, Belady's string");
}

/* Ties (pages never used again) go to the lowest frame number. */
static void test_replay_opt_steps_evict_the_page_used_farthest_ahead(void) {
    steps_seen seen;
    run_steps(beladys_string, KERNEL_POLICY_OPT, 3, &seen);
    expect_steps(&seen, "f f f f(3) h h f(4) h h f(1) f(3) h",
                 "OPT, 3 frames, Belady's string");
}

/*
 * After 4 evicts 1 (every mark cleared on the way), 2 is used again: the
 * clock passes over it, where FIFO takes it as the oldest.
 */
static void test_replay_clock_steps_give_a_used_page_a_second_chance(void) {
    steps_seen seen;
    run_steps("1,2,3,4,2,5", KERNEL_POLICY_CLOCK, 3, &seen);
    expect_steps(&seen, "f f f f(1) h f(3)", "clock, 3 frames, 1,2,3,4,2,5");
    run_steps("1,2,3,4,2,5", KERNEL_POLICY_FIFO, 3, &seen);
    expect_steps(&seen, "f f f f(1) h f(2)", "FIFO, 3 frames, 1,2,3,4,2,5");
}

/*
 * Page 1 is written: with every page referenced, nru takes the first
 * clean one (2) where the clock takes 1 and writes it back.
 */
static void test_replay_nru_steps_prefer_a_clean_page_to_a_dirty_one(void) {
    steps_seen seen;
    replay_result result = run_steps("1w,2,3,4,5", KERNEL_POLICY_NRU, 3, &seen);
    expect_steps(&seen, "f f f f(2) f(3)", "nru, 3 frames, 1w,2,3,4,5");
    expect_size(result.writebacks, 0, "nru's write-backs");
    result = run_steps("1w,2,3,4,5", KERNEL_POLICY_CLOCK, 3, &seen);
    expect_steps(&seen, "f f f f(1) f(2)", "clock, 3 frames, 1w,2,3,4,5");
    expect_size(result.writebacks, 1, "the clock's write-backs (page 1)");
}

/*
 * random draws frame 1 + splitmix64() % total, seeded with
 * MMAP_POLICY_SEED, and takes the first frame from there that can go
 * (the pool's frames 1 and 2 hold the page directory and table, pinned).
 */
static void test_replay_random_steps_follow_splitmix64_from_the_seed(void) {
    enum { FRAMES = 3, TOTAL = FRAMES + 2 };
    steps_seen seen;
    uint64_t state = 7;

    setenv("MMAP_POLICY_SEED", "7", 1);
    run_steps("1,2,3,4,5,6,7,8", KERNEL_POLICY_RANDOM, FRAMES, &seen);
    expect_size(seen.victims, 5, "evictions of 8 pages in 3 frames");
    for (size_t i = 0; i < seen.victims; i++) {
        size_t frame = 1 + (size_t)(splitmix64(&state) % TOTAL);
        if (frame <= 2)
            frame = 3;
        expect_size(seen.victim_frames[i], frame,
                    describe("frame of victim %zu", i + 1));
    }
}

/* The page tables come before the policy starts: the trace's loads count. */
static void test_replay_fifo_and_lru_notes_count_loads_and_uses_from_1(void) {
    steps_seen seen;
    run_steps(beladys_string, KERNEL_POLICY_FIFO, 3, &seen);
    expect_true(strcmp(seen.victim_notes[0], "loaded 1") == 0,
                describe("FIFO's first victim's note, \"%s\"", seen.victim_notes[0]));
    expect_true(strcmp(seen.victim_notes[4], "loaded 5") == 0,
                describe("FIFO's fifth victim (page 1, loaded again as the "
                         "5th load), \"%s\"", seen.victim_notes[4]));
    run_steps(beladys_string, KERNEL_POLICY_LRU, 3, &seen);
    expect_true(strcmp(seen.victim_notes[4], "used 7") == 0,
                describe("LRU's fifth victim (page 5, used at the 7th "
                         "reference), \"%s\"", seen.victim_notes[4]));
}

static void test_replay_random_is_the_same_for_the_same_seed(void) {
    steps_seen first, again;
    setenv("MMAP_POLICY_SEED", "12345", 1);
    run_steps(silberschatz_string, KERNEL_POLICY_RANDOM, 3, &first);
    run_steps(silberschatz_string, KERNEL_POLICY_RANDOM, 3, &again);
    expect_steps(&again, first.summary, "a second run with the same seed");
}

static void test_replay_counts_write_backs_of_dirty_victims_only(void) {
    steps_seen seen;
    replay_result result = run_steps("1w,2,3,4", KERNEL_POLICY_FIFO, 3, &seen);
    expect_size(result.writebacks, 1, "write-backs when dirty page 1 goes");
    result = run_steps("1,2w,3,4", KERNEL_POLICY_FIFO, 3, &seen);
    expect_size(result.writebacks, 0, "write-backs when clean page 1 goes");
    expect_size(result.tlb_misses, 4, "TLB misses: one per page brought in");
}

static void test_replay_reads_address_lines_and_lackey_lines(void) {
    static const char text[] =
        "==1234== Lackey, an example Valgrind tool\n"
        "R 0x1000\n"
        "W 1fff\n"
        "R 0x2000 3\n"
        "I  04001000,3\n"
        " L 1ffefff000,8\n"
        " S 1ffefff008,8\n"
        " M 0403f000,4\n"
        "# a comment\n";
    replay_trace *trace = parse_or_fail(text);
    char name[32];

    expect_size(replay_trace_references(trace), 7, "references");
    expect_size(replay_trace_pages(trace), 5,
                "pages: 0x1 (twice), 0x2 of process 3, 0x4001, "
                "0x1ffefff (twice), 0x403f");
    replay_page_name(trace, 1, name, sizeof name);
    expect_true(strcmp(name, "0x2@3") == 0,
                describe("the second page's name, \"%s\"", name));
    replay_trace_free(trace);
}

static void test_replay_refuses_text_that_is_no_trace_naming_the_line(void) {
    char error[128] = "";
    errno = 0;
    expect_true(replay_parse("1,2\n3,x\n", error, sizeof error) == NULL,
                "parse of \"3,x\"");
    expect_errno(errno, EINVAL, "parse of \"3,x\"");
    expect_true(strncmp(error, "line 2:", 7) == 0,
                describe("the complaint, \"%s\"", error));
    expect_true(replay_parse("# nothing\n", error, sizeof error) == NULL,
                "parse of a trace with no reference");
    expect_errno(errno, EINVAL, "parse of a trace with no reference");
}

static void test_replay_json_has_one_object_per_run_with_every_key(void) {
    char *json = replay_json(beladys_string, "fifo,lru", 3, 4, false);
    static const char *const keys[] = {
        "\"policy\":", "\"frames\":", "\"references\":", "\"faults\":",
        "\"hits\":", "\"writebacks\":", "\"tlb_misses\":", "\"belady\":"};

    expect_true(json != NULL, "replay_json");
    size_t objects = 0;
    for (const char *at = json; (at = strstr(at, "{\"policy\"")); at++)
        objects++;
    expect_size(objects, 4, "objects: fifo and lru, 3 and 4 frames");
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        expect_true(strstr(json, keys[i]), describe("key %s in\n%s", keys[i], json));
    expect_true(strstr(json, "{\"policy\":\"fifo\",\"frames\":4,"
                             "\"references\":12,\"faults\":10,\"hits\":2,"),
                describe("fifo with 4 frames, 10 faults, in\n%s", json));
    expect_true(strstr(json, "\"belady\":true"), "a belady flag set");
    free(json);
}

static void test_replay_json_steps_and_errors_are_json_too(void) {
    char *json = replay_json("1,2,1", "fifo", 1, 1, true);
    expect_true(json && strstr(json, "\"steps\":[{\"index\":0,\"page\":\"1\""),
                describe("steps in %s", json ? json : "(null)"));
    expect_true(strstr(json, "\"evicted\":{\"frame\":"), "an eviction shown");
    free(json);
    json = replay_json("1,two", "fifo", 1, 1, false);
    expect_true(json && strncmp(json, "{\"error\":\"line 1:", 17) == 0,
                describe("the error object, %s", json ? json : "(null)"));
    free(json);
}

static void test_replay_leaves_the_clock_and_an_empty_pool(void) {
    expect_size(faults_of(silberschatz_string, KERNEL_POLICY_OPT, 3), 9,
                "OPT faults");
    expect_size((size_t)kernel_current_policy(), KERNEL_POLICY_CLOCK,
                "the policy after a replay");
    expect_size(kernel_frames_free(), kernel_frames_total(),
                "free frames after a replay");
    errno = 0;
    expect_true(kernel_set_policy(KERNEL_POLICY_OPT) == -1,
                "opt selected after the replay");
    expect_errno(errno, EINVAL, "opt selected after the replay");
}

/* Runs programs/mmap_replay with `args` on stdin `input`; its output. */
static void run_replay_program(char *const *args, const char *input,
                               char *output) {
    char root[PATH_MAX], program[PATH_MAX];
    int to_child[2], from_child[2], status;
    char *argv[16] = {program};
    pid_t child;

    repository_root(root);
    join_path(program, root, "programs/mmap_replay");
    for (size_t i = 0; args[i] && i < 14; i++)
        argv[i + 1] = args[i];
    if (pipe(to_child) != 0 || pipe(from_child) != 0)
        fail(__FILE__, __LINE__, "pipe: %s", strerror(errno));
    fflush(stdout);
    child = fork();
    if (child == 0) {
        dup2(to_child[0], 0);
        dup2(from_child[1], 1);
        close(to_child[1]);
        close(from_child[0]);
        execv(program, argv);
        _exit(127);
    }
    close(to_child[0]);
    close(from_child[1]);
    if (write(to_child[1], input, strlen(input)) != (ssize_t)strlen(input))
        fail(__FILE__, __LINE__, "writing the trace: %s", strerror(errno));
    close(to_child[1]);
    read_to_end_of(from_child[0], output, OUTPUT_SIZE);
    close(from_child[0]);
    waitpid(child, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail(__FILE__, __LINE__, "mmap_replay: expected exit 0, but it %s; "
             "it printed:\n%s", describe_wait_status(status), output);
}

static void test_replay_program_table_flags_beladys_anomaly(void) {
    static char output[OUTPUT_SIZE];
    char trace[PATH_MAX];
    join_path(trace, fixture_dir, "traces/belady.txt");
    char *args[] = {"--policy", "fifo", "--frames", "3-4", trace, NULL};

    run_replay_program(args, "", output);
    expect_true(strstr(output, "fifo         3       9"),
                describe("fifo, 3 frames, 9 faults in\n%s", output));
    expect_true(strstr(output, "fifo         4      10"),
                describe("fifo, 4 frames, 10 faults in\n%s", output));
    expect_true(strstr(output, "Belady's anomaly"),
                describe("the anomaly named in\n%s", output));
}

static void test_replay_program_csv_reads_standard_input(void) {
    static char output[OUTPUT_SIZE];
    char *args[] = {"--policy", "lru,opt", "--frames", "3", "--csv", NULL};

    run_replay_program(args, silberschatz_string, output);
    expect_true(strstr(output, "policy,frames,references,faults,hits,"),
                describe("the CSV header in\n%s", output));
    expect_true(strstr(output, "\nlru,3,20,12,8,"),
                describe("lru's row in\n%s", output));
    expect_true(strstr(output, "\nopt,3,20,9,11,"),
                describe("opt's row in\n%s", output));
}

static void test_replay_program_steps_name_each_victim(void) {
    static char output[OUTPUT_SIZE];
    char *args[] = {"--policy", "opt", "--frames", "3", "--steps", NULL};

    run_replay_program(args, beladys_string, output);
    expect_true(strstr(output, "out: 3 (frame 5, was R=1 D=0, next use at ref 9)"),
                describe("opt's first victim and why, in\n%s", output));
    expect_true(strstr(output, "never used again"),
                describe("a victim never used again, in\n%s", output));
}

/* test_files/traces/`name`, as a string (load_file leaves room for it). */
static unsigned char *load_trace(const char *name) {
    size_t size;
    unsigned char *text = load_fixture(name, &size);
    text[size] = '\0';
    return text;
}

static void test_replay_shipped_traces_give_the_textbook_numbers(void) {
    unsigned char *text;

    text = load_trace("traces/silberschatz.txt");
    expect_size(faults_of((char *)text, KERNEL_POLICY_FIFO, 3), 15,
                "FIFO on traces/silberschatz.txt");
    free(text);
    text = load_trace("traces/looping.txt");
    size_t lru = faults_of((char *)text, KERNEL_POLICY_LRU, 3);
    for (int which = 0; which < KERNEL_POLICY_COUNT; which++)
        if (which != KERNEL_POLICY_LRU)
            expect_true(faults_of((char *)text, (kernel_policy)which, 3) < lru,
                        describe("%s faults fewer than LRU's %zu on "
                                 "traces/looping.txt",
                                 kernel_policy_name((kernel_policy)which), lru));
    free(text);
    text = load_trace("traces/lackey.txt");
    expect_at_least(faults_of((char *)text, KERNEL_POLICY_CLOCK, 8), 8,
                    "faults of traces/lackey.txt in 8 frames");
    free(text);
}

static const test_case replay_tests[] = {
    TEST(replay_fifo_on_beladys_string_faults_9_with_3_frames_and_10_with_4),
    TEST(replay_reference_string_may_be_separated_by_blanks),
    TEST(replay_silberschatz_string_with_3_frames_faults_15_fifo_12_lru_9_opt),
    TEST(replay_flags_beladys_anomaly_only_where_more_frames_fault_more),
    TEST(replay_fifo_steps_evict_in_load_order),
    TEST(replay_lru_steps_evict_the_page_used_longest_ago),
    TEST(replay_opt_steps_evict_the_page_used_farthest_ahead),
    TEST(replay_clock_steps_give_a_used_page_a_second_chance),
    TEST(replay_nru_steps_prefer_a_clean_page_to_a_dirty_one),
    TEST(replay_random_steps_follow_splitmix64_from_the_seed),
    TEST(replay_fifo_and_lru_notes_count_loads_and_uses_from_1),
    TEST(replay_random_is_the_same_for_the_same_seed),
    TEST(replay_counts_write_backs_of_dirty_victims_only),
    TEST(replay_reads_address_lines_and_lackey_lines),
    TEST(replay_refuses_text_that_is_no_trace_naming_the_line),
    TEST(replay_json_has_one_object_per_run_with_every_key),
    TEST(replay_json_steps_and_errors_are_json_too),
    TEST(replay_leaves_the_clock_and_an_empty_pool),
    TEST(replay_program_table_flags_beladys_anomaly),
    TEST(replay_program_csv_reads_standard_input),
    TEST(replay_program_steps_name_each_victim),
    TEST(replay_shipped_traces_give_the_textbook_numbers),
};

const test_suite replay_suite = {"replay", replay_tests,
                                 sizeof replay_tests / sizeof replay_tests[0]};
