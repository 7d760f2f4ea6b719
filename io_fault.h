/*
 * io_fault.h: injected failures of the file I/O under the page cache and
 * the pager, so that a test can make a write-back or a read fail, or come
 * back short, exactly where it wants.
 *
 * Every preadv and pwritev of file_store.c goes through one place, which
 * asks this module before each call while a fault is armed (and only then:
 * unarmed, it costs one test of a global). A fault is armed for the Nth
 * call from now in one direction, read or write: that call fails with the
 * errno given, or, with error 0, moves only the first bytes asked for, as
 * a disk that is full or a signal may make a real call do; so do the
 * `times` calls that follow it in that direction (a disk stays full), or
 * every one until io_fault_clear. Calls before the Nth, and every call
 * after the last one hit, are the real ones. Left out: faults of open,
 * fstat and close, several faults armed in one direction, threads.
 */
#ifndef IO_FAULT_H
#define IO_FAULT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

/* One fault to inject. */
typedef struct {
    bool write;          /* a pwritev (true) or a preadv (false) */
    unsigned long nth;   /* 1: the next call that way, 2: the one after */
    int error;           /* the errno it fails with (EIO, ENOSPC, ...) */
    size_t bytes;        /* with error 0: the call moves only these bytes */
    unsigned long times; /* calls hit from the Nth on (0 counts as 1) */
} io_fault;

/* io_fault.times: every call from the Nth on, until io_fault_clear. */
#define IO_FAULT_UNTIL_CLEARED ULONG_MAX

/* Non-zero while a fault is armed: the I/O path's one test. */
extern unsigned io_fault_armed;

/*
 * Arms `fault`, replacing one armed earlier in the same direction. A
 * short transfer (error 0) of `bytes` at least what the call asks for is
 * no fault: that call is the real one.
 */
void io_fault_inject(const io_fault *fault);

/* Disarms every fault: from now on every call is the real one. */
void io_fault_clear(void);

/*
 * preadv(2), or pwritev(2) when `write`, unless the armed fault in that
 * direction hits this call: then -1 with the fault's errno and nothing
 * moved, or only the first `bytes` of the vector moved. Counts the call
 * toward the fault.
 */
ssize_t io_fault_transfer(int fd, const struct iovec *iov, int count,
                          off_t offset, bool write);

#endif
