/*
 * tests/play_tests.c: play.h, the playground's engine: every statement
 * runs, a refused access is an outcome, each shipped scenario runs to its
 * end, the JSON shows what the machine did (a frame shared after fork, a
 * copy after a write, a swap slot), and the deltas, applied in order,
 * rebuild the final snapshot. A small JSON reader below reads the runs.
 */
#include "helpers.h"

#include <ctype.h>
#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "play.h"

/* ---- A small JSON reader, for the tests alone ---- */

typedef struct json json;
struct json {
    char type;  /* 'o' object, 'a' array, 's' string, 'n' number, 'l' literal */
    char *text; /* a string's bytes (escapes kept), a number's or literal's */
    size_t count;
    char **keys; /* objects */
    json **items;
};

static json *json_value(const char **at);

static void skip_space(const char **at) {
    while (**at == ' ' || **at == '\n' || **at == '\t' || **at == '\r')
        (*at)++;
}

static json *json_new(char type) {
    json *j = calloc(1, sizeof *j);
    if (!j)
        setup_failed("calloc");
    j->type = type;
    return j;
}

/* A string's bytes as written between its quotes (escapes kept). */
static char *json_string_text(const char **at) {
    const char *start = ++*at;
    while (**at && **at != '"')
        *at += **at == '\\' ? 2 : 1;
    char *text = strndup(start, (size_t)(*at - start));
    if (!text || **at != '"')
        fail(__FILE__, __LINE__, "expected a JSON string to end");
    (*at)++;
    return text;
}

static void json_add(json *j, char *key, json *item) {
    j->keys = realloc(j->keys, (j->count + 1) * sizeof *j->keys);
    j->items = realloc(j->items, (j->count + 1) * sizeof *j->items);
    if (!j->keys || !j->items)
        setup_failed("realloc");
    j->keys[j->count] = key;
    j->items[j->count++] = item;
}

static json *json_container(const char **at, char type, char close) {
    json *j = json_new(type);
    (*at)++;
    skip_space(at);
    while (**at != close) {
        char *key = NULL;
        if (type == 'o') {
            skip_space(at);
            key = json_string_text(at);
            skip_space(at);
            if (*(*at)++ != ':')
                fail(__FILE__, __LINE__, "expected ':' in JSON");
        }
        json_add(j, key, json_value(at));
        skip_space(at);
        if (**at == ',')
            (*at)++;
        else if (**at != close)
            fail(__FILE__, __LINE__, "expected ',' or '%c' in JSON at \"%.20s\"",
                 close, *at);
        skip_space(at);
    }
    (*at)++;
    return j;
}

static json *json_value(const char **at) {
    skip_space(at);
    if (**at == '{')
        return json_container(at, 'o', '}');
    if (**at == '[')
        return json_container(at, 'a', ']');
    json *j = json_new(**at == '"' ? 's' : isdigit((unsigned char)**at) ||
                                               **at == '-' ? 'n' : 'l');
    if (j->type == 's') {
        j->text = json_string_text(at);
        return j;
    }
    const char *start = *at;
    while (**at && !strchr(",]} \n", **at))
        (*at)++;
    j->text = strndup(start, (size_t)(*at - start));
    if (!j->text || *at == start)
        fail(__FILE__, __LINE__, "expected a JSON value at \"%.20s\"", start);
    return j;
}

static json *json_parse(const char *text) {
    if (!text)
        fail(__FILE__, __LINE__, "expected JSON, got NULL (errno %s)",
             errno_name(errno));
    const char *at = text;
    json *j = json_value(&at);
    skip_space(&at);
    expect_true(*at == '\0', "nothing after the JSON value");
    return j;
}

static void json_free(json *j);

/* json_parse of a string made for it, which is freed. */
static json *json_parse_owned(char *text) {
    json *j = json_parse(text);
    free(text);
    return j;
}

static void json_free(json *j) {
    if (!j)
        return;
    for (size_t i = 0; i < j->count; i++) {
        free(j->keys[i]);
        json_free(j->items[i]);
    }
    free(j->keys);
    free(j->items);
    free(j->text);
    free(j);
}

