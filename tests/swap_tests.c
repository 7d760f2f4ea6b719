/*
 * tests/swap_tests.c: swap.h, the swap store on its own: a page written
 * to a slot comes back the same, slots are distinct, freed and reused,
 * counted when shared; MMAP_SWAP_PAGES sizes the store and is refused as
 * MMAP_FRAMES is; a full store, a failed write (injected through
 * io_fault.h, or a real file-size limit) and a failed read leave nothing
 * taken and nothing lost; short and interrupted transfers are completed
 * or tried again; the file is made at the first swap_out, unlinked,
 * closed on exec; the trace reports every page out and in. The store is set up once per process: a test
 * that needs another size sets MMAP_SWAP_PAGES before its first call, or
 * runs each setting in a grandchild.
 */
#include "helpers.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io_fault.h"
#include "swap.h"

/* ------------------------------------------------------------------ */
/* Helpers of this suite                                               */
/* ------------------------------------------------------------------ */

/* A store of `pages` slots: set before the first call of swap.h. */
static void use_swap_of(const char *pages) {
    if (setenv("MMAP_SWAP_PAGES", pages, 1) != 0)
        setup_failed("setenv MMAP_SWAP_PAGES");
}

/* Writes page `page` of pattern `salt` to swap, which must take it. */
static swap_slot swap_out_pattern(size_t page, unsigned salt) {
    unsigned char bytes[PAGE_SIZE];

    fill_pattern(bytes, page, salt);
    errno = 0;
    swap_slot slot = swap_out(bytes);
    if (slot == SWAP_NO_SLOT)
        fail(__FILE__, __LINE__,
             "swap_out of page %zu: expected a slot, got SWAP_NO_SLOT with "
             "errno %s",
             page, errno_name(errno));
    return slot;
}

/* Slot `slot` holds page `page` of pattern `salt`, and stays held. */
static void expect_slot_holds(swap_slot slot, size_t page, unsigned salt,
                              const char *what) {
    unsigned char got[PAGE_SIZE], want[PAGE_SIZE];

    fill_pattern(want, page, salt);
    memset(got, 0xAA, sizeof got);
    errno = 0;
    expect_int(swap_in(slot, got), 0,
               describe("%s: swap_in of slot %u (errno %s)", what,
                        (unsigned)slot, errno_name(errno)));
    expect_bytes(got, want, PAGE_SIZE, what);
    expect_at_least(swap_slot_references(slot), 1,
                    describe("%s: references to slot %u after swap_in", what,
                             (unsigned)slot));
}

/*
 * How many of this process's descriptors name a file of `directory`;
 * `deleted` counts those whose file is unlinked, `cloexec` those closed
 * on exec.
 */
static size_t descriptors_in(const char *directory, size_t *deleted,
                             size_t *cloexec) {
    char link[PATH_MAX], target[PATH_MAX];
    size_t found = 0, length = strlen(directory);
    DIR *fds = opendir("/proc/self/fd");
    struct dirent *entry;

    if (!fds)
        setup_failed("opendir /proc/self/fd");
    *deleted = *cloexec = 0;
    while ((entry = readdir(fds)) != NULL) {
        snprintf(link, sizeof link, "/proc/self/fd/%s", entry->d_name);
        ssize_t n = readlink(link, target, sizeof target - 1);
        if (n < 0)
            continue;
        target[n] = '\0';
        if (strncmp(target, directory, length) != 0 || target[length] != '/')
            continue;
        found++;
        *deleted += strstr(target, " (deleted)") != NULL;
        *cloexec += (fcntl(atoi(entry->d_name), F_GETFD) & FD_CLOEXEC) != 0;
    }
    closedir(fds);
    return found;
}

/* How many entries `directory` holds, besides "." and "..". */
static size_t entries_in(const char *directory) {
    DIR *listing = opendir(directory);
    struct dirent *entry;
    size_t count = 0;

    if (!listing)
        setup_failed("opendir");
    while ((entry = readdir(listing)) != NULL)
        count += strcmp(entry->d_name, ".") != 0 &&
                 strcmp(entry->d_name, "..") != 0;
    closedir(listing);
    return count;
}

