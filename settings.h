/*
 * settings.h: the library's settings read from the environment, a whole
 * number each (MMAP_FRAMES for the frame pool, MMAP_SWAP_PAGES for the
 * swap store), parsed and refused one way.
 *
 * Left out: units ("8k"), signs, white space, hexadecimal, and settings
 * read again after their module has started.
 */
#ifndef SETTINGS_H
#define SETTINGS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The count the environment variable `name` asks for: a whole number in
 * decimal digits, clamped to [minimum, maximum] (minimum at least 1), or
 * `fallback` when the variable is unset or empty. Returns 0 with errno
 * EINVAL when it is anything else ("8k", "-5", " 12"), so that a typo is
 * seen at the first call rather than silently replaced.
 */
size_t settings_count(const char *name, size_t fallback, size_t minimum,
                      size_t maximum);

#ifdef __cplusplus
}
#endif

#endif
