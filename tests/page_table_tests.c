/*
 * tests/page_table_tests.c: types.h and page_table.h, the shape of an
 * address and of an entry, and the page walk.
 */
#include "helpers.h"

/* The 32 bits of a page-table or page-directory entry, as the hardware sees
 * them. */
static uint32_t entry_bits(const void *entry) {
    uint32_t bits;
    memcpy(&bits, entry, sizeof bits);
    return bits;
}

static void
test_page_table_entry_is_32_bits_with_present_at_bit_0_and_frame_on_top(void) {
    expect_size(sizeof(page_table_entry), 4, "sizeof(page_table_entry)");
    expect_hex(entry_bits(&(page_table_entry){.present = 1}), 0x1,
               "entry with only present set");
    expect_hex(entry_bits(&(page_table_entry){.read_write = 1}), 0x2,
               "entry with only read_write set");
    expect_hex(entry_bits(&(page_table_entry){.user_supervisor = 1}), 0x4,
               "entry with only user_supervisor set");
    expect_hex(entry_bits(&(page_table_entry){.accessed = 1}), 0x20,
               "entry with only accessed set");
    expect_hex(entry_bits(&(page_table_entry){.dirty = 1}), 0x40,
               "entry with only dirty set");
    expect_hex(entry_bits(&(page_table_entry){.cached = 1}), 0x200,
               "entry with only cached (the first OS bit) set");
    expect_hex(entry_bits(&(page_table_entry){.base_addr = 0xFFFFF}),
               0xFFFFF000u, "entry with base_addr 0xFFFFF");
    expect_hex(
        entry_bits(&(page_table_entry){.base_addr = 0x12345, .present = 1}),
        0x12345001u, "present entry with base_addr 0x12345");
}

static void
test_page_directory_entry_is_32_bits_with_present_at_bit_0_and_frame_on_top(
    void) {
    expect_size(sizeof(page_directory_entry), 4,
                "sizeof(page_directory_entry)");
    expect_size(sizeof(page_directory), NUM_ENTRIES * 4,
                "sizeof(page_directory)");
    expect_size(sizeof(page_table), PAGE_SIZE, "sizeof(page_table)");
    expect_hex(entry_bits(&(page_directory_entry){.present = 1}), 0x1,
               "entry with only present set");
    expect_hex(entry_bits(&(page_directory_entry){.read_write = 1}), 0x2,
               "entry with only read_write set");
    expect_hex(entry_bits(&(page_directory_entry){.accessed = 1}), 0x20,
               "entry with only accessed set");
    expect_hex(entry_bits(&(page_directory_entry){.base_addr = 0xFFFFF}),
               0xFFFFF000u, "entry with base_addr 0xFFFFF");
}

static void test_address_splits_10_10_12(void) {
    addr32 address = 0xABCDE123u;

    expect_int(PAGE_SIZE, 4096, "PAGE_SIZE");
    expect_hex(PAGE_DIRECTORY_INDEX(address), 0x2AF,
               "directory index of 0xABCDE123");
    expect_hex(PAGE_TABLE_INDEX(address), 0x0DE, "table index of 0xABCDE123");
    expect_hex(PAGE_OFFSET(address), 0x123, "offset of 0xABCDE123");
    expect_hex(VPN(address), 0xABCDE, "VPN of 0xABCDE123");
}

static void test_page_walk_without_alloc_on_empty_directory_returns_null(void) {
    size_t free_before;
    page_directory *directory;

    dirty_every_frame(); /* the directory must be cleared, not found empty */
    free_before = kernel_frames_free();
    directory = page_directory_create();

    expect_not_null(directory, "page_directory_create()");
    expect_size(free_before - kernel_frames_free(), 1,
                "frames taken by a page directory");

    expect_null(page_table_walk(directory, 0, false), "walk of 0x0");
    expect_null(page_table_walk(directory, MMAP_REGION_START, false),
                "walk of 0x40000000");
    expect_null(page_table_walk(directory, 0xFFFFF000u, false),
                "walk of 0xFFFFF000");
    expect_size(free_before - kernel_frames_free(), 1,
                "frames in use after walks without alloc");

    page_directory_delete(directory);
    expect_size(kernel_frames_free(), free_before,
                "free frames after page_directory_delete");
}

