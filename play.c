/*
 * play.c: the playground's engine (play.h): a scenario run statement by
 * statement on one fresh MMU, each statement's trace records told as
 * events (play_event.h), a snapshot after each (play_snapshot.h) kept
 * only as its delta against the one before, and the run written as JSON.
 *
 * The engine calls the library as a program would and reads what it shows
 * through read-only queries; the trace hook is its only other window. The
 * scenario's descriptors are its own small numbers (3, 4, ...), mapped to
 * the host's, so that a run's JSON is the same on every host. Left out:
 * more than PLAY_MAX_FDS files open at once, reads and writes of more
 * than PLAY_MAX_TRANSFER bytes in one statement.
 */
/* mkdtemp, fstat, ftruncate, opendir with 64-bit sizes; realpath. */
#define _POSIX_C_SOURCE 200809L
#define _XOPEN_SOURCE 700
#define _FILE_OFFSET_BITS 64

#include "play.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel.h"
#include "mmu.h"
#include "play_snapshot.h"
#include "play_text.h"
#include "trace.h"
#include "vm.h"

#define PLAY_MAX_FDS 64
#define PLAY_FIRST_FD 3
#define PLAY_MAX_TRANSFER (1 << 20)
#define PLAY_MAX_FIXTURE (16 << 20)

typedef struct {
    char *name;
    uint64_t device, inode;
} run_file;

struct play_run {
    char *name;
    bool ok;
    scenario_error error;
    size_t frames;
    char policy[SCENARIO_POLICY_SIZE];
    char *note; /* what the run could not do as asked (a policy), or NULL */
    play_step *steps;
    size_t num_steps, steps_room;
    play_snapshot *last, *scratch;
    char *process_names[MAX_PROCESS_ID];
    run_file *files;
    play_file_name *file_names;
    size_t num_files, files_room;
    play_counts counts;
    unsigned char *copies; /* by frame: given as a copy (frames + 1) */
    /* While the run goes on. */
    const scenario *s;
    mmu *machine;
    int64_t *values;
    char dir[PATH_MAX];
    const char *base_dir;
    int fds[PLAY_MAX_FDS]; /* host descriptors; -1: free */
    play_event *events;
    size_t num_events, events_room;
    /* Where an eviction's choice goes: before the saving (swap out, write
     * back) that the trace reports ahead of the eviction itself. */
    size_t choice_at;
    const char *access;
    size_t tlb_pid;
    bool flushed; /* this step told of a TLB flush */
    bool keep;    /* each step keeps its snapshot (the steps own them) */
    bool out_of_memory;
};

/* A statement's outcome, before it becomes a step's. */
typedef struct {
    play_outcome_kind kind;
    bool has_value, is_address;
    int64_t value;
    int error;
    const char *bytes;
    size_t num_bytes;
    bool accesses; /* a read or a write, at `address` */
    addr32 address;
    play_text text;
} outcome;

/* Whether the pool's capacity was set by a run (PLAY_MAX_FRAMES). */
static bool pool_sized;

static const char *errno_name(int error) {
    static const struct {
        int value;
        const char *name;
    } names[] = {
        {EINVAL, "EINVAL"}, {ENOMEM, "ENOMEM"}, {EBADF, "EBADF"},
        {EACCES, "EACCES"}, {ENODEV, "ENODEV"}, {EOVERFLOW, "EOVERFLOW"},
        {EFAULT, "EFAULT"}, {ENXIO, "ENXIO"},   {EAGAIN, "EAGAIN"},
        {EEXIST, "EEXIST"}, {EBUSY, "EBUSY"},   {EIO, "EIO"},
        {ENOSPC, "ENOSPC"}, {ENOENT, "ENOENT"}, {EPERM, "EPERM"},
        {EMFILE, "EMFILE"}, {EISDIR, "EISDIR"}, {EFBIG, "EFBIG"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].value == error)
            return names[i].name;
    return "EUNKNOWN";
}

/* The name a process gets by its pid: A to Z, then its number. */
static void default_name(size_t pid, char out[24]) {
    if (pid < 26)
        snprintf(out, 24, "%c", (char)('A' + pid));
    else
        snprintf(out, 24, "%zu", pid);
}

static void name_process(play_run *run, size_t pid, const char *name) {
    if (pid >= MAX_PROCESS_ID)
        return;
    char buffer[24];
    if (!name) {
        default_name(pid, buffer);
        name = buffer;
    }
    free(run->process_names[pid]);
    run->process_names[pid] = strdup(name);
    if (!run->process_names[pid])
        run->out_of_memory = true;
}

static const char *process_name(const play_run *run, size_t pid) {
    return pid < MAX_PROCESS_ID && run->process_names[pid]
               ? run->process_names[pid] : "?";
}

static play_view view_of(const play_run *run) {
    return (play_view){run->machine, run->frames,
                       (const char *const *)run->process_names,
                       run->file_names, run->num_files, run->copies,
                       &run->counts};
}

/* ---- Events ---- */

static void add_event(play_run *run, const play_event *event) {
    if (run->num_events == run->events_room) {
        size_t room = run->events_room ? run->events_room * 2 : 16;
        play_event *grown = realloc(run->events, room * sizeof *grown);
        if (!grown) {
            free(event->text);
            run->out_of_memory = true;
            return;
        }
        run->events = grown;
        run->events_room = room;
    }
    run->events[run->num_events++] = *event;
    if (strcmp(event->kind, "swap_out") && strcmp(event->kind, "write_back") &&
        strcmp(event->kind, "pager_write"))
        run->choice_at = run->num_events;
}