/* ================================================================== */
/* Pages out and back in                                               */
/* ================================================================== */

static void test_swap_page_out_and_back_in_is_the_same_bytes(void) {
    swap_slot slot = swap_out_pattern(7, 1);

    expect_true(slot != SWAP_NO_SLOT, "swap_out gave a slot");
    expect_size(swap_slots_used(), 1, "slots used after one swap_out");
    expect_size(swap_slot_references(slot), 1, "references to a new slot");
    expect_slot_holds(slot, 7, 1, "the page read back");
    expect_slot_holds(slot, 7, 1, "the page read back a second time");
    expect_size(swap_slots_used(), 1, "slots used after two swap_ins");
    swap_free(slot);
    expect_size(swap_slots_used(), 0, "slots used after swap_free");
}

static void test_swap_write_replaces_a_held_slots_page(void) {
    swap_slot slot = swap_out_pattern(7, 1);
    swap_slot other = swap_out_pattern(8, 1);
    unsigned char bytes[PAGE_SIZE];

    swap_hold(slot);
    fill_pattern(bytes, 9, 2);
    errno = 0;
    expect_int(swap_write(slot, bytes), 0,
               describe("swap_write over slot %u (errno %s)", (unsigned)slot,
                        errno_name(errno)));
    expect_slot_holds(slot, 9, 2, "the slot after swap_write");
    expect_slot_holds(other, 8, 1, "the slot beside it");
    expect_size(swap_slot_references(slot), 2, "references after swap_write");
    expect_size(swap_slots_used(), 2, "slots used after swap_write");
    swap_free(slot);
    swap_free(slot);
    expect_failure(swap_write(slot, bytes), -1, EINVAL,
                   "swap_write of a freed slot");
    swap_free(other);
}

#define MANY_PAGES 200

static void test_swap_many_pages_go_to_distinct_slots(void) {
    static swap_slot slots[MANY_PAGES];
    static bool seen[MANY_PAGES + 1];
    size_t i;

    for (i = 0; i < MANY_PAGES; i++) {
        slots[i] = swap_out_pattern(i, 2);
        expect_true(slots[i] >= 1 && slots[i] <= MANY_PAGES,
                    describe("slot %u of page %zu lies in 1..%d (the lowest "
                             "free are taken)",
                             (unsigned)slots[i], i, MANY_PAGES));
        expect_true(!seen[slots[i]],
                    describe("slot %u given once", (unsigned)slots[i]));
        seen[slots[i]] = true;
    }
    expect_size(swap_slots_used(), MANY_PAGES, "slots used");
    for (i = MANY_PAGES; i-- > 0;)
        expect_slot_holds(slots[i], i, 2,
                          describe("page %zu, read back last first", i));
    for (i = 0; i < MANY_PAGES; i++)
        swap_free(slots[i]);
    expect_size(swap_slots_used(), 0, "slots used after freeing them all");
}

static void test_swap_a_slot_freed_below_full_ones_is_found_first(void) {
    static swap_slot slots[MANY_PAGES];
    size_t i;

    for (i = 0; i < MANY_PAGES; i++)
        slots[i] = swap_out_pattern(i, 16);
    swap_free(slots[149]);
    swap_free(slots[4]);
    expect_int(swap_out_pattern(MANY_PAGES, 16), slots[4],
               "the next slot once slots 5 and 150 of 200 are freed: 5");
    expect_int(swap_out_pattern(MANY_PAGES + 1, 16), slots[149],
               "the one after: 150");
    expect_int(swap_out_pattern(MANY_PAGES + 2, 16), MANY_PAGES + 1,
               "the one after that: the next after the highest");
    for (i = 0; i < MANY_PAGES; i++)
        swap_free(slots[i]);
    swap_free(MANY_PAGES + 1);
}