static json *json_get(const json *j, const char *key) {
    for (size_t i = 0; j && j->type == 'o' && i < j->count; i++)
        if (strcmp(j->keys[i], key) == 0)
            return j->items[i];
    return NULL;
}

static bool json_is(const json *j, const char *literal) {
    return j && j->text && strcmp(j->text, literal) == 0;
}

static json *json_copy(const json *j) {
    json *c = json_new(j->type);
    c->text = j->text ? strdup(j->text) : NULL;
    for (size_t i = 0; i < j->count; i++)
        json_add(c, j->keys[i] ? strdup(j->keys[i]) : NULL,
                 json_copy(j->items[i]));
    return c;
}

/* Sets `key` of object `j` to `value` (taken), or removes it (NULL). */
static void json_set(json *j, const char *key, json *value) {
    for (size_t i = 0; i < j->count; i++) {
        if (strcmp(j->keys[i], key) != 0)
            continue;
        json_free(j->items[i]);
        if (value) {
            j->items[i] = value;
            return;
        }
        free(j->keys[i]);
        j->count--;
        memmove(&j->keys[i], &j->keys[i + 1], (j->count - i) * sizeof *j->keys);
        memmove(&j->items[i], &j->items[i + 1],
                (j->count - i) * sizeof *j->items);
        return;
    }
    if (value)
        json_add(j, strdup(key), value);
}

/* Objects compare as sets of keys; arrays in order. */
static bool json_equal(const json *a, const json *b) {
    if (!a || !b || a->type != b->type || a->count != b->count)
        return false;
    if (a->text && (!b->text || strcmp(a->text, b->text) != 0))
        return false;
    for (size_t i = 0; i < a->count; i++) {
        const json *other = a->type == 'o' ? json_get(b, a->keys[i])
                                           : b->items[i];
        if (!json_equal(a->items[i], other))
            return false;
    }
    return true;
}

/* The object under `key` of `j`, made empty when missing. */
static json *json_child(json *j, const char *key) {
    json *child = json_get(j, key);
    if (!child) {
        json_set(j, key, json_new('o'));
        child = json_get(j, key);
    }
    return child;
}

/* A map of the delta: each key set whole, or removed by null. */
static void apply_map(json *state, const json *delta) {
    for (size_t i = 0; i < delta->count; i++)
        json_set(state, delta->keys[i],
                 json_is(delta->items[i], "null") ? NULL
                                                  : json_copy(delta->items[i]));
}

static void apply_delta(json *state, const json *delta) {
    for (size_t i = 0; i < delta->count; i++) {
        const char *key = delta->keys[i];
        const json *value = delta->items[i];
        if (strcmp(key, "processes") == 0) {
            json *processes = json_child(state, key);
            for (size_t p = 0; p < value->count; p++) {
                const json *change = value->items[p];
                if (json_is(change, "null")) {
                    json_set(processes, value->keys[p], NULL);
                    continue;
                }
                json *process = json_child(processes, value->keys[p]);
                for (size_t k = 0; k < change->count; k++)
                    if (strcmp(change->keys[k], "entries") == 0)
                        apply_map(json_child(process, "entries"),
                                  change->items[k]);
                    else
                        json_set(process, change->keys[k],
                                 json_copy(change->items[k]));
            }
        } else if (!strcmp(key, "frames") || !strcmp(key, "page_cache") ||
                   !strcmp(key, "swap")) {
            apply_map(json_child(state, key), value);
        } else {
            json_set(state, key, json_copy(value));
        }
    }
}

/* ---- Runs ---- */

/* The text of scenarios/NAME. */
static char *scenario_text(const char *name) {
    char root[PATH_MAX], folder[PATH_MAX], path[PATH_MAX];
    repository_root(root);
    join_path(folder, root, "scenarios");
    join_path(path, folder, name);
    size_t size;
    unsigned char *bytes = load_file(path, &size);
    char *text = realloc(bytes, size + 1);
    if (!text)
        setup_failed("realloc");
    text[size] = '\0';
    return text;
}

