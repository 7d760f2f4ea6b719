/*
 * scenario.c: the parser of the playground's scenarios, a line at a time:
 * a statement is a header (`frames`, `policy`), a file, or a call with an
 * optional name bound to its result. Each call's arguments are checked
 * against a table of the calls (their names, their arguments, what each
 * argument is called in an error), so that a message says what was
 * expected where. Left out: statements spanning lines, string escapes
 * beyond C's simple ones and \xNN, octal escapes but \0.
 */
#include "scenario.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_IDENTIFIER 64

/* A call of the language: its name, its statement and its arguments. */
typedef struct {
    const char *name;
    scenario_op op;
    const char *args;     /* 'e' expression, 's' string, 'd' data */
    const char *const *what; /* each argument, as an error names it */
    bool swapped; /* mmu.h's order (address, pid): swapped into (pid, ...) */
} call_spec;

static const char *const what_process[] = {"the process"};
static const char *const what_fd[] = {"the descriptor", "the length"};
static const char *const what_pwrite[] = {"the descriptor", "the data",
                                          "the offset"};
static const char *const what_open[] = {"the file's name", "the flags"};
static const char *const what_mmap[] = {"the process", "the address",
                                        "the length", "the protection",
                                        "the flags", "the descriptor",
                                        "the offset"};
static const char *const what_range[] = {"the process", "the address",
                                         "the length", "the flags"};
static const char *const what_mprotect[] = {"the process", "the address",
                                             "the length", "the protection"};
static const char *const what_sbrk[] = {"the process", "the increment"};
static const char *const what_read[] = {"the process", "the address",
                                        "the count"};
static const char *const what_write[] = {"the process", "the address",
                                         "the data"};
static const char *const what_mmu_read[] = {"the address", "the process",
                                            "the count"};
static const char *const what_mmu_write[] = {"the address", "the process",
                                             "the data"};

static const call_spec calls[] = {
    {"mmu_add_process", SCENARIO_ADD_PROCESS, "e", what_process, false},
    {"mmu_remove_process", SCENARIO_REMOVE_PROCESS, "e", what_process, false},
    {"open", SCENARIO_OPEN, "se", what_open, false},
    {"close", SCENARIO_CLOSE, "e", what_fd, false},
    {"ftruncate", SCENARIO_FTRUNCATE, "ee", what_fd, false},
    {"pwrite", SCENARIO_PWRITE, "ede", what_pwrite, false},
    {"vm_mmap", SCENARIO_MMAP, "eeeeeee", what_mmap, false},
    {"vm_munmap", SCENARIO_MUNMAP, "eee", what_range, false},
    {"vm_mprotect", SCENARIO_MPROTECT, "eeee", what_mprotect, false},
    {"vm_msync", SCENARIO_MSYNC, "eeee", what_range, false},
    {"vm_sbrk", SCENARIO_SBRK, "ee", what_sbrk, false},
    {"vm_fork", SCENARIO_FORK, "e", what_process, false},
    {"read", SCENARIO_READ, "eee", what_read, false},
    {"write", SCENARIO_WRITE, "eed", what_write, false},
    {"mmu_read_from_virtual_address", SCENARIO_READ, "eee", what_mmu_read,
     true},
    {"mmu_write_to_virtual_address", SCENARIO_WRITE, "eed", what_mmu_write,
     true},
};
#define NUM_CALLS (sizeof calls / sizeof calls[0])

/* The constants a scenario may name, with the values vm.h gives them. */
static const struct {
    const char *name;
    int64_t value;
} constants[] = {
    {"NULL", 0},           {"PAGE_SIZE", 4096},
    {"PROT_NONE", 0x0},    {"PROT_READ", 0x1},
    {"PROT_WRITE", 0x2},   {"PROT_EXEC", 0x4},
    {"MAP_SHARED", 0x01},  {"MAP_PRIVATE", 0x02},
    {"MAP_FIXED", 0x10},   {"MAP_ANONYMOUS", 0x20},
    {"MAP_ANON", 0x20},    {"MS_ASYNC", 1},
    {"MS_INVALIDATE", 2},  {"MS_SYNC", 4},
    {"O_RDONLY", SCENARIO_O_RDONLY}, {"O_WRONLY", SCENARIO_O_WRONLY},
    {"O_RDWR", SCENARIO_O_RDWR},     {"O_CREAT", SCENARIO_O_CREAT},
    {"O_TRUNC", SCENARIO_O_TRUNC},
};
#define NUM_CONSTANTS (sizeof constants / sizeof constants[0])