static void test_swap_freed_slots_are_reused_lowest_first(void) {
    swap_slot first = swap_out_pattern(0, 3);
    swap_slot second = swap_out_pattern(1, 3);
    swap_slot third = swap_out_pattern(2, 3);

    swap_free(second);
    expect_size(swap_slots_used(), 2, "slots used after freeing one of three");
    expect_size(swap_slot_references(second), 0, "references to a freed slot");
    expect_failure(swap_in(second, (unsigned char[PAGE_SIZE]){0}), -1, EINVAL,
                   "swap_in of a freed slot");
    expect_int(swap_out_pattern(9, 3), second,
               "the slot the next swap_out takes: the one freed");
    swap_free(first);
    expect_int(swap_out_pattern(10, 3), first,
               "the slot after freeing the first: the first");
    expect_int(swap_out_pattern(11, 3), third + 1,
               "with none free below, the next after the highest");
    expect_slot_holds(second, 9, 3, "the reused slot holds its new page");
    expect_slot_holds(first, 10, 3, "the first slot holds its new page");
    expect_slot_holds(third, 2, 3, "the third slot kept its page");
    swap_free(first);
    swap_free(second);
    swap_free(third);
    swap_free(third + 1);
}

static void test_swap_a_held_slot_is_freed_by_its_last_reference(void) {
    swap_slot slot = swap_out_pattern(4, 4);

    swap_hold(slot);
    swap_hold(slot);
    expect_size(swap_slot_references(slot), 3, "references after two holds");
    swap_free(slot);
    swap_free(slot);
    expect_size(swap_slot_references(slot), 1, "references after two frees");
    expect_size(swap_slots_used(), 1, "slots used while one reference is left");
    expect_slot_holds(slot, 4, 4, "the page, with one reference left");
    swap_free(slot);
    expect_size(swap_slots_used(), 0, "slots used after the last free");
    expect_int(swap_out_pattern(5, 4), slot, "the freed slot, taken again");
    expect_size(swap_slot_references(slot), 1, "references to it, taken again");
    swap_free(slot);
}

static void test_swap_in_of_a_slot_not_held_is_einval(void) {
    unsigned char page[PAGE_SIZE];

    expect_failure(swap_in(1, page), -1, EINVAL,
                   "swap_in of slot 1 before any swap_out");
    swap_slot slot = swap_out_pattern(0, 5);
    expect_failure(swap_in(SWAP_NO_SLOT, page), -1, EINVAL,
                   "swap_in of SWAP_NO_SLOT");
    expect_failure(swap_in(slot + 1, page), -1, EINVAL,
                   "swap_in of a slot never taken");
    expect_failure(swap_in((swap_slot)swap_slots_total() + 1, page), -1,
                   EINVAL, "swap_in of a slot past the store");
    swap_free(slot);
}

/* In a grandchild: frees a slot twice, which must stop the process. */
static void free_a_slot_twice(const void *argument) {
    (void)argument;
    swap_slot slot = swap_out_pattern(0, 6);
    swap_free(slot);
    swap_free(slot);
}

static void test_swap_freeing_a_free_slot_stops_loudly(void) {
    grandchild result;

    run_in_grandchild(free_a_slot_twice, NULL, true, &result);
    expect_true(WIFSIGNALED(result.status) && WTERMSIG(result.status) == SIGABRT,
                describe("a second swap_free of a slot: expected an abort, "
                         "but the process %s",
                         describe_wait_status(result.status)));
    expect_true(strstr(result.errors, "swap_free") != NULL,
                describe("the abort names swap_free; stderr was: %s",
                         result.errors));
}

/* ================================================================== */
/* MMAP_SWAP_PAGES: the store's size                                   */
/* ================================================================== */

static void test_swap_full_store_is_enospc_and_takes_nothing(void) {
    unsigned char page[PAGE_SIZE];
    swap_slot slots[4];
    size_t i;

    use_swap_of("4");
    expect_size(swap_slots_total(), 4, "slots with MMAP_SWAP_PAGES=4");
    for (i = 0; i < 4; i++)
        slots[i] = swap_out_pattern(i, 7);
    fill_pattern(page, 4, 7);
    expect_failure(swap_out(page), SWAP_NO_SLOT, ENOSPC,
                   "swap_out with every slot held");
    expect_size(swap_slots_used(), 4, "slots used after the refusal");
    for (i = 0; i < 4; i++)
        expect_slot_holds(slots[i], i, 7,
                          describe("slot %zu after the refusal", i + 1));
    swap_free(slots[2]);
    expect_int(swap_out_pattern(4, 7), slots[2],
               "swap_out once a slot is free: that slot");
    expect_slot_holds(slots[2], 4, 7, "the page that found room at last");
    for (i = 0; i < 4; i++)
        swap_free(slots[i]);
}

