/*
 * vma.c: a process's areas as a sorted array; a lookup is a binary search,
 * after a look at the area found last, which holds most accesses.
 */
#include "vma.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

vm_areas *vma_create(void) {
    vm_areas *this = calloc(1, sizeof *this);
    if (!this)
        errno = ENOMEM;
    return this;
}

void vma_delete(vm_areas *this) {
    if (!this)
        return;
    free(this->areas);
    free(this);
}

size_t vma_index_after(const vm_areas *this, addr32 address) {
    size_t low = 0, high = this->count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (this->areas[middle].end <= address)
            low = middle + 1;
        else
            high = middle;
    }
    return low;
}

vm_area *vma_find(vm_areas *this, addr32 address) {
    if (this->last_found < this->count) {
        vm_area *last = &this->areas[this->last_found];
        if (address >= last->start && address < last->end)
            return last;
    }
    size_t i = vma_index_after(this, address);
    if (i == this->count || this->areas[i].start > address)
        return NULL;
    this->last_found = i;
    return &this->areas[i];
}

int vma_check(vm_areas *this, addr32 start, uint64_t end, uint32_t permission,
              addr32 *stop) {
    uint64_t at = start;
    for (size_t i = vma_index_after(this, start); at < end; i++) {
        if (i == this->count || this->areas[i].start > at) {
            *stop = (addr32)at;
            return EFAULT;
        }
        if (!(this->areas[i].prot & permission)) {
            *stop = (addr32)at;
            return EACCES;
        }
        at = this->areas[i].end;
    }
    return 0;
}

bool vma_range_free(const vm_areas *this, addr32 start, uint64_t end) {
    size_t i = vma_index_after(this, start);
    return i == this->count || this->areas[i].start >= end;
}

bool vma_range_mapped(const vm_areas *this, addr32 start, uint64_t end) {
    uint64_t at = start;
    for (size_t i = vma_index_after(this, start); at < end; i++) {
        if (i == this->count || this->areas[i].start > at)
            return false;
        at = this->areas[i].end;
    }
    return true;
}

addr32 vma_lowest_gap(const vm_areas *this, addr32 low, uint64_t high,
                      uint64_t bytes) {
    uint64_t at = low;
    for (size_t i = vma_index_after(this, low); at + bytes <= high; i++) {
        if (i == this->count || this->areas[i].start >= at + bytes)
            return (addr32)at;
        at = this->areas[i].end;
    }
    return 0;
}

int vma_reserve(vm_areas *this, size_t more) {
    if (this->count + more <= this->capacity)
        return 0;
    size_t capacity = this->capacity ? this->capacity : 8;
    while (capacity < this->count + more)
        capacity *= 2;
    vm_area *areas = realloc(this->areas, capacity * sizeof *areas);
    if (!areas) {
        errno = ENOMEM;
        return -1;
    }
    this->areas = areas;
    this->capacity = capacity;
    return 0;
}

/* Opens a hole at `index` for one more area. */
static void make_room_at(vm_areas *this, size_t index) {
    memmove(&this->areas[index + 1], &this->areas[index],
            (this->count - index) * sizeof *this->areas);
    this->count++;
}

void vma_insert(vm_areas *this, const vm_area *area) {
    size_t i = vma_index_after(this, area->start);
    make_room_at(this, i);
    this->areas[i] = *area;
}

size_t vma_split(vm_areas *this, addr32 address) {
    size_t i = vma_index_after(this, address);
    if (i == this->count || this->areas[i].start >= address)
        return this->count;
    make_room_at(this, i + 1);
    this->areas[i + 1] = this->areas[i];
    vm_area *first = &this->areas[i], *second = &this->areas[i + 1];
    uint64_t pages = (address - first->start) / PAGE_SIZE;
    first->end = address;
    second->start = address;
    second->first_page += pages;
    return i + 1;
}

void vma_remove(vm_areas *this, size_t index) {
    memmove(&this->areas[index], &this->areas[index + 1],
            (this->count - index - 1) * sizeof *this->areas);
    this->count--;
    this->last_found = 0;
}

addr32 vma_highest_end(const vm_areas *this, addr32 otherwise) {
    return this->count ? this->areas[this->count - 1].end : otherwise;
}

uint32_t vma_all_prot(const vm_areas *this) {
    uint32_t prot = 0;
    for (size_t i = 0; i < this->count; i++)
        prot |= this->areas[i].prot;
    return prot;
}
