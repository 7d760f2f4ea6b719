/*
 * play_text.c: the playground's growing text (play_text.h): a buffer that
 * doubles, and JSON's quoting. Left out: anything but appending.
 */
#include "play_text.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for `more` bytes and a NUL; false (and failed) when none. */
static bool reserve(play_text *self, size_t more) {
    if (self->failed)
        return false;
    if (self->text && self->length + more + 1 <= self->room)
        return true;
    size_t room = self->room ? self->room : 256;
    while (room < self->length + more + 1)
        room *= 2;
    char *grown = realloc(self->text, room);
    if (!grown) {
        self->failed = true;
        return false;
    }
    self->text = grown;
    self->room = room;
    self->text[self->length] = '\0';
    return true;
}

void play_text_add(play_text *self, const char *bytes, size_t count) {
    if (!reserve(self, count) || count == 0) /* bytes may be NULL then */
        return;
    memcpy(self->text + self->length, bytes, count);
    self->length += count;
    self->text[self->length] = '\0';
}

void play_text_puts(play_text *self, const char *string) {
    play_text_add(self, string, strlen(string));
}

void play_text_printf(play_text *self, const char *format, ...) {
    char small[256];
    va_list args;
    va_start(args, format);
    int n = vsnprintf(small, sizeof small, format, args);
    va_end(args);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        play_text_add(self, small, (size_t)n);
        return;
    }
    if (!reserve(self, (size_t)n))
        return;
    va_start(args, format);
    vsnprintf(self->text + self->length, (size_t)n + 1, format, args);
    va_end(args);
    self->length += (size_t)n;
}

/* Whether byte `c` goes into a JSON string as it is. */
static bool plain(unsigned char c) {
    return c >= 0x20 && c < 0x7F && c != '"' && c != '\\';
}

void play_text_json(play_text *self, const char *bytes, size_t count) {
    play_text_add(self, "\"", 1);
    size_t i = 0;
    while (i < count) {
        size_t run = i;
        while (run < count && plain((unsigned char)bytes[run]))
            run++;
        play_text_add(self, bytes + i, run - i); /* the plain ones at once */
        if (run == count)
            break;
        unsigned char c = (unsigned char)bytes[run];
        if (c == '"' || c == '\\') {
            char escaped[2] = {'\\', (char)c};
            play_text_add(self, escaped, 2);
        } else if (c == '\n') {
            play_text_add(self, "\\n", 2);
        } else {
            play_text_printf(self, "\\u%04x", c);
        }
        i = run + 1;
    }
    play_text_add(self, "\"", 1);
}

void play_text_visible(play_text *self, const char *bytes, size_t count) {
    for (size_t i = 0; i < count; i++) {
        unsigned char c = (unsigned char)bytes[i];
        if (c == '\\')
            play_text_add(self, "\\\\", 2);
        else if (c >= 0x20 && c < 0x7F)
            play_text_add(self, (const char *)&bytes[i], 1);
        else
            play_text_printf(self, "\\x%02x", c);
    }
}

char *play_text_take(play_text *self) {
    if (!self->failed && !self->text)
        play_text_add(self, "", 0);
    char *text = self->failed ? NULL : self->text;
    if (self->failed) {
        free(self->text);
        errno = ENOMEM;
    }
    memset(self, 0, sizeof *self);
    return text;
}

void play_text_free(play_text *self) {
    free(self->text);
    memset(self, 0, sizeof *self);
}
