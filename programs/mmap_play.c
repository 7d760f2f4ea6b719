/*
 * mmap_play.c: the playground in a terminal: runs a scenario (play.h) and
 * prints each step: its line and source, its outcome, its events in words
 * with their rules, and what changed in the machine; or the whole run as
 * JSON.
 *
 *   mmap_play [--step] [--rules] SCENARIO   each step, in words
 *   mmap_play --json SCENARIO               the run's JSON on stdout
 *
 * --step waits for Enter between steps; --rules prints each event's rule
 * under it. Fixtures (`file X from test_files/...`) are read relative to
 * the current directory. Exit status: 0, 1 when the scenario has an error
 * (line, column and message on stderr), 2 for a bad command line, 3 when
 * the run could not be made. Left out: stepping backwards (the web page
 * does it), colours.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "play.h"
#include "play_print.h"

#define USAGE "usage: mmap_play [--step] [--rules] [--json] SCENARIO\n"

typedef struct {
    bool step, rules, json;
    const char *path;
} options;

static bool parse_options(int argc, char **argv, options *opts) {
    memset(opts, 0, sizeof *opts);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--step") == 0)
            opts->step = true;
        else if (strcmp(argv[i], "--rules") == 0)
            opts->rules = true;
        else if (strcmp(argv[i], "--json") == 0)
            opts->json = true;
        else if (argv[i][0] == '-' || opts->path)
            return false;
        else
            opts->path = argv[i];
    }
    return opts->path != NULL;
}

/* The scenario's name: the file's name without its directory and .scn. */
static void scenario_name(const char *path, char out[256]) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    snprintf(out, 256, "%s", base);
    char *dot = strrchr(out, '.');
    if (dot && strcmp(dot, ".scn") == 0)
        *dot = '\0';
}

/* Prints `text`'s lines, each indented. */
static void indented(const char *text, const char *indent) {
    while (text && *text) {
        const char *end = strchr(text, '\n');
        size_t length = end ? (size_t)(end - text) : strlen(text);
        printf("%s%.*s\n", indent, (int)length, text);
        text += length + (end != NULL);
    }
}

static void print_step(const play_step *step, bool rules) {
    if (step->source)
        printf("line %zu: %s\n", step->line, step->source);
    else
        printf("start\n");
    printf("  => %s\n", step->outcome_text);
    play_print_events(step, rules, "  ");
    indented(step->changes, "  | ");
}

static int print_run(const play_run *run, bool step_by_step, bool rules) {
    size_t steps = play_run_steps(run);
    printf("%zu frames, policy %s\n", play_run_frames(run),
           play_run_policy(run));
    for (size_t i = 0; i < steps; i++) {
        print_step(play_run_step(run, i), rules);
        if (step_by_step && i + 1 < steps) {
            printf("-- Enter for the next step --");
            fflush(stdout);
            int c;
            while ((c = getchar()) != '\n' && c != EOF)
                ;
            if (c == EOF)
                break;
        }
        printf("\n");
    }
    return 0;
}

int main(int argc, char **argv) {
    options opts;
    if (!parse_options(argc, argv, &opts)) {
        fputs(USAGE, stderr);
        return 2;
    }
    char *text = play_print_read_text(opts.path);
    if (!text) {
        fprintf(stderr, "mmap_play: %s: %s\n", opts.path, strerror(errno));
        return 3;
    }
    char name[256];
    scenario_name(opts.path, name);
    play_run *run = play_run_scenario(text, name, ".");
    free(text);
    if (!run) {
        fprintf(stderr, "mmap_play: the run failed: %s\n", strerror(errno));
        return 3;
    }
    int status = 0;
    if (opts.json) {
        char *json = play_run_to_json(run);
        if (json)
            fputs(json, stdout);
        status = json ? 0 : 3;
        free(json);
    } else if (play_run_ok(run)) {
        status = print_run(run, opts.step, opts.rules);
    }
    if (!play_run_ok(run)) {
        const scenario_error *e = play_run_error(run);
        fprintf(stderr, "%s:%zu:%zu: %s\n", opts.path, e->line, e->column,
                e->message);
        status = 1;
    }
    play_run_delete(run);
    return status;
}