/* Runs `text` from the repository root; the run must be ok. */
static play_run *run_ok(const char *text, const char *name) {
    char root[PATH_MAX];
    repository_root(root);
    play_run *run = play_run_scenario(text, name, root);
    if (!run)
        fail(__FILE__, __LINE__, "%s: expected a run, got NULL (errno %s)",
             name, errno_name(errno));
    if (!play_run_ok(run))
        fail(__FILE__, __LINE__, "%s: expected it to run, but %zu:%zu: %s",
             name, play_run_error(run)->line, play_run_error(run)->column,
             play_run_error(run)->message);
    return run;
}

static json *run_json(const char *name) {
    char *text = scenario_text(name);
    play_run *run = run_ok(text, name);
    char *out = play_run_to_json(run);
    json *j = json_parse(out);
    free(out);
    play_run_delete(run);
    free(text);
    return j;
}

/* The delta's entry of `pid` at `page` in step `step`, or NULL. */
static json *delta_entry(const json *step, const char *pid, const char *page) {
    json *processes = json_get(json_get(step, "delta"), "processes");
    return json_get(json_get(json_get(processes, pid), "entries"), page);
}

/* The first step whose source starts with `prefix`, or fails. */
static const json *step_with(const json *run, const char *prefix) {
    const json *steps = json_get(run, "steps");
    for (size_t i = 0; steps && i < steps->count; i++) {
        const json *source = json_get(steps->items[i], "source");
        if (source && source->type == 's' &&
            strncmp(source->text, prefix, strlen(prefix)) == 0)
            return steps->items[i];
    }
    fail(__FILE__, __LINE__, "expected a step whose source starts with %s",
         prefix);
    return NULL;
}

static const char *outcome_kind(const json *step) {
    const json *kind = json_get(json_get(step, "outcome"), "kind");
    return kind ? kind->text : "(none)";
}

static void test_play_runs_every_statement_with_its_outcome(void) {
    json *run = json_parse_owned(play_run_json(
        "file f.txt \"hello world\\n\"\n"
        "mmu_add_process(A)\n"
        "fd = open(\"f.txt\", O_RDWR)\n"
        "ftruncate(fd, 8192)\n"
        "pwrite(fd, \"H\", 0)\n"
        "p = vm_mmap(A, NULL, 8192, PROT_READ|PROT_WRITE, MAP_SHARED, fd, 0)\n"
        "write(A, p + 4, \"XY\")\n"
        "read(A, p, 11)\n"
        "c = vm_fork(A)\n"
        "vm_msync(A, p, 4096, MS_SYNC|MS_INVALIDATE)\n"
        "vm_mprotect(c, p, 4096, PROT_READ)\n"
        "write(c, p, \"no\")\n"
        "vm_munmap(c, p, 4096)\n"
        "read(c, p, 1)\n"
        "b = vm_sbrk(A, 4096)\n"
        "q = vm_mmap(A, NULL, 4096, PROT_READ, MAP_SHARED, 99, 0)\n"
        "mmu_remove_process(c)\n"
        "close(fd)\n", "every", NULL));
    static const char *const kinds[] = {
        "ok", "ok", "ok", "value", "ok", "ok", "value", "ok", "read", "value",
        "ok", "ok", "segfault", "ok", "segfault", "value", "errno", "ok", "ok"};
    const json *steps = json_get(run, "steps");
    expect_true(json_is(json_get(run, "ok"), "true"), "the run is ok");
    expect_size(steps->count, sizeof kinds / sizeof kinds[0], "steps");
    for (size_t i = 0; i < steps->count; i++)
        expect_true(strcmp(outcome_kind(steps->items[i]), kinds[i]) == 0,
                    describe("step %zu's outcome: %s, expected %s", i,
                             outcome_kind(steps->items[i]), kinds[i]));
    const json *read = json_get(step_with(run, "read(A, p, 11)"), "outcome");
    expect_true(strcmp(json_get(read, "bytes")->text, "HellXYworld") == 0,
                describe("the bytes read: %s", json_get(read, "bytes")->text));
    const json *refused = json_get(step_with(run, "q = "), "outcome");
    expect_true(json_is(json_get(refused, "errno"), "EBADF"),
                "a descriptor the scenario never opened: EBADF");
    expect_true(strcmp(json_get(step_with(run, "c = "), "pid")->text, "0") == 0,
                "vm_fork acts in A, pid 0");
    json_free(run);
}