/* Adds the policy's choice at choice_at, ahead of the saving it caused. */
static void add_choice(play_run *run, const play_event *choice) {
    size_t at = run->choice_at < run->num_events ? run->choice_at
                                                 : run->num_events;
    add_event(run, choice);
    if (run->out_of_memory)
        return;
    play_event moved = run->events[run->num_events - 1];
    memmove(&run->events[at + 1], &run->events[at],
            (run->num_events - 1 - at) * sizeof moved);
    run->events[at] = moved;
}

static void tell_flush(play_run *run, size_t from, size_t to) {
    play_event e;
    int made = from == to
                   ? play_event_make(&e, "tlb_flush", play_event_rule_tlb_flush,
                                     "the TLB is flushed: %s's entries "
                                     "changed all at once",
                                     process_name(run, to))
                   : play_event_make(&e, "tlb_flush", play_event_rule_tlb_flush,
                                     "the TLB is flushed: %s runs now, %s's "
                                     "translations are not its own",
                                     process_name(run, to),
                                     process_name(run, from));
    if (made < 0) {
        run->out_of_memory = true;
        return;
    }
    e.pid = (long)to;
    add_event(run, &e);
    run->flushed = true;
}

/* The counts the MMU keeps none of, and the frames given as copies. */
static void count(play_run *run, const trace_record *r) {
    if (r->event == TRACE_TLB_HIT)
        run->counts.tlb_hits++;
    else if (r->event == TRACE_EVICTION)
        run->counts.evictions++;
    else if (r->event == TRACE_WRITE_BACK)
        run->counts.write_backs++;
    uint32_t frame = r->physical_address >> NUM_OFFSET_BITS;
    if (r->event == TRACE_FRAME_GIVEN && frame <= run->frames)
        run->copies[frame] = r->use == TRACE_FRAME_COPY;
}

static void on_trace(const trace_record *record, void *context) {
    play_run *run = context;
    bool translation = record->event == TRACE_TLB_HIT ||
                       record->event == TRACE_TLB_MISS;
    if (translation && record->pid != run->tlb_pid) {
        tell_flush(run, run->tlb_pid, record->pid);
        run->tlb_pid = record->pid;
    }
    count(run, record);
    play_event_context c = {(const char *const *)run->process_names,
                            run->access, run->policy};
    play_event events[2];
    size_t n = play_event_describe(record, &c, events);
    if (n == 0)
        run->out_of_memory = true;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(events[i].kind, "policy_choice") == 0)
            add_choice(run, &events[i]);
        else
            add_event(run, &events[i]);
    }
}

/* ---- Files ---- */

/* Names the file at `path` by its identity (a new name, or a new inode). */
static void register_file(play_run *run, const char *name, int fd) {
    struct stat st;
    if (fstat(fd, &st) < 0)
        return;
    size_t i = 0;
    while (i < run->num_files && strcmp(run->files[i].name, name) != 0)
        i++;
    if (i == run->num_files) {
        if (run->num_files == run->files_room) {
            size_t room = run->files_room ? run->files_room * 2 : 8;
            run_file *files = realloc(run->files, room * sizeof *files);
            play_file_name *names =
                files ? realloc(run->file_names, room * sizeof *names) : NULL;
            if (files)
                run->files = files;
            if (!names) {
                run->out_of_memory = true;
                return;
            }
            run->file_names = names;
            run->files_room = room;
        }
        run->files[i].name = strdup(name);
        if (!run->files[i].name) {
            run->out_of_memory = true;
            return;
        }
        run->num_files++;
    }
    run->files[i].device = (uint64_t)st.st_dev;
    run->files[i].inode = (uint64_t)st.st_ino;
    run->file_names[i] = (play_file_name){run->files[i].device,
                                          run->files[i].inode,
                                          run->files[i].name};
}

/* `directory`/`name` into `out`; a path too long becomes "" (ENOENT). */
static void join(const char *directory, const char *name, char out[PATH_MAX]) {
    int n = snprintf(out, PATH_MAX, "%s/%s", directory, name);
    if (n < 0 || n >= PATH_MAX)
        out[0] = '\0';
}

/* The path of scenario file `name` in the run's directory. */
static void file_path(const play_run *run, const char *name,
                      char out[PATH_MAX]) {
    join(run->dir, name, out);
}

/* Reads fixture `path` (below the base directory) into *bytes. */
static int read_fixture(const play_run *run, const char *path, char **bytes,
                        size_t *length) {
    char full[PATH_MAX];
    join(run->base_dir ? run->base_dir : ".", path, full);
    FILE *in = fopen(full, "rb");
    if (!in)
        return -1;
    *bytes = malloc(PLAY_MAX_FIXTURE);
    *length = *bytes ? fread(*bytes, 1, PLAY_MAX_FIXTURE, in) : 0;
    int error = !*bytes ? ENOMEM : ferror(in) ? EIO : 0;
    fclose(in);
    if (error) {
        free(*bytes);
        errno = error;
        return -1;
    }
    return 0;
}

/* Writes `length` bytes to a new file `name`; 0, or -1 with errno. */
static int make_file(play_run *run, const char *name, const char *bytes,
                     size_t length) {
    char path[PATH_MAX];
    file_path(run, name, path);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    size_t done = 0;
    while (done < length) {
        ssize_t n = write(fd, bytes + done, length - done);
        if (n < 0) {
            int error = errno;
            close(fd);
            errno = error;
            return -1;
        }
        done += (size_t)n;
    }
    register_file(run, name, fd);
    return close(fd);
}

