/*
 * tests/scenario_tests.c: scenario.h, the playground's language: every
 * statement as it parses, expressions with C's precedence, and errors
 * that name the line, the column and what was expected.
 */
#include "helpers.h"

#include <stdlib.h>
#include <string.h>

#include "scenario.h"

/* Parses `text`, which must parse; the scenario is the caller's. */
static scenario *parse_ok(const char *text) {
    scenario_error error = {0};
    scenario *s = scenario_parse(text, &error);
    if (!s)
        fail(__FILE__, __LINE__, "expected the scenario to parse, but line "
             "%zu column %zu: %s", error.line, error.column, error.message);
    return s;
}

/* Parses `text`, which must fail at `line` and `column` with `words` in
 * its message. */
static void expect_parse_error(const char *text, size_t line, size_t column,
                               const char *words) {
    scenario_error error = {0};
    errno = 0;
    scenario *s = scenario_parse(text, &error);
    if (s) {
        scenario_delete(s);
        fail(__FILE__, __LINE__, "expected an error at %zu:%zu for:\n%s",
             line, column, text);
    }
    expect_errno(errno, EINVAL, "errno of a scenario error");
    expect_size(error.line, line, describe("the error's line (%s)",
                                           error.message));
    expect_size(error.column, column, describe("the error's column (%s)",
                                               error.message));
    expect_true(strstr(error.message, words) != NULL,
                describe("the message \"%s\" to say \"%s\"", error.message,
                         words));
}

static int64_t eval_arg(const scenario *s, size_t statement, size_t arg,
                        const int64_t *values) {
    return scenario_eval(s, &s->statements[statement].args[arg], values);
}

static void test_scenario_parses_every_statement(void) {
    static const char text[] =
        "# every statement\n"
        "frames 32\n"
        "policy clock\n"
        "file f1.txt \"hi\\n\" \"x\" * 3\n"
        "file big.txt from test_files/pages.txt\n"
        "mmu_add_process(A)\n"
        "fd = open(\"f1.txt\", O_RDWR|O_CREAT)\n"
        "ftruncate(fd, 8192)\n"
        "pwrite(fd, \"NEW\", 0)\n"
        "p = vm_mmap(A, NULL, 8192, PROT_READ|PROT_WRITE, MAP_SHARED, fd, 0)\n"
        "write(A, p + 4, \"XY\")   # a comment\n"
        "write(A, p, 0x41 66)\n"
        "read(A, p, 11)\n"
        "c = vm_fork(A)\n"
        "vm_msync(A, p, 4096, MS_SYNC|MS_INVALIDATE)\n"
        "vm_mprotect(c, p, 4096, PROT_READ)\n"
        "vm_munmap(c, p, 4096)\n"
        "b = vm_sbrk(A, -4096)\n"
        "mmu_read_from_virtual_address(p, A, 2)\n"
        "mmu_write_to_virtual_address(p, A, \"z\")\n"
        "mmu_remove_process(c)\n"
        "close(fd)\n";
    static const scenario_op ops[] = {
        SCENARIO_FILE, SCENARIO_FILE, SCENARIO_ADD_PROCESS, SCENARIO_OPEN,
        SCENARIO_FTRUNCATE, SCENARIO_PWRITE, SCENARIO_MMAP, SCENARIO_WRITE,
        SCENARIO_WRITE, SCENARIO_READ, SCENARIO_FORK, SCENARIO_MSYNC,
        SCENARIO_MPROTECT, SCENARIO_MUNMAP, SCENARIO_SBRK, SCENARIO_READ,
        SCENARIO_WRITE, SCENARIO_REMOVE_PROCESS, SCENARIO_CLOSE};
    scenario *s = parse_ok(text);
    size_t n = sizeof ops / sizeof ops[0];
    expect_size(s->num_statements, n, "statements (headers not counted)");
    for (size_t i = 0; i < n && i < s->num_statements; i++)
        expect_int(s->statements[i].op, ops[i], describe("statement %zu", i));
    expect_size(s->frames, 32, "frames");
    expect_size(s->frames_line, 2, "the line of frames");
    expect_true(strcmp(s->policy, "clock") == 0, "the policy recorded");
    expect_size(s->statements[0].data_length, 6, "\"hi\\n\" \"x\" * 3: bytes");
    expect_bytes(s->statements[0].data, "hi\nxxx", 6, "inline contents");
    expect_true(s->statements[1].from_fixture, "from marks a fixture");
    expect_true(strcmp(s->statements[1].data, "test_files/pages.txt") == 0,
                "the fixture's path");
    expect_size(s->statements[7].line, 11, "write's line");
    expect_true(strcmp(s->statements[7].source, "write(A, p + 4, \"XY\")") == 0,
                describe("the source without its comment: \"%s\"",
                         s->statements[7].source));
    expect_bytes(s->statements[8].data, "AB", 2, "bytes written as numbers");
    expect_size(s->num_names, 4, "names bound: fd, p, c, b");
    int64_t values[4] = {3, 0x40000000, 1, 0};
    expect_int(eval_arg(s, 6, 3, values), 3, "PROT_READ|PROT_WRITE");
    expect_int(eval_arg(s, 7, 1, values), 0x40000004, "p + 4");
    expect_int(eval_arg(s, 12, 0, values), 1, "c as a pid");
    expect_int(eval_arg(s, 14, 1, values), -4096, "a negative increment");
    expect_int(eval_arg(s, 15, 0, values), 0, "mmu order: the pid first");
    expect_int(eval_arg(s, 15, 1, values), 0x40000000, "then the address");
    scenario_delete(s);
}