static void test_play_scenario_error_is_json_with_line_and_column(void) {
    json *run = json_parse_owned(play_run_json("mmu_add_process(A)\nread(A, q, 1)\n",
                                         "bad", NULL));
    const json *error = json_get(run, "error");
    expect_true(json_is(json_get(run, "ok"), "false"), "ok is false");
    expect_true(json_is(json_get(error, "line"), "2"), "the error's line");
    expect_true(json_is(json_get(error, "column"), "9"), "the error's column");
    expect_size(json_get(run, "steps")->count, 0, "no step ran");
    json_free(run);
    json *big = json_parse_owned(play_run_json("frames 999999\n", "big", NULL));
    expect_true(json_is(json_get(big, "ok"), "false"),
                "more frames than the pool holds: a scenario error");
    expect_true(json_is(json_get(json_get(big, "error"), "line"), "1"),
                "at the line of frames");
    json_free(big);
}

/* Calls `visit` with the name of every shipped scenario. */
static size_t each_scenario(void (*visit)(const char *name)) {
    char root[PATH_MAX], path[PATH_MAX];
    repository_root(root);
    join_path(path, root, "scenarios");
    DIR *dir = opendir(path);
    if (!dir)
        setup_failed("opendir scenarios");
    size_t count = 0;
    for (struct dirent *e = readdir(dir); e; e = readdir(dir)) {
        size_t length = strlen(e->d_name);
        if (length > 4 && strcmp(e->d_name + length - 4, ".scn") == 0) {
            visit(e->d_name);
            count++;
        }
    }
    closedir(dir);
    return count;
}

static void runs_to_its_end(const char *name) {
    char *text = scenario_text(name);
    scenario_error error;
    scenario *s = scenario_parse(text, &error);
    if (!s)
        fail(__FILE__, __LINE__, "%s: %zu:%zu: %s", name, error.line,
             error.column, error.message);
    play_run *run = run_ok(text, name);
    expect_size(play_run_steps(run), s->num_statements + 1,
                describe("%s: steps, one a statement and step 0", name));
    const play_step *last = play_run_step(run, play_run_steps(run) - 1);
    expect_size(last->line, s->statements[s->num_statements - 1].line,
                describe("%s: the last step's line", name));
    scenario_delete(s);
    play_run_delete(run);
    free(text);
}

static void test_play_every_shipped_scenario_runs_to_its_end(void) {
    expect_at_least(each_scenario(runs_to_its_end), 15, "shipped scenarios");
}

static void rebuilds_the_final_snapshot(const char *name) {
    char *text = scenario_text(name);
    play_run *run = run_ok(text, name);
    json *state = json_new('o');
    for (size_t i = 0; i < play_run_steps(run); i++) {
        json *step = json_parse(play_run_step(run, i)->json);
        apply_delta(state, json_get(step, "delta"));
        json_free(step);
    }
    char *final_text = play_run_final_snapshot(run);
    json *final = json_parse(final_text);
    expect_true(json_equal(state, final),
                describe("%s: the deltas applied in order give the final "
                         "snapshot:\n%.1500s", name, final_text));
    json_free(state);
    json_free(final);
    free(final_text);
    play_run_delete(run);
    free(text);
}

static void test_play_deltas_rebuild_the_final_snapshot(void) {
    each_scenario(rebuilds_the_final_snapshot);
}