typedef struct {
    scenario *s;
    scenario_error *error;
    const char *line; /* the current line's first character */
    const char *at;   /* the cursor */
    size_t line_number;
    int failure; /* 0, EINVAL or ENOMEM */
    size_t statements_room, terms_room, names_room;
} parser;

const char *scenario_op_name(scenario_op op) {
    for (size_t i = 0; i < NUM_CALLS; i++)
        if (calls[i].op == op)
            return calls[i].name;
    return "file";
}

/* Records an error at `where` on the current line; returns false. */
static bool fail(parser *p, const char *where, const char *format, ...) {
    if (p->failure)
        return false;
    p->failure = EINVAL;
    p->error->line = p->line_number;
    p->error->column = (size_t)(where - p->line) + 1;
    va_list args;
    va_start(args, format);
    vsnprintf(p->error->message, sizeof p->error->message, format, args);
    va_end(args);
    return false;
}

static bool out_of_memory(parser *p) {
    p->failure = ENOMEM;
    return false;
}

/* Grows `*array` of `*room` items of `size` to hold `count + 1`. */
static bool make_room(parser *p, void **array, size_t *room, size_t count,
                      size_t size) {
    if (count < *room)
        return true;
    size_t more = *room ? *room * 2 : 16;
    void *grown = realloc(*array, more * size);
    if (!grown)
        return out_of_memory(p);
    *array = grown;
    *room = more;
    return true;
}

static void skip_blanks(parser *p) {
    while (*p->at == ' ' || *p->at == '\t' || *p->at == '\r')
        p->at++;
}

/* Whether the line ends here (its end, or a comment). */
static bool at_end(parser *p) {
    skip_blanks(p);
    return *p->at == '\0' || *p->at == '\n' || *p->at == '#';
}

static bool expect_char(parser *p, char c, const char *after) {
    skip_blanks(p);
    if (*p->at != c)
        return fail(p, p->at, "expected '%c' after %s", c, after);
    p->at++;
    return true;
}

/* An identifier into `out`; false (nothing consumed) when none starts here. */
static bool identifier(parser *p, char out[MAX_IDENTIFIER]) {
    skip_blanks(p);
    const char *start = p->at;
    if (!isalpha((unsigned char)*start) && *start != '_')
        return false;
    while (isalnum((unsigned char)*p->at) || *p->at == '_')
        p->at++;
    size_t length = (size_t)(p->at - start);
    if (length >= MAX_IDENTIFIER)
        return fail(p, start, "a name of at most %d characters",
                    MAX_IDENTIFIER - 1);
    memcpy(out, start, length);
    out[length] = '\0';
    return true;
}

/* A decimal or 0x hexadecimal number; false when none starts here. */
static bool number(parser *p, int64_t *value) {
    skip_blanks(p);
    if (!isdigit((unsigned char)*p->at))
        return false;
    const char *start = p->at;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(start, &end, 0);
    if (errno || n > INT64_MAX || isalnum((unsigned char)*end) || *end == '_')
        return fail(p, start, "expected a number (decimal, or hexadecimal "
                              "with 0x) that fits 63 bits");
    p->at = end;
    *value = (int64_t)n;
    return true;
}

