/*
 * tests/interop_tests.c: the library as a stranger's program meets it:
 * libmmap.a exports only the course's names and names carrying their
 * module's prefix, so a driver's own generic names (trace, ...) link
 * beside it; each library source asks for the POSIX declarations it
 * needs, so it compiles under -std=c99; every public header compiles as
 * C++. The tests run the host's tools (nm, ar, cc, g++) on the repository
 * root's libmmap.a, sources and headers, the directory above test_files/;
 * build with make first. nm and ar are part of binutils, which every C
 * toolchain brings: without them a test fails. cc and g++ may be absent
 * from a machine that only runs the suite: their tests then say so and
 * pass (CI installs them).
 */
#include "helpers.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* Room for what a tool prints: nm's listing of the archive, a compiler's
 * errors. */
#define TOOL_OUTPUT_SIZE (1 << 16)

/* Seconds a tool may take (a compile takes well under one). */
#define TOOL_TIMEOUT_SECONDS 30

/*
 * Names the course's headers (mmu.h, kernel.h, tlb.h, page_table.h,
 * segments.h, mmap.h) declare without their file's prefix: graders call
 * them by these names, so they stay.
 */
static const char *const course_names[] = {
    "ask_kernel_for_frame",
    "return_frame_to_kernel",
    "get_system_pointer_from_address",
    "get_address_from_system_pointer",
    "page_directory_create",
    "page_directory_delete",
    "segmentations_create",
    "grow_segment",
    "shrink_segment",
    "address_in_segmentations",
    "find_segment",
    "segment_name",
    "munmap",
};

#define NUM_COURSE_NAMES (sizeof course_names / sizeof course_names[0])


/* Whether an executable `tool` is in a directory of $PATH. */
static bool tool_on_path(const char *tool) {
    const char *path = getenv("PATH"), *at;
    char candidate[PATH_MAX];
    size_t length;

    for (at = path; at && *at; at += length + (at[length] == ':')) {
        length = strcspn(at, ":");
        snprintf(candidate, sizeof candidate, "%.*s/%s", (int)length, at, tool);
        if (length > 0 && access(candidate, X_OK) == 0)
            return true;
    }
    return false;
}

/*
 * `root` gets the repository root and `archive` its libmmap.a, which
 * `tool` (of binutils) will list; fails when either is missing.
 */
static void find_archive(const char *tool, char *root, char *archive) {
    if (!tool_on_path(tool))
        fail(__FILE__, __LINE__,
             "%s is not on PATH: this test lists libmmap.a with it (install "
             "binutils)",
             tool);
    repository_root(root);
    join_path(archive, root, "libmmap.a");
    if (access(archive, R_OK) != 0)
        fail(__FILE__, __LINE__, "%s: %s (build it with make)", archive,
             strerror(errno));
}

/*
 * Runs argv[0] (looked up in $PATH) with `argv`, its stdout and stderr in
 * `output` (TOOL_OUTPUT_SIZE bytes), and returns its wait status.
 */