static void test_play_fork_shares_a_frame_then_a_write_copies_it(void) {
    json *run = run_json("fork_cow.scn");
    const json *fork = step_with(run, "c = vm_fork(A)");
    const json *child = delta_entry(fork, "1", "0x40000000");
    const json *parent = delta_entry(fork, "0", "0x40000000");
    expect_not_null(child, "the child's entry in the fork's delta");
    expect_not_null(parent, "the parent's entry, made read-only by fork");
    const char *shared = json_get(child, "frame")->text;
    expect_true(strcmp(json_get(parent, "frame")->text, shared) == 0,
                "after fork both entries map the same frame");
    expect_true(json_is(json_get(child, "cow"), "true"), "marked copy-on-write");
    const json *frame = json_get(json_get(json_get(fork, "delta"), "frames"),
                                 shared);
    expect_size(json_get(frame, "mappers")->count, 2,
                "the frame's reverse map: both processes");
    const json *write = step_with(run, "write(c, p");
    const json *copy = delta_entry(write, "1", "0x40000000");
    const char *own = json_get(copy, "frame")->text;
    expect_true(strcmp(own, shared) != 0, "the write gives the child a new frame");
    const json *owned = json_get(json_get(json_get(write, "delta"), "frames"), own);
    expect_true(strcmp(json_get(owned, "owner")->text, "copy") == 0,
                "the new frame is a copy");
    bool told = false;
    const json *events = json_get(write, "events");
    for (size_t i = 0; i < events->count; i++)
        told |= strcmp(json_get(events->items[i], "kind")->text, "cow_copy") == 0;
    expect_true(told, "a cow_copy event tells of the copy");
    json_free(run);
}

static void test_play_swap_scenario_shows_a_slot(void) {
    json *run = run_json("swap.scn");
    const json *steps = json_get(run, "steps");
    bool seen = false;
    for (size_t i = 0; i < steps->count && !seen; i++) {
        const json *swap = json_get(json_get(steps->items[i], "delta"), "swap");
        for (size_t s = 0; swap && s < swap->count && !seen; s++) {
            if (json_is(swap->items[s], "null"))
                continue;
            const json *mapper = json_get(swap->items[s], "mappers")->items[0];
            const json *entry = delta_entry(steps->items[i], "0",
                                            json_get(mapper, "page")->text);
            expect_true(json_is(json_get(swap->items[s], "refs"), "1"),
                        "one entry names the slot");
            expect_true(entry && json_is(json_get(entry, "swapped"), "true"),
                        "the entry of the page is swapped");
            expect_true(json_is(json_get(entry, "slot"), swap->keys[s]),
                        "and names that slot");
            seen = true;
        }
    }
    expect_true(seen, "some step puts a page in a swap slot");
    json_free(run);
}

/* The page faults of a run: its counters as the last step left them. */
static long run_page_faults(json *run) {
    const json *steps = json_get(run, "steps");
    long faults = -1;
    for (size_t i = 0; i < steps->count; i++) {
        const json *counters =
            json_get(json_get(steps->items[i], "delta"), "counters");
        if (counters)
            faults = atol(json_get(counters, "page_faults")->text);
    }
    return faults;
}

static void test_play_belady_scenarios_run_fifo_into_the_anomaly(void) {
    json *three = run_json("belady_3.scn"), *four = run_json("belady_4.scn");
    expect_true(strcmp(json_get(three, "policy")->text, "fifo") == 0 &&
                    strcmp(json_get(four, "policy")->text, "fifo") == 0,
                "both runs under the policy their line names, fifo");
    expect_int((int)run_page_faults(three), 9, "FIFO's faults, 3 frames");
    expect_int((int)run_page_faults(four), 10, "FIFO's faults, 4 frames");
    json_free(three);
    json_free(four);
}

static void test_play_policy_a_scenario_cannot_run_is_noted(void) {
    play_run *run = run_ok("policy opt\nframes 8\nmmu_add_process(A)\n",
                           "opt");
    char *text = play_run_to_json(run);
    json *j = json_parse(text);
    expect_true(strcmp(json_get(j, "policy")->text, "clock") == 0,
                "a scenario under opt runs under the clock");
    expect_not_null(json_get(j, "notes"), "and says so in its notes");
    json_free(j);
    free(text);
    play_run_delete(run);
}

static void test_play_leaves_no_file_behind(void) {
    char directory[PATH_MAX];
    path_in_work_dir("tmp", directory);
    if (mkdir(directory, 0700) < 0 || setenv("TMPDIR", directory, 1) < 0)
        setup_failed("mkdir, setenv");
    play_run *run = run_ok("file a.txt \"a\"\nfd = open(\"a.txt\", O_RDONLY)\n",
                           "files");
    play_run_delete(run);
    DIR *dir = opendir(directory);
    size_t left = 0;
    for (struct dirent *e = dir ? readdir(dir) : NULL; e; e = readdir(dir))
        left += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    if (dir)
        closedir(dir);
    expect_size(left, 0, "files left in TMPDIR after the run");
    rmdir(directory);
}

