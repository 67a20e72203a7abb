#!/usr/bin/env bash
# HTTP-layer benchmark: nginx's limit (../shared/limits/http-limit) and then KeyLedger's
# POST /v1/verify with the same wrk settings (1 thread, 32 keep-alive connections), 1,000
# keys, each request durably recording key.accessed. Prints req/s, p50/p99 and the ratios
# to nginx and to the verify floor (the same writes from C: tools/bench/floor.sh).
#   tools/bench-http.sh [seconds, default 8] [--owner-limits]
# --owner-limits gives each of the keys' 100 owners a shared rate limit (and a plan with one),
# so every verification also checks and counts two owner windows.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
secs=${1:-8}
owner_limits=${2:-}
tools/deps.sh
dpkg -s wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
swift build -c release --product keyledger >/dev/null
bin=$PWD/.build/release/keyledger
nginx=$(../shared/limits/http-limit "$secs")
echo "nginx (limit):"
echo "$nginx"
# What the storage allows for these writes: the same batches of 32 verifications from C.
floor=$(tools/bench/floor.sh verify 32 "$secs")
echo "$floor"
dir=$(mktemp -d)
port=${KEYLEDGER_BENCH_PORT:-18420}
token=$($bin init --data "$dir/data")
$bin serve --data "$dir/data" --listen 127.0.0.1:$port --quiet 2>"$dir/serve.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 50); do curl -fs "127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
if [ "$owner_limits" = --owner-limits ]; then
    curl -fs -X PUT "127.0.0.1:$port/v1/plans/bench" -H "Authorization: Bearer $token" -H "Content-Type: application/json" \
        -d '{"rateLimits":[{"name":"hour","limit":1000000000,"windowSeconds":3600}]}' >/dev/null
    for i in $(seq 0 99); do
        curl -fs -X PUT "127.0.0.1:$port/v1/owners/org_$i" -H "Authorization: Bearer $token" -H "Content-Type: application/json" \
            -d '{"plan":"bench","rateLimits":[{"name":"minute","limit":1000000000,"windowSeconds":60}]}' >/dev/null
    done
    echo "owner limits: 100 owners, each with a shared limit and a plan's"
fi
python3 tools/bench/make_keys.py $port "$token" 1000 > "$dir/secrets.txt"
before=$(curl -fs "127.0.0.1:$port/v1/ledger/verify" -H "Authorization: Bearer $token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["events"])')
out=$(KL_SECRETS="$dir/secrets.txt" wrk -t1 -c32 -d${secs}s --latency -s tools/bench/verify.lua "http://127.0.0.1:$port/v1/verify")
after=$(curl -fs "127.0.0.1:$port/v1/ledger/verify" -H "Authorization: Bearer $token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["events"])')
echo "keyledger POST /v1/verify:"
echo "$out" | grep -E "Requests/sec|Latency|50%|99%|Non-2xx|Socket errors" || true
ours=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
theirs=$(echo "$nginx" | awk '/Requests\/sec/ {print $2}')
echo "key.accessed events recorded during the run: $((after - before))"
awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "ratio to nginx: %.1f%% (%s vs %s req/s)\n", 100 * a / b, a, b }'
floor_rate=$(echo "$floor" | sed -E 's/.*= ([0-9]+)[^0-9].*/\1/')
awk -v a="$ours" -v b="$floor_rate" 'BEGIN { printf "ratio to the verify floor: %.1f%% (%s vs %s verifications/s)\n", 100 * a / b, a, b }'
