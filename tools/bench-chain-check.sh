#!/usr/bin/env bash
# /healthz latency while chain checks run: generates a ledger of 1M events (keyledger
# generate), serves it with one event loop, and keeps GET /v1/ledger/verify?full=true
# (a check of the whole chain from seq 1) running back to back from a background loop
# while wrk measures /healthz on one connection. Prints /healthz p50/p99 with and
# without the checks, and how many checks ran meanwhile.
#   tools/bench-chain-check.sh [events, default 1000000] [seconds, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
events=${1:-1000000}
secs=${2:-10}
dpkg -s wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
swift build -c release --product keyledger >/dev/null
bin=$PWD/.build/release/keyledger
dir=$(mktemp -d)
port=${KEYLEDGER_BENCH_PORT:-18421}
token=$($bin generate --data "$dir/data" --events "$events" --keys 10000 2>"$dir/generate.log")
$bin serve --data "$dir/data" --listen 127.0.0.1:$port --event-loops 1 --quiet 2>"$dir/serve.log" &
pid=$!
loop=
trap 'kill $pid $loop 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
# The server checks the chain before it listens: wait for it.
for _ in $(seq 600); do curl -fs "127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
verify() { curl -fs "127.0.0.1:$port/v1/ledger/verify?full=true" -H "Authorization: Bearer $token"; }
one=$( { /usr/bin/time -f %e curl -fs -o /dev/null "127.0.0.1:$port/v1/ledger/verify?full=true" \
    -H "Authorization: Bearer $token"; } 2>&1)
echo "ledger: $(verify | python3 -c 'import json,sys; d=json.load(sys.stdin)["data"]; print(d["events"], "events, ok:", d["ok"])')"
echo "one full chain check: $one s"
percentiles() { wrk -t1 -c1 -d${secs}s --latency "http://127.0.0.1:$port/healthz" | awk '/ 50%/ {p50=$2} / 99%/ {p99=$2} /Requests\/sec/ {rps=$2} END {print "p50", p50, "p99", p99, "(" rps " req/s)"}'; }
echo "/healthz, idle:                    $(percentiles)"
: >"$dir/checks"
( while true; do verify >/dev/null && echo >>"$dir/checks"; done ) &
loop=$!
sleep 0.2
echo "/healthz, chain checks running:    $(percentiles)"
kill $loop 2>/dev/null; wait $loop 2>/dev/null || true
loop=
echo "full chain checks completed meanwhile: $(wc -l <"$dir/checks")"