/* As the web page runs scenarios: one after another, in
 * one process, pools of different sizes between them. */
static void test_play_runs_again_with_the_same_json(void) {
    char root[PATH_MAX];
    repository_root(root);
    char *swap = scenario_text("swap.scn"), *sharing = scenario_text("sharing.scn");
    char *first = play_run_json(swap, "swap", root);
    char *other = play_run_json(sharing, "sharing", root);
    char *again = play_run_json(swap, "swap", root);
    expect_not_null(first, "the first run's JSON");
    expect_not_null(other, "a run with another pool between");
    expect_true(first && again && strcmp(first, again) == 0,
                "the same scenario run again gives the same JSON");
    free(first);
    free(other);
    free(again);
    free(swap);
    free(sharing);
}

/* Runs `command` through the shell; its output in a fresh string. */
static char *output_of(const char *command, int *status) {
    FILE *pipe = popen(command, "r");
    if (!pipe)
        setup_failed("popen");
    size_t length = 0, room = 1 << 16;
    char *out = malloc(room);
    while (out) {
        length += fread(out + length, 1, room - length - 1, pipe);
        if (length < room - 1)
            break;
        out = realloc(out, room *= 2);
    }
    *status = pclose(pipe);
    if (!out)
        setup_failed("malloc");
    out[length] = '\0';
    return out;
}

static void test_play_mmap_play_prints_a_run_its_json_and_its_errors(void) {
    char root[PATH_MAX], command[3 * PATH_MAX], bad[PATH_MAX];
    int status;
    repository_root(root);
    snprintf(command, sizeof command,
             "cd '%s' && ./programs/mmap_play scenarios/fork_cow.scn", root);
    char *words = output_of(command, &status);
    expect_int(status, 0, "mmap_play's exit status");
    expect_true(strstr(words, "line 9: write(c, p, \"child!\")") &&
                    strstr(words, "gets a copy of the page at 0x40000000"),
                describe("the steps in words, the copy told:\n%.2000s", words));
    free(words);
    strcat(command, " --json");
    json *run = json_parse_owned(output_of(command, &status));
    expect_int(status, 0, "mmap_play --json's exit status");
    expect_true(json_is(json_get(run, "ok"), "true"), "the JSON of a run");
    json_free(run);
    static const char wrong[] = "mmu_add_process(A)\nread(A, 0, )\n";
    write_new_file("bad.scn", wrong, strlen(wrong), bad);
    snprintf(command, sizeof command, "cd '%s' && ./programs/mmap_play '%s' "
             "2>&1", root, bad);
    char *error = output_of(command, &status);
    expect_true(WIFEXITED(status) && WEXITSTATUS(status) == 1,
                "exit status 1 for a scenario error");
    expect_true(strstr(error, "bad.scn:2:12: expected the count") != NULL,
                describe("the error's place and words: %s", error));
    free(error);
}

/*
 * `file NAME at PATH` maps the caller's own file: a shared mapping's write,
 * sent by msync, is in it after the run, which leaves the file in place;
 * a copy (`from`) would leave it as it was.
 */
static void test_play_file_at_a_path_is_the_caller_s_file_in_place(void) {
    char path[PATH_MAX], text[PATH_MAX + 512];
    write_new_file("mine.txt", "hello world", 11, path);
    snprintf(text, sizeof text,
             "file f.txt at \"%s\"\n"
             "mmu_add_process(A)\n"
             "fd = open(\"f.txt\", O_RDWR)\n"
             "p = vm_mmap(A, NULL, 4096, PROT_READ|PROT_WRITE, MAP_SHARED, "
             "fd, 0)\n"
             "write(A, p, \"HELLO\")\n"
             "vm_msync(A, p, 4096, MS_SYNC)\n",
             path);
    play_run *run = run_ok(text, "in place");
    expect_size(play_run_steps(run), 7, "steps, step 0 included");
    expect_true(play_run_step(run, 1)->outcome == PLAY_OUTCOME_OK,
                describe("the file statement: %s",
                         play_run_step(run, 1)->outcome_text));
    play_run_delete(run);
    size_t size;
    unsigned char *bytes = load_file(path, &size);
    expect_size(size, 11, "the file's size, unchanged");
    expect_bytes(bytes, "HELLO world", 11, "A's write, in the file itself");
    free(bytes);
    run = play_run_scenario("file f.txt at no-such-file\n", "missing", NULL);
    expect_true(run && play_run_ok(run) &&
                    play_run_step(run, 1)->outcome == PLAY_OUTCOME_ERRNO,
                "a file that is not there: an errno, not a scenario error");
    play_run_delete(run);
}