/* ---- Statements ---- */

static int64_t arg(const play_run *run, const scenario_statement *st,
                   size_t i) {
    return scenario_eval(run->s, &st->args[i], run->values);
}

static void refused(outcome *o, const char *call, int error) {
    o->kind = PLAY_OUTCOME_ERRNO;
    o->error = error;
    play_text_printf(&o->text, "%s failed: %s (%s)", call, errno_name(error),
                     strerror(error));
}

/* The outcome of a call returning 0 or -1 with errno. */
static void status(outcome *o, const char *call, int result) {
    if (result < 0) {
        refused(o, call, errno);
        return;
    }
    o->has_value = true;
    o->value = result;
    play_text_printf(&o->text, "%s returned %d", call, result);
}

/*
 * `file NAME at PATH`: NAME in the run's directory becomes a symbolic link
 * to the caller's file, so that every open of NAME opens that file and a
 * shared mapping's writes reach it; removing the directory removes only
 * the link. The target is made absolute, since a relative one would be
 * read from the run's directory.
 */
static void link_file(play_run *run, const scenario_statement *st,
                      outcome *o) {
    char given[PATH_MAX], target[PATH_MAX], path[PATH_MAX];
    if (st->data[0] == '/')
        snprintf(given, sizeof given, "%s", st->data);
    else
        join(run->base_dir ? run->base_dir : ".", st->data, given);
    file_path(run, st->path, path);
    if (!realpath(given, target) || symlink(target, path) < 0) {
        refused(o, "linking the file", errno);
        return;
    }
    int fd = open(path, O_RDONLY);
    if (fd >= 0) {
        register_file(run, st->path, fd);
        close(fd);
    }
    play_text_printf(&o->text, "file %s is %s, used in place", st->path,
                     target);
}

static void do_file(play_run *run, const scenario_statement *st, outcome *o) {
    if (st->in_place) {
        link_file(run, st, o);
        return;
    }
    char *fixture = NULL;
    size_t length = st->data_length;
    const char *bytes = st->data;
    if (st->from_fixture) {
        if (read_fixture(run, st->data, &fixture, &length) < 0) {
            refused(o, "copying the fixture", errno);
            return;
        }
        bytes = fixture;
    }
    if (make_file(run, st->path, bytes, length) < 0)
        refused(o, "making the file", errno);
    else
        play_text_printf(&o->text, "file %s made with %zu bytes", st->path,
                         length);
    free(fixture);
}

static int host_flags(int64_t flags) {
    int access = (flags & 3) == SCENARIO_O_WRONLY ? O_WRONLY
                 : (flags & 3) == SCENARIO_O_RDWR ? O_RDWR : O_RDONLY;
    return access | (flags & SCENARIO_O_CREAT ? O_CREAT : 0) |
           (flags & SCENARIO_O_TRUNC ? O_TRUNC : 0);
}

static void do_open(play_run *run, const scenario_statement *st, outcome *o) {
    size_t slot = 0;
    while (slot < PLAY_MAX_FDS && run->fds[slot] >= 0)
        slot++;
    if (slot == PLAY_MAX_FDS) {
        refused(o, "open", EMFILE);
        return;
    }
    char path[PATH_MAX];
    file_path(run, st->path, path);
    int fd = open(path, host_flags(arg(run, st, 0)), 0644);
    if (fd < 0) {
        refused(o, "open", errno);
        return;
    }
    register_file(run, st->path, fd);
    run->fds[slot] = fd;
    o->kind = PLAY_OUTCOME_VALUE;
    o->has_value = true;
    o->value = PLAY_FIRST_FD + (int64_t)slot;
    play_text_printf(&o->text, "open returned descriptor %d for %s",
                     (int)o->value, st->path);
}

/* The host's descriptor for scenario descriptor `fd`, or -1. */
static int host_fd(const play_run *run, int64_t fd) {
    int64_t slot = fd - PLAY_FIRST_FD;
    return slot >= 0 && slot < PLAY_MAX_FDS ? run->fds[slot] : -1;
}

static void do_close(play_run *run, const scenario_statement *st, outcome *o) {
    int64_t fd = arg(run, st, 0);
    int host = host_fd(run, fd);
    if (host < 0) {
        refused(o, "close", EBADF);
        return;
    }
    run->fds[fd - PLAY_FIRST_FD] = -1;
    status(o, "close", close(host));
}

static void do_ftruncate(play_run *run, const scenario_statement *st,
                         outcome *o) {
    int host = host_fd(run, arg(run, st, 0));
    if (host < 0) {
        refused(o, "ftruncate", EBADF);
        return;
    }
    status(o, "ftruncate", ftruncate(host, (off_t)arg(run, st, 1)));
}

static void do_pwrite(play_run *run, const scenario_statement *st,
                      outcome *o) {
    int host = host_fd(run, arg(run, st, 0));
    if (host < 0) {
        refused(o, "pwrite", EBADF);
        return;
    }
    ssize_t n = pwrite(host, st->data, st->data_length, (off_t)arg(run, st, 1));
    if (n < 0) {
        refused(o, "pwrite", errno);
        return;
    }
    o->has_value = true;
    o->value = n;
    play_text_printf(&o->text, "pwrite wrote %zd bytes to the file, as "
                     "another program would", n);
}

