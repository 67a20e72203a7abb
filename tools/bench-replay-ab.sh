#!/usr/bin/env bash
# Replay A/B: times `keyledger replay` of copies of one ledger by two (or more) builds,
# alternating runs so that both see the same minutes of this machine (whose speed drifts
# by ±30% within an hour). Prints, per build, the fastest, the median and every run, each
# timed from process start to exit.
#   tools/bench-replay-ab.sh LEDGER-DIR RUNS BIN [BIN ...]
# e.g. keep a build of main aside, then:
#   tools/bench-replay-ab.sh /tmp/ledger 5 /tmp/keyledger-main .build/release/keyledger
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: $0 LEDGER-DIR RUNS BIN [BIN ...]" >&2
  exit 2
fi
data=$1 runs=$2
shift 2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for _ in $(seq "$runs"); do
  for bin in "$@"; do
    rm -rf "$work/ledger"
    cp -r "$data" "$work/ledger"
    sync
    start=$(date +%s.%N)
    "$bin" replay --data "$work/ledger" >/dev/null 2>&1
    end=$(date +%s.%N)
    echo "$bin $(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f", e - s }')"
  done
done | awk '
  { times[$1] = times[$1] " " $2; order[$1] = order[$1] ? order[$1] : ++n; names[n] = $1 }
  END {
    for (i = 1; i <= n; i++) {
      b = names[i]; k = split(times[b], t, " ")
      for (x = 1; x <= k; x++) for (y = x + 1; y <= k; y++) if (t[y] < t[x]) { s = t[x]; t[x] = t[y]; t[y] = s }
      printf "%s: fastest %.3f s, median %.3f s, runs%s\n", b, t[1], t[int((k + 1) / 2)], times[b]
    }
  }'
