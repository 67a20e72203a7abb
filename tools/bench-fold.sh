#!/usr/bin/env bash
# The projector's CPU per folded event, as instructions (callgrind): a generated ledger
# (1,000 keys over 100 owners, mostly verifications) has its projections deleted, and the
# next writable open (`keyledger replay`, which then rebuilds them) first catches them up
# through the live fold, Projector.foldRound, in its rounds of up to 20,000 events. Only
# the instructions inside foldRound are counted: the log's read and decode, every
# projection's fold and the transaction's commit. Instruction counts hold steady when
# other work shares the machine (tools/bench-cpu.sh gives the CPU time per event of the
# live thread under load, which rounds of a few hundred events make somewhat higher).
#   tools/bench-fold.sh [events, default 60000]
# KEEP=<path> keeps the callgrind output there (for callgrind_annotate --inclusive=yes).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
events=${1:-60000}
tools/deps.sh
dpkg -s valgrind >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq valgrind >/dev/null; }
swift build -c release --product keyledger >/dev/null
bin=$PWD/.build/release/keyledger
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
$bin generate --data "$dir/data" --keys 1000 --owners 100 --events "$events" --days 1 >/dev/null 2>&1
rm -rf "$dir/data/projections"
valgrind --tool=callgrind --callgrind-out-file="$dir/cg.out" --collect-atstart=no \
  '--toggle-collect=$s6Ledger9ProjectorC9foldRound4upToys6UInt64V_tKF' "$bin" replay --data "$dir/data" \
  >/dev/null 2>"$dir/valgrind.log"
[ -n "${KEEP:-}" ] && cp "$dir/cg.out" "$KEEP"
ir=$(callgrind_annotate "$dir/cg.out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
awk -v ir="$ir" -v n="$events" 'BEGIN { printf "projector fold: %.0f instructions for %d events = %.0f per event\n", ir, n, ir / n }'
# Valgrind's CPU has no SHA extensions: libcrypto hashes in software here, where on a CPU
# with them (sha_ni in /proc/cpuinfo) it takes a fraction of these instructions.
crypto=$(callgrind_annotate "$dir/cg.out" 2>/dev/null | awk '/libcrypto/ {gsub(",", "", $1); s += $1} END {print s + 0}')
awk -v c="$crypto" -v n="$events" 'BEGIN { printf "  of which libcrypto (SHA-256 in software): %.0f per event\n", c / n }'
