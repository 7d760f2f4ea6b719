/*
 * examples/machine.h: the simulated machine each example runs on, one MMU
 * with one process, and the loads and stores a lecture's C does through
 * pointers into a mapping. A refused access is a segmentation fault: it
 * prints why and ends the program, as the kernel's SIGSEGV would.
 */
#ifndef EXAMPLES_MACHINE_H
#define EXAMPLES_MACHINE_H

#include <stddef.h>

#include "vm.h"

#define PID 1 /* our process on the simulated machine */

/* The MMU of machine_start; vm.h's calls take it with PID. */
extern mmu *machine;

/* Makes the machine and its process PID; on failure, prints why and exits. */
void machine_start(void);

/* memcpy(to, from, n) from the simulated process's memory. */
void load_bytes(void *to, addr32 from, size_t n);

/* memcpy(to, from, n) into the simulated process's memory. */
void store_bytes(addr32 to, const void *from, size_t n);

/* *address, a byte (the lecture's *p). */
char load(addr32 address);

/* *address = c */
void store(addr32 address, char c);

/* printf("%s", s) for a string in the simulated process's memory. */
void print_string(addr32 s);

#endif
