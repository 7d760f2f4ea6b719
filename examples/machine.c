/*
 * examples/machine.c: the simulated machine the examples share (machine.h).
 */
#include "machine.h"

#include <stdio.h>
#include <stdlib.h>

mmu *machine;

void machine_start(void) {
    machine = mmu_create();
    if (machine == NULL || mmu_add_process(machine, PID) != 0) {
        perror("mmu");
        exit(1);
    }
}

void load_bytes(void *to, addr32 from, size_t n) {
    if (mmu_read_from_virtual_address(machine, from, PID, to, n) != n) {
        perror("segmentation fault");
        exit(1);
    }
}

void store_bytes(addr32 to, const void *from, size_t n) {
    if (mmu_write_to_virtual_address(machine, to, PID, from, n) != n) {
        perror("segmentation fault");
        exit(1);
    }
}

char load(addr32 address) {
    char c;

    load_bytes(&c, address, 1);
    return c;
}

void store(addr32 address, char c) {
    store_bytes(address, &c, 1);
}

void print_string(addr32 s) {
    char c;

    while ((c = load(s++)) != '\0')
        putchar(c);
}
