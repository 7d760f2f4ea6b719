/*
 * types.h: the shape of the simulated machine.
 *
 * A 32-bit virtual address splits 10 + 10 + 12: a page-directory index, a
 * page-table index and an offset inside a 4 KiB page, as on IA-32 without
 * PAE. Every magic number of the address space is named here.
 */
#ifndef TYPES_H
#define TYPES_H

#include <limits.h>
#include <stdint.h>

/* A simulated virtual or physical address. */
typedef uint32_t addr32;

/*
 * The simulated page, whatever the host's. A C library may define its own
 * PAGE_SIZE in <limits.h> (musl's and Emscripten's do under _GNU_SOURCE:
 * 64 KiB for WebAssembly), and a redefinition inside a system header is
 * not even warned of: so <limits.h> comes first, here, and its include
 * guard keeps a later #include of it from changing the page.
 */
#undef PAGE_SIZE
#define PAGE_SIZE 4096
#define NUM_OFFSET_BITS 12
#define NUM_VPN_BITS 10
/* Entries in one page directory or one page table. */
#define NUM_ENTRIES (1u << NUM_VPN_BITS)

#define OFFSET_MASK ((addr32)PAGE_SIZE - 1)
/* The virtual page number: directory and table index together. */
#define VPN(address) ((addr32)(address) >> NUM_OFFSET_BITS)
#define PAGE_DIRECTORY_INDEX(address)                                          \
    ((addr32)(address) >> (NUM_OFFSET_BITS + NUM_VPN_BITS))
#define PAGE_TABLE_INDEX(address)                                              \
    (((addr32)(address) >> NUM_OFFSET_BITS) & (NUM_ENTRIES - 1))
#define PAGE_OFFSET(address) ((addr32)(address)&OFFSET_MASK)
#define PAGE_ROUND_DOWN(address) ((addr32)(address) & ~OFFSET_MASK)

/* The bytes one page table maps: 4 MiB. */
#define TABLE_SPAN ((uint64_t)NUM_ENTRIES * PAGE_SIZE)
/* One past the top of the 32-bit address space, as a 64-bit number. */
#define ADDRESS_SPACE_END ((uint64_t)1 << 32)

#endif