/* An address argument: false (and EINVAL told) when it leaves 32 bits. */
static bool address_arg(const play_run *run, const scenario_statement *st,
                        size_t i, addr32 *out, outcome *o) {
    int64_t value = arg(run, st, i);
    if (value < 0 || value > (int64_t)UINT32_MAX) {
        o->kind = PLAY_OUTCOME_ERRNO;
        o->error = EINVAL;
        play_text_printf(&o->text, "0x%llx is no 32-bit address: EINVAL",
                         (unsigned long long)value);
        return false;
    }
    *out = (addr32)value;
    return true;
}

/* The outcome of a call returning an address, or `failed` with errno. */
static void address_result(outcome *o, const char *call, addr32 result,
                           addr32 failed, const char *bound) {
    if (result == failed) {
        refused(o, call, errno);
        return;
    }
    o->kind = PLAY_OUTCOME_VALUE;
    o->has_value = o->is_address = true;
    o->value = result;
    play_text_printf(&o->text, "%s returned 0x%08x%s%s%s", call,
                     (unsigned)result, bound ? " (" : "", bound ? bound : "",
                     bound ? ")" : "");
}

static const char *bound_name(const play_run *run,
                              const scenario_statement *st) {
    return st->result >= 0 ? run->s->names[st->result] : NULL;
}

static void do_mmap(play_run *run, const scenario_statement *st, outcome *o) {
    addr32 address;
    if (!address_arg(run, st, 1, &address, o))
        return;
    int64_t flags = arg(run, st, 4), fd = arg(run, st, 5);
    int host = flags & VM_MAP_ANONYMOUS ? (int)fd : host_fd(run, fd);
    addr32 result = vm_mmap(run->machine, (size_t)arg(run, st, 0), address,
                            (size_t)arg(run, st, 2), (int)arg(run, st, 3),
                            (int)flags, host, (off_t)arg(run, st, 6));
    address_result(o, "vm_mmap", result, VM_MAP_FAILED, bound_name(run, st));
}

/* vm_munmap, vm_mprotect, vm_msync: a range and maybe a fourth argument. */
static void do_range(play_run *run, const scenario_statement *st, outcome *o) {
    addr32 address;
    if (!address_arg(run, st, 1, &address, o))
        return;
    size_t pid = (size_t)arg(run, st, 0), length = (size_t)arg(run, st, 2);
    int result;
    if (st->op == SCENARIO_MUNMAP)
        result = vm_munmap(run->machine, pid, address, length);
    else if (st->op == SCENARIO_MPROTECT)
        result = vm_mprotect(run->machine, pid, address, length,
                             (int)arg(run, st, 3));
    else
        result = vm_msync(run->machine, pid, address, length,
                          (int)arg(run, st, 3));
    status(o, scenario_op_name(st->op), result);
}

static void do_sbrk(play_run *run, const scenario_statement *st, outcome *o) {
    addr32 result = vm_sbrk(run->machine, (size_t)arg(run, st, 0),
                            (long)arg(run, st, 1));
    address_result(o, "vm_sbrk", result, (addr32)-1, bound_name(run, st));
}

static void do_process(play_run *run, const scenario_statement *st,
                       outcome *o) {
    size_t pid = (size_t)arg(run, st, 0);
    if (st->op == SCENARIO_REMOVE_PROCESS) {
        status(o, "mmu_remove_process", mmu_remove_process(run->machine, pid));
        return;
    }
    if (st->op == SCENARIO_ADD_PROCESS) {
        if (pid < MAX_PROCESS_ID && !run->machine->page_directories[pid])
            name_process(run, pid, NULL); /* before: its events name it */
        status(o, "mmu_add_process", mmu_add_process(run->machine, pid));
        return;
    }
    size_t next = 0; /* the child's pid to be, named before its events */
    while (next < MAX_PROCESS_ID && run->machine->page_directories[next])
        next++;
    name_process(run, next, bound_name(run, st));
    int child = vm_fork(run->machine, pid);
    if (child < 0) {
        refused(o, "vm_fork", errno);
        return;
    }
    o->kind = PLAY_OUTCOME_VALUE;
    o->has_value = true;
    o->value = child;
    play_text_printf(&o->text, "vm_fork made %s, pid %d, a copy of %s",
                     process_name(run, (size_t)child), child,
                     process_name(run, pid));
}

/* How an access that stopped short ends: a signal or an errno. */
static void stopped(outcome *o, const char *what, addr32 address,
                    size_t done, int error) {
    o->error = error;
    if (error == EFAULT || error == EACCES) {
        o->kind = PLAY_OUTCOME_SEGFAULT;
        play_text_printf(&o->text, "segmentation fault: the %s stops at "
                         "0x%08x after %zu bytes (%s: %s)", what,
                         (unsigned)(address + done), done, errno_name(error),
                         error == EFAULT ? "no area maps it"
                                         : "the area does not allow it");
    } else if (error == ENXIO) {
        o->kind = PLAY_OUTCOME_BUS_ERROR;
        play_text_printf(&o->text, "bus error: the %s stops at 0x%08x after "
                         "%zu bytes (ENXIO: past the end of the file)", what,
                         (unsigned)(address + done), done);
    } else {
        refused(o, what, error);
    }
}

/* The bytes an access moves: a read's count or a write's data; false
 * (and EINVAL told) past PLAY_MAX_TRANSFER. */
static bool transfer_size(const play_run *run, const scenario_statement *st,
                          size_t *count, outcome *o) {
    bool reading = st->op == SCENARIO_READ;
    int64_t wanted = reading ? arg(run, st, 2) : (int64_t)st->data_length;
    if (wanted < 0 || wanted > PLAY_MAX_TRANSFER) {
        o->kind = PLAY_OUTCOME_ERRNO;
        o->error = EINVAL;
        play_text_printf(&o->text, "a %s moves 0 to %d bytes: EINVAL",
                         reading ? "read" : "write", PLAY_MAX_TRANSFER);
        return false;
    }
    *count = (size_t)wanted;
    return true;
}

