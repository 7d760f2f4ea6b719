/*
 * tests/host_family.c: the host processes of the fork differential test
 * (see host_family.h). A command is a fixed header, followed by the bytes
 * of a write; a reply is a fixed header, followed by the bytes of a read.
 */
#define _GNU_SOURCE /* prctl's subreaper */

#include "host_family.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host_mappings.h"
#include "vm.h"

/* How long the test waits for a member's reply (valgrind is slow). */
#define REPLY_TIMEOUT_MS 120000

enum command_kind {
    DO_MAP,
    DO_UNMAP,
    DO_PROTECT,
    DO_SYNC,
    DO_READ,
    DO_WRITE,
    DO_FORK,
    DO_EXIT
};

typedef struct {
    int kind;
    int prot, flags, fd, child;
    size_t offset, length;
    off_t file_offset;
} command;

typedef struct {
    long result; /* a call's result, a fork's pid, an access's bytes */
    int error;   /* errno when result is -1 */
    int signal;  /* what stopped an access */
} reply;

/* Both pipes' server ends, per slot: a member uses its slot's. */
static int server_commands[HOST_FAMILY_SLOTS],
    server_replies[HOST_FAMILY_SLOTS];

/* Reads or writes all `n` bytes, across short transfers; false if not. */
static bool transfer(int fd, void *buffer, size_t n, bool write_it) {
    unsigned char *at = buffer;

    while (n > 0) {
        ssize_t done = write_it ? write(fd, at, n) : read(fd, at, n);

        if (done < 0 && errno == EINTR)
            continue;
        if (done <= 0)
            return false;
        at += done;
        n -= (size_t)done;
    }
    return true;
}

/* ------------------------------------------------------------------ */
/* A member                                                            */
/* ------------------------------------------------------------------ */

static reply result_of(long result) {
    reply r = {result, result < 0 ? errno : 0, 0};

    return r;
}

/* Does one call; DO_READ and DO_WRITE use `bytes`. */
static reply serve_one(unsigned char *base, const command *c,
                       unsigned char *bytes) {
    reply r = {0, 0, 0};
    unsigned char *at = base + c->offset;

    switch (c->kind) {
    case DO_MAP: {
        unsigned char *got =
            host_mapping_map(at, c->length, c->prot, c->flags | VM_MAP_FIXED,
                             c->fd, c->file_offset);

        return result_of(got == at ? 0 : -1);
    }
    case DO_UNMAP: return result_of(host_mapping_unmap(at, c->length));
    case DO_PROTECT:
        return result_of(host_mapping_protect(at, c->length, c->prot));
    case DO_SYNC: return result_of(host_mapping_sync(at, c->length, c->flags));
    case DO_READ:
        r.result = (long)host_mapping_read(at, bytes, c->length, &r.signal);
        return r;
    case DO_WRITE:
        r.result = (long)host_mapping_write(at, bytes, c->length, &r.signal);
        return r;
    default: errno = EINVAL; return result_of(-1);
    }
}

/*
 * A member's life: one command after another until DO_EXIT or the end of
 * its pipe. A DO_FORK's child goes on in the loop with its own slot; _exit,
 * never exit, so that nothing of the test's stdio is written twice.
 */
static void serve(unsigned char *base, int slot) __attribute__((noreturn));

static void serve(unsigned char *base, int slot) {
    static unsigned char bytes[HOST_FAMILY_MAX_ACCESS];
    command c;
    reply r;

    for (;;) {
        if (!transfer(server_commands[slot], &c, sizeof c, false))
            _exit(1);
        if ((c.kind == DO_READ || c.kind == DO_WRITE) &&
            c.length > sizeof bytes)
            _exit(2);
        if (c.kind == DO_WRITE &&
            !transfer(server_commands[slot], bytes, c.length, false))
            _exit(1);
        if (c.kind == DO_FORK) {
            pid_t child = fork();

            if (child == 0) {
                slot = c.child;
                continue;
            }
            r = result_of(child);
        } else if (c.kind == DO_EXIT) {
            r = result_of(0);
        } else {
            r = serve_one(base, &c, bytes);
        }
        if (!transfer(server_replies[slot], &r, sizeof r, true) ||
            (c.kind == DO_READ && r.result > 0 &&
             !transfer(server_replies[slot], bytes, (size_t)r.result, true)))
            _exit(1);
        if (c.kind == DO_EXIT)
            _exit(0);
    }
}

