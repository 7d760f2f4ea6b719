/*
 * mmap_bench.h: what the benchmark's files share: the replay rows
 * (programs/mmap_bench_replay.c), which main calls after its own rows.
 * Left out: a replay of a trace from a file (mmap_replay does that).
 */
#ifndef MMAP_BENCH_H
#define MMAP_BENCH_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Times a trace of `references` page references replayed through the
 * machine (replay.h) under each policy, and the same trace through a
 * minimal stand-alone model of each policy (an array of frames), `runs`
 * times each, every measurement in a forked child. Returns false (after
 * saying why on stderr) when a run failed or a policy the model follows
 * exactly counted other faults than ours.
 */
bool bench_replay_collect(size_t references, int runs);

/* Prints the replay rows: as a table, or as the JSON value of "replay". */
void bench_replay_print(bool json);

#endif