static void do_access(play_run *run, const scenario_statement *st,
                      outcome *o, char **buffer) {
    addr32 address;
    size_t count, done;
    if (!address_arg(run, st, 1, &address, o) ||
        !transfer_size(run, st, &count, o))
        return;
    bool reading = st->op == SCENARIO_READ;
    size_t pid = (size_t)arg(run, st, 0);
    o->accesses = true;
    o->address = address;
    errno = 0;
    if (reading) {
        if (!(*buffer = malloc(count ? count : 1))) {
            run->out_of_memory = true;
            return;
        }
        done = mmu_read_from_virtual_address(run->machine, address, pid,
                                             *buffer, count);
        o->bytes = *buffer;
        o->num_bytes = done;
    } else {
        done = mmu_write_to_virtual_address(run->machine, address, pid,
                                            st->data, count);
    }
    o->has_value = true;
    o->value = (int64_t)done;
    if (done < count) {
        stopped(o, reading ? "read" : "write", address, done, errno);
        return;
    }
    o->kind = reading ? PLAY_OUTCOME_READ : PLAY_OUTCOME_OK;
    play_text_printf(&o->text, "%s %zu bytes at 0x%08x", reading ? "read" :
                     "wrote", done, (unsigned)address);
    if (reading) {
        play_text_puts(&o->text, ": \"");
        play_text_visible(&o->text, *buffer, done);
        play_text_puts(&o->text, "\"");
    }
}

/* Runs `st`; a read's bytes are left in *buffer (the caller's). */
static void execute(play_run *run, const scenario_statement *st, outcome *o,
                    char **buffer) {
    o->kind = PLAY_OUTCOME_OK;
    errno = 0;
    switch (st->op) {
    case SCENARIO_FILE: do_file(run, st, o); break;
    case SCENARIO_OPEN: do_open(run, st, o); break;
    case SCENARIO_CLOSE: do_close(run, st, o); break;
    case SCENARIO_FTRUNCATE: do_ftruncate(run, st, o); break;
    case SCENARIO_PWRITE: do_pwrite(run, st, o); break;
    case SCENARIO_MMAP: do_mmap(run, st, o); break;
    case SCENARIO_MUNMAP:
    case SCENARIO_MPROTECT:
    case SCENARIO_MSYNC: do_range(run, st, o); break;
    case SCENARIO_SBRK: do_sbrk(run, st, o); break;
    case SCENARIO_ADD_PROCESS:
    case SCENARIO_REMOVE_PROCESS:
    case SCENARIO_FORK: do_process(run, st, o); break;
    case SCENARIO_READ:
    case SCENARIO_WRITE: do_access(run, st, o, buffer); break;
    }
    if (st->result >= 0)
        run->values[st->result] = o->has_value ? o->value : -1;
}

/* ---- Steps ---- */

/*
 * The snapshot just taken becomes the last one. Kept, it is the step's,
 * and a new one is taken next time; else the two are swapped, so that a
 * run holds two snapshots whatever its length.
 */
static void keep_or_swap(play_run *run, play_step *step) {
    if (!run->keep) {
        play_snapshot *swap = run->last;
        run->last = run->scratch;
        run->scratch = swap;
        return;
    }
    if (step->index == 0)
        play_snapshot_delete(run->last); /* start()'s, no step's */
    step->snapshot = run->scratch;
    run->last = run->scratch;
    run->scratch = play_snapshot_create();
    run->out_of_memory |= !run->scratch;
}

static const char *outcome_kind_name(play_outcome_kind kind) {
    static const char *const names[] = {"ok", "value", "errno", "segfault",
                                        "bus_error", "read"};
    return names[kind];
}

static void json_long_or_null(play_text *t, long value) {
    if (value == PLAY_EVENT_NONE)
        play_text_puts(t, "null");
    else
        play_text_printf(t, "%ld", value);
}

static void event_json(play_text *t, const play_event *e) {
    play_text_printf(t, "{\"kind\":\"%s\",\"pid\":", e->kind);
    json_long_or_null(t, e->pid);
    play_text_puts(t, ",\"address\":");
    if (e->address == PLAY_EVENT_NONE)
        play_text_puts(t, "null");
    else
        play_text_printf(t, "\"0x%08lx\"", (unsigned long)e->address);
    play_text_puts(t, ",\"frame\":");
    json_long_or_null(t, e->frame);
    play_text_puts(t, ",\"slot\":");
    json_long_or_null(t, e->slot);
    play_text_puts(t, ",\"fault\":");
    if (e->fault)
        play_text_printf(t, "\"%s\"", e->fault);
    else
        play_text_puts(t, "null");
    play_text_puts(t, ",\"text\":");
    play_text_json(t, e->text, strlen(e->text));
    play_text_puts(t, ",\"rule\":");
    play_text_json(t, e->rule, strlen(e->rule));
    play_text_puts(t, "}");
}

