/*
 * tests/examples_tests.c: examples/, the lectures' mmap examples rewritten
 * for vm.h. Each test runs an example's binary (built by make, found in
 * examples/ beside test_files/) as a program of its own, in the test's
 * work directory with copies of the files it needs, and checks what it
 * printed and what it left in those files. An example sets up its own
 * frame pool; the test's process never touches one.
 */
#include "helpers.h"

#include "examples/exchange.h"
#include "examples/workspace.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* Seconds an example may take; several must fit in one test's alarm. */
#define EXAMPLE_TIMEOUT_SECONDS 10

/* The most arguments an example is given, its name not counted. */
#define MAX_EXAMPLE_ARGS 2

/* Where an example's stdin, stdout and stderr go, in the work directory. */
#define EXAMPLE_STDIN "example.stdin"
#define EXAMPLE_STDOUT "example.stdout"
#define EXAMPLE_STDERR "example.stderr"

/* The file the examples of lecture 30 map (examples/f1.txt). */
#define F1_NAME "f1.txt"

/* How one run of an example ended. */
typedef struct {
    int status; /* as waitpid reported it */
    char *out;  /* its stdout, with a NUL after it (free) */
    size_t out_size;
    char *err; /* its stderr, with a NUL after it (free) */
} example_run;

/* ------------------------------------------------------------------ */
/* Finding and running an example                                      */
/* ------------------------------------------------------------------ */

/* `path` gets examples/NAME of the repository test_files/ belongs to. */
static void example_path(const char *name, char *path) {
    char root[PATH_MAX], directory[PATH_MAX];
    char *slash;

    strcpy(root, fixture_dir);
    slash = strrchr(root, '/');
    if (!slash)
        fail(__FILE__, __LINE__, "setup: test_files at %s has no parent",
             fixture_dir);
    *slash = '\0';
    join_path(directory, root[0] ? root : "/", "examples");
    join_path(path, directory, name);
}

/* Copies examples/NAME into the work directory; `path` gets the copy. */
static void copy_example_file(const char *name, char *path) {
    char source[PATH_MAX];
    size_t size;
    unsigned char *bytes;

    example_path(name, source);
    bytes = load_file(source, &size);
    write_new_file(name, bytes, size, path);
    free(bytes);
}

/* Loads work_dir/NAME with a NUL after its bytes (free it). */
static char *load_text(const char *name, size_t *size) {
    char path[PATH_MAX];
    char *text;

    path_in_work_dir(name, path);
    text = (char *)load_file(path, size); /* one byte to spare */
    text[*size] = '\0';
    return text;
}

/*
 * Where an example runs: its current directory, the folder it is told to
 * keep its files in (EXAMPLES_DIR; NULL: a folder of its own, removed at
 * its end) and the TMPDIR that folder is made in (NULL: as inherited).
 */
typedef struct {
    const char *directory;
    const char *kept;
    const char *tmpdir;
} example_place;

/* In the forked child: becomes the example, or exits 127 saying why. */
static void exec_example(const char *binary, char *const argv[],
                         const example_place *place) {
    char path[PATH_MAX];
    int in, out, err;

    close(message_fd); /* the runner hears from the test, not from us */
    if (chdir(place->directory) != 0)
        _exit(127);
    if (place->kept)
        setenv(WORKSPACE_ENV, place->kept, 1);
    else
        unsetenv(WORKSPACE_ENV);
    if (place->tmpdir)
        setenv("TMPDIR", place->tmpdir, 1);
    path_in_work_dir(EXAMPLE_STDIN, path);
    in = open(path, O_RDONLY);
    path_in_work_dir(EXAMPLE_STDOUT, path);
    out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    path_in_work_dir(EXAMPLE_STDERR, path);
    err = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0 || err < 0 || dup2(in, STDIN_FILENO) < 0 ||
        dup2(out, STDOUT_FILENO) < 0 || dup2(err, STDERR_FILENO) < 0)
        _exit(127);
    alarm(EXAMPLE_TIMEOUT_SECONDS); /* kept across execv */
    execv(binary, argv);
    fprintf(stderr, "execv %s: %s\n", binary, strerror(errno));
    _exit(127);
}

