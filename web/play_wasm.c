/*
 * web/play_wasm.c: what the web page calls in the WebAssembly build of
 * the library: run a scenario (play.h) or replay a trace under several
 * policies (replay.h), each answered as the JSON of its module, which the
 * page parses; the page then gives the string back to play_wasm_free.
 *
 * The page's files live in Emscripten's in-memory file system: the
 * shipped test_files/ are embedded at /test_files by `make web`, and a
 * scenario's relative paths are taken from the root, as mmap_play takes
 * them from the repository's root.
 *
 * Left out: any state between calls; each call is a run of its own.
 */
#include <stdlib.h>

#include "../play.h"
#include "../replay.h"

/* Where a scenario's relative paths start. */
#define PLAY_WASM_BASE_DIR "/"

char *play_wasm_run(const char *scenario_text, const char *name) {
    return play_run_json(scenario_text, name, PLAY_WASM_BASE_DIR);
}

char *play_wasm_replay(const char *trace_text, const char *policies,
                       int frames_from, int frames_to) {
    return replay_json(trace_text, policies, (size_t)frames_from,
                       (size_t)frames_to);
}

void play_wasm_free(char *json) {
    free(json);
}