/* In a grandchild: the store's size with MMAP_SWAP_PAGES set so. */
static void expect_swap_of_size(const void *argument) {
    const struct {
        const char *setting;
        size_t slots;
    } *want = argument;

    if (want->setting)
        use_swap_of(want->setting);
    else
        unsetenv("MMAP_SWAP_PAGES");
    expect_size(swap_slots_total(), want->slots,
                describe("slots with MMAP_SWAP_PAGES=\"%s\"",
                         want->setting ? want->setting : "(unset)"));
    swap_slot slot = swap_out_pattern(0, 8);
    expect_slot_holds(slot, 0, 8, "a page in a store of that size");
    swap_free(slot);
}

static void test_swap_pages_setting_is_clamped_and_defaults(void) {
    static const struct {
        const char *setting;
        size_t slots;
    } settings[] = {
        {NULL, SWAP_DEFAULT_PAGES},
        {"", SWAP_DEFAULT_PAGES},
        {"0", SWAP_MIN_PAGES},
        {"1", 1},
        {"00017", 17},
        {"99999999999999999999999", SWAP_MAX_PAGES},
    };
    grandchild result;
    size_t i;

    expect_size(SWAP_DEFAULT_PAGES, 65536, "SWAP_DEFAULT_PAGES");
    expect_size(SWAP_MAX_PAGES, 1048575, "SWAP_MAX_PAGES (2^20 - 1)");
    for (i = 0; i < sizeof settings / sizeof settings[0]; i++) {
        run_in_grandchild(expect_swap_of_size, &settings[i], false, &result);
        expect_grandchild_passed(
            &result, describe("with MMAP_SWAP_PAGES=\"%s\", expecting %zu slots",
                              settings[i].setting ? settings[i].setting
                                                  : "(unset)",
                              settings[i].slots));
    }
}

/* In a grandchild: `argument` is refused, nothing made, until fixed. */
static void expect_swap_setting_refused_until_fixed(const void *argument) {
    unsigned char page[PAGE_SIZE] = {0};
    size_t deleted, cloexec;

    if (setenv("TMPDIR", work_dir, 1) != 0)
        setup_failed("setenv TMPDIR");
    use_swap_of(argument);
    expect_failure(swap_out(page), SWAP_NO_SLOT, EINVAL, "swap_out");
    expect_failure(swap_slots_total(), 0, EINVAL, "swap_slots_total");
    expect_failure(swap_out(page), SWAP_NO_SLOT, EINVAL, "swap_out again");
    expect_size(swap_slots_used(), 0, "slots used after the refusals");
    expect_size(descriptors_in(work_dir, &deleted, &cloexec), 0,
                "swap files open after the refusals");
    use_swap_of("3");
    expect_size(swap_slots_total(), 3, "slots once the setting is fixed");
    swap_slot slot = swap_out_pattern(0, 9);
    expect_slot_holds(slot, 0, 9, "a page once the setting is fixed");
    swap_free(slot);
}

static void test_swap_bad_pages_setting_is_einval(void) {
    static const char *const settings[] = {"8k", "-5", " 12", "12 ", "0x10",
                                           "+3", "1e3"};
    grandchild result;
    size_t i;

    for (i = 0; i < sizeof settings / sizeof settings[0]; i++) {
        run_in_grandchild(expect_swap_setting_refused_until_fixed, settings[i],
                          false, &result);
        expect_grandchild_passed(
            &result, describe("with MMAP_SWAP_PAGES=\"%s\"", settings[i]));
    }
}

/* ================================================================== */
/* Failed and short I/O                                                */
/* ================================================================== */