/*
 * Runs the example `binary` at `place` with the arguments `args`
 * (NULL-terminated; NULL for none) and `input` as its stdin, and waits for
 * it: `run` gets how it ended and what it printed (example_run_free).
 */
static void run_example_at(const char *binary, const char *const *args,
                           const char *input, const example_place *place,
                           example_run *run) {
    char path[PATH_MAX];
    char *argv[MAX_EXAMPLE_ARGS + 2];
    size_t argc = 0, err_size;
    pid_t child;

    if (access(binary, X_OK) != 0)
        fail(__FILE__, __LINE__, "setup: %s: %s (build it with make)", binary,
             strerror(errno));
    argv[argc++] = (char *)binary;
    while (args && args[argc - 1]) {
        if (argc > MAX_EXAMPLE_ARGS)
            fail(__FILE__, __LINE__, "setup: more than %d arguments",
                 MAX_EXAMPLE_ARGS);
        argv[argc] = (char *)args[argc - 1];
        argc++;
    }
    argv[argc] = NULL;
    write_new_file(EXAMPLE_STDIN, input, strlen(input), path);

    fflush(stdout);
    fflush(stderr);
    child = fork();
    if (child < 0)
        setup_failed("fork for an example");
    if (child == 0)
        exec_example(binary, argv, place);
    while (waitpid(child, &run->status, 0) < 0)
        if (errno != EINTR)
            setup_failed("waitpid for an example");
    run->out = load_text(EXAMPLE_STDOUT, &run->out_size);
    run->err = load_text(EXAMPLE_STDERR, &err_size);
}

/*
 * Runs examples/NAME as run_example_at does, in the work directory, and
 * has it keep its files there (EXAMPLES_DIR), where the test looks at them.
 */
static void run_example(const char *name, const char *const *args,
                        const char *input, example_run *run) {
    char binary[PATH_MAX];
    const example_place place = {work_dir, work_dir, NULL};

    example_path(name, binary);
    run_example_at(binary, args, input, &place, run);
}

static void example_run_free(example_run *run) {
    free(run->out);
    free(run->err);
}

/* ------------------------------------------------------------------ */
/* Checks                                                              */
/* ------------------------------------------------------------------ */

/* `text` with its newlines and other controls escaped, cut to fit. */
static const char *quoted(const char *text, size_t size) {
    static char buffers[2][MESSAGE_SIZE / 4];
    static unsigned next;
    char *buffer = buffers[next++ % 2];
    size_t room = sizeof buffers[0] - 8, length = 0, i;

    for (i = 0; i < size && length < room; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '\n')
            length += (size_t)sprintf(buffer + length, "\\n");
        else if (c < ' ' || c > '~')
            length += (size_t)sprintf(buffer + length, "\\x%02x", c);
        else
            buffer[length++] = (char)c;
    }
    strcpy(buffer + length, i < size ? "..." : "");
    return buffer;
}

#define expect_exited_0(run, what)                                             \
    check_exited_0(__FILE__, __LINE__, (run), (what))

/* The example ended by exit(0); else its status and stderr say why. */
static void check_exited_0(const char *file, int line, const example_run *run,
                           const char *what) {
    if (!WIFEXITED(run->status) || WEXITSTATUS(run->status) != 0)
        fail(file, line,
             "%s: expected exit status 0, but it %s; stderr: \"%s\"", what,
             describe_wait_status(run->status),
             quoted(run->err, strlen(run->err)));
}

#define expect_output(run, want, what)                                         \
    check_output(__FILE__, __LINE__, (run), (want), strlen(want), (what))

/* The example printed exactly the `size` bytes at `want`. */
static void check_output(const char *file, int line, const example_run *run,
                         const char *want, size_t size, const char *what) {
    size_t i;

    for (i = 0; i < size && i < run->out_size; i++)
        if (run->out[i] != want[i])
            break;
    if (i < size || i < run->out_size)
        fail(file, line,
             "%s: stdout differs from byte %zu on: expected \"%s\", got "
             "\"%s\" (%zu bytes, %zu expected)",
             what, i, quoted(want + i, size - i),
             quoted(run->out + i, run->out_size - i), run->out_size, size);
}