static void test_scenario_expressions_follow_c_precedence(void) {
    scenario *s = parse_ok("mmu_add_process(A)\n"
                           "p = vm_mmap(A, 0, 4096, 1, 2, -1, 0)\n"
                           "read(A, p + 2 * 4096 - 1, 1 | 2 + 4 * 2)\n");
    int64_t values[1] = {0x40000000};
    expect_hex(eval_arg(s, 2, 1, values), 0x40001fff, "p + 2 * 4096 - 1");
    expect_int(eval_arg(s, 2, 2, values), 1 | (2 + 4 * 2), "1 | 2 + 4 * 2");
    scenario_delete(s);
}

static void test_scenario_error_names_line_column_and_what_was_expected(void) {
    expect_parse_error("mmu_add_process(A)\n"
                       "p = vm_mmap(A, NULL, 4096 PROT_READ, MAP_SHARED, 3, 0)\n",
                       2, 27, "expected ',' after the length");
    expect_parse_error("read(A, q, 4)\n", 1, 9, "'q' is not bound");
    expect_parse_error("mmu_add_process(A)\nwrite(A, 0, \"abc)\n", 2, 13,
                       "to end this string");
    expect_parse_error("mmu_add_process(A)\nframes 8\n", 2, 1,
                       "before the first other statement");
    expect_parse_error("vm_map(A)\n", 1, 1, "expected a statement");
    expect_parse_error("mmu_add_process(A) x\n", 1, 20,
                       "expected the end of the line");
    expect_parse_error("read(A, 0, 4\n", 1, 13, "expected ')' after the count");
    expect_parse_error("write(A, 0, )\n", 1, 13, "expected data");
    expect_parse_error("file a/b \"x\"\n", 1, 6, "without '/'");
    expect_parse_error("\n\nvm_mmap = vm_fork(A)\n", 3, 1, "cannot be bound");
}

static void test_scenario_capital_letters_name_pids_until_bound(void) {
    scenario *s = parse_ok("mmu_add_process(C)\n"
                           "B = vm_fork(C)\n"
                           "mmu_remove_process(B)\n");
    int64_t values[1] = {7};
    expect_int(eval_arg(s, 0, 0, values), 2, "C is pid 2");
    expect_int(eval_arg(s, 2, 0, values), 7, "B, once bound, is its value");
    scenario_delete(s);
}

/* `file NAME at PATH`: the caller's file, in place; neither contents nor
 * a fixture. */
static void test_scenario_file_at_names_a_file_used_in_place(void) {
    scenario *s = parse_ok("file f.txt at \"/tmp/my file.txt\"\n"
                           "file g.txt at notes/g.txt # a bare path\n");
    expect_size(s->num_statements, 2, "statements");
    expect_true(s->statements[0].in_place && !s->statements[0].from_fixture,
                "at marks a file used in place");
    expect_true(strcmp(s->statements[0].path, "f.txt") == 0 &&
                    strcmp(s->statements[0].data, "/tmp/my file.txt") == 0,
                describe("its name and path: %s, %s", s->statements[0].path,
                         s->statements[0].data));
    expect_true(s->statements[1].in_place &&
                    strcmp(s->statements[1].data, "notes/g.txt") == 0,
                "a bare path, the comment left out");
    scenario_delete(s);
    expect_parse_error("file f.txt into x\n", 1, 12,
                       "expected \"contents\", 'from' or 'at'");
}

static const test_case scenario_tests[] = {
    TEST(scenario_parses_every_statement),
    TEST(scenario_expressions_follow_c_precedence),
    TEST(scenario_error_names_line_column_and_what_was_expected),
    TEST(scenario_capital_letters_name_pids_until_bound),
    TEST(scenario_file_at_names_a_file_used_in_place),
};

const test_suite scenario_suite = {
    "scenario", scenario_tests, sizeof scenario_tests / sizeof scenario_tests[0]};