static void test_swap_failed_write_leaves_the_slot_free(void) {
    unsigned char page[PAGE_SIZE];
    swap_slot kept = swap_out_pattern(0, 10);

    trace_set_hook(record_event, NULL);
    fill_pattern(page, 1, 10);
    io_fault_inject(&(io_fault){.write = true, .nth = 1, .error = EIO});
    expect_failure(swap_out(page), SWAP_NO_SLOT, EIO,
                   "swap_out whose write fails with EIO");
    expect_size(swap_slots_used(), 1, "slots used after the failed write");
    expect_size(swap_slot_references(kept + 1), 0,
                "references to the slot the failed write had taken");
    expect_size(trace_log.per_event[TRACE_SWAP_OUT], 0,
                "swap-outs traced for the failed write");
    expect_int(swap_out_pattern(1, 10), kept + 1,
               "the next swap_out: the slot the failure gave back");
    expect_slot_holds(kept + 1, 1, 10, "the page written on the second try");
    expect_slot_holds(kept, 0, 10, "the page written before the failure");
    trace_set_hook(NULL, NULL);
    swap_free(kept);
    swap_free(kept + 1);
}

static void test_swap_write_past_the_file_size_limit_takes_nothing(void) {
    unsigned char page[PAGE_SIZE];
    struct rlimit old_limit;

    swap_slot first = swap_out_pattern(0, 11);
    limit_file_size(PAGE_SIZE, &old_limit);
    fill_pattern(page, 1, 11);
    expect_failure(swap_out(page), SWAP_NO_SLOT, EFBIG,
                   "swap_out past RLIMIT_FSIZE");
    restore_file_size_limit(&old_limit);
    expect_size(swap_slots_used(), 1, "slots used after the refused write");
    expect_slot_holds(first, 0, 11, "the page written before the limit");
    swap_free(first);
}

static void test_swap_failed_read_is_reported_and_the_slot_keeps_its_page(void) {
    unsigned char page[PAGE_SIZE];
    swap_slot slot = swap_out_pattern(3, 12);

    io_fault_inject(&(io_fault){.write = false, .nth = 1, .error = EIO});
    expect_failure(swap_in(slot, page), -1, EIO,
                   "swap_in whose read fails with EIO");
    expect_size(swap_slot_references(slot), 1,
                "references to the slot after the failed read");
    expect_size(swap_slots_used(), 1, "slots used after the failed read");
    expect_slot_holds(slot, 3, 12, "the retry after the failed read");
    swap_free(slot);
}

static void test_swap_short_write_and_short_read_are_completed(void) {
    swap_slot slot;

    trace_set_hook(record_event, NULL);
    /* Three calls in a row move 100 bytes each; the fourth the rest. */
    io_fault_inject(
        &(io_fault){.write = true, .nth = 1, .bytes = 100, .times = 3});
    slot = swap_out_pattern(5, 13);
    expect_int((int)io_fault_armed, 0, "armed faults after the short writes");
    io_fault_inject(
        &(io_fault){.write = false, .nth = 1, .bytes = 1000, .times = 2});
    expect_slot_holds(slot, 5, 13, "a page written and read back in pieces");
    expect_int((int)io_fault_armed, 0, "armed faults after the short reads");
    expect_size(trace_log.per_event[TRACE_SWAP_OUT], 1,
                "swap-outs traced for one page written in four calls");
    expect_size(trace_log.per_event[TRACE_SWAP_IN], 1,
                "swap-ins traced for one page read in three calls");
    trace_set_hook(NULL, NULL);
    swap_free(slot);
}

static void test_swap_interrupted_write_and_read_are_tried_again(void) {
    swap_slot slot;

    io_fault_inject(
        &(io_fault){.write = true, .nth = 1, .error = EINTR, .times = 2});
    slot = swap_out_pattern(6, 17);
    expect_int((int)io_fault_armed, 0, "armed faults after the interrupted "
                                       "writes");
    io_fault_inject(&(io_fault){.write = false, .nth = 1, .error = EINTR});
    expect_slot_holds(slot, 6, 17, "a page read after an interrupted read");
    expect_int((int)io_fault_armed, 0, "armed faults after the interrupted "
                                       "read");
    swap_free(slot);
}