/* work_dir/NAME, as the disk has it now, is the `size` bytes at `want`. */
#define expect_file_holds(name, want, size, what)                              \
    check_file_holds(__FILE__, __LINE__, (name), (want), (size), (what))

static void check_file_holds(const char *file, int line, const char *name,
                             const void *want, size_t size, const char *what) {
    size_t got_size;
    char *got = load_text(name, &got_size);

    if (got_size != size)
        fail(file, line, "%s: expected %s of %zu bytes, got %zu: \"%s\"", what,
             name, size, got_size, quoted(got, got_size));
    check_bytes(file, line, got, want, size, what);
    free(got);
}

/* ------------------------------------------------------------------ */
/* The examples                                                        */
/* ------------------------------------------------------------------ */

static void test_example_private_read_prints_the_file(void) {
    char path[PATH_MAX], want[PATH_MAX];
    size_t size;
    char *f1;
    example_run run;

    copy_example_file(F1_NAME, path);
    f1 = load_text(F1_NAME, &size);
    run_example("private_read", NULL, "", &run);
    expect_exited_0(&run, "private_read");
    snprintf(want, sizeof want, "Data in the file is:\n%s", f1);
    expect_output(&run, want, "private_read's output: a heading, then f1.txt");
    expect_file_holds(F1_NAME, f1, size, "f1.txt after a private read");
    example_run_free(&run);
    free(f1);
}

static void test_example_grow_and_msync_appends_to_the_file(void) {
    static const char appended[] = "This is GR8\n";
    char path[PATH_MAX], want[2 * PATH_MAX];
    size_t size, grown;
    char *f1, *expected;
    example_run run;

    copy_example_file(F1_NAME, path);
    f1 = load_text(F1_NAME, &size);
    run_example("grow_and_msync", NULL, "", &run);
    expect_exited_0(&run, "grow_and_msync");
    snprintf(want, sizeof want,
             "Data of f1.txt that is mapped in memory is:\n%s"
             "New data in the memory mapped region is:\n%s%s",
             f1, f1, appended);
    expect_output(&run, want,
                  "grow_and_msync's output: f1.txt, then f1.txt with a line "
                  "appended");

    /* The file grew by 101 bytes (100 past its end, and the byte written
       there), and the line went into the first of them. */
    grown = size + 101;
    expected = calloc(1, grown);
    if (!expected)
        setup_failed("calloc");
    memcpy(expected, f1, size);
    memcpy(expected + size, appended, strlen(appended));
    expect_file_holds(F1_NAME, expected, grown,
                      "f1.txt after grow_and_msync: its text, \"This is "
                      "GR8\\n\", zeros");
    free(expected);
    example_run_free(&run);
    free(f1);
}

static void test_example_file_read_prints_the_file_after_closing_it(void) {
    static const char *const files[] = {F1_NAME, "pages.txt"};
    char path[PATH_MAX];
    size_t size, i;
    char *text;
    example_run run;

    copy_example_file(F1_NAME, path);
    copy_fixture("pages.txt", path); /* 48 pages: a mapping of many */
    for (i = 0; i < sizeof files / sizeof files[0]; i++) {
        const char *const args[] = {files[i], NULL};

        text = load_text(files[i], &size);
        run_example("file_read", args, "", &run);
        expect_exited_0(&run, describe("file_read %s", files[i]));
        check_output(
            __FILE__, __LINE__, &run, text, size,
            describe("file_read %s prints the file, byte for byte", files[i]));
        example_run_free(&run);
        free(text);
    }
}

/* Runs persistent_variable with `arg` (NULL for none) and `input`. */
static void run_persistent_variable(const char *arg, const char *input,
                                    example_run *run) {
    const char *const args[] = {arg, NULL};

    run_example("persistent_variable", args, input, run);
    expect_exited_0(run, describe("persistent_variable %s", arg ? arg : ""));
}

/* .persistent_data holds `value` and zeros up to a page. */
static void expect_persistent_data(const char *value, const char *what) {
    char page[PAGE_SIZE] = {0};

    memcpy(page, value, strlen(value));
    expect_file_holds(".persistent_data", page, PAGE_SIZE, what);
}