/* The value of a hexadecimal digit, or -1. */
static int hex_digit(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The character an escape stands for, advancing past it; -1: unknown. */
static int escape(const char **at) {
    static const char from[] = "nrt0\\\"'", to[] = "\n\r\t\0\\\"'";
    const char *known = strchr(from, **at);
    if (**at && known) {
        (*at)++;
        return (unsigned char)to[known - from];
    }
    if (**at == 'x' && hex_digit((*at)[1]) >= 0 && hex_digit((*at)[2]) >= 0) {
        int value = hex_digit((*at)[1]) * 16 + hex_digit((*at)[2]);
        *at += 3;
        return value;
    }
    return -1;
}

/* Appends `count` bytes at `bytes` to the growing buffer. */
static bool append(parser *p, char **buffer, size_t *length, size_t *room,
                   const char *bytes, size_t count) {
    if (*length + count + 1 > *room) {
        size_t more = (*length + count + 1) * 2;
        char *grown = realloc(*buffer, more);
        if (!grown)
            return out_of_memory(p);
        *buffer = grown;
        *room = more;
    }
    memcpy(*buffer + *length, bytes, count);
    *length += count;
    (*buffer)[*length] = '\0';
    return true;
}

/* A "string" with C escapes, appended to the buffer. */
static bool string(parser *p, char **buffer, size_t *length, size_t *room) {
    const char *start = p->at++;
    while (*p->at != '"') {
        if (*p->at == '\0' || *p->at == '\n')
            return fail(p, start, "expected '\"' to end this string");
        char c = *p->at++;
        if (c == '\\') {
            const char *escaped = p->at;
            int value = escape(&p->at);
            if (value < 0)
                return fail(p, escaped - 1, "expected an escape: \\n \\r \\t "
                                            "\\0 \\\\ \\\" \\' or \\xNN");
            c = (char)value;
        }
        if (!append(p, buffer, length, room, &c, 1))
            return false;
    }
    p->at++;
    return true;
}

/* A string piece, repeated when `* N` follows it. */
static bool string_piece(parser *p, char **buffer, size_t *length,
                         size_t *room) {
    size_t before = *length;
    if (!string(p, buffer, length, room))
        return false;
    skip_blanks(p);
    if (*p->at != '*')
        return true;
    p->at++;
    int64_t times;
    const char *where = p->at;
    if (!number(p, &times))
        return fail(p, where, "expected how many times after '*'");
    if (times < 1 || times > (1 << 24))
        return fail(p, where, "expected a count from 1 to %d", 1 << 24);
    size_t piece = *length - before;
    for (int64_t i = 1; i < times; i++)
        if (!append(p, buffer, length, room, *buffer + before, piece))
            return false;
    return true;
}

/*
 * Data: strings (each may be repeated: "x" * 4096) and byte values
 * (0x41 65), in any mix, up to `stop` (')') or the end of the line.
 */
static bool data(parser *p, char stop, char **out, size_t *out_length) {
    size_t room = 0;
    *out = NULL;
    *out_length = 0;
    skip_blanks(p);
    const char *start = p->at;
    for (;;) {
        skip_blanks(p);
        if (stop ? *p->at == stop : at_end(p))
            break;
        if (stop && at_end(p))
            return fail(p, p->at, "expected '%c' after the data", stop);
        if (stop == ',' && *p->at == ')')
            return fail(p, p->at, "expected ',' after the data");
        const char *where = p->at;
        int64_t byte;
        if (*p->at == '"') {
            if (!string_piece(p, out, out_length, &room))
                return false;
        } else if (number(p, &byte)) {
            if (byte > 255)
                return fail(p, where, "expected a byte from 0 to 255");
            char c = (char)byte;
            if (!append(p, out, out_length, &room, &c, 1))
                return false;
        } else {
            return fail(p, where, p->failure ? "" : "expected a \"string\" or "
                        "a byte (0x41) in the data");
        }
    }
    if (!*out && !append(p, out, out_length, &room, "", 0))
        return false;
    if (*out_length == 0 && stop)
        return fail(p, start, "expected data: a \"string\" or bytes");
    return true;
}

/* The index of bound name `name`, or -1. */
static long find_name(const scenario *s, const char *name) {
    for (size_t i = 0; i < s->num_names; i++)
        if (strcmp(s->names[i], name) == 0)
            return (long)i;
    return -1;
}

/* One term: [-] number | constant | bound name | process letter. */
static bool term(parser *p, scenario_term *t) {
    skip_blanks(p);
    bool negative = *p->at == '-';
    if (negative)
        p->at++;
    const char *where = p->at;
    char name[MAX_IDENTIFIER];
    t->is_name = false;
    if (number(p, &t->number)) {
    } else if (p->failure) {
        return false;
    } else if (identifier(p, name)) {
        long bound = find_name(p->s, name);
        size_t c = 0;
        while (c < NUM_CONSTANTS && strcmp(constants[c].name, name) != 0)
            c++;
        if (bound >= 0) {
            t->is_name = true;
            t->name = (size_t)bound;
        } else if (c < NUM_CONSTANTS) {
            t->number = constants[c].value;
        } else if (name[0] >= 'A' && name[0] <= 'Z' && name[1] == '\0') {
            t->number = name[0] - 'A';
        } else {
            return fail(p, where, "'%s' is not bound: bind it first "
                        "(%s = ...) or name a constant such as PROT_READ",
                        name, name);
        }
    } else {
        return fail(p, where, p->failure ? "" : "expected a number, a name "
                    "or a constant");
    }
    if (negative && t->is_name)
        return fail(p, where - 1, "expected a number after '-'");
    if (negative)
        t->number = -t->number;
    return true;
}

/* An expression: terms joined by + - * |, left to right. */
static bool expression(parser *p, scenario_expr *e, const char *what) {
    e->first = p->s->num_terms;
    e->count = 0;
    char op = '+';
    for (;;) {
        if (!make_room(p, (void **)&p->s->terms, &p->terms_room,
                       p->s->num_terms, sizeof *p->s->terms))
            return false;
        scenario_term *t = &p->s->terms[p->s->num_terms];
        skip_blanks(p);
        if (*p->at == ',' || *p->at == ')')
            return fail(p, p->at, "expected %s", what);
        if (!term(p, t))
            return false;
        t->op = op;
        p->s->num_terms++;
        e->count++;
        skip_blanks(p);
        if (!strchr("+-*|", *p->at) || *p->at == '\0')
            return true;
        op = *p->at++;
    }
}

/* A "string" argument: the path open takes. */
static bool string_argument(parser *p, char **out, const char *what) {
    skip_blanks(p);
    if (*p->at != '"')
        return fail(p, p->at, "expected %s as a \"string\"", what);
    size_t length = 0, room = 0;
    *out = NULL;
    if (!string(p, out, &length, &room))
        return false;
    if (length == 0 || strlen(*out) != length || strchr(*out, '/'))
        return fail(p, p->at, "expected %s: a name without '/' or \\0", what);
    return true;
}

/* The arguments of `spec`, and the closing parenthesis. */
static bool arguments(parser *p, const call_spec *spec, scenario_statement *st) {
    size_t n = strlen(spec->args);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && !expect_char(p, ',', spec->what[i - 1]))
            return false;
        bool ok = spec->args[i] == 'e'
                      ? expression(p, &st->args[st->num_args++], spec->what[i])
                  : spec->args[i] == 's'
                      ? string_argument(p, &st->path, spec->what[i])
                      : data(p, i + 1 < n ? ',' : ')', &st->data,
                             &st->data_length);
        if (!ok)
            return false;
    }
    if (!expect_char(p, ')', spec->what[n - 1]))
        return false;
    if (spec->swapped) {
        scenario_expr first = st->args[0];
        st->args[0] = st->args[1];
        st->args[1] = first;
    }
    return true;
}

