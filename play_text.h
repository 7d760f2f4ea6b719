/*
 * play_text.h: a growing text, for the playground's JSON and words.
 *
 * The playground (play.h) builds its JSON and its sentences piece by
 * piece; this is the one buffer it builds them in, with JSON's quoting of
 * strings. An allocation that fails is remembered, not reported at each
 * call: the text stops growing and play_text_failed says so, so that a
 * long run of appends needs one check at its end. Left out: Unicode
 * escapes beyond \u00XX (bytes above 0x7F are written as \u00XX too, so
 * that any bytes make valid JSON).
 */
#ifndef PLAY_TEXT_H
#define PLAY_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    char *text; /* NUL-terminated; NULL until the first append */
    size_t length, room;
    bool failed; /* an allocation failed: the text is cut short */
} play_text;

/* Appends `count` bytes of `bytes`. */
void play_text_add(play_text *self, const char *bytes, size_t count);

/* Appends the NUL-terminated `string`. */
void play_text_puts(play_text *self, const char *string);

/* Appends what printf would print. */
void play_text_printf(play_text *self, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Appends `count` bytes of `bytes` as a JSON string, quotes included. */
void play_text_json(play_text *self, const char *bytes, size_t count);

/*
 * Appends `count` bytes as a reader sees them: printable ASCII as it is,
 * others as \xNN (and a backslash as \\), with no quotes.
 */
void play_text_visible(play_text *self, const char *bytes, size_t count);

/*
 * Hands over the text (the caller frees it) and empties `self`; NULL
 * with errno ENOMEM when an append failed (the text is freed then).
 */
char *play_text_take(play_text *self);

/* Frees the text and empties `self`. */
void play_text_free(play_text *self);

#ifdef __cplusplus
}
#endif

#endif