static void test_example_persistent_variable_keeps_its_value_across_runs(void) {
    static const char value[] = "kept across runs\n", shorter[] = "short";
    char full[PAGE_SIZE + 1];
    example_run run;

    run_persistent_variable("-write", value, &run);
    expect_output(&run, "", "persistent_variable -write prints nothing");
    example_run_free(&run);
    expect_persistent_data(value, ".persistent_data after the write");

    run_persistent_variable(NULL, "", &run);
    expect_output(&run, value,
                  "persistent_variable, in a run after the write, prints the "
                  "value");
    example_run_free(&run);
    run_persistent_variable("-read", "", &run);
    expect_output(&run, value, "persistent_variable -read, in a third run");
    example_run_free(&run);

    /* A shorter value: the rest of the page is zeroed, not left over. */
    run_persistent_variable("-write", shorter, &run);
    example_run_free(&run);
    expect_persistent_data(shorter, ".persistent_data after a shorter write");
    run_persistent_variable(NULL, "", &run);
    expect_output(&run, shorter, "the shorter value, read in the next run");
    example_run_free(&run);

    /* A whole page with no NUL: read back whole, and not one byte past. */
    memset(full, 'x', PAGE_SIZE);
    full[PAGE_SIZE] = '\0';
    run_persistent_variable("-write", full, &run);
    example_run_free(&run);
    run_persistent_variable(NULL, "", &run);
    expect_output(&run, full, "a value that fills the page, read back");
    example_run_free(&run);
}

/* exchange.dat holds these holdings, with the names and rates it began
   with. */
static void expect_exchange_holds(const long held[NUM_CURRENCIES],
                                  const char *what) {
    static const char *const names[NUM_CURRENCIES] = {"USD", "EUR", "GBP",
                                                      "CHF"};
    static const double rates[NUM_CURRENCIES] = {1.0, 1.25, 1.5, 1.125};
    struct Currency currencies[NUM_CURRENCIES];
    size_t size;
    char *bytes = load_text("exchange.dat", &size);
    int c;

    expect_size(size, sizeof currencies,
                describe("%s: size of exchange.dat (4 currencies)", what));
    memcpy(currencies, bytes, sizeof currencies);
    free(bytes);
    for (c = 0; c < NUM_CURRENCIES; c++) {
        expect_true(strcmp(currencies[c].name, names[c]) == 0,
                    describe("%s: currency %d is named %s", what, c, names[c]));
        expect_true(currencies[c].rate == rates[c],
                    describe("%s: %s's rate is %g", what, names[c], rates[c]));
        expect_int(currencies[c].held, held[c],
                   describe("%s: units of %s held", what, names[c]));
    }
}

static void test_example_exchange_trades_through_a_shared_file(void) {
    static const long after_first[NUM_CURRENCIES] = {1005, 990, 996, 1000};
    static const long after_second[NUM_CURRENCIES] = {1005, 1000, 996, 200};
    example_run run;

    /* A new exchange.dat: the exchange opens with 1000 of each. */
    run_example("exchange", NULL, "buy 1 10\nbuy 2 4\nsell 0 5\nbuy 3 2000\n",
                &run);
    expect_exited_0(&run, "exchange, first run");
    expect_output(&run,
                  "bought 10 EUR for 12.50: balance 987.50\n"
                  "bought 4 GBP for 6.00: balance 981.50\n"
                  "sold 5 USD for 5.00: balance 986.50\n"
                  "cannot buy 2000 CHF: the exchange holds 1000\n"
                  "the exchange holds: 1005 USD 990 EUR 996 GBP 1000 CHF\n"
                  "balance 986.50\n",
                  "exchange's first run: three trades and a refusal");
    example_run_free(&run);
    expect_exchange_holds(after_first, "exchange.dat after the first run");

    /* The next trader finds the holdings the first left; its balance is
       its own, 1000 again. */
    run_example("exchange", NULL, "sell 1 10\nbuy 3 800\nbuy 2 100\n", &run);
    expect_exited_0(&run, "exchange, second run");
    expect_output(&run,
                  "sold 10 EUR for 12.50: balance 1012.50\n"
                  "bought 800 CHF for 900.00: balance 112.50\n"
                  "cannot buy 100 GBP for 150.00: balance 112.50\n"
                  "the exchange holds: 1005 USD 1000 EUR 996 GBP 200 CHF\n"
                  "balance 112.50\n",
                  "exchange's second run: it starts from the first's holdings");
    example_run_free(&run);
    expect_exchange_holds(after_second, "exchange.dat after the second run");
}