/* ================================================================== */
/* The file                                                            */
/* ================================================================== */

static void test_swap_file_is_made_at_the_first_swap_out_and_unlinked(void) {
    size_t deleted, cloexec;
    swap_slot slot;

    if (setenv("TMPDIR", work_dir, 1) != 0)
        setup_failed("setenv TMPDIR");
    expect_size(swap_slots_total(), SWAP_DEFAULT_PAGES, "slots (the default)");
    expect_size(swap_slots_used(), 0, "slots used before any swap_out");
    expect_size(descriptors_in(work_dir, &deleted, &cloexec), 0,
                "descriptors of files in $TMPDIR before the first swap_out");
    slot = swap_out_pattern(0, 14);
    expect_size(descriptors_in(work_dir, &deleted, &cloexec), 1,
                "descriptors of files in $TMPDIR after the first swap_out");
    expect_size(deleted, 1, "of them, descriptors of an unlinked file");
    expect_size(cloexec, 1, "of them, descriptors closed on exec");
    expect_size(entries_in(work_dir), 0, "entries of $TMPDIR");
    swap_free(slot);
    slot = swap_out_pattern(1, 14);
    expect_size(descriptors_in(work_dir, &deleted, &cloexec), 1,
                "descriptors of files in $TMPDIR after another swap_out");
    swap_free(slot);
}

/* ================================================================== */
/* The trace                                                           */
/* ================================================================== */

static void test_swap_trace_reports_each_page_out_and_in_with_its_slot(void) {
    swap_slot first, second;

    first = swap_out_pattern(0, 15);
    trace_set_hook(record_event, NULL);
    second = swap_out_pattern(1, 15);
    expect_slot_holds(first, 0, 15, "the first page");
    trace_set_hook(NULL, NULL);
    expect_size(trace_log.count, 2, "events traced");
    expect_int(trace_log.records[0].record.event, TRACE_SWAP_OUT,
               "the first event: a swap-out");
    expect_size(trace_log.records[0].record.page, second,
                "the swap-out's page: the slot written");
    expect_int(trace_log.records[1].record.event, TRACE_SWAP_IN,
               "the second event: a swap-in");
    expect_size(trace_log.records[1].record.page, first,
                "the swap-in's page: the slot read");
    expect_true(strcmp(trace_event_name(TRACE_SWAP_OUT), "swap out") == 0,
                "trace_event_name(TRACE_SWAP_OUT) is \"swap out\"");
    expect_true(strcmp(trace_event_name(TRACE_SWAP_IN), "swap in") == 0,
                "trace_event_name(TRACE_SWAP_IN) is \"swap in\"");
    swap_free(first);
    swap_free(second);
}

static const test_case swap_tests[] = {
    TEST(swap_page_out_and_back_in_is_the_same_bytes),
    TEST(swap_many_pages_go_to_distinct_slots),
    TEST(swap_write_replaces_a_held_slots_page),
    TEST(swap_a_slot_freed_below_full_ones_is_found_first),
    TEST(swap_freed_slots_are_reused_lowest_first),
    TEST(swap_a_held_slot_is_freed_by_its_last_reference),
    TEST(swap_in_of_a_slot_not_held_is_einval),
    TEST(swap_freeing_a_free_slot_stops_loudly),
    TEST(swap_full_store_is_enospc_and_takes_nothing),
    TEST(swap_pages_setting_is_clamped_and_defaults),
    TEST(swap_bad_pages_setting_is_einval),
    TEST(swap_failed_write_leaves_the_slot_free),
    TEST(swap_write_past_the_file_size_limit_takes_nothing),
    TEST(swap_failed_read_is_reported_and_the_slot_keeps_its_page),
    TEST(swap_short_write_and_short_read_are_completed),
    TEST(swap_interrupted_write_and_read_are_tried_again),
    TEST(swap_file_is_made_at_the_first_swap_out_and_unlinked),
    TEST(swap_trace_reports_each_page_out_and_in_with_its_slot),
};

const test_suite swap_suite = {"swap", swap_tests,
                               sizeof swap_tests / sizeof swap_tests[0]};
