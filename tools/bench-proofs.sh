#!/usr/bin/env bash
# Provable-audit benchmark on a generated ledger: 10,000 keys, 100 owners, 10,000,000 events
# over 90 days (override with EVENTS=...). Reuses $KEYLEDGER_BENCH_DATA when it already holds a
# generated ledger. Prints the tree's stored bytes per event, inclusion and consistency proof
# and signed checkpoint latencies (median, p95), and an export with proofs in events/s, beside
# raw LMDB measured in the same run.
#   tools/bench-proofs.sh
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
limits=$(../shared/limits/lmdb-limit)
echo "raw LMDB (same run):"
echo "$limits" | grep -E "scan|bulk"
out=$($bin bench-proofs --data "$dir" --runs "${RUNS:-1000}")
echo "$out"
# The export against raw LMDB's cursor scan: an export reads each event's record and its proof.
scan=$(echo "$limits" | grep '^scan:' | sed -E 's/.*= ([0-9]+) recs\/s.*/\1/')
export_rate=$(echo "$out" | grep export_with_proofs | sed -E 's/.* ([0-9]+) events\/s.*/\1/')
if [ -n "$scan" ] && [ -n "$export_rate" ]; then
  awk -v a="$export_rate" -v b="$scan" 'BEGIN { printf "  export with proofs: %.2f%% of raw LMDB scan\n", 100 * a / b }'
fi
du -sh "$dir"