static void test_example_fork_shared_file_child_and_parent_read_the_file(void) {
    char path[PATH_MAX], want[2 * PATH_MAX];
    size_t size;
    char *f1;
    example_run run;

    copy_example_file(F1_NAME, path);
    f1 = load_text(F1_NAME, &size);
    run_example("fork_shared_file", NULL, "", &run);
    expect_exited_0(&run, "fork_shared_file");
    snprintf(want, sizeof want,
             "Child access memory mapped file:\n%s"
             "Parent access memory mapped file:\n%s",
             f1, f1);
    expect_output(&run, want,
                  "fork_shared_file's output: f1.txt read by the child, then "
                  "by the parent");
    expect_file_holds(F1_NAME, f1, size, "f1.txt after fork_shared_file");
    example_run_free(&run);
    free(f1);
}

/* The "Memory mapped at 0x" line fork_anonymous prints first: its length. */
#define MAPPED_AT_LINE_SIZE (sizeof "Memory mapped at 0x12345678\n" - 1)

/*
 * Runs fork_anonymous with `flag` (NULL: none) and checks that it printed
 * a page-aligned address, as "Memory mapped at 0x%08x\n", then `numbers`.
 */
static void expect_fork_anonymous_prints(const char *flag, const char *numbers,
                                         const char *what) {
    const char *const args[] = {flag, NULL};
    char want[MAPPED_AT_LINE_SIZE + PATH_MAX];
    unsigned address = 1;
    int length = 0;
    example_run run;

    run_example("fork_anonymous", args, "", &run);
    expect_exited_0(&run, what);
    sscanf(run.out, "Memory mapped at 0x%8x\n%n", &address, &length);
    expect_true((size_t)length == MAPPED_AT_LINE_SIZE &&
                    address % PAGE_SIZE == 0,
                describe("%s: expected a first line \"Memory mapped at "
                         "0x\" and a page-aligned address in 8 hex digits, "
                         "got \"%s\"",
                         what, quoted(run.out, strcspn(run.out, "\n") + 1)));
    snprintf(want, sizeof want, "%.*s%s", length, run.out, numbers);
    expect_output(&run, want, what);
    example_run_free(&run);
}

static void test_example_fork_anonymous_shared_parent_reads_the_childs_numbers(
    void) {
    expect_fork_anonymous_prints(NULL, "0 1 2 3 4 5 6 7 8 9 \n",
                                 "fork_anonymous (VM_MAP_SHARED): the parent "
                                 "prints what the child wrote");
}

static void test_example_fork_anonymous_private_parent_reads_zeros(void) {
    expect_fork_anonymous_prints("-private", "0 0 0 0 0 0 0 0 0 0 \n",
                                 "fork_anonymous -private (VM_MAP_PRIVATE): "
                                 "the child's writes stay the child's");
}

/* ------------------------------------------------------------------ */
/* Running from the repository                                         */
/* ------------------------------------------------------------------ */

/* Room for the listing of one directory of the mirror. */
#define LISTING_SIZE 4096

/* The files beside the built examples that they read. */
static const char *const example_fixtures[] = {F1_NAME, "trades.txt"};

/*
 * `path` gets work_dir/tree/examples/NAME (NAME NULL: the folder): the
 * mirror of the repository's examples/ that these tests run.
 */
static void mirror_path(const char *name, char *path) {
    char folder[PATH_MAX];

    path_in_work_dir("tree/examples", folder);
    if (name)
        join_path(path, folder, name);
    else
        strcpy(path, folder);
}

/*
 * Makes work_dir/tree, the repository as the examples see it: tree/examples
 * holds the built examples and, `with_fixtures`, the files they read; and
 * work_dir/tmp, the TMPDIR of the runs. A mirror, not the repository: an
 * example that broke would change the files it runs among.
 */
