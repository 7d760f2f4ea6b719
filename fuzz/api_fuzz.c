/*
 * fuzz/api_fuzz.c: the public API under clang's libFuzzer: each input is
 * a run of the engine (fuzz_engine.h). Its first 4 bytes pick the files;
 * then every 25 bytes are one operation (a kind and six numbers), read
 * against the state as the seeded driver's operations are. Set
 * MMAP_FRAMES for a small pool.
 *
 *   make fuzz && ./fuzz/api_fuzz -max_total_time=300 fuzz/corpus
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_engine.h"

static uint32_t take32(const uint8_t *data) {
    return (uint32_t)data[0] | (uint32_t)data[1] << 8 |
           (uint32_t)data[2] << 16 | (uint32_t)data[3] << 24;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    enum { OP_BYTES = 1 + 4 * FUZZ_OP_ARGS };
    if (size < 4)
        return 0;
    fuzz_options options = {0};
    fuzz_run *run = fuzz_run_start("libFuzzer input", take32(data), &options);
    uint64_t number = 0;
    for (size_t at = 4; at + OP_BYTES <= size; at += OP_BYTES) {
        fuzz_op op = {.kind = data[at]};
        for (int i = 0; i < FUZZ_OP_ARGS; i++)
            op.arg[i] = take32(data + at + 1 + 4 * i);
        fuzz_run_apply(run, &op, ++number);
    }
    fuzz_run_finish(run);
    return 0;
}