/*
 * A run made keeping its snapshots gives each step's machine: the entries
 * of A and of its child share one frame, read-only, until the child
 * writes; the counters follow; a read's bytes come with its step.
 */
static void test_play_kept_snapshots_show_each_step_s_machine(void) {
    char root[PATH_MAX];
    repository_root(root);
    play_run *run = play_run_scenario_keeping(
        "mmu_add_process(A)\n"
        "p = vm_mmap(A, NULL, 4096, PROT_READ|PROT_WRITE, "
        "MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\n"
        "write(A, p, \"x\")\n"
        "B = vm_fork(A)\n"
        "write(B, p, \"y\")\n"
        "read(A, p, 1)\n", "kept", root);
    if (!run || !play_run_ok(run))
        fail(__FILE__, __LINE__, "expected the run to be ok");
    expect_size(play_run_steps(run), 7, "steps, step 0 included");
    uint32_t p = (uint32_t)play_run_step(run, 2)->value;
    play_snapshot_entry a, b;
    const play_snapshot *forked = play_run_step(run, 4)->snapshot;
    expect_true(play_snapshot_entry_of(forked, 0, p, &a) &&
                    play_snapshot_entry_of(forked, 1, p, &b),
                "after the fork: an entry in each");
    expect_true(a.present && b.present && a.frame == b.frame && a.cow &&
                    b.cow && !a.writable && !b.writable,
                describe("one frame, read-only in both: %u and %u", a.frame,
                         b.frame));
    const play_snapshot *copied = play_run_step(run, 5)->snapshot;
    expect_true(play_snapshot_entry_of(copied, 1, p, &b) && b.writable &&
                    b.frame != a.frame,
                "B's write: a frame of its own");
    expect_size(play_snapshot_counts(copied).cow_faults, 1,
                "one copy-on-write fault");
    expect_size(play_snapshot_counts(forked).cow_faults, 0,
                "none before it, in the step before");
    play_snapshot_area area;
    expect_true(play_snapshot_area_of(copied, 0, p, &area) &&
                    area.start == p &&
                    strcmp(area.kind, "private anonymous") == 0,
                "A's area");
    const play_step *read = play_run_step(run, 6);
    expect_true(read->num_bytes == 1 && read->bytes[0] == 'x',
                "the read's bytes: A's own");
    expect_true(play_run_step(run, 0)->snapshot != NULL,
                "step 0 keeps its snapshot too");
    play_run_delete(run);
}

static const test_case play_tests[] = {
    TEST(play_runs_every_statement_with_its_outcome),
    TEST(play_scenario_error_is_json_with_line_and_column),
    TEST(play_every_shipped_scenario_runs_to_its_end),
    TEST(play_deltas_rebuild_the_final_snapshot),
    TEST(play_fork_shares_a_frame_then_a_write_copies_it),
    TEST(play_swap_scenario_shows_a_slot),
    TEST(play_belady_scenarios_run_fifo_into_the_anomaly),
    TEST(play_policy_a_scenario_cannot_run_is_noted),
    TEST(play_leaves_no_file_behind),
    TEST(play_runs_again_with_the_same_json),
    TEST(play_mmap_play_prints_a_run_its_json_and_its_errors),
    TEST(play_file_at_a_path_is_the_caller_s_file_in_place),
    TEST(play_kept_snapshots_show_each_step_s_machine),
};

const test_suite play_suite = {"play", play_tests,
                               sizeof play_tests / sizeof play_tests[0]};
