/*
 * settings.h: the library's settings read from the environment, a whole
 * number each (MMAP_FRAMES for the frame pool, MMAP_SWAP_PAGES for the
 * swap store, MMAP_POLICY_SEED) or a name from a list (MMAP_POLICY),
 * parsed and refused one way.
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

/*
 * The index in `choices` (`count` names) of the name the environment
 * variable `name` holds, exactly, or `fallback` when it is unset or empty.
 * Returns -1 with errno EINVAL for any other text ("LRU", "lru "), so that
 * a typo is seen at the first call, as settings_count does.
 */
int settings_choice(const char *name, const char *const choices[],
                    size_t count, int fallback);

#ifdef __cplusplus
}
#endif

#endif
