/*
 * mmap_replay: the policy lab's program. Replays a trace of page
 * references (replay.h: a reference string, R/W address lines, or
 * valgrind lackey's output) through the simulated machine under each
 * replacement policy and pool size asked for, and prints what happened:
 * a table (faults, hit rate, write-backs, TLB misses, Belady's anomaly
 * flagged), CSV, JSON, or every reference step by step.
 *
 *   mmap_replay [--policy P[,P...]|all] [--frames N|A-B]
 *               [--json | --csv] [--steps] [FILE | -]
 *
 * FILE absent or "-": standard input. Defaults: all policies, 3 frames.
 * Left out: plotting, traces too large for memory.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel.h"
#include "replay.h"

typedef enum { AS_TABLE, AS_CSV, AS_JSON } output_form;

typedef struct {
    const char *policies, *file;
    size_t frames_from, frames_to;
    output_form form;
    bool steps;
} options;

static void usage(void) {
    fprintf(stderr,
            "usage: mmap_replay [--policy P[,P...]|all] [--frames N|A-B]\n"
            "                   [--json | --csv] [--steps] [FILE | -]\n"
            "policies: clock fifo lru random nru opt\n");
    exit(2);
}

/* "N" or "A-B": false when it is neither, or A > B, or 0. */
static bool parse_frames(const char *text, size_t *from, size_t *to) {
    char *end;
    unsigned long long a = strtoull(text, &end, 10), b = a;
    if (end == text)
        return false;
    if (*end == '-') {
        const char *second = end + 1;
        b = strtoull(second, &end, 10);
        if (end == second)
            return false;
    }
    if (*end || a == 0 || a > b || b > KERNEL_MAX_FRAMES)
        return false;
    *from = (size_t)a;
    *to = (size_t)b;
    return true;
}

static options parse_options(int argc, char **argv) {
    options chosen = {"all", NULL, 3, 3, AS_TABLE, false};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--policy") == 0 && i + 1 < argc)
            chosen.policies = argv[++i];
        else if (strcmp(arg, "--frames") == 0 && i + 1 < argc) {
            if (!parse_frames(argv[++i], &chosen.frames_from, &chosen.frames_to))
                usage();
        } else if (strcmp(arg, "--json") == 0)
            chosen.form = AS_JSON;
        else if (strcmp(arg, "--csv") == 0)
            chosen.form = AS_CSV;
        else if (strcmp(arg, "--steps") == 0)
            chosen.steps = true;
        else if ((arg[0] != '-' || strcmp(arg, "-") == 0) && !chosen.file)
            chosen.file = arg;
        else
            usage();
    }
    return chosen;
}

/* The whole of `path` ("-" or NULL: standard input), NUL-terminated. */
static char *read_all(const char *path) {
    FILE *in = !path || strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!in) {
        perror(path);
        exit(1);
    }
    size_t length = 0, room = 1 << 16;
    char *text = malloc(room);
    for (size_t got; text && (got = fread(text + length, 1, room - length - 1, in)) > 0;) {
        length += got;
        if (length + 1 == room) {
            char *grown = realloc(text, room *= 2);
            if (!grown)
                free(text);
            text = grown;
        }
    }
    if (!text || ferror(in)) {
        fprintf(stderr, "mmap_replay: cannot read %s\n", path ? path : "stdin");
        exit(1);
    }
    if (in != stdin)
        fclose(in);
    text[length] = '\0';
    return text;
}