static void make_mirror(bool with_fixtures) {
    static const char *const programs[] = {"private_read", "grow_and_msync",
                                           "file_read", "persistent_variable",
                                           "exchange", "fork_shared_file",
                                           "fork_anonymous"};
    char path[PATH_MAX], name[PATH_MAX];
    size_t i;

    path_in_work_dir("tree", path);
    mkdir(path, 0755);
    mirror_path(NULL, path);
    mkdir(path, 0755);
    path_in_work_dir("tmp", path);
    if (mkdir(path, 0755) != 0)
        setup_failed("mkdir the mirror");
    for (i = 0; i < sizeof programs / sizeof programs[0]; i++) {
        unsigned char *bytes;
        size_t size;

        example_path(programs[i], path);
        bytes = load_file(path, &size);
        snprintf(name, sizeof name, "tree/examples/%s", programs[i]);
        write_new_file(name, bytes, size, path);
        free(bytes);
        if (chmod(path, 0755) != 0)
            setup_failed("chmod an example");
    }
    for (i = 0; with_fixtures && i < 2; i++) {
        char source[PATH_MAX];
        unsigned char *bytes;
        size_t size;

        example_path(example_fixtures[i], source);
        bytes = load_file(source, &size);
        snprintf(name, sizeof name, "tree/examples/%s", example_fixtures[i]);
        write_new_file(name, bytes, size, path);
        free(bytes);
    }
}

/*
 * `listing` (LISTING_SIZE) gets one line per entry of `directory`, in
 * order: its name, and for a file its size and modification time, which
 * any change to it moves.
 */
static void list_directory(const char *directory, char *listing) {
    struct dirent **entries;
    char path[PATH_MAX];
    struct stat info;
    size_t length = 0;
    int count = scandir(directory, &entries, NULL, alphasort), i;

    if (count < 0)
        setup_failed("scandir");
    listing[0] = '\0';
    for (i = 0; i < count; i++) {
        const char *name = entries[i]->d_name;

        join_path(path, directory, name);
        if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0 &&
            lstat(path, &info) == 0 && length < LISTING_SIZE)
            length += (size_t)snprintf(
                listing + length, LISTING_SIZE - length,
                S_ISREG(info.st_mode) ? "%s %lld %lld.%09ld\n" : "%s/\n", name,
                (long long)info.st_size, (long long)info.st_mtim.tv_sec,
                info.st_mtim.tv_nsec);
        free(entries[i]);
    }
    free(entries);
}

/* The listings of the mirror's root and examples/, one after the other. */
static void list_mirror(char *root, char *examples) {
    char path[PATH_MAX];

    path_in_work_dir("tree", path);
    list_directory(path, root);
    mirror_path(NULL, path);
    list_directory(path, examples);
}

/*
 * Fails unless the listings `before` and `after` of `folder` are equal,
 * naming the first line where they differ ("" past the end of one).
 */
static void expect_same_listing(const char *before, const char *after,
                                const char *folder, const char *what) {
    size_t line = 0, i;

    for (i = 0; before[i] == after[i] && before[i]; i++)
        if (before[i] == '\n')
            line = i + 1;
    if (before[i] == after[i])
        return;
    fail(__FILE__, __LINE__,
         "%s: %s changed: its listing had \"%s\", now \"%s\"", what, folder,
         quoted(before + line, strcspn(before + line, "\n")),
         quoted(after + line, strcspn(after + line, "\n")));
}

/* Fails unless work_dir/tmp, where the runs make their folders, is empty. */
static void expect_no_folder_left(const char *what) {
    char path[PATH_MAX], listing[LISTING_SIZE];

    path_in_work_dir("tmp", path);
    list_directory(path, listing);
    expect_true(listing[0] == '\0',
                describe("%s: its folder in TMPDIR was removed, but TMPDIR "
                         "holds \"%s\"",
                         what, quoted(listing, strlen(listing))));
}

/* One call of an example: its argument from the root and from examples/. */
typedef struct {
    const char *program;
    const char *arg_from_root, *arg_from_examples;
    const char *input;
} example_call;