static void outcome_json(play_text *t, const outcome *o, const char *text) {
    play_text_printf(t, "{\"kind\":\"%s\",\"value\":",
                     outcome_kind_name(o->kind));
    if (!o->has_value)
        play_text_puts(t, "null");
    else if (o->is_address)
        play_text_printf(t, "\"0x%08llx\"", (unsigned long long)o->value);
    else
        play_text_printf(t, "%lld", (long long)o->value);
    play_text_puts(t, ",\"errno\":");
    if (o->error)
        play_text_printf(t, "\"%s\"", errno_name(o->error));
    else
        play_text_puts(t, "null");
    play_text_puts(t, ",\"bytes\":");
    if (o->bytes) {
        play_text visible = {0};
        play_text_visible(&visible, o->bytes, o->num_bytes);
        play_text_json(t, visible.text ? visible.text : "", visible.length);
        t->failed |= visible.failed;
        play_text_free(&visible);
    } else {
        play_text_puts(t, "null");
    }
    play_text_puts(t, ",\"text\":");
    play_text_json(t, text, strlen(text));
    play_text_puts(t, "}");
}

/* The step's JSON, from its fields and the delta's JSON. */
static char *step_json(const play_step *step, const outcome *o,
                       const play_text *delta) {
    play_text t = {0};
    play_text_printf(&t, "{\"index\":%zu,\"line\":%zu,\"source\":",
                     step->index, step->line);
    if (step->source)
        play_text_json(&t, step->source, strlen(step->source));
    else
        play_text_puts(&t, "null");
    play_text_puts(&t, ",\"pid\":");
    json_long_or_null(&t, step->pid);
    play_text_puts(&t, ",\"outcome\":");
    outcome_json(&t, o, step->outcome_text);
    play_text_puts(&t, ",\"events\":[");
    for (size_t i = 0; i < step->num_events; i++) {
        if (i)
            play_text_puts(&t, ",");
        event_json(&t, &step->events[i]);
    }
    play_text_puts(&t, "],\"delta\":");
    play_text_add(&t, delta->text ? delta->text : "{}",
                  delta->text ? delta->length : 2);
    play_text_puts(&t, "}");
    return play_text_take(&t);
}

/* Frames that went back to the pool since the last snapshot, as events. */
static void tell_freed(play_run *run, const play_snapshot *before,
                       const play_snapshot *after) {
    for (uint32_t n = 1; n <= run->frames; n++) {
        play_frame_owner was = play_snapshot_frame_owner(before, n);
        if (was == PLAY_FRAME_FREE ||
            play_snapshot_frame_owner(after, n) != PLAY_FRAME_FREE)
            continue;
        play_event e;
        if (play_event_make(&e, "frame_freed", play_event_rule_frame_freed,
                            "frame %u (%s) goes back to the pool",
                            (unsigned)n, play_snapshot_owner_name(was)) < 0) {
            run->out_of_memory = true;
            return;
        }
        e.frame = (long)n;
        add_event(run, &e);
    }
}

/* The number of translations the TLB holds. */
static size_t tlb_count(const mmu *machine) {
    size_t n = 0;
    for (int i = 0; i < TLB_SIZE; i++)
        n += machine->tlb->slots[i].vpn != TLB_NO_PAGE;
    return n;
}

static play_step *new_step(play_run *run) {
    if (run->num_steps == run->steps_room) {
        size_t room = run->steps_room ? run->steps_room * 2 : 64;
        play_step *grown = realloc(run->steps, room * sizeof *grown);
        if (!grown) {
            run->out_of_memory = true;
            return NULL;
        }
        run->steps = grown;
        run->steps_room = room;
    }
    play_step *step = &run->steps[run->num_steps];
    memset(step, 0, sizeof *step);
    step->index = run->num_steps;
    step->pid = -1;
    return step;
}

/*
 * Records the step of `st` (NULL: step 0), acting in `pid` (or -1), after it ran: the snapshot's
 * delta, the frames given back, and the step's JSON and words.
 */
static void record(play_run *run, const scenario_statement *st, outcome *o,
                   long pid, size_t tlb_before) {
    play_step *step = new_step(run);
    play_view view = view_of(run);
    if (!step || !run->scratch ||
        play_snapshot_take(run->scratch, &view) < 0) {
        run->out_of_memory = true;
        return;
    }
    if (st && (st->op == SCENARIO_FORK || st->op == SCENARIO_REMOVE_PROCESS) &&
        tlb_before && !tlb_count(run->machine) && !run->flushed)
        tell_flush(run, run->tlb_pid, run->machine->curr_pid);
    if (st)
        tell_freed(run, run->last, run->scratch);
    play_text delta = {0}, words = {0};
    play_snapshot_diff(st ? run->last : NULL, run->scratch, &view, &delta,
                       &words);
    if (st) {
        step->line = st->line;
        step->source = strdup(st->source);
        if (!step->source)
            run->out_of_memory = true;
        step->pid = pid;
    }
    step->outcome = o->kind;
    step->accesses = o->accesses;
    step->address = o->address;
    step->has_value = o->has_value;
    step->value = o->value;
    if (o->bytes) {
        step->bytes = malloc(o->num_bytes ? o->num_bytes : 1);
        if (step->bytes)
            memcpy(step->bytes, o->bytes, o->num_bytes);
        step->num_bytes = o->num_bytes;
        run->out_of_memory |= !step->bytes;
    }
    step->outcome_text = play_text_take(&o->text);
    step->events = run->events;
    step->num_events = run->num_events;
    run->events = NULL;
    run->num_events = run->events_room = run->choice_at = 0;
    step->changes = play_text_take(&words);
    step->json = step->outcome_text ? step_json(step, o, &delta) : NULL;
    run->num_steps++;
    if (!step->outcome_text || !step->changes || !step->json || delta.failed)
        run->out_of_memory = true;
    play_text_free(&delta);
    keep_or_swap(run, step);
}