/* Binds `name` (a new one is added) and returns its index, or -1. */
static long bind(parser *p, const char *name) {
    long bound = find_name(p->s, name);
    if (bound >= 0)
        return bound;
    if (!make_room(p, (void **)&p->s->names, &p->names_room, p->s->num_names,
                   sizeof *p->s->names))
        return -1;
    char *copy = malloc(strlen(name) + 1);
    if (!copy)
        return out_of_memory(p), -1;
    strcpy(copy, name);
    p->s->names[p->s->num_names] = copy;
    return (long)p->s->num_names++;
}

/* Whether `name` may be bound: not a call's, a constant's or a keyword. */
static bool bindable(const char *name) {
    for (size_t i = 0; i < NUM_CALLS; i++)
        if (strcmp(calls[i].name, name) == 0)
            return false;
    for (size_t i = 0; i < NUM_CONSTANTS; i++)
        if (strcmp(constants[i].name, name) == 0)
            return false;
    return strcmp(name, "frames") && strcmp(name, "policy") &&
           strcmp(name, "file") && strcmp(name, "from");
}

/* A call: NAME ( arguments ), its result bound to `result` if not NULL. */
static bool call(parser *p, const char *name, const char *where,
                 const char *result, scenario_statement *st) {
    size_t c = 0;
    while (c < NUM_CALLS && strcmp(calls[c].name, name) != 0)
        c++;
    if (c == NUM_CALLS)
        return fail(p, where, "expected a statement: frames, policy, file, "
                    "or a call such as vm_mmap(...); '%s' is none", name);
    st->op = calls[c].op;
    char after[MAX_IDENTIFIER + 8];
    snprintf(after, sizeof after, "'%s'", name);
    if (!expect_char(p, '(', after) || !arguments(p, &calls[c], st))
        return false;
    if (result) {
        st->result = bind(p, result);
        if (st->result < 0)
            return false;
    }
    return true;
}