static int run_tool(char *const argv[], char *output) {
    int fds[2], status;
    bool fitted;
    pid_t child;

    if (pipe(fds) != 0)
        setup_failed("pipe");
    fflush(stdout);
    fflush(stderr);
    child = fork();
    if (child < 0)
        setup_failed("fork");
    if (child == 0) {
        close(message_fd); /* the runner hears from the test, not the tool */
        close(fds[0]);
        if (dup2(fds[1], STDOUT_FILENO) < 0 || dup2(fds[1], STDERR_FILENO) < 0)
            _exit(126);
        close(fds[1]);
        alarm(TOOL_TIMEOUT_SECONDS); /* kept across exec */
        execvp(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    fitted = read_to_end_of(fds[0], output, TOOL_OUTPUT_SIZE);
    close(fds[0]);
    while (waitpid(child, &status, 0) < 0 && errno == EINTR)
        ;
    if (!fitted)
        fail(__FILE__, __LINE__, "%s printed more than %d bytes", argv[0],
             TOOL_OUTPUT_SIZE);
    return status;
}

/* Fails unless `status` is an exit with status 0; `output` says why. */
static void expect_tool_succeeded(const char *what, int status,
                                  const char *output) {
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail(__FILE__, __LINE__,
             "%s: expected exit status 0, but it %s; it "
             "printed:\n%s",
             what, describe_wait_status(status), output);
}

/*
 * Whether `name`, defined in archive member `member` ("page_cache.o"), is
 * a course name or carries its module's prefix ("page_cache_").
 */
static bool global_name_allowed(const char *member, const char *name) {
    size_t i, module = strlen(member);

    for (i = 0; i < NUM_COURSE_NAMES; i++)
        if (strcmp(name, course_names[i]) == 0)
            return true;
    if (module > 2 && strcmp(member + module - 2, ".o") == 0)
        module -= 2;
    return strncmp(name, member, module) == 0 && name[module] == '_' &&
           name[module + 1] != '\0';
}

/* `list` (MESSAGE_SIZE bytes) gets ", NAME (MEMBER)" at its end. */
static void add_offender(char *list, const char *name, const char *member) {
    size_t used = strlen(list);

    snprintf(list + used, MESSAGE_SIZE - used, "%s%s (%s)", used ? ", " : "",
             name, member);
}

static void
test_interop_archive_exports_only_course_names_and_prefixed_names(void) {
    static char listing[TOOL_OUTPUT_SIZE];
    char root[PATH_MAX], archive[PATH_MAX], member[128] = "";
    char name[256], kind[8], offenders[MESSAGE_SIZE] = "";
    char *argv[] = {"nm", "-g", "--defined-only", archive, NULL};
    char *line, *save = NULL;
    size_t names = 0, length;
    bool saw_mmap_create = false;

    find_archive("nm", root, archive);

    expect_tool_succeeded("nm -g --defined-only libmmap.a",
                          run_tool(argv, listing), listing);

    for (line = strtok_r(listing, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        length = strlen(line);
        if (length > 1 && line[length - 1] == ':') {
            snprintf(member, sizeof member, "%.*s", (int)(length - 1), line);
        } else if (sscanf(line, "%*s %7s %255s", kind, name) == 2) {
            names++;
            saw_mmap_create |= strcmp(name, "mmap_create") == 0;
            if (!global_name_allowed(member, name))
                add_offender(offenders, name, member);
        }
    }
    expect_true(
        saw_mmap_create,
        describe("nm's listing names mmap_create; it was:\n%s", listing));
    expect_at_least(names, 50, "global names listed in libmmap.a");
    if (offenders[0])
        fail(__FILE__, __LINE__,
             "expected every global name of libmmap.a to be a course name "
             "or to carry its module's prefix (page_cache.o: page_cache_*), "
             "but these do not: %s",
             offenders);
}

/* The driver of a user who names a function of their own `trace`. */
static const char driver_with_trace[] =
    "#include <stdio.h>\n"
    "#include \"mmap.h\"\n"
    "void trace(const char *what);\n"
    "void trace(const char *what) { fprintf(stderr, \"%s\\n\", what); }\n"
    "int main(int argc, char **argv) {\n"
    "    mmap *m = argc > 1 ? mmap_create(argv[1]) : NULL;\n"
    "    trace(m ? \"mapped\" : \"not mapped\");\n"
    "    munmap(m);\n"
    "    return 0;\n"
    "}\n";

static void test_interop_a_driver_defining_its_own_trace_links(void) {
    static char output[TOOL_OUTPUT_SIZE];
    char root[PATH_MAX], archive[PATH_MAX], include[PATH_MAX + 2];
    char source[PATH_MAX], program[PATH_MAX];
    char *argv[] = {"cc",    "-std=c99", include, "-o",
                    program, source,     archive, NULL};

    if (!tool_on_path("cc")) {
        fprintf(stderr, "interop_a_driver_defining_its_own_trace_links: "
                        "skipped: no cc on PATH to build the driver\n");
        return;
    }
    repository_root(root);
    join_path(archive, root, "libmmap.a");
    if (access(archive, R_OK) != 0)
        fail(__FILE__, __LINE__, "%s: %s (build it with make)", archive,
             strerror(errno));
    snprintf(include, sizeof include, "-I%s", root);
    write_new_file("driver.c", driver_with_trace, strlen(driver_with_trace),
                   source);
    path_in_work_dir("driver", program);

    expect_tool_succeeded("cc driver.c libmmap.a, driver.c defining trace()",
                          run_tool(argv, output), output);
    expect_true(access(program, X_OK) == 0, "the driver was built");
}

/* Whether `name` ends in ".h". */
static bool is_header(const char *name) {
    size_t length = strlen(name);

    return length > 2 && strcmp(name + length - 2, ".h") == 0;
}

/* g++ -std=c++11 -Wall -Wextra -Werror on `header` alone, which must pass. */
static void expect_header_compiles_as_cxx(const char *root,
                                          const char *header) {
    static char output[TOOL_OUTPUT_SIZE];
    char path[PATH_MAX], include[PATH_MAX + 2];
    char *argv[] = {
        "g++", "-std=c++11", "-Wall", "-Wextra", "-Werror", "-fsyntax-only",
        "-x",  "c++",        include, path,      NULL};

    join_path(path, root, header);
    snprintf(include, sizeof include, "-I%s", root);
    expect_tool_succeeded(
        describe("g++ -std=c++11 -Wall -Wextra -Werror %s", header),
        run_tool(argv, output), output);
}

static void test_interop_every_public_header_compiles_as_cxx(void) {
    char root[PATH_MAX];
    struct dirent *entry;
    size_t headers = 0;
    DIR *directory;

    if (!tool_on_path("g++")) {
        fprintf(stderr, "interop_every_public_header_compiles_as_cxx: "
                        "skipped: no g++ on PATH\n");
        return;
    }
    repository_root(root);
    directory = opendir(root);
    if (!directory)
        setup_failed(root);
    while ((entry = readdir(directory)) != NULL) {
        if (!is_header(entry->d_name))
            continue;
        headers++;
        expect_header_compiles_as_cxx(root, entry->d_name);
    }
    closedir(directory);
    expect_at_least(headers, 2, "headers found at the root (mmap.h, vm.h)");
}

/* cc -std=c99 -Wall -Wextra -Werror on `source` alone, which must pass. */
static void expect_source_compiles_as_c99(const char *root,
                                          const char *source) {
    static char output[TOOL_OUTPUT_SIZE];
    char path[PATH_MAX], include[PATH_MAX + 2];
    char *argv[] = {"cc",      "-std=c99", "-Wall",
                    "-Wextra", "-Werror",  "-fsyntax-only",
                    include,   path,       NULL};

    join_path(path, root, source);
    snprintf(include, sizeof include, "-I%s", root);
    expect_tool_succeeded(
        describe("cc -std=c99 -Wall -Wextra -Werror %s", source),
        run_tool(argv, output), output);
}

static void test_interop_every_library_source_compiles_as_c99(void) {
    static char members[TOOL_OUTPUT_SIZE];
    char root[PATH_MAX], archive[PATH_MAX], source[256];
    char *argv[] = {"ar", "t", archive, NULL};
    char *line, *save = NULL;
    size_t sources = 0, length;

    if (!tool_on_path("cc")) {
        fprintf(stderr, "interop_every_library_source_compiles_as_c99: "
                        "skipped: no cc on PATH\n");
        return;
    }
    find_archive("ar", root, archive);
    expect_tool_succeeded("ar t libmmap.a", run_tool(argv, members), members);

    for (line = strtok_r(members, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        length = strlen(line);
        expect_true(length > 2 && strcmp(line + length - 2, ".o") == 0 &&
                        length < sizeof source,
                    describe("a member of libmmap.a named X.o: %s", line));
        snprintf(source, sizeof source, "%.*s.c", (int)(length - 2), line);
        sources++;
        expect_source_compiles_as_c99(root, source);
    }
    expect_at_least(sources, 10, "library sources (members of libmmap.a)");
}

static const test_case interop_tests[] = {
    TEST(interop_archive_exports_only_course_names_and_prefixed_names),
    TEST(interop_a_driver_defining_its_own_trace_links),
    TEST(interop_every_public_header_compiles_as_cxx),
    TEST(interop_every_library_source_compiles_as_c99),
};

const test_suite interop_suite = {
    "interop", interop_tests, sizeof interop_tests / sizeof interop_tests[0]};
