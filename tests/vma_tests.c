/*
 * tests/vma_tests.c: vma.h, a process's areas: the lowest gap that fits,
 * walking the areas while splitting and removing them, areas that keep
 * their address, the union of protections, and the tree checked against
 * a plain sorted array through thousands of random changes.
 */
#include "helpers.h"

#include <stdlib.h>

#include "vma.h"

#define LOW ((addr32)0x40000000)
/* The page `n` pages above LOW. */
#define PAGE_AT(n) (LOW + (addr32)(n)*PAGE_SIZE)

/* ------------------------------------------------------------------ */
/* Helpers of this suite                                               */
/* ------------------------------------------------------------------ */

static vm_areas *new_areas(void) {
    vm_areas *areas = vma_create();
    if (!areas)
        setup_failed("vma_create");
    return areas;
}

/* Inserts the area of pages [first, end) above LOW with `prot`. */
static vm_area *insert_pages(vm_areas *areas, size_t first, size_t end,
                             uint32_t prot) {
    vm_area area = {.start = PAGE_AT(first),
                    .end = PAGE_AT(end),
                    .prot = prot,
                    .first_page = first};
    if (vma_reserve(areas, 1) != 0)
        setup_failed("vma_reserve");
    return vma_insert(areas, &area);
}

/* The model: the same areas in a sorted array, searched one by one. */
typedef struct {
    vm_area areas[4096];
    size_t count;
} model;

/* The index of the first area of `m` that ends after `address`. */
static size_t model_after(const model *m, addr32 address) {
    size_t i = 0;
    while (i < m->count && m->areas[i].end <= address)
        i++;
    return i;
}

static const vm_area *model_find(const model *m, addr32 address) {
    size_t i = model_after(m, address);
    return i < m->count && m->areas[i].start <= address ? &m->areas[i] : NULL;
}

static addr32 model_lowest_gap(const model *m, addr32 low, uint64_t high,
                               uint64_t bytes) {
    uint64_t at = low;
    for (size_t i = model_after(m, low); i < m->count; i++) {
        if (m->areas[i].start >= at + bytes)
            break;
        at = m->areas[i].end;
    }
    return at + bytes <= high ? (addr32)at : 0;
}

static void model_insert_at(model *m, size_t i, const vm_area *area) {
    memmove(&m->areas[i + 1], &m->areas[i], (m->count - i) * sizeof *area);
    m->areas[i] = *area;
    m->count++;
}

static void model_remove_at(model *m, size_t i) {
    memmove(&m->areas[i], &m->areas[i + 1],
            (m->count - i - 1) * sizeof m->areas[0]);
    m->count--;
}

/* Splits as vma_split does; whether an area was split. */
static bool model_split(model *m, addr32 address) {
    size_t i = model_after(m, address);
    if (i == m->count || m->areas[i].start >= address)
        return false;
    vm_area second = m->areas[i];
    uint64_t pages = (address - second.start) / PAGE_SIZE;
    m->areas[i].end = address;
    second.start = address;
    second.first_page += pages;
    model_insert_at(m, i + 1, &second);
    return true;
}

static uint32_t model_all_prot(const model *m) {
    uint32_t prot = 0;
    for (size_t i = 0; i < m->count; i++)
        prot |= m->areas[i].prot;
    return prot;
}

/* The tree walked from its start holds the model's areas, in order. */
static void expect_same_areas(vm_areas *areas, const model *m, int step) {
    size_t i = 0;
    for (const vm_area *a = vma_first_ending_after(areas, 0); a;
         a = vma_next(areas, a), i++) {
        expect_true(i < m->count, describe("step %d: more areas than the "
                                           "model's %zu",
                                           step, m->count));
        const vm_area *want = &m->areas[i];
        if (a->start != want->start || a->end != want->end ||
            a->prot != want->prot || a->first_page != want->first_page ||
            a->kept_end != want->kept_end)
            fail(__FILE__, __LINE__,
                 "step %d, area %zu: expected [0x%x, 0x%x) prot %u page "
                 "%llu of %llu, got [0x%x, 0x%x) prot %u page %llu of %llu",
                 step, i, want->start, want->end, want->prot,
                 (unsigned long long)want->first_page,
                 (unsigned long long)want->kept_end, a->start, a->end,
                 a->prot, (unsigned long long)a->first_page,
                 (unsigned long long)a->kept_end);
    }
    expect_size(i, m->count, describe("step %d: areas walked", step));
}

