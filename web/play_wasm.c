/*
 * web/play_wasm.c: what the web page calls in the WebAssembly build of
 * the library: run a scenario (play.h) or replay a trace under several
 * policies (replay.h), each answered as the JSON of its module, which the
 * page parses and then gives back to play_wasm_free.
 *
 * The page's files live in Emscripten's in-memory file system: `make web`
 * embeds the shipped test_files/ at /test_files, and a scenario's `file X
 * from PATH` is read from the root, as mmap_play reads it from the
 * repository's.
 *
 * Left out: any state between calls; each call is a run of its own.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../play.h"
#include "../replay.h"

/* Where a scenario's relative paths start. */
#define PLAY_WASM_BASE_DIR "/"

/* {"error": "..."} for a call that returned nothing, so the page can say why. */
static char *error_json(int error) {
    const char *text = strerror(error);
    size_t size = strlen(text) + sizeof "{\"error\": \"\"}";
    char *json = malloc(size);
    if (json)
        snprintf(json, size, "{\"error\": \"%s\"}", text);
    return json;
}

char *play_wasm_run(const char *scenario_text, const char *name) {
    char *json = play_run_json(scenario_text, name, PLAY_WASM_BASE_DIR);
    return json ? json : error_json(errno);
}

char *play_wasm_replay(const char *trace_text, const char *policies,
                       int frames_from, int frames_to) {
    if (frames_from < 1 || frames_to < frames_from)
        return error_json(EINVAL);
    char *json = replay_json(trace_text, policies, (size_t)frames_from,
                             (size_t)frames_to, false);
    return json ? json : error_json(errno);
}

void play_wasm_free(char *json) {
    free(json);
}
