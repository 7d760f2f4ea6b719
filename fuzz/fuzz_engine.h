/*
 * fuzz/fuzz_engine.h: one engine for both fuzzers of the public API
 * (mmap.h, vm.h, and the MMU's reads and writes): it runs operations on a
 * few small files through several processes of two MMUs (and the
 * children vm_fork makes of them) and through mmap_create's mappings, and
 * checks each result against a model of the files' bytes and of every
 * process's memory, its heap included.
 *
 * An operation is a kind and a few raw numbers, read against the state
 * when it runs (an address inside the Nth mapping, a length, a
 * descriptor), so that leaving an operation out changes the meaning of
 * none after it: that is how a failing sequence is cut short. A result
 * the model disagrees with, an errno the headers do not list for the
 * call, or an errno changed by a call that succeeded prints the run's
 * label, the operation's number and the operation, and aborts (so that
 * libFuzzer keeps the input) or exits.
 *
 * Left out: files that change while mapped, injected faults of
 * writes (whose pages the model cannot follow), mmu_sync, threads,
 * segments with a pager, vm_fork's EAGAIN (a fork is tried only while
 * the model has a slot for the child, three at most), and forks of a
 * process with more shared anonymous pages than the pool should give
 * frames of zeros to.
 */
#ifndef FUZZ_ENGINE_H
#define FUZZ_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#define FUZZ_OP_ARGS 6

/* The kinds of operation; arguments are read modulo what they choose. */
enum fuzz_kind {
    FUZZ_MMAP,
    FUZZ_MUNMAP,
    FUZZ_MPROTECT,
    FUZZ_MSYNC,
    FUZZ_READ,
    FUZZ_WRITE,
    FUZZ_MAP_CREATE, /* mmap_create, or munmap of the handle there */
    FUZZ_MAP_ACCESS, /* mmap_read, mmap_write or mmap_sync */
    FUZZ_PROCESS,    /* mmu_remove_process and mmu_add_process */
    FUZZ_READ_FAULT, /* io_fault_inject: a read fails or comes back short */
    FUZZ_REWRITE,    /* a file nothing maps gets new bytes and length */
    FUZZ_FORK,       /* vm_fork, while the model has a slot for a child */
    FUZZ_SBRK,       /* vm_sbrk, the heap grown or shrunk */
    FUZZ_KINDS
};

typedef struct {
    uint8_t kind; /* kind % 32 picks one, some kinds more often */
    uint32_t arg[FUZZ_OP_ARGS];
} fuzz_op;

/* How the run checks what the library returns. */
typedef struct {
    bool trace; /* print every operation before it runs */
    /* End the process with _exit(1) on a failure, not abort(). */
    bool exit_on_failure;
} fuzz_options;

typedef struct fuzz_run fuzz_run;

/*
 * Starts a run named `label` (printed with a failure): a fresh temporary
 * directory with files whose sizes and bytes `setup` picks, opened in
 * every mode, two MMUs and their processes. Exits on a setup failure.
 */
fuzz_run *fuzz_run_start(const char *label, uint32_t setup,
                         const fuzz_options *options);

/* Runs operation number `number` and checks it; aborts on a failure. */
void fuzz_run_apply(fuzz_run *run, const fuzz_op *op, uint64_t number);

/*
 * Ends the run: every mapping goes, each file must hold what the model
 * says, every frame must be back in the pool; then the files and the
 * directory are removed and `run` freed.
 */
void fuzz_run_finish(fuzz_run *run);

#endif
