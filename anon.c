/*
 * anon.c: anonymous pages, pinned frames of the pool.
 */
#include "anon.h"

#include <string.h>

#include "kernel.h"

addr32 anon_page_take(void) {
    return ask_kernel_for_frame(NULL, 0);
}

addr32 anon_page_zeroed(void) {
    addr32 frame = anon_page_take();
    if (frame)
        memset(kernel_frame_memory(frame), 0, PAGE_SIZE);
    return frame;
}

void anon_page_free(addr32 frame) {
    return_frame_to_kernel(frame);
}
