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

/*
 * The TLB against a plain list of its translations, most recent first:
 * lookups, adds, invalidations and flushes at random over pages chosen so
 * that many share a bucket of the hash index (page numbers 256 apart).
 * Every lookup must answer as the list does; the list is what true LRU
 * means.
 */
static void test_tlb_agrees_with_a_recency_list_over_random_operations(void) {
    enum { PAGES = 40, STEPS = 20000 };
    static page_table_entry entries[PAGES][2];
    addr32 model_vpn[TLB_SIZE];
    page_table_entry *model_entry[TLB_SIZE];
    size_t count = 0, step, page, i, k;
    uint64_t state = 0x2545F4914F6CDD1Du;
    tlb *t = tlb_create();

    expect_not_null(t, "tlb_create()");
    for (step = 0; step < STEPS; step++) {
        state ^= state << 13, state ^= state >> 7, state ^= state << 17;
        size_t op = (state >> 32) % 16;
        page = (size_t)(state >> 8) % PAGES;
        /* Pages 0-19 at 0x40000000 + k pages, 20-39 256 pages further. */
        addr32 vpn = (addr32)(0x40000 + page % 20 + (page / 20) * 256);
        addr32 address = (vpn << NUM_OFFSET_BITS) | (addr32)(state & 0xFFF);
        for (k = 0; k < count && model_vpn[k] != vpn; k++)
            ;
        if (op < 8) { /* lookup */
            page_table_entry *want = k < count ? model_entry[k] : NULL;
            expect_ptr(tlb_get_pte(t, address), want,
                       describe("step %zu: lookup of page 0x%x", step, vpn));
            if (k == count)
                continue;
        } else if (op < 14) { /* add, new entry or updated in place */
            page_table_entry *entry = &entries[page][(state >> 40) & 1];
            tlb_add_pte(t, address, entry);
            if (k == count) {
                k = count < TLB_SIZE ? count++ : TLB_SIZE - 1; /* LRU out */
                model_vpn[k] = vpn;
            }
            model_entry[k] = entry;
        } else if (op < 15) { /* invalidate */
            tlb_invalidate(t, address);
            if (k < count) {
                for (i = k; i + 1 < count; i++) {
                    model_vpn[i] = model_vpn[i + 1];
                    model_entry[i] = model_entry[i + 1];
                }
                count--;
            }
            continue;
        } else { /* flush */
            tlb_flush(t);
            count = 0;
            continue;
        }
        /* The page used is now the most recent: to the front. */
        addr32 moved_vpn = model_vpn[k];
        page_table_entry *moved_entry = model_entry[k];
        for (i = k; i > 0; i--) {
            model_vpn[i] = model_vpn[i - 1];
            model_entry[i] = model_entry[i - 1];
        }
        model_vpn[0] = moved_vpn;
        model_entry[0] = moved_entry;
    }
    /* The final contents, probed on a copy so the probes change nothing. */
    for (page = 0; page < PAGES; page++) {
        tlb probe = *t;
        addr32 vpn = (addr32)(0x40000 + page % 20 + (page / 20) * 256);
        for (k = 0; k < count && model_vpn[k] != vpn; k++)
            ;
        expect_ptr(tlb_get_pte(&probe, vpn << NUM_OFFSET_BITS),
                   k < count ? model_entry[k] : NULL,
                   describe("page 0x%x at the end", vpn));
    }
    tlb_delete(t);
}

static const test_case tlb_tests[] = {
    TEST(tlb_misses_when_empty),
    TEST(tlb_hits_after_add_for_every_address_in_the_page),
    TEST(tlb_replaces_least_recently_used_not_first_in),
    TEST(tlb_add_of_cached_page_updates_in_place_as_most_recent),
    TEST(tlb_invalidate_forgets_only_that_page),
    TEST(tlb_flush_forgets_every_page),
    TEST(tlb_agrees_with_a_recency_list_over_random_operations),
};

const test_suite tlb_suite = {"tlb", tlb_tests,
                              sizeof tlb_tests / sizeof tlb_tests[0]};