/* ------------------------------------------------------------------ */
/* The test's side                                                     */
/* ------------------------------------------------------------------ */

/* Waits for a reply from `slot`; false, with `broken` set, if none comes. */
static bool await_reply(host_family *f, int slot, reply *r) {
    struct pollfd ready = {f->replies[slot], POLLIN, 0};

    if (poll(&ready, 1, REPLY_TIMEOUT_MS) != 1 ||
        !transfer(f->replies[slot], r, sizeof *r, false)) {
        f->broken = true;
        return false;
    }
    return true;
}

/*
 * Sends `c` (and `payload`, c->length bytes, for a write) to the member
 * in `slot` and waits for its reply; a broken protocol is EPIPE.
 */
static bool ask(host_family *f, int slot, const command *c, const void *payload,
                reply *r) {
    if (f->broken || slot < 0 || slot >= HOST_FAMILY_SLOTS || !f->pids[slot] ||
        !transfer(f->commands[slot], (void *)c, sizeof *c, true) ||
        (payload &&
         !transfer(f->commands[slot], (void *)payload, c->length, true)) ||
        !await_reply(f, slot, r)) {
        f->broken = true;
        r->result = -1;
        r->error = EPIPE;
        r->signal = 0;
        return false;
    }
    return true;
}

/* A call's reply as the call's own result: 0, or -1 with errno. */
static int call_result(host_family *f, int slot, const command *c) {
    reply r;

    ask(f, slot, c, NULL, &r);
    if (r.result < 0)
        errno = r.error;
    return r.result < 0 ? -1 : 0;
}

static void note_member(host_family *f, int slot, pid_t pid) {
    f->pids[slot] = pid;
    if (f->num_made < sizeof f->every_pid / sizeof f->every_pid[0])
        f->every_pid[f->num_made++] = pid;
}

/* The pipes of every slot; the servers' ends kept for the members. */
static int make_pipes(host_family *f) {
    int i, commands[2], replies[2];

    for (i = 0; i < HOST_FAMILY_SLOTS; i++) {
        if (pipe(commands) != 0)
            return -1;
        if (pipe(replies) != 0) {
            close(commands[0]);
            close(commands[1]);
            return -1;
        }
        server_commands[i] = commands[0];
        f->commands[i] = commands[1];
        f->replies[i] = replies[0];
        server_replies[i] = replies[1];
    }
    return 0;
}

int host_family_start(host_family *f, unsigned char *base) {
    pid_t root;
    int i;

    memset(f, 0, sizeof *f);
    f->base = base;
    if (make_pipes(f) != 0)
        return -1;
    /* Not fatal: the orphans then go to init, which waits for them. */
    (void)prctl(PR_SET_CHILD_SUBREAPER, 1);
    /* A reply to a member that died is EPIPE, not a signal. */
    signal(SIGPIPE, SIG_IGN);
    root = fork();
    if (root < 0)
        return -1;
    if (root == 0) {
        for (i = 0; i < HOST_FAMILY_SLOTS; i++) {
            close(f->commands[i]);
            close(f->replies[i]);
        }
        serve(base, 0);
    }
    for (i = 0; i < HOST_FAMILY_SLOTS; i++) {
        close(server_commands[i]);
        close(server_replies[i]);
    }
    note_member(f, 0, root);
    return 0;
}

