/*
 * examples/workspace.c: the folder an example works in (workspace.h).
 */
#define _GNU_SOURCE /* mkdtemp, readlink */

#include "workspace.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The folder mkdtemp made, removed at exit; "" when there is none. */
static char made[PATH_MAX];

/* Prints "program: what: why" and exits 1. */
static void give_up(const char *what) {
    fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, what,
            strerror(errno));
    exit(1);
}

/* Removes the folder mkdtemp made and every file in it. */
static void remove_made(void) {
    DIR *folder = opendir(made);
    struct dirent *entry;

    if (!folder)
        return;
    while ((entry = readdir(folder)) != NULL)
        if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0)
            unlinkat(dirfd(folder), entry->d_name, 0);
    closedir(folder);
    rmdir(made);
}

/* `folder` gets the folder the running program's file is in. */
static void program_folder(char *folder) {
    ssize_t length = readlink("/proc/self/exe", folder, PATH_MAX - 1);
    char *slash;

    if (length < 0)
        give_up("/proc/self/exe");
    folder[length] = '\0';
    slash = strrchr(folder, '/');
    if (slash)
        *slash = '\0';
}

/* Copies the file `from` to `to` in `folder`; a missing `from` is named. */
static void copy_file(const char *from, const char *folder, const char *to) {
    char path[PATH_MAX + NAME_MAX], buffer[4096];
    ssize_t got;
    int in = open(from, O_RDONLY), out;

    if (in < 0)
        give_up(from);
    snprintf(path, sizeof path, "%s/%s", folder, to);
    out = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (out < 0)
        give_up(path);
    while ((got = read(in, buffer, sizeof buffer)) > 0)
        if (write(out, buffer, (size_t)got) != got)
            give_up(path);
    if (got < 0)
        give_up(from);
    close(in);
    if (close(out) != 0)
        give_up(path);
}

/* The folder to work in: EXAMPLES_DIR's, or a new one removed at exit. */
static const char *workspace_folder(void) {
    const char *kept = getenv(WORKSPACE_ENV);
    const char *tmp = getenv("TMPDIR");

    if (kept && kept[0])
        return kept;
    snprintf(made, sizeof made, "%s/mmap_example.XXXXXX",
             tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(made)) {
        int failure = errno;
        made[0] = '\0';
        errno = failure;
        give_up("mkdtemp");
    }
    atexit(remove_made);
    return made;
}

void workspace_enter(const char *const fixtures[]) {
    char beside[PATH_MAX], from[PATH_MAX + NAME_MAX],
        there[PATH_MAX + NAME_MAX];
    const char *folder = workspace_folder();

    program_folder(beside);
    for (size_t i = 0; fixtures && fixtures[i]; i++) {
        snprintf(there, sizeof there, "%s/%s", folder, fixtures[i]);
        if (!made[0] && access(there, F_OK) == 0)
            continue; /* a kept folder's copy, maybe changed by a run */
        snprintf(from, sizeof from, "%s/%s", beside, fixtures[i]);
        copy_file(from, folder, fixtures[i]);
    }
    if (chdir(folder) != 0)
        give_up(folder);
}