/* Runs `call` from `directory` of the mirror; fails on any change there. */
static void expect_call_leaves_the_tree(const example_call *call,
                                        const char *directory, bool from_root) {
    char binary[PATH_MAX], tmp[PATH_MAX], what[PATH_MAX];
    char root_before[LISTING_SIZE], examples_before[LISTING_SIZE];
    char root_after[LISTING_SIZE], examples_after[LISTING_SIZE];
    const char *arg = from_root ? call->arg_from_root : call->arg_from_examples;
    const char *const args[] = {arg, NULL};
    example_place place = {directory, NULL, tmp};
    example_run run;

    path_in_work_dir("tmp", tmp);
    mirror_path(call->program, binary);
    snprintf(what, sizeof what, "%s%s%s, run from %s", call->program,
             arg ? " " : "", arg ? arg : "",
             from_root ? "the root" : "examples/");
    list_mirror(root_before, examples_before);
    run_example_at(binary, args, call->input, &place, &run);
    expect_exited_0(&run, what);
    list_mirror(root_after, examples_after);
    expect_same_listing(root_before, root_after, "the root", what);
    expect_same_listing(examples_before, examples_after, "examples/", what);
    expect_no_folder_left(what);
    example_run_free(&run);
}

static void
test_examples_run_from_the_root_or_examples_change_no_file_there(void) {
    static const example_call calls[] = {
        {"private_read", NULL, NULL, ""},
        {"grow_and_msync", NULL, NULL, ""},
        {"file_read", "examples/" F1_NAME, F1_NAME, ""},
        {"persistent_variable", "-write", "-write", "kept\n"},
        {"persistent_variable", NULL, NULL, ""},
        {"exchange", NULL, NULL, "buy 1 10\nsell 2 5\n"},
        {"fork_shared_file", NULL, NULL, ""},
        {"fork_anonymous", NULL, NULL, ""},
        {"fork_anonymous", "-private", "-private", ""},
    };
    char root[PATH_MAX], examples[PATH_MAX];
    size_t i;

    make_mirror(true);
    path_in_work_dir("tree", root);
    mirror_path(NULL, examples);
    for (i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        expect_call_leaves_the_tree(&calls[i], root, true);
        expect_call_leaves_the_tree(&calls[i], examples, false);
    }
}

static void test_example_without_its_fixture_names_the_missing_path(void) {
    char binary[PATH_MAX], tmp[PATH_MAX], root[PATH_MAX];
    char real[PATH_MAX], missing[2 * PATH_MAX], want[3 * PATH_MAX];
    example_place place = {root, NULL, tmp};
    example_run run;

    make_mirror(false);
    path_in_work_dir("tree", root);
    path_in_work_dir("tmp", tmp);
    mirror_path("private_read", binary);
    if (!realpath(work_dir, real))
        setup_failed("realpath of the work directory");
    snprintf(missing, sizeof missing, "%s/tree/examples/%s", real, F1_NAME);
    snprintf(want, sizeof want, "private_read: %s: %s\n", missing,
             strerror(ENOENT));
    run_example_at(binary, NULL, "", &place, &run);
    expect_true(WIFEXITED(run.status) && WEXITSTATUS(run.status) == 1,
                describe("private_read without f1.txt: expected exit status "
                         "1, but it %s",
                         describe_wait_status(run.status)));
    expect_true(strcmp(run.err, want) == 0,
                describe("private_read without f1.txt: expected stderr \"%s\","
                         " got \"%s\"",
                         quoted(want, strlen(want)),
                         quoted(run.err, strlen(run.err))));
    expect_no_folder_left("private_read without f1.txt");
    example_run_free(&run);
}

static const test_case examples_tests[] = {
    TEST(example_private_read_prints_the_file),
    TEST(example_grow_and_msync_appends_to_the_file),
    TEST(example_file_read_prints_the_file_after_closing_it),
    TEST(example_persistent_variable_keeps_its_value_across_runs),
    TEST(example_exchange_trades_through_a_shared_file),
    TEST(example_fork_shared_file_child_and_parent_read_the_file),
    TEST(example_fork_anonymous_shared_parent_reads_the_childs_numbers),
    TEST(example_fork_anonymous_private_parent_reads_zeros),
    TEST(examples_run_from_the_root_or_examples_change_no_file_there),
    TEST(example_without_its_fixture_names_the_missing_path),
};

const test_suite examples_suite = {"examples", examples_tests,
                                   sizeof examples_tests /
                                       sizeof examples_tests[0]};