static uint64_t next_random(uint64_t *state) {
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

/* ================================================================== */
/* Placement                                                           */
/* ================================================================== */

static void test_vma_lowest_gap_is_the_lowest_that_fits_at_or_above_low(void) {
    vm_areas *areas = new_areas();
    /* Areas at pages [2, 4), [5, 6), [9, 12): gaps of 2, 1, 3 pages. */
    insert_pages(areas, 9, 12, VM_PROT_READ);
    insert_pages(areas, 2, 4, VM_PROT_READ);
    insert_pages(areas, 5, 6, VM_PROT_READ);
    uint64_t high = PAGE_AT(100);

    expect_hex(vma_lowest_gap(areas, LOW, high, PAGE_SIZE), PAGE_AT(0),
               "one page from LOW: the first gap");
    expect_hex(vma_lowest_gap(areas, PAGE_AT(1), high, 2 * PAGE_SIZE),
               PAGE_AT(6), "two pages from page 1: the gap before 2 is cut");
    expect_hex(vma_lowest_gap(areas, PAGE_AT(3), high, PAGE_SIZE), PAGE_AT(4),
               "one page from inside an area: the gap after it");
    expect_hex(vma_lowest_gap(areas, PAGE_AT(7), high, 2 * PAGE_SIZE),
               PAGE_AT(7), "two pages from inside a gap: from low itself");
    expect_hex(vma_lowest_gap(areas, LOW, high, 4 * PAGE_SIZE), PAGE_AT(12),
               "four pages: after the last area");
    expect_hex(vma_lowest_gap(areas, LOW, PAGE_AT(15), 4 * PAGE_SIZE), 0,
               "four pages that would end past high: none");
    vma_delete(areas);
}

static void test_vma_range_free_and_mapped_see_every_area_of_a_range(void) {
    vm_areas *areas = new_areas();
    insert_pages(areas, 2, 4, VM_PROT_READ);
    insert_pages(areas, 4, 6, VM_PROT_READ);

    expect_true(vma_range_free(areas, PAGE_AT(0), PAGE_AT(2)),
                "the pages before the first area are free");
    expect_true(!vma_range_free(areas, PAGE_AT(1), PAGE_AT(3)),
                "a range reaching into an area is not free");
    expect_true(vma_range_free(areas, PAGE_AT(6), PAGE_AT(9)),
                "the pages after the last area are free");
    expect_true(vma_range_mapped(areas, PAGE_AT(2), PAGE_AT(6)),
                "two touching areas map the range they span");
    expect_true(!vma_range_mapped(areas, PAGE_AT(3), PAGE_AT(7)),
                "a range running past the last area is not mapped");
    vma_delete(areas);
}

/* ================================================================== */
/* Walking, splitting, removing                                        */
/* ================================================================== */

static void test_vma_remove_returns_the_next_area_so_a_walk_may_remove(void) {
    vm_areas *areas = new_areas();
    for (size_t i = 0; i < 10; i++)
        insert_pages(areas, 2 * i, 2 * i + 1, VM_PROT_READ);

    /* Remove every area from page 4 to page 14 but those at 8 and 12. */
    vm_area *a = vma_first_ending_after(areas, PAGE_AT(4));
    while (a && a->start < PAGE_AT(14)) {
        if (a->start == PAGE_AT(8) || a->start == PAGE_AT(12))
            a = vma_next(areas, a);
        else
            a = vma_remove(areas, a);
    }

    const size_t left[] = {0, 2, 8, 12, 14, 16, 18};
    size_t i = 0;
    for (a = vma_first_ending_after(areas, 0); a; a = vma_next(areas, a), i++)
        expect_hex(a->start, PAGE_AT(left[i]), describe("area %zu left", i));
    expect_size(i, sizeof left / sizeof left[0], "areas left");
    expect_true(vma_valid(areas), "the tree holds together");
    vma_delete(areas);
}

static void test_vma_split_keeps_the_first_half_in_place(void) {
    vm_areas *areas = new_areas();
    vm_area *area = insert_pages(areas, 0, 8, VM_PROT_READ);
    area->kept_end = 5 * PAGE_SIZE;
    if (vma_reserve(areas, 1) != 0)
        setup_failed("vma_reserve");

    vm_area *second = vma_split(areas, PAGE_AT(3));

    expect_not_null(second, "the second half");
    expect_ptr(vma_find(areas, PAGE_AT(0)), area, "the first half's address");
    expect_hex(area->end, PAGE_AT(3), "the first half's end");
    expect_hex(second->start, PAGE_AT(3), "the second half's start");
    expect_hex(second->end, PAGE_AT(8), "the second half's end");
    expect_size(second->first_page, 3, "the second half's first file page");
    expect_size(second->kept_end, 5 * PAGE_SIZE,
                "the second half keeps the length the whole one kept");
    expect_ptr(vma_next(areas, area), second, "the area after the first half");
    expect_null(vma_split(areas, PAGE_AT(3)), "a split at an area's start");
    vma_delete(areas);
}

static void test_vma_areas_keep_their_address_while_others_come_and_go(void) {
    vm_areas *areas = new_areas();
    vm_area *kept = insert_pages(areas, 500, 501, VM_PROT_WRITE);
    for (size_t i = 0; i < 1000; i++)
        if (i != 500)
            insert_pages(areas, i, i + 1, VM_PROT_READ);
    /* Remove all the others, the neighbours first, to rotate around it. */
    for (size_t d = 1; d <= 500; d++) {
        vm_area *a = vma_find(areas, PAGE_AT(500 - d));
        if (a)
            vma_remove(areas, a);
        if (500 + d < 1000)
            vma_remove(areas, vma_find(areas, PAGE_AT(500 + d)));
        expect_ptr(vma_find(areas, PAGE_AT(500)), kept,
                   describe("the kept area, %zu pages either side gone", d));
    }
    expect_hex(kept->start, PAGE_AT(500), "the kept area's start");
    expect_hex(vma_all_prot(areas), VM_PROT_WRITE, "the protections left");
    expect_true(vma_valid(areas), "the tree holds together");
    vma_delete(areas);
}

static void test_vma_protect_changes_the_union_of_protections(void) {
    vm_areas *areas = new_areas();
    vm_area *a = insert_pages(areas, 0, 1, VM_PROT_READ);
    insert_pages(areas, 1, 2, VM_PROT_READ);
    expect_hex(vma_all_prot(areas), VM_PROT_READ, "before");

    vma_protect(areas, a, VM_PROT_READ | VM_PROT_WRITE);
    expect_hex(vma_all_prot(areas), VM_PROT_READ | VM_PROT_WRITE,
               "after one area became writable");
    vma_remove(areas, a);
    expect_hex(vma_all_prot(areas), VM_PROT_READ,
               "after the writable area went");
    vma_delete(areas);
}

/* ================================================================== */
/* The tree against a sorted array                                     */
/* ================================================================== */

#define MODEL_PAGES 2048
#define MODEL_STEPS 20000

typedef struct {
    vm_areas *areas;
    model *m;
    uint64_t random;
    int step;
} model_run;

static addr32 random_page(model_run *r) {
    return PAGE_AT(next_random(&r->random) % MODEL_PAGES);
}

/* Inserts [start, start + bytes) into the tree and the model alike. */
static void run_insert(model_run *r, addr32 start, uint64_t bytes) {
    vm_area area = {.start = start,
                    .end = (addr32)(start + bytes),
                    .prot = (uint32_t)(next_random(&r->random) % 8),
                    .first_page = next_random(&r->random) % 64,
                    .kept_end = next_random(&r->random) % 16};
    if (vma_reserve(r->areas, 1) != 0)
        setup_failed("vma_reserve");
    vm_area *kept = vma_insert(r->areas, &area);
    expect_hex(kept->start, start, describe("step %d: inserted", r->step));
    model_insert_at(r->m, model_after(r->m, start), &area);
}

/* Places a mapping of 1 to 8 pages from a random low, as vm_mmap would. */
static void run_place(model_run *r) {
    uint64_t bytes = (1 + next_random(&r->random) % 8) * PAGE_SIZE;
    addr32 low = next_random(&r->random) % 4 ? LOW : random_page(r);
    uint64_t high = PAGE_AT(MODEL_PAGES);
    addr32 got = vma_lowest_gap(r->areas, low, high, bytes);
    expect_hex(got, model_lowest_gap(r->m, low, high, bytes),
               describe("step %d: lowest gap of %llu bytes from 0x%x", r->step,
                        (unsigned long long)bytes, low));
    if (got)
        run_insert(r, got, bytes);
}

/* Maps at a random hint when it is free. */
static void run_hint(model_run *r) {
    addr32 start = random_page(r);
    uint64_t end = start + (1 + next_random(&r->random) % 4) * PAGE_SIZE;
    bool free_here = model_after(r->m, start) == r->m->count ||
                     r->m->areas[model_after(r->m, start)].start >= end;
    expect_true(vma_range_free(r->areas, start, end) == free_here,
                describe("step %d: whether [0x%x, 0x%llx) is free (model: "
                         "%d)",
                         r->step, start, (unsigned long long)end, free_here));
    if (free_here && end <= PAGE_AT(MODEL_PAGES))
        run_insert(r, start, end - start);
}

static void run_split(model_run *r) {
    addr32 at = random_page(r);
    if (vma_reserve(r->areas, 1) != 0)
        setup_failed("vma_reserve");
    vm_area *second = vma_split(r->areas, at);
    expect_true((second != NULL) == model_split(r->m, at),
                describe("step %d: whether 0x%x splits an area", r->step, at));
    if (second)
        expect_hex(second->start, at,
                   describe("step %d: second half", r->step));
}

static void run_remove(model_run *r) {
    addr32 at = random_page(r);
    vm_area *area = vma_find(r->areas, at);
    const vm_area *want = model_find(r->m, at);
    expect_true((area != NULL) == (want != NULL),
                describe("step %d: whether 0x%x is in an area", r->step, at));
    if (!area)
        return;
    size_t i = (size_t)(want - r->m->areas);
    vm_area *next = vma_remove(r->areas, area);
    model_remove_at(r->m, i);
    expect_hex(next ? next->start : 0,
               i < r->m->count ? r->m->areas[i].start : 0,
               describe("step %d: the area after the one removed", r->step));
}

static void run_protect(model_run *r) {
    addr32 at = random_page(r);
    vm_area *area = vma_find(r->areas, at);
    if (!area)
        return;
    uint32_t prot = (uint32_t)(next_random(&r->random) % 8);
    vma_protect(r->areas, area, prot);
    r->m->areas[model_after(r->m, at)].prot = prot;
}

/* Lookups at a random address agree with the model's. */
static void run_lookups(model_run *r) {
    addr32 at = random_page(r) + (addr32)(next_random(&r->random) % PAGE_SIZE);
    const vm_area *area = vma_find(r->areas, at), *want = model_find(r->m, at);
    expect_hex(
        area ? area->start : 0, want ? want->start : 0,
        describe("step %d: the start of the area holding 0x%x", r->step, at));
    uint32_t permission =
        next_random(&r->random) % 2 ? VM_PROT_READ : VM_PROT_WRITE;
    uint64_t end = at + 1 + next_random(&r->random) % (3 * PAGE_SIZE);
    addr32 stop = 0, want_stop = 0;
    int want_check = 0;
    for (uint64_t p = at; p < end && !want_check;) {
        const vm_area *holder = model_find(r->m, (addr32)p);
        want_check = !holder                        ? EFAULT
                     : !(holder->prot & permission) ? EACCES
                                                    : 0;
        want_stop = (addr32)p;
        p = holder ? holder->end : p;
    }
    expect_errno(vma_check(r->areas, at, end, permission, &stop), want_check,
                 describe("step %d: a check of [0x%x, 0x%llx)", r->step, at,
                          (unsigned long long)end));
    if (want_check)
        expect_hex(stop, want_stop,
                   describe("step %d: first refused", r->step));
}

static void
test_vma_tree_agrees_with_a_sorted_array_through_random_changes(void) {
    model *m = calloc(1, sizeof *m);
    if (!m)
        setup_failed("calloc");
    model_run r = {.areas = new_areas(), .m = m, .random = 0x9E3779B97F4A7C15u};
    for (r.step = 0; r.step < MODEL_STEPS; r.step++) {
        uint64_t choice = next_random(&r.random) % 100;
        if (choice < 30)
            run_place(&r);
        else if (choice < 40)
            run_hint(&r);
        else if (choice < 60)
            run_split(&r);
        else if (choice < 90)
            run_remove(&r);
        else
            run_protect(&r);
        run_lookups(&r);
        expect_true(vma_valid(r.areas),
                    describe("step %d: the tree holds together", r.step));
        expect_hex(vma_all_prot(r.areas), model_all_prot(m),
                   describe("step %d: the union of protections", r.step));
        expect_hex(vma_highest_end(r.areas, 0),
                   m->count ? m->areas[m->count - 1].end : 0,
                   describe("step %d: the highest end", r.step));
        if (r.step % 64 == 0)
            expect_same_areas(r.areas, m, r.step);
    }
    expect_same_areas(r.areas, m, r.step);
    vma_delete(r.areas);
    free(m);
}

static const test_case vma_tests[] = {
    /* placement */
    TEST(vma_lowest_gap_is_the_lowest_that_fits_at_or_above_low),
    TEST(vma_range_free_and_mapped_see_every_area_of_a_range),
    /* walking, splitting, removing */
    TEST(vma_remove_returns_the_next_area_so_a_walk_may_remove),
    TEST(vma_split_keeps_the_first_half_in_place),
    TEST(vma_areas_keep_their_address_while_others_come_and_go),
    TEST(vma_protect_changes_the_union_of_protections),
    /* the tree against a sorted array */
    TEST(vma_tree_agrees_with_a_sorted_array_through_random_changes),
};

const test_suite vma_suite = {"vma", vma_tests,
                              sizeof vma_tests / sizeof vma_tests[0]};