/* The process a statement acts in, or -1, read before it runs. */
static long acting_pid(const play_run *run, const scenario_statement *st) {
    if (st->op == SCENARIO_FILE || st->op == SCENARIO_OPEN ||
        st->op == SCENARIO_CLOSE || st->op == SCENARIO_FTRUNCATE ||
        st->op == SCENARIO_PWRITE)
        return -1;
    int64_t pid = arg(run, st, 0);
    return pid >= 0 && pid < MAX_PROCESS_ID ? (long)pid : -1;
}

static void run_statement(play_run *run, const scenario_statement *st) {
    outcome o = {0};
    char *buffer = NULL;
    long pid = acting_pid(run, st);
    size_t tlb_before = tlb_count(run->machine);
    run->flushed = false;
    run->access = st->op == SCENARIO_READ ? "read"
                  : st->op == SCENARIO_WRITE ? "write" : "access";
    execute(run, st, &o, &buffer);
    record(run, st, &o, pid, tlb_before);
    play_text_free(&o.text);
    free(buffer);
}

/*
 * The one place a scenario's `policy NAME` reaches the pool (kernel.h):
 * the pool is empty here, so the policy starts afresh. No line means the
 * clock, whatever an earlier run chose. A name the pool has not, or opt,
 * which needs the future only a replay knows, is noted, and the run uses
 * the clock. Returns the policy used.
 */
static const char *apply_policy(play_run *run, const char *wanted) {
    const char *name = wanted[0] ? wanted : "clock";
    int policy = kernel_policy_from_name(name);
    if (policy < 0 || policy == KERNEL_POLICY_OPT ||
        kernel_set_policy((kernel_policy)policy) != 0) {
        char note[160];
        snprintf(note, sizeof note, "policy %s cannot run a scenario (opt "
                 "needs a replay's future): the run used clock", name);
        run->note = strdup(note);
        kernel_set_policy(KERNEL_POLICY_CLOCK);
        return "clock";
    }
    return kernel_policy_name((kernel_policy)policy);
}

/* A scenario error found only at run time, at `line`. */
static void run_error(play_run *run, size_t line, const char *message) {
    run->ok = false;
    run->error.line = line;
    run->error.column = 1;
    snprintf(run->error.message, sizeof run->error.message, "%s", message);
}

/* Sizes the pool for the scenario; false (a scenario error, or errno). */
static bool size_pool(play_run *run, const scenario *s) {
    if (!pool_sized) {
        kernel_set_frames(PLAY_MAX_FRAMES); /* the capacity, if first */
        pool_sized = true;
    }
    size_t capacity = kernel_frames_capacity();
    if (capacity == 0)
        return false;
    if (s->frames > capacity || kernel_set_frames(s->frames) < 0) {
        if (errno == EBUSY)
            return false;
        char message[SCENARIO_MESSAGE_SIZE];
        snprintf(message, sizeof message, "expected at most %zu frames "
                 "(the pool's capacity)", capacity);
        run_error(run, s->frames_line, message);
        errno = EINVAL;
        return false;
    }
    return true;
}

/* Makes the machine and the run's directory, and takes the trace hook. */
static bool start(play_run *run, const scenario *s) {
    if (!size_pool(run, s))
        return false;
    run->frames = s->frames;
    snprintf(run->policy, sizeof run->policy, "%s", apply_policy(run, s->policy));
    const char *tmp = getenv("TMPDIR");
    snprintf(run->dir, sizeof run->dir, "%s/mmap_play.XXXXXX",
             tmp && tmp[0] ? tmp : "/tmp");
    run->copies = calloc(s->frames + 1, 1);
    run->values = calloc(s->num_names + 1, sizeof *run->values);
    run->last = play_snapshot_create();
    run->scratch = play_snapshot_create();
    if (!run->copies || !run->values || !run->last || !run->scratch) {
        errno = ENOMEM;
        return false;
    }
    if (!mkdtemp(run->dir)) {
        run->dir[0] = '\0';
        return false;
    }
    run->machine = mmu_create();
    if (!run->machine)
        return false;
    run->tlb_pid = run->machine->curr_pid;
    trace_set_hook(on_trace, run);
    return true;
}

/* Ends the machine, closes the descriptors, removes the directory. */
static void finish(play_run *run) {
    trace_set_hook(NULL, NULL);
    mmu_delete(run->machine);
    run->machine = NULL;
    for (int i = 0; i < PLAY_MAX_FDS; i++)
        if (run->fds[i] >= 0)
            close(run->fds[i]);
    DIR *dir = run->dir[0] ? opendir(run->dir) : NULL;
    for (struct dirent *e = dir ? readdir(dir) : NULL; e; e = readdir(dir)) {
        char path[PATH_MAX];
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            join(run->dir, e->d_name, path);
            unlink(path);
        }
    }
    if (dir)
        closedir(dir);
    if (run->dir[0])
        rmdir(run->dir);
    free(run->values);
    run->values = NULL;
    play_snapshot_delete(run->scratch);
    run->scratch = NULL;
}

/* ---- The run ---- */

static play_run *new_run(const char *name) {
    play_run *run = calloc(1, sizeof *run);
    if (!run)
        return NULL;
    run->name = strdup(name ? name : "scenario");
    if (!run->name) {
        free(run);
        return NULL;
    }
    run->frames = SCENARIO_DEFAULT_FRAMES;
    snprintf(run->policy, sizeof run->policy, "clock");
    for (int i = 0; i < PLAY_MAX_FDS; i++)
        run->fds[i] = -1;
    return run;
}

