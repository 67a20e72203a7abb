#!/usr/bin/env bash
# Storage-layer benchmark: KeyLedger's writer and replay against raw LMDB measured in
# the same run (../shared/limits/lmdb-limit). Prints each figure and its ratio.
#   tools/bench-ledger.sh [seconds-per-run, default 5]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
secs=${1:-5}
tools/deps.sh
limits=$(../shared/limits/lmdb-limit)
echo "$limits"
raw_batched=$(echo "$limits" | awk '/durable_batches_of/ {for(i=1;i<=NF;i++) if($i=="recs/s") print $(i-1)}')
raw_scan=$(echo "$limits" | awk '/^scan:/ {for(i=1;i<=NF;i++) if($i=="recs/s") print $(i-1)}')
swift build -c release --product keyledger >/dev/null
bin=.build/release/keyledger
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f%%", 100 * a / b }'; }
# The figure after "= " in a floor probe's line.
rate_of() { sed -E 's/.*= ([0-9]+)[^0-9].*/\1/'; }
# 1, 8 and 64 verifications in flight (one submitting thread keeping that many outstanding,
# as the server's event loop does for its connections), each against the
# log floor (the same log records committed from C as LMDB transactions in batches of the
# size ours had), the file floor (the same records appended to a zero-filled file, one
# pwrite and one fdatasync per batch) and the direct floor (written as the journal writes
# them: O_DIRECT | O_DSYNC, whole blocks, one write per batch). First without the journal (every batch
# its own LMDB commit, --journal-ms 0), then with it (the default).
for inflight in 1 8 64; do
  line=$($bin bench --data "$dir/nojournal-$inflight" --keys 1000 --submitters 1 --in-flight $inflight \
    --seconds "$secs" --journal-ms 0)
  echo "without the journal: $line"
  plain=$(echo "$line" | awk '{for(i=1;i<=NF;i++) if($i=="commands/s") print $(i-1)}')
  line=$($bin bench --data "$dir/bench-$inflight" --keys 1000 --submitters 1 --in-flight $inflight --seconds "$secs")
  rate=$(echo "$line" | awk '{for(i=1;i<=NF;i++) if($i=="commands/s") print $(i-1)}')
  echo "with the journal:    $line"
  echo "  journal / no journal ($inflight in flight): $(ratio "$rate" "$plain")"
  batch=$(echo "$line" | sed -E 's/.*mean batch ([0-9]+).*/\1/')
  floor=$(tools/bench/floor.sh log "$dir/bench-$inflight" "$batch" "$secs")
  echo "  $floor"
  echo "  ratio to the log floor ($inflight in flight): $(ratio "$rate" "$(echo "$floor" | rate_of)")"
  for kind in file direct; do
    floor=$(tools/bench/floor.sh $kind "$dir/bench-$inflight" "$batch" "$secs")
    echo "  $floor"
    echo "  ratio to the $kind floor ($inflight in flight): $(ratio "$rate" "$(echo "$floor" | rate_of)")"
  done
  echo "  ratio to raw durable batched appends ($raw_batched recs/s): $(ratio "$rate" "$raw_batched")"
done
# 64 in flight from 64 threads, one each: what the wake-ups of that many threads cost
# (each answer wakes its own submitter) beside the one submitting thread above.
echo "64 submitting threads: $($bin bench --data "$dir/threads-64" --keys 1000 --submitters 64 --in-flight 1 --seconds "$secs")"
# The same verifications in a ledger with history (the 64-in-flight run's), where more of
# the rows a batch touches lie on pages of their own.
history=$($bin verify-chain --data "$dir/bench-64" | awk '{print $3}')
echo "after $history events of history: $($bin bench --data "$dir/bench-64" --keys 1000 --submitters 1 --in-flight 64 --seconds "$secs")"
# Replay the largest of those logs (mostly key.accessed, like production), from a fresh copy
# each time: five runs, each timed from process start to exit, the ratio taken at the
# median (one run on this machine can be 25% off its neighbours).
events=$($bin verify-chain --data "$dir/bench-64" | awk '{print $3}')
# The raw scan again, next to the replays (this machine's speed drifts within minutes).
raw_scan=$(../shared/limits/lmdb-limit | awk '/^scan:/ {for(i=1;i<=NF;i++) if($i=="recs/s") print $(i-1)}')
times=()
for _ in 1 2 3 4 5; do
  rm -rf "$dir/replay"
  cp -r "$dir/bench-64" "$dir/replay"
  sync
  start=$(date +%s.%N)
  $bin replay --data "$dir/replay" 2>/dev/null
  end=$(date +%s.%N)
  times+=("$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f", e - s }')")
done
median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p)
rate=$(awk -v n="$events" -v s="$median" 'BEGIN { printf "%.0f", n / s }')
echo "replay: $events events in $median s (median of 5 runs: ${times[*]} s) = $rate events/s (whole process, open to close)"
echo "  ratio to raw cursor scan ($raw_scan recs/s): $(ratio "$rate" "$raw_scan")"
floor=$(tools/bench/floor.sh replay "$dir/bench-64")
echo "$floor"
echo "  ratio to the replay floor: $(ratio "$rate" "$(echo "$floor" | rate_of)")"
