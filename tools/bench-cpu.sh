#!/usr/bin/env bash
# Where a verification's CPU goes: the same load as tools/bench-http.sh (wrk, 1 thread,
# 32 keep-alive connections, POST /v1/verify over 1,000 keys, each durably recorded), with
# `perf stat --per-thread -e task-clock` on the server for the middle of the run. Prints the
# CPU time per request of each of the server's threads (http-loop: parsing, routing,
# rendering, sending; kl-writer: deciding, encoding, committing with its data sync;
# kl-answerer: the sync that makes a commit durable, the answers' hand-off; kl-projector:
# folding the projections; kl-deliverer: the webhook deliveries' fold), their total, and
# wrk's own. CPU time, unlike wall time, holds steady when other work shares the machine.
#   tools/bench-cpu.sh [seconds, default 8] [connections, default 32]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
secs=${1:-8}
conns=${2:-32}
tools/deps.sh
for p in wrk linux-perf; do dpkg -s $p >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq $p >/dev/null; }; done
swift build -c release --product keyledger >/dev/null
bin=$PWD/.build/release/keyledger
dir=$(mktemp -d)
port=${KEYLEDGER_BENCH_PORT:-18440}
token=$($bin init --data "$dir/data")
$bin serve --data "$dir/data" --listen 127.0.0.1:$port --quiet 2>"$dir/serve.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 600); do curl -fs "127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
python3 tools/bench/make_keys.py $port "$token" 1000 > "$dir/secrets.txt"
verified() { curl -fs "127.0.0.1:$port/metrics" -H "Authorization: Bearer $token" | awk '/^keyledger_writer_batch_size_sum/ {print $2}'; }
KL_SECRETS="$dir/secrets.txt" wrk -t1 -c$conns -d${secs}s -s tools/bench/verify.lua "http://127.0.0.1:$port/v1/verify" > "$dir/wrk.txt" &
load=$!
sleep 1
window=$(awk -v s="$secs" 'BEGIN { w = s - 2; print (w < 1 ? 1 : w) }')
wrk_pid=$(pgrep -n -x wrk)
wrk_before=$(awk '{print $14 + $15}' /proc/$wrk_pid/stat)
before=$(verified)
perf stat --per-thread -e task-clock -p $pid -o "$dir/stat.txt" -- sleep "$window" 2>/dev/null
after=$(verified)
wrk_after=$(awk '{print $14 + $15}' /proc/$wrk_pid/stat)
wait $load
n=$(awk -v a="$before" -v b="$after" 'BEGIN { print b - a }')
echo "verifications in the measured ${window} s: $n ($(awk '/Requests\/sec/ {print $2}' "$dir/wrk.txt") req/s over the whole run, $conns connections)"
awk -v n="$n" '/task-clock/ {
    name = $1; sub(/-[0-9]+$/, "", name); gsub(/,/, "", $2); t[name] += $2; total += $2 }
  END {
    for (k in t) if (t[k] * 1000 / n >= 0.05) printf "  %-16s %6.1f us CPU per verification\n", k, t[k] * 1000 / n
    printf "  %-16s %6.1f us CPU per verification\n", "(server total)", total * 1000 / n }' "$dir/stat.txt" | sort -k2 -n -r
ticks=$(getconf CLK_TCK)
awk -v a="$wrk_before" -v b="$wrk_after" -v n="$n" -v hz="$ticks" \
  'BEGIN { printf "  %-16s %6.1f us CPU per verification (the load generator)\n", "wrk", (b - a) * 1e6 / hz / n }'