/* Runs the parsed scenario `s`: false with errno when it could not. */
static bool run_all(play_run *run, const scenario *s) {
    run->s = s;
    bool started = start(run, s);
    if (started) {
        outcome o = {0};
        play_text_printf(&o.text, "the machine before the first statement: "
                         "%zu frames, no process", run->frames);
        record(run, NULL, &o, -1, 0);
        play_text_free(&o.text);
        for (size_t i = 0; i < s->num_statements && !run->out_of_memory; i++)
            run_statement(run, &s->statements[i]);
    }
    int error = errno;
    finish(run);
    run->s = NULL;
    if (run->out_of_memory) {
        errno = ENOMEM;
        return false;
    }
    errno = error;
    return started || !run->ok;
}

/* play_run_scenario, keeping each step's snapshot when `keep`. */
static play_run *run_scenario(const char *text, const char *name,
                              const char *base_dir, bool keep) {
    play_run *run = new_run(name);
    if (!run) {
        errno = ENOMEM;
        return NULL;
    }
    run->keep = keep;
    scenario *s = scenario_parse(text, &run->error);
    if (!s) {
        if (errno == EINVAL)
            return run; /* ok stays false: the error says why */
        play_run_delete(run);
        errno = ENOMEM;
        return NULL;
    }
    run->ok = true;
    run->base_dir = base_dir;
    bool ran = run_all(run, s);
    int error = errno;
    scenario_delete(s);
    if (!ran) {
        play_run_delete(run);
        errno = error;
        return NULL;
    }
    return run;
}

play_run *play_run_scenario(const char *text, const char *name,
                            const char *base_dir) {
    return run_scenario(text, name, base_dir, false);
}

play_run *play_run_scenario_keeping(const char *text, const char *name,
                                    const char *base_dir) {
    return run_scenario(text, name, base_dir, true);
}

bool play_run_ok(const play_run *self) {
    return self->ok;
}

const scenario_error *play_run_error(const play_run *self) {
    return &self->error;
}

size_t play_run_steps(const play_run *self) {
    return self->ok ? self->num_steps : 0;
}

const play_step *play_run_step(const play_run *self, size_t index) {
    return &self->steps[index];
}

size_t play_run_frames(const play_run *self) {
    return self->frames;
}

const char *play_run_policy(const play_run *self) {
    return self->policy;
}

/* The run's opening keys, up to "steps". */
static void run_head(const play_run *self, play_text *t) {
    play_text_puts(t, "{\"schema\":\"mmap-play/1\",\"scenario\":");
    play_text_json(t, self->name, strlen(self->name));
    play_text_printf(t, ",\"frames\":%zu,\"policy\":\"%s\",\"ok\":%s",
                     self->frames, self->policy, self->ok ? "true" : "false");
    if (self->note) {
        play_text_puts(t, ",\"notes\":[");
        play_text_json(t, self->note, strlen(self->note));
        play_text_puts(t, "]");
    }
    if (!self->ok) {
        play_text_printf(t, ",\"error\":{\"line\":%zu,\"column\":%zu,"
                         "\"message\":", self->error.line, self->error.column);
        play_text_json(t, self->error.message, strlen(self->error.message));
        play_text_puts(t, "}");
    }
}

char *play_run_to_json(const play_run *self) {
    play_text t = {0};
    run_head(self, &t);
    play_text_puts(&t, ",\"steps\":[");
    for (size_t i = 0; i < play_run_steps(self); i++) {
        if (i)
            play_text_puts(&t, ",\n");
        play_text_puts(&t, self->steps[i].json);
    }
    play_text_puts(&t, "]}\n");
    return play_text_take(&t);
}

char *play_run_final_snapshot(const play_run *self) {
    if (!self->ok || !self->last) {
        errno = EINVAL;
        return NULL;
    }
    play_view view = view_of(self);
    play_text t = {0};
    play_snapshot_diff(NULL, self->last, &view, &t, NULL);
    return play_text_take(&t);
}

void play_run_delete(play_run *self) {
    if (!self)
        return;
    bool last_owned = false; /* by a step that kept it */
    for (size_t i = 0; i < self->num_steps; i++) {
        play_step *step = &self->steps[i];
        for (size_t e = 0; e < step->num_events; e++)
            free(step->events[e].text);
        free(step->events);
        free(step->outcome_text);
        free((char *)step->source);
        free(step->changes);
        free(step->json);
        free(step->bytes);
        if (step->snapshot == self->last)
            last_owned = true;
        play_snapshot_delete((play_snapshot *)step->snapshot);
    }
    for (size_t e = 0; e < self->num_events; e++)
        free(self->events[e].text);
    free(self->events);
    free(self->steps);
    for (size_t i = 0; i < MAX_PROCESS_ID; i++)
        free(self->process_names[i]);
    for (size_t i = 0; i < self->num_files; i++)
        free(self->files[i].name);
    free(self->files);
    free(self->file_names);
    free(self->copies);
    free(self->values);
    if (!last_owned)
        play_snapshot_delete(self->last);
    play_snapshot_delete(self->scratch);
    free(self->note);
    free(self->name);
    free(self);
}

char *play_run_json(const char *text, const char *name, const char *base_dir) {
    play_run *run = play_run_scenario(text, name, base_dir);
    if (!run)
        return NULL;
    char *json = play_run_to_json(run);
    int error = errno;
    play_run_delete(run);
    errno = error;
    return json;
}