/* A file's name or a fixture's path: a "string", or a bare word. */
static bool word(parser *p, char **out, const char *what, bool path) {
    skip_blanks(p);
    const char *start = p->at;
    if (*p->at == '"') {
        size_t length = 0, room = 0;
        if (!string(p, out, &length, &room))
            return false;
        if (length == 0 || strlen(*out) != length)
            return fail(p, start, "expected %s, not empty, without \\0", what);
    } else {
        while (*p->at && !isspace((unsigned char)*p->at) && *p->at != '#')
            p->at++;
        if (p->at == start)
            return fail(p, start, "expected %s", what);
        *out = malloc((size_t)(p->at - start) + 1);
        if (!*out)
            return out_of_memory(p);
        memcpy(*out, start, (size_t)(p->at - start));
        (*out)[p->at - start] = '\0';
    }
    if (!path && (strchr(*out, '/') || !strcmp(*out, ".") || !strcmp(*out, "..")))
        return fail(p, start, "expected %s without '/'", what);
    return true;
}

/* file NAME "contents"... | file NAME from PATH | file NAME at PATH */
static bool file_statement(parser *p, scenario_statement *st) {
    st->op = SCENARIO_FILE;
    if (!word(p, &st->path, "the file's name", false))
        return false;
    skip_blanks(p);
    const char *where = p->at;
    char keyword[MAX_IDENTIFIER];
    if (identifier(p, keyword)) {
        bool at = strcmp(keyword, "at") == 0;
        if (strcmp(keyword, "from") != 0 && !at)
            return fail(p, where, "expected \"contents\", 'from' or 'at' "
                        "after the file's name");
        st->from_fixture = !at;
        st->in_place = at;
        if (!word(p, &st->data, at ? "the file's path" : "the fixture's path",
                  true))
            return false;
        st->data_length = strlen(st->data);
        return true;
    }
    if (p->failure)
        return false;
    return data(p, '\0', &st->data, &st->data_length);
}

/* frames N | policy NAME: before any other statement. */
static bool header(parser *p, const char *keyword, const char *where) {
    if (p->s->num_statements > 0)
        return fail(p, where, "'%s' sets up the machine: write it before the "
                    "first other statement", keyword);
    skip_blanks(p);
    const char *at = p->at;
    if (strcmp(keyword, "frames") == 0) {
        int64_t n;
        if (!number(p, &n) || n < 1 || n > 1048575)
            return fail(p, at, "expected the number of frames after 'frames'");
        p->s->frames = (size_t)n;
        p->s->frames_line = p->line_number;
        return true;
    }
    char name[MAX_IDENTIFIER];
    if (!identifier(p, name))
        return fail(p, at, "expected a policy's name after 'policy'");
    if (strlen(name) >= SCENARIO_POLICY_SIZE)
        return fail(p, at, "expected a policy's name of at most %d characters",
                    SCENARIO_POLICY_SIZE - 1);
    strcpy(p->s->policy, name);
    return true;
}

