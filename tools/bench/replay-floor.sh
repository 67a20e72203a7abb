#!/usr/bin/env bash
# The storage floor of replaying the ledger in DIR (its projections built): raw LMDB from
# C scans its log and writes every one of its projection rows, nothing else (see
# replay_floor.c). Prints one line ending in "= N events/s".
#   tools/bench/replay-floor.sh DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -O2 -Wall -Werror -o "$work/replay_floor" "$here/replay_floor.c" -llmdb
"$work/replay_floor" "$1" "$work/scratch" | sed -E 's/ \(chk [0-9]+\)$//'
