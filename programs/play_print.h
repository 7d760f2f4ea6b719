/*
 * play_print.h: what the programs that print a playground run (play.h) in
 * a terminal share: mmap_play, which prints any scenario step by step, and
 * mmap_demo, whose --sharing and --fork stories are scenarios of
 * scenarios/. Reading a scenario's text and printing a step's events in
 * words are done here once, so that a story reads the same in both.
 * Left out: colours, widths of terminals.
 */
#ifndef PLAY_PRINT_H
#define PLAY_PRINT_H

#include <stdbool.h>

#include "play.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The whole file at `path`, NUL-terminated, a string the caller frees; NULL
 * with errno (fopen's, EIO, ENOMEM).
 */
char *play_print_read_text(const char *path);

/*
 * Prints each event of `step` on a line of its own, "- " and its sentence
 * after `indent`, and with `rules` the rule under it in parentheses.
 */
void play_print_events(const play_step *step, bool rules, const char *indent);

#ifdef __cplusplus
}
#endif

#endif