/* The statement that starts at the cursor, after its first word. */
static bool statement(parser *p, const char *first, const char *where,
                      scenario_statement *st) {
    if (strcmp(first, "file") == 0)
        return file_statement(p, st);
    skip_blanks(p);
    if (*p->at != '=')
        return call(p, first, where, NULL, st);
    if (!bindable(first) || (first[0] == '_'))
        return fail(p, where, "'%s' cannot be bound: it names a call, a "
                    "constant or a keyword", first);
    p->at++;
    char name[MAX_IDENTIFIER];
    skip_blanks(p);
    const char *call_at = p->at;
    if (!identifier(p, name))
        return fail(p, call_at, "expected a call after '='");
    return call(p, name, call_at, first, st);
}

/* The source of a statement: [start, end) with trailing blanks trimmed. */
static char *source_text(const char *start, const char *end) {
    while (end > start && isspace((unsigned char)end[-1]))
        end--;
    char *copy = malloc((size_t)(end - start) + 1);
    if (copy) {
        memcpy(copy, start, (size_t)(end - start));
        copy[end - start] = '\0';
    }
    return copy;
}

/* Parses the line at p->line (the cursor at its start). */
static bool line(parser *p) {
    if (at_end(p))
        return true;
    const char *start = p->at;
    char first[MAX_IDENTIFIER];
    if (!identifier(p, first))
        return fail(p, start, p->failure ? "" : "expected a statement: "
                    "frames, policy, file, or a call such as vm_mmap(...)");
    if (strcmp(first, "frames") == 0 || strcmp(first, "policy") == 0)
        return header(p, first, start) &&
               (at_end(p) || fail(p, p->at, "expected the end of the line"));
    scenario *s = p->s;
    if (!make_room(p, (void **)&s->statements, &p->statements_room,
                   s->num_statements, sizeof *s->statements))
        return false;
    scenario_statement *st = &s->statements[s->num_statements++];
    memset(st, 0, sizeof *st);
    st->line = p->line_number;
    st->result = -1;
    if (!statement(p, first, start, st))
        return false;
    if (!at_end(p))
        return fail(p, p->at, "expected the end of the line after the "
                    "statement (one statement a line)");
    st->source = source_text(start, p->at);
    return st->source || out_of_memory(p);
}

scenario *scenario_parse(const char *text, scenario_error *error) {
    scenario *s = calloc(1, sizeof *s);
    if (!s) {
        errno = ENOMEM;
        return NULL;
    }
    s->frames = SCENARIO_DEFAULT_FRAMES;
    parser p = {.s = s, .error = error, .line = text, .at = text,
                .line_number = 1};
    for (;;) {
        if (!line(&p))
            break;
        const char *end = strchr(p.at, '\n');
        if (!end)
            break;
        p.line = p.at = end + 1;
        p.line_number++;
    }
    if (p.failure) {
        scenario_delete(s);
        errno = p.failure;
        return NULL;
    }
    return s;
}

void scenario_delete(scenario *self) {
    if (!self)
        return;
    for (size_t i = 0; i < self->num_statements; i++) {
        free(self->statements[i].source);
        free(self->statements[i].path);
        free(self->statements[i].data);
    }
    for (size_t i = 0; i < self->num_names; i++)
        free(self->names[i]);
    free(self->statements);
    free(self->terms);
    free(self->names);
    free(self);
}

int64_t scenario_eval(const scenario *self, const scenario_expr *expr,
                      const int64_t *values) {
    /* C's precedence: * over + and -, and those over |. */
    uint64_t any = 0, sum = 0, product = 0;
    for (size_t i = 0; i < expr->count; i++) {
        const scenario_term *t = &self->terms[expr->first + i];
        uint64_t v = (uint64_t)(t->is_name ? values[t->name] : t->number);
        if (t->op == '*') {
            product *= v;
            continue;
        }
        sum += product;
        if (t->op == '|') {
            any |= sum;
            sum = 0;
        }
        product = t->op == '-' ? (uint64_t)0 - v : v;
    }
    return (int64_t)(any | (sum + product));
}
