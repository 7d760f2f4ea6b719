/*
 * play_print.c: a scenario's text read whole, and a step's events printed
 * in words (play_print.h), for mmap_play and mmap_demo.
 * Left out: scenarios larger than memory.
 */
#include "play_print.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

char *play_print_read_text(const char *path) {
    FILE *in = fopen(path, "rb");
    if (!in)
        return NULL;
    size_t length = 0, room = 4096;
    char *text = malloc(room);
    while (text) {
        length += fread(text + length, 1, room - length - 1, in);
        if (length < room - 1)
            break;
        char *grown = realloc(text, room *= 2);
        if (!grown)
            free(text);
        text = grown;
    }
    bool failed = ferror(in);
    fclose(in);
    if (!text || failed) {
        free(text);
        errno = text ? EIO : ENOMEM;
        return NULL;
    }
    text[length] = '\0';
    return text;
}

void play_print_events(const play_step *step, bool rules, const char *indent) {
    for (size_t i = 0; i < step->num_events; i++) {
        printf("%s- %s\n", indent, step->events[i].text);
        if (rules)
            printf("%s    (%s)\n", indent, step->events[i].rule);
    }
}