int host_family_fork(host_family *f, int slot, int child) {
    command c = {.kind = DO_FORK, .child = child};
    reply r;

    if (child < 0 || child >= HOST_FAMILY_SLOTS || f->pids[child]) {
        errno = EINVAL;
        return -1;
    }
    ask(f, slot, &c, NULL, &r);
    if (r.result < 0) {
        errno = r.error;
        return -1;
    }
    note_member(f, child, (pid_t)r.result);
    return 0;
}

int host_family_exit(host_family *f, int slot) {
    command c = {.kind = DO_EXIT};
    int result = call_result(f, slot, &c);

    if (result == 0)
        f->pids[slot] = 0;
    return result;
}

int host_family_map(host_family *f, int slot, size_t offset, size_t length,
                    int prot, int flags, int fd, off_t file_offset) {
    command c = {.kind = DO_MAP,
                 .offset = offset,
                 .length = length,
                 .prot = prot,
                 .flags = flags,
                 .fd = fd,
                 .file_offset = file_offset};

    return call_result(f, slot, &c);
}

int host_family_unmap(host_family *f, int slot, size_t offset, size_t length) {
    command c = {.kind = DO_UNMAP, .offset = offset, .length = length};

    return call_result(f, slot, &c);
}

int host_family_protect(host_family *f, int slot, size_t offset, size_t length,
                        int prot) {
    command c = {
        .kind = DO_PROTECT, .offset = offset, .length = length, .prot = prot};

    return call_result(f, slot, &c);
}

int host_family_sync(host_family *f, int slot, size_t offset, size_t length,
                     int flags) {
    command c = {
        .kind = DO_SYNC, .offset = offset, .length = length, .flags = flags};

    return call_result(f, slot, &c);
}

size_t host_family_read(host_family *f, int slot, size_t offset, void *to,
                        size_t n, int *signal) {
    command c = {.kind = DO_READ, .offset = offset, .length = n};
    reply r;

    *signal = 0;
    if (n > HOST_FAMILY_MAX_ACCESS || !ask(f, slot, &c, NULL, &r) ||
        r.result < 0 || (size_t)r.result > n ||
        !transfer(f->replies[slot], to, (size_t)r.result, false)) {
        f->broken = true;
        return 0;
    }
    *signal = r.signal;
    return (size_t)r.result;
}

size_t host_family_write(host_family *f, int slot, size_t offset,
                         const void *from, size_t n, int *signal) {
    command c = {.kind = DO_WRITE, .offset = offset, .length = n};
    reply r;

    *signal = 0;
    if (n > HOST_FAMILY_MAX_ACCESS || !ask(f, slot, &c, from, &r) ||
        r.result < 0 || (size_t)r.result > n) {
        f->broken = true;
        return 0;
    }
    *signal = r.signal;
    return (size_t)r.result;
}

/*
 * Waits for every child of this process (members, and orphans handed to
 * it), then counts the members ever made that still exist.
 */
static size_t members_left(host_family *f) {
    size_t i, left = 0;
    pid_t pid;
    int status;

    while ((pid = waitpid(-1, &status, 0)) > 0 || errno == EINTR)
        if (pid > 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
            f->bad_exits++;
    for (i = 0; i < f->num_made; i++)
        if (kill(f->every_pid[i], 0) == 0 || errno != ESRCH)
            left++;
    return left;
}

size_t host_family_end(host_family *f) {
    size_t left;
    int slot, tries;

    /* Children first: their parents are then still there to ask. */
    for (slot = HOST_FAMILY_SLOTS - 1; slot >= 0; slot--)
        if (f->pids[slot] && host_family_exit(f, slot) != 0)
            f->pids[slot] = 0;
    for (slot = 0; slot < HOST_FAMILY_SLOTS; slot++) {
        close(f->commands[slot]);
        close(f->replies[slot]);
    }
    /*
     * A member answers DO_EXIT before it ends, and one whose parent has not
     * ended yet is not this process's child to wait for: a few more looks.
     */
    for (tries = 0; (left = members_left(f)) > 0 && tries < 500; tries++)
        usleep(10000);
    (void)prctl(PR_SET_CHILD_SUBREAPER, 0);
    return left;
}