static void test_page_walk_with_alloc_returns_same_non_present_entry(void) {
    addr32 address = 0x40001234u;
    page_directory *directory;
    page_table_entry *entry;
    uint32_t bits;

    dirty_every_frame(); /* the new table must be cleared, not found empty */
    directory = page_directory_create();
    expect_not_null(directory, "page_directory_create()");
    entry = page_table_walk(directory, address, true);
    expect_not_null(entry, "walk of 0x40001234 with alloc");
    memcpy(&bits, entry, sizeof bits);
    expect_hex(bits, 0, "entry in a freshly made page table (zeroed)");
    expect_int(entry->present, 0, "present bit of a fresh entry");

    expect_ptr(page_table_walk(directory, address, true), entry,
               "second walk with alloc of the same address");
    expect_ptr(page_table_walk(directory, 0x40001FFFu, true), entry,
               "walk of the last byte of the same page");
    expect_ptr(page_table_walk(directory, 0x40001000u, false), entry,
               "walk without alloc of the same page");
    expect_ptr(page_table_walk(directory, 0x40002000u, false), entry + 1,
               "walk of the next page (the next entry of the table)");
    page_directory_delete(directory);
}

static void test_page_walk_links_directory_entry_to_its_table_frame(void) {
    addr32 address = 0x40123456u;
    page_directory *directory = page_directory_create();
    page_directory_entry *directory_entry;
    page_table_entry *entry;
    page_table *table;

    expect_not_null(directory, "page_directory_create()");
    entry = page_table_walk(directory, address, true);
    expect_not_null(entry, "walk with alloc");

    directory_entry = &directory->entries[PAGE_DIRECTORY_INDEX(address)];
    expect_int(directory_entry->present, 1,
               "present bit of the directory entry after the walk");
    expect_true(directory_entry->base_addr != 0,
                "the page table's frame number is not 0");
    table = get_system_pointer_from_address((addr32)directory_entry->base_addr
                                            << NUM_OFFSET_BITS);
    expect_not_null(table, "host pointer of the page table's frame");
    expect_ptr(entry, &table->entries[PAGE_TABLE_INDEX(address)],
               "entry returned by the walk, against the entry in the table "
               "frame named by the directory");
    page_directory_delete(directory);
}

static void test_addresses_in_same_4mib_share_one_page_table(void) {
    page_directory *directory = page_directory_create();
    page_table_entry *first, *last;
    size_t free_before;

    expect_not_null(directory, "page_directory_create()");
    free_before = kernel_frames_free();

    first = page_table_walk(directory, 0x40000000u, true);
    expect_not_null(first, "walk of 0x40000000");
    expect_size(free_before - kernel_frames_free(), 1,
                "frames taken by the first walk (one page table)");

    last = page_table_walk(directory, 0x403FF000u, true);
    expect_not_null(last, "walk of 0x403FF000");
    expect_ptr(last, first + (NUM_ENTRIES - 1),
               "entry of the last page of the same 4 MiB");
    expect_size(free_before - kernel_frames_free(), 1,
                "frames taken after a walk in the same 4 MiB");

    expect_not_null(page_table_walk(directory, 0x40400000u, true),
                    "walk of 0x40400000");
    expect_size(free_before - kernel_frames_free(), 2,
                "frames taken after a walk in the next 4 MiB");
    expect_true(directory->entries[0x100].base_addr !=
                    directory->entries[0x101].base_addr,
                "the two 4 MiB regions have different table frames");
    page_directory_delete(directory);
}

static void test_page_directory_delete_returns_directory_and_tables(void) {
    size_t total = kernel_frames_total();
    page_directory *directory;

    expect_size(kernel_frames_free(), total, "free frames at start");
    directory = page_directory_create();
    expect_not_null(directory, "page_directory_create()");
    expect_not_null(page_table_walk(directory, 0x00000000u, true), "walk 0x0");
    expect_not_null(page_table_walk(directory, 0x40000000u, true),
                    "walk 0x40000000");
    expect_not_null(page_table_walk(directory, 0xFFFFF000u, true),
                    "walk 0xFFFFF000");
    expect_size(total - kernel_frames_free(), 4,
                "frames in use: a directory and three tables");
    page_directory_delete(directory);
    expect_all_frames_free("after page_directory_delete");
}

static const test_case page_table_tests[] = {
    TEST(page_table_entry_is_32_bits_with_present_at_bit_0_and_frame_on_top),
    TEST(
        page_directory_entry_is_32_bits_with_present_at_bit_0_and_frame_on_top),
    TEST(address_splits_10_10_12),
    TEST(page_walk_without_alloc_on_empty_directory_returns_null),
    TEST(page_walk_with_alloc_returns_same_non_present_entry),
    TEST(page_walk_links_directory_entry_to_its_table_frame),
    TEST(addresses_in_same_4mib_share_one_page_table),
    TEST(page_directory_delete_returns_directory_and_tables),
};

const test_suite page_table_suite = {"page_table", page_table_tests,
                                     sizeof page_table_tests /
                                         sizeof page_table_tests[0]};