/* Prints one step: the reference, the frames after it, and who left. */
static void print_step(void *context, const replay_result *run,
                       const replay_step *step) {
    const replay_trace *trace = context;
    char name[48];
    if (step->index == 0)
        printf("%s, %zu frames\n  ref  page    result  frames after "
               "(frame:page, R and D bits, the policy's note)\n",
               kernel_policy_name(run->policy), run->frames);
    replay_page_name(trace, step->page, name, sizeof name);
    printf("  %3zu  %-6s  %-6s ", step->index, name,
           step->fault ? "fault" : "hit");
    for (size_t i = 0; i < step->frame_count; i++) {
        const replay_frame *frame = &step->frames[i];
        replay_page_name(trace, frame->page, name, sizeof name);
        printf(" [%zu:%s %c%c%s%s]", frame->frame, name,
               frame->referenced ? 'R' : '-', frame->dirty ? 'D' : '-',
               frame->note[0] ? " " : "", frame->note);
    }
    if (step->evicted) {
        const replay_frame *victim = &step->victim;
        replay_page_name(trace, victim->page, name, sizeof name);
        printf("  out: %s (frame %zu, was R=%d D=%d%s%s", name, victim->frame,
               victim->referenced, victim->dirty,
               victim->note[0] ? ", " : "", victim->note);
        if (run->policy == KERNEL_POLICY_OPT) {
            if (step->victim_next_use == SIZE_MAX)
                printf(", never used again");
            else
                printf(", next use at ref %zu", step->victim_next_use);
        }
        printf(")");
    }
    printf("\n");
}

static void print_table(const replay_result *results, size_t count) {
    printf("policy  frames  faults   hits  hit rate  write-backs  TLB misses\n");
    for (size_t i = 0; i < count; i++) {
        const replay_result *r = &results[i];
        printf("%-6s  %6zu  %6zu  %5zu  %7.1f%%  %11zu  %10zu%s\n",
               kernel_policy_name(r->policy), r->frames, r->faults, r->hits,
               r->references ? 100.0 * (double)r->hits / (double)r->references
                             : 0.0,
               r->writebacks, r->tlb_misses,
               r->belady ? "  <- Belady's anomaly: more faults than with "
                           "fewer frames"
                         : "");
    }
}

static void print_csv(const replay_result *results, size_t count) {
    printf("policy,frames,references,faults,hits,hit_rate,writebacks,"
           "tlb_misses,belady\n");
    for (size_t i = 0; i < count; i++) {
        const replay_result *r = &results[i];
        printf("%s,%zu,%zu,%zu,%zu,%.4f,%zu,%zu,%s\n",
               kernel_policy_name(r->policy), r->frames, r->references,
               r->faults, r->hits,
               r->references ? (double)r->hits / (double)r->references : 0.0,
               r->writebacks, r->tlb_misses, r->belady ? "true" : "false");
    }
}

static int run_json(const options *chosen, const char *text) {
    char *json = replay_json(text, chosen->policies, chosen->frames_from,
                             chosen->frames_to, chosen->steps);
    if (!json) {
        fprintf(stderr, "mmap_replay: %s\n", strerror(errno));
        return 1;
    }
    fputs(json, stdout);
    bool failed = strncmp(json, "{\"error\"", 8) == 0;
    free(json);
    return failed ? 1 : 0;
}

int main(int argc, char **argv) {
    options chosen = parse_options(argc, argv);
    kernel_policy policies[KERNEL_POLICY_COUNT];
    size_t policy_count = replay_policies(chosen.policies, policies);
    if (policy_count == 0) {
        fprintf(stderr, "mmap_replay: unknown policy in \"%s\"\n",
                chosen.policies);
        usage();
    }
    char *text = read_all(chosen.file);
    if (chosen.form == AS_JSON) {
        int status = run_json(&chosen, text);
        free(text);
        return status;
    }
    char error[128];
    replay_trace *trace = replay_parse(text, error, sizeof error);
    free(text);
    if (!trace) {
        fprintf(stderr, "mmap_replay: %s\n", error);
        return 1;
    }
    size_t count =
        policy_count * (chosen.frames_to - chosen.frames_from + 1);
    replay_result *results = calloc(count, sizeof *results);
    if (!results ||
        replay_runs(trace, policies, policy_count, chosen.frames_from,
                    chosen.frames_to, results, chosen.steps ? print_step : NULL,
                    trace) != 0) {
        fprintf(stderr, "mmap_replay: %s\n", strerror(errno));
        return 1;
    }
    printf("%zu references, %zu distinct pages\n",
           replay_trace_references(trace), replay_trace_pages(trace));
    if (chosen.form == AS_CSV)
        print_csv(results, count);
    else
        print_table(results, count);
    free(results);
    replay_trace_free(trace);
    return 0;
}
