/*
 * settings.c: whole numbers from the environment, clamped to bounds, and
 * names from a list.
 */
#include "settings.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

size_t settings_count(const char *name, size_t fallback, size_t minimum,
                      size_t maximum) {
    assert(minimum >= 1 && minimum <= maximum);
    const char *setting = getenv(name);
    if (!setting || !*setting)
        return fallback;
    size_t digits = strspn(setting, "0123456789");
    if (digits == 0 || setting[digits] != '\0') {
        errno = EINVAL;
        return 0;
    }
    /* Only digits: strtoull's one failure is ERANGE, saturating. */
    unsigned long long wanted = strtoull(setting, NULL, 10);
    if (wanted > maximum)
        return maximum;
    if (wanted < minimum)
        return minimum;
    return (size_t)wanted;
}

int settings_choice(const char *name, const char *const choices[],
                    size_t count, int fallback) {
    const char *setting = getenv(name);
    if (!setting || !*setting)
        return fallback;
    for (size_t i = 0; i < count; i++)
        if (strcmp(setting, choices[i]) == 0)
            return (int)i;
    errno = EINVAL;
    return -1;
}
