/*
 * scenario.h: the playground's scenario language, parsed into statements.
 *
 * A scenario is what a lecture's program does, one statement a line,
 * written as the C it stands for: the calls of vm.h and mmu.h with the
 * same names and argument order, the MMU argument left out (there is one
 * machine), results bound to names (p = vm_mmap(...)), reads and writes
 * of strings or bytes at p + offset, files made inline or copied from a
 * fixture, `frames N`, `policy NAME` and # comments. README's section
 * "The playground" has the table of every statement. This module only
 * parses and evaluates expressions: running a scenario is play.h's.
 *
 * Processes are named by a capital letter (A is pid 0, B pid 1, ... Z pid
 * 25), by a number, or by a name bound to a pid (c = vm_fork(A)). A name
 * must be bound before it is used; a capital letter bound as a name is
 * that name from then on. Errors are data: the line, the column and what
 * was expected, never printed. Left out: loops, conditions, arithmetic
 * beyond + - * and | (with C's precedence), more than one statement a line.
 */
#ifndef SCENARIO_H
#define SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The pool's size when a scenario says nothing (`frames N`). */
#define SCENARIO_DEFAULT_FRAMES 64
/* The most arguments a statement takes (vm_mmap's seven). */
#define SCENARIO_MAX_ARGS 7
/* The longest error message, its terminating NUL included. */
#define SCENARIO_MESSAGE_SIZE 160
/* The longest policy name, its NUL included. */
#define SCENARIO_POLICY_SIZE 32

/*
 * open's flags as a scenario spells them (Linux's values); the engine
 * turns them into the host's O_* flags.
 */
#define SCENARIO_O_RDONLY 0x0
#define SCENARIO_O_WRONLY 0x1
#define SCENARIO_O_RDWR 0x2
#define SCENARIO_O_CREAT 0x40
#define SCENARIO_O_TRUNC 0x200

typedef enum {
    SCENARIO_FILE,           /* file NAME "contents" | file NAME from PATH |
                                file NAME at PATH */
    SCENARIO_ADD_PROCESS,    /* mmu_add_process(P) */
    SCENARIO_REMOVE_PROCESS, /* mmu_remove_process(P) */
    SCENARIO_OPEN,           /* open("NAME", FLAGS) */
    SCENARIO_CLOSE,          /* close(FD) */
    SCENARIO_FTRUNCATE,      /* ftruncate(FD, LENGTH) */
    SCENARIO_PWRITE,         /* pwrite(FD, DATA, OFFSET): another program's */
    SCENARIO_MMAP,           /* vm_mmap(P, ADDR, LENGTH, PROT, FLAGS, FD, OFF) */
    SCENARIO_MUNMAP,         /* vm_munmap(P, ADDR, LENGTH) */
    SCENARIO_MPROTECT,       /* vm_mprotect(P, ADDR, LENGTH, PROT) */
    SCENARIO_MSYNC,          /* vm_msync(P, ADDR, LENGTH, FLAGS) */
    SCENARIO_SBRK,           /* vm_sbrk(P, INCREMENT) */
    SCENARIO_FORK,           /* vm_fork(P) */
    SCENARIO_READ,           /* read(P, ADDR, COUNT) */
    SCENARIO_WRITE,          /* write(P, ADDR, DATA) */
} scenario_op;

/* One term of an expression: a number, or the value bound to a name. */
typedef struct {
    char op;      /* how it joins what comes before: '+', '-', '*', '|' */
    bool is_name; /* then `name` indexes scenario.names, else `number` */
    int64_t number;
    size_t name;
} scenario_term;

/* An expression: `count` terms of scenario.terms from `first` on. */
typedef struct {
    size_t first, count;
} scenario_expr;

typedef struct {
    scenario_op op;
    size_t line;   /* 1-based */
    char *source;  /* the statement's text, comment and blanks trimmed */
    long result;   /* the name the result is bound to, or -1 */
    size_t num_args;
    scenario_expr args[SCENARIO_MAX_ARGS];
    /* SCENARIO_FILE: the file's name; SCENARIO_OPEN: the path opened. */
    char *path;
    /* SCENARIO_FILE: its contents, or the fixture's path when
     * from_fixture; SCENARIO_WRITE: the bytes written. */
    char *data;
    size_t data_length;
    bool from_fixture;
    /* SCENARIO_FILE: `at`: `data` is the path of the caller's own file,
     * which the scenario uses in place (its writes reach it). */
    bool in_place;
} scenario_statement;

typedef struct {
    size_t line, column; /* 1-based */
    char message[SCENARIO_MESSAGE_SIZE];
} scenario_error;

typedef struct {
    size_t frames;                     /* `frames N`, or the default */
    size_t frames_line;                /* its line, 0 when defaulted */
    char policy[SCENARIO_POLICY_SIZE]; /* `policy NAME`, or "" */
    scenario_statement *statements;
    size_t num_statements;
    scenario_term *terms;
    size_t num_terms;
    char **names; /* every name bound, in order of first binding */
    size_t num_names;
} scenario;

/*
 * Parses the NUL-terminated `text`. Returns the scenario (the caller's,
 * freed with scenario_delete), or NULL: with errno EINVAL and `*error`
 * naming the line, the column and what was expected; or with errno ENOMEM.
 */
scenario *scenario_parse(const char *text, scenario_error *error);

/* Frees `self` and everything it holds; NULL is allowed. */
void scenario_delete(scenario *self);

/*
 * The value of `expr`, each name read from `values` (indexed as
 * scenario.names), with C's precedence: * before + and -, those before |.
 */
int64_t scenario_eval(const scenario *self, const scenario_expr *expr,
                      const int64_t *values);

/* The name of a statement's call, as a scenario spells it ("vm_mmap"). */
const char *scenario_op_name(scenario_op op);

#ifdef __cplusplus
}
#endif

#endif
