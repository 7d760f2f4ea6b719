/*
 * examples/workspace.h: the folder an example works in, so that running one
 * from the repository (its root, or examples/) never changes or leaves a
 * file there. The lectures' programs open their files by name in the
 * current directory; the examples keep those lines and change directory
 * first.
 */
#ifndef EXAMPLES_WORKSPACE_H
#define EXAMPLES_WORKSPACE_H

/* Names a folder for the examples to share and keep (see workspace_enter). */
#define WORKSPACE_ENV "EXAMPLES_DIR"

/*
 * Makes a new folder with mkdtemp in $TMPDIR (or /tmp), copies into it the
 * `fixtures` (a NULL-ended list of names of files that sit beside the
 * program, in examples/), and makes it the current directory. When the
 * program exits, by return or exit(), the folder is removed with every
 * file in it. When the environment variable EXAMPLES_DIR names a folder,
 * the example works there instead: a fixture is copied only if the folder
 * lacks it, and nothing is removed, so that one run's files are the next
 * run's (persistent_variable, exchange) and can be looked at afterwards.
 * On failure prints why, naming the file (a missing fixture, say), and
 * exits with status 1.
 */
void workspace_enter(const char *const fixtures[]);

#endif
