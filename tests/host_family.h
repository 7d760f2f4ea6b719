/*
 * tests/host_family.h: a family of real host processes, made by the
 * host's fork(2), each the twin of one simulated process of
 * tests/vm_fork_kernel_tests.c. Each is a small server: it reads one
 * command at a time from a pipe, does it with tests/host_mappings.c's
 * calls on its own address space, and writes the result back through
 * another pipe (a call's result and errno; an access's bytes copied, the
 * signal that stopped it and, for a read, the bytes).
 *
 * Every process's mappings lie in one range of host addresses, the same
 * in all of them (a fork keeps its parent's addresses), given to
 * host_family_start; a command names a place by its offset in it. A
 * member sits in one of HOST_FAMILY_SLOTS slots, each with its pair of
 * pipes, made before the first member, since a process cannot hand a
 * pipe it makes to the test: a fork names the child's free slot. Every
 * member holds the servers' ends of every slot's pipes; only the test
 * holds the command pipes' writing ends, so if the test dies every member
 * reads the end of its pipe and exits.
 *
 * Errors of the protocol itself (a member that died, a short message)
 * set `broken`: the caller checks it after a call. Left out: more than
 * one family at a time per test process, threads.
 */
#ifndef TESTS_HOST_FAMILY_H
#define TESTS_HOST_FAMILY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define HOST_FAMILY_SLOTS 4

typedef struct {
    unsigned char *base;             /* the mappings' range */
    int commands[HOST_FAMILY_SLOTS]; /* the test's writing ends */
    int replies[HOST_FAMILY_SLOTS];  /* the test's reading ends */
    pid_t pids[HOST_FAMILY_SLOTS];   /* 0: the slot is free */
    pid_t every_pid[64];             /* every member ever made */
    size_t num_made;
    bool broken;      /* a member did not answer as the protocol says */
    size_t bad_exits; /* members that ended other than by exit status 0 */
} host_family;

/*
 * Makes the pipes and the first member, in slot 0, a child of this
 * process, with nothing of its own in the range at `base`. Makes this
 * process the subreaper of the members it orphans, so host_family_end can
 * wait for them all. Returns 0, or -1 with errno (pipe, fork).
 */
int host_family_start(host_family *f, unsigned char *base);

/*
 * The member in `slot` makes a fork of itself, in free slot `child`.
 * Returns 0, or -1 with the errno of its fork(2).
 */
int host_family_fork(host_family *f, int slot, int child);

/* The member in `slot` exits; its slot is free again. Returns 0 or -1. */
int host_family_exit(host_family *f, int slot);

/*
 * The member in `slot` calls mmap(2) with VM_MAP_FIXED added, at `offset`
 * in the range, with `fd` (a descriptor it inherited, or -1). Returns 0
 * when the mapping lies there, else -1 with errno.
 */
int host_family_map(host_family *f, int slot, size_t offset, size_t length,
                    int prot, int flags, int fd, off_t file_offset);

/* host_mapping_unmap, _protect and _sync in the member: 0, or -1, errno. */
int host_family_unmap(host_family *f, int slot, size_t offset, size_t length);
int host_family_protect(host_family *f, int slot, size_t offset, size_t length,
                        int prot);
int host_family_sync(host_family *f, int slot, size_t offset, size_t length,
                     int flags);

/*
 * host_mapping_read and _write in the member: the bytes copied, `*signal`
 * the signal that stopped the copy or 0. At most HOST_FAMILY_MAX_ACCESS
 * bytes.
 */
#define HOST_FAMILY_MAX_ACCESS 8192
size_t host_family_read(host_family *f, int slot, size_t offset, void *to,
                        size_t n, int *signal);
size_t host_family_write(host_family *f, int slot, size_t offset,
                         const void *from, size_t n, int *signal);

/*
 * Has every member left exit, closes the test's pipes and waits for every
 * child of this process (the members, all of them its own children or
 * orphans handed to it by then), counting in `bad_exits` those that did
 * not exit with status 0 (killed, or valgrind's error status). Returns how
 * many members ever made still exist afterwards (0 when all are gone).
 */
size_t host_family_end(host_family *f);

#endif
