/*
 * tests/tlb_tests.c: tlb.h, a fully associative TLB that replaces the least
 * recently used translation.
 */
#include "helpers.h"

static page_table_entry tlb_entries[TLB_SIZE + 2];

static addr32 tlb_address(size_t k) {
    return MMAP_REGION_START + (addr32)k * PAGE_SIZE;
}

static tlb *tlb_filled(size_t count) {
    tlb *t = tlb_create();
    size_t k;

    expect_not_null(t, "tlb_create()");
    for (k = 0; k < count; k++)
        tlb_add_pte(t, tlb_address(k), &tlb_entries[k]);
    return t;
}

static void test_tlb_misses_when_empty(void) {
    tlb *t = tlb_create();

    expect_not_null(t, "tlb_create()");
    expect_null(tlb_get_pte(t, 0), "lookup of 0x0 in an empty TLB");
    expect_null(tlb_get_pte(t, tlb_address(3)),
                "lookup of 0x40003000 in an empty TLB");
    tlb_delete(t);
    tlb_delete(NULL);
}

static void test_tlb_hits_after_add_for_every_address_in_the_page(void) {
    tlb *t = tlb_filled(0);
    addr32 page = tlb_address(2);

    tlb_add_pte(t, page + 0x10, &tlb_entries[2]);
    expect_ptr(tlb_get_pte(t, page), &tlb_entries[2], "first byte of page");
    expect_ptr(tlb_get_pte(t, page + 0x10), &tlb_entries[2],
               "the address added");
    expect_ptr(tlb_get_pte(t, page + PAGE_SIZE - 1), &tlb_entries[2],
               "last byte of page");
    expect_null(tlb_get_pte(t, page + PAGE_SIZE), "first byte of next page");
    expect_null(tlb_get_pte(t, page - 1), "last byte of previous page");
    tlb_delete(t);
}

static void test_tlb_replaces_least_recently_used_not_first_in(void) {
    tlb *t = tlb_filled(TLB_SIZE);
    size_t k;

    /* Page 0 came in first but is now the most recently used. */
    expect_ptr(tlb_get_pte(t, tlb_address(0)), &tlb_entries[0],
               "hit on page 0 of a full TLB");
    tlb_add_pte(t, tlb_address(TLB_SIZE), &tlb_entries[TLB_SIZE]);

    expect_null(tlb_get_pte(t, tlb_address(1)),
                "page 1 (least recently used) after the 17th add");
    expect_ptr(tlb_get_pte(t, tlb_address(0)), &tlb_entries[0],
               "page 0 (first in, recently used) after the 17th add");
    for (k = 2; k <= TLB_SIZE; k++)
        expect_ptr(tlb_get_pte(t, tlb_address(k)), &tlb_entries[k],
                   describe("page %zu after the 17th add", k));
    tlb_delete(t);
}

static void test_tlb_add_of_cached_page_updates_in_place_as_most_recent(void) {
    page_table_entry *replacement = &tlb_entries[TLB_SIZE + 1];
    tlb *t = tlb_filled(TLB_SIZE);
    size_t k;

    /* Page 5 is neither the oldest nor the newest: an update takes no slot. */
    tlb_add_pte(t, tlb_address(5), replacement);
    expect_ptr(tlb_get_pte(t, tlb_address(5)), replacement,
               "page 5 after its entry was replaced");
    for (k = 0; k < TLB_SIZE; k++)
        if (k != 5)
            expect_ptr(tlb_get_pte(t, tlb_address(k)), &tlb_entries[k],
                       describe("page %zu (the update evicted nothing)", k));
    tlb_delete(t);

    /* Updating page 0, the oldest, makes it the most recent. */
    t = tlb_filled(TLB_SIZE);
    tlb_add_pte(t, tlb_address(0), replacement);
    tlb_add_pte(t, tlb_address(TLB_SIZE), &tlb_entries[TLB_SIZE]);
    expect_ptr(tlb_get_pte(t, tlb_address(0)), replacement,
               "page 0 (updated, so recent) after the 17th add");
    expect_null(tlb_get_pte(t, tlb_address(1)),
                "page 1 (the least recently used) after the 17th add");
    for (k = 2; k <= TLB_SIZE; k++)
        expect_ptr(tlb_get_pte(t, tlb_address(k)), &tlb_entries[k],
                   describe("page %zu after the 17th add", k));
    tlb_delete(t);
}

static void test_tlb_invalidate_forgets_only_that_page(void) {
    tlb *t = tlb_filled(4);

    tlb_invalidate(t, tlb_address(2) + 100);
    tlb_invalidate(t, tlb_address(9)); /* not cached: nothing happens */
    expect_null(tlb_get_pte(t, tlb_address(2)), "invalidated page 2");
    expect_ptr(tlb_get_pte(t, tlb_address(0)), &tlb_entries[0], "page 0");
    expect_ptr(tlb_get_pte(t, tlb_address(1)), &tlb_entries[1], "page 1");
    expect_ptr(tlb_get_pte(t, tlb_address(3)), &tlb_entries[3], "page 3");
    tlb_delete(t);
}

static void test_tlb_flush_forgets_every_page(void) {
    tlb *t = tlb_filled(TLB_SIZE);
    size_t k;

    tlb_flush(t);
    for (k = 0; k < TLB_SIZE; k++)
        expect_null(tlb_get_pte(t, tlb_address(k)),
                    describe("page %zu after flush", k));
    tlb_add_pte(t, tlb_address(5), &tlb_entries[5]);
    expect_ptr(tlb_get_pte(t, tlb_address(5)), &tlb_entries[5],
               "page added after the flush");
    tlb_delete(t);
}

static const test_case tlb_tests[] = {
    TEST(tlb_misses_when_empty),
    TEST(tlb_hits_after_add_for_every_address_in_the_page),
    TEST(tlb_replaces_least_recently_used_not_first_in),
    TEST(tlb_add_of_cached_page_updates_in_place_as_most_recent),
    TEST(tlb_invalidate_forgets_only_that_page),
    TEST(tlb_flush_forgets_every_page),
};

const test_suite tlb_suite = {"tlb", tlb_tests,
                              sizeof tlb_tests / sizeof tlb_tests[0]};
