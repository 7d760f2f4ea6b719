#!/bin/sh
# Makes test_files/traces/lackey.txt again: a small C program that walks a
# 64 KiB matrix column by column (16 pages, a new page every few
# accesses), run under valgrind's lackey tool with --trace-mem=yes. The
# program's start (the dynamic loader, the C library setting up) is most
# of what lackey prints, so only the last LINES lines are kept: the walk
# and the program's exit. Needs cc and valgrind.
#   sh test_files/traces/make_lackey_trace.sh [LINES]
set -eu
lines=${1:-10000}
here=$(cd "$(dirname "$0")" && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cat > "$scratch/walk.c" <<'PROGRAM'
#include <stdio.h>

static int matrix[128][128]; /* 64 KiB: 8 rows a page */

int main(void) {
    long sum = 0;
    for (int column = 0; column < 8; column++)
        for (int row = 0; row < 128; row++)
            sum += matrix[row][column]++;
    printf("%ld\n", sum);
    return 0;
}
PROGRAM
cc -O0 -o "$scratch/walk" "$scratch/walk.c"
valgrind --tool=lackey --trace-mem=yes --log-file="$scratch/lackey.log" \
    "$scratch/walk" > /dev/null
{
    echo "# valgrind --tool=lackey --trace-mem=yes of a column-major walk of"
    echo "# a 64 KiB matrix (make_lackey_trace.sh): its last $lines lines."
    grep -E '^(I  | [LSM] )' "$scratch/lackey.log" | tail -n "$lines"
} > "$here/lackey.txt"
