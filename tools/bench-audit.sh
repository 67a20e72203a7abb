#!/usr/bin/env bash
# Audit/usage benchmark on a generated ledger: 10,000 keys, 100 owners, 10,000,000 events
# over 90 days (override with EVENTS=...). Reuses $KEYLEDGER_BENCH_DATA when it already
# holds a generated ledger. Prints generation, replay, query and export figures.
#   tools/bench-audit.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
tools/deps.sh
swift build -c release --product keyledger >/dev/null
bin=$PWD/.build/release/keyledger
events=${EVENTS:-10000000}
dir=${KEYLEDGER_BENCH_DATA:-$(mktemp -d)/ledger}
if [ ! -e "$dir/data.mdb" ]; then
  $bin generate --data "$dir" --keys 10000 --owners 100 --events "$events" --days 90 >/dev/null
fi
echo "raw LMDB (same run):"
../shared/limits/lmdb-limit | grep -E "scan|bulk"
$bin bench-queries --data "$dir" --runs 50
replay=$($bin replay --data "$dir" --log-format text 2>&1 | tail -1)
echo "$replay"
floor=$(tools/bench/floor.sh replay "$dir")
echo "$floor"
awk -v a="$(echo "$replay" | sed -E 's/.*eventsPerSecond=([0-9]+).*/\1/')" -v b="$(echo "$floor" | sed -E 's/.*= ([0-9]+)[^0-9].*/\1/')" \
  'BEGIN { printf "  replay: %.1f%% of the floor\n", 100 * a / b }'
start=$(date +%s.%N)
n=$($bin export --data "$dir" | wc -l)
end=$(date +%s.%N)
awk -v n="$n" -v s="$start" -v e="$end" 'BEGIN { printf "export: %d events as NDJSON in %.1f s = %.0f events/s\n", n, e - s, n / (e - s) }'
du -sh "$dir"
