#!/usr/bin/env bash
# HTTP-layer benchmark: nginx's limit (../shared/limits/http-limit) and then KeyLedger's
# POST /v1/verify with the same wrk settings (1 thread, 32 keep-alive connections), 1,000
# keys, each request durably recording key.accessed. Prints req/s, p50/p99 and the ratios
# to nginx and to three floors of the same log records in the same batch sizes from C: raw
# LMDB durable commits (tools/bench/floor.sh log), one pwrite and fdatasync per batch of a
# zero-filled file (floor.sh file) and one O_DIRECT | O_DSYNC write of whole blocks per
# batch, as the journal writes (floor.sh direct, the physical limit of durable logging), the
# projections' largest lag during the run, the slowest batch, journal write and log commit
# during it (from /metrics: where a stall was) and how busy the machine's cores were, then the
# same at 1 connection.
#   tools/bench-http.sh [seconds, default 8] [--owner-limits]
# --owner-limits gives each of the keys' 100 owners a shared rate limit (and a plan with one),
# so every verification also checks and counts two owner windows.
# KEYLEDGER_BENCH_DATA=DIR KEYLEDGER_BENCH_TOKEN=ROOT runs it on an existing ledger (one
# made by `keyledger generate`, for a run with history) instead of a new one.
# The server reads its settings from the environment too: KEYLEDGER_JOURNAL_MS=0 runs it
# without the journal (every batch its own LMDB commit), KEYLEDGER_PRIORITY=-5 with the
# request path's threads raised (root).
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
# The same nginx loaded by our own wrk script (a POST with a JSON body per request, built in
# Lua): the load generator's own ceiling with the requests KeyLedger gets.
scripted_nginx() {
  local d port=${HTTP_LIMIT_PORT:-18181}
  d=$(mktemp -d)
  cat > "$d/nginx.conf" <<CONF
worker_processes 1; daemon on; pid $d/nginx.pid; error_log $d/error.log;
events { worker_connections 1024; }
http { access_log off; server { listen 127.0.0.1:$port;
  location / { default_type application/json; return 200 '{"valid":true,"keyId":"key_123"}'; } } }
CONF
  nginx -c "$d/nginx.conf"
  sleep 0.3
  printf 'sk_test_%043d\n' 1 2 3 > "$d/secrets.txt"
  KL_SECRETS="$d/secrets.txt" wrk -t1 -c32 -d${secs}s -s tools/bench/verify.lua "http://127.0.0.1:$port/v1/verify" | grep -E "Requests/sec|Latency"
  kill "$(cat "$d/nginx.pid")"
  rm -rf "$d"
}
echo "nginx, loaded by tools/bench/verify.lua (POST /v1/verify with its JSON body):"
scripted_nginx
dir=$(mktemp -d)
port=${KEYLEDGER_BENCH_PORT:-18420}
data=${KEYLEDGER_BENCH_DATA:-$dir/data}
if [ -n "${KEYLEDGER_BENCH_DATA:-}" ]; then token=$KEYLEDGER_BENCH_TOKEN; else token=$($bin init --data "$data"); fi
$bin serve --data "$data" --listen 127.0.0.1:$port --quiet 2>"$dir/serve.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 600); do curl -fs "127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
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
events() { curl -fs "127.0.0.1:$port/v1/ledger/verify" -H "Authorization: Bearer $token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["events"])'; }
# The projections' lag, sampled every half second while wrk runs: the largest seen.
watch_lag() {
  local most_events=0 most_seconds=0
  while [ -e "$dir/running" ]; do
    m=$(curl -fs "127.0.0.1:$port/metrics" -H "Authorization: Bearer $token" || true)
    e=$(echo "$m" | awk '/^keyledger_projection_lag_events/ {if ($2 > x) x = $2} END {print x + 0}')
    s=$(echo "$m" | awk '/^keyledger_projection_lag_seconds/ {print $2 + 0}')
    most_events=$(awk -v a="$most_events" -v b="$e" 'BEGIN { print (b > a ? b : a) }')
    most_seconds=$(awk -v a="$most_seconds" -v b="$s" 'BEGIN { print (b > a ? b : a) }')
    sleep 0.5
  done
  echo "projection lag during the run: at most $most_events events, $most_seconds s"
}
batches() { curl -fs "127.0.0.1:$port/metrics" -H "Authorization: Bearer $token" | awk '
  /^keyledger_writer_batch_size_sum/ {s = $2} /^keyledger_writer_batch_size_count/ {c = $2} END { print s, c }'; }
# The bound of the slowest histogram bucket a family's observations reached between two
# /metrics dumps: where a stall was (the batch, its journal write, or the log's commit).
slowest() {  # slowest FAMILY BEFORE AFTER
  awk -v f="$1_bucket" 'FNR == 1 { file++ } index($1, f "{") == 1 {
      match($1, /le="[^"]*"/); le = substr($1, RSTART + 4, RLENGTH - 5)
      if (file == 1) b[le] = $2; else { d[le] = $2 - b[le]; order[++n] = le } }
    END { total = d["+Inf"]; for (i = 1; i <= n; i++) if (d[order[i]] == total) { print (total > 0 ? "<= " order[i] " s" : "none"); exit } }' "$2" "$3"; }
# The machine's CPU ticks (all cores), from /proc/stat: busy, idle (with iowait), and stolen
# by the hypervisor for other guests (a run with much stolen time measured the host).
cpu_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $5 + $6, $9 }' /proc/stat; }
run() {
  local conns=$1
  local b0 b1 c0 c1
  b0=$(batches)
  curl -fs "127.0.0.1:$port/metrics" -H "Authorization: Bearer $token" > "$dir/metrics-before.txt" || true
  touch "$dir/running"
  watch_lag > "$dir/lag.txt" &
  local watcher=$!
  local before after out
  before=$(events)
  c0=$(cpu_ticks)
  out=$(KL_SECRETS="$dir/secrets.txt" wrk -t1 -c$conns -d${secs}s --latency -s tools/bench/verify.lua "http://127.0.0.1:$port/v1/verify")
  c1=$(cpu_ticks)
  after=$(events)
  rm -f "$dir/running"; wait $watcher
  b1=$(batches)
  curl -fs "127.0.0.1:$port/metrics" -H "Authorization: Bearer $token" > "$dir/metrics-after.txt" || true
  batch=$(echo "$b0 $b1" | awk '{ d = $4 - $2; printf "%d", (d > 0 ? ($3 - $1) / d + 0.5 : 1) }')
  echo "keyledger POST /v1/verify, $conns connection(s):"
  echo "$out" | grep -E "Requests/sec|Latency|50%|99%|Non-2xx|Socket errors" || true
  ours=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  echo "key.accessed events recorded during the run: $((after - before))"
  cat "$dir/lag.txt"
  echo "mean batch during the run: $batch"
  # Idle cores while wrk waits on answers: the load is latency-bound, not CPU-bound.
  echo "$c0 $c1" | awk '{ b = $4 - $1; i = $5 - $2; st = $6 - $3; t = b + i + st; if (t > 0) printf "machine CPU during the run (%d cores, wrk included): %.0f%% busy, %.0f%% idle, %.0f%% stolen by the host\n", '"$(nproc)"', 100 * b / t, 100 * i / t, 100 * st / t }'
  echo "slowest during the run: batch $(slowest keyledger_writer_commit_seconds "$dir/metrics-before.txt" "$dir/metrics-after.txt")," \
    "journal write $(slowest keyledger_journal_write_seconds "$dir/metrics-before.txt" "$dir/metrics-after.txt")," \
    "log commit $(slowest keyledger_log_commit_seconds "$dir/metrics-before.txt" "$dir/metrics-after.txt")"
}
run 32
theirs=$(echo "$nginx" | awk '/Requests\/sec/ {print $2}')
awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "ratio to nginx: %.1f%% (%s vs %s req/s)\n", 100 * a / b, a, b }'
# What the storage allows: the same log records from C, in batches of the size ours had.
floors() {
  local label=$1 kind
  for kind in log file direct; do
    floor=$(tools/bench/floor.sh $kind "$data" "$batch" "$secs")
    echo "$floor"
    floor_rate=$(echo "$floor" | sed -E 's/.*= ([0-9]+)[^0-9].*/\1/')
    awk -v a="$ours" -v b="$floor_rate" -v k="$kind" -v l="$label" \
      'BEGIN { printf "ratio to the %s floor%s: %.1f%% (%s vs %s records/s)\n", k, l, 100 * a / b, a, b }'
  done
}
floors ""
# The same LMDB floor while two threads spin on the two cores (what the server's threads,
# wrk and the projector do to each other at 32 connections): the scheduler's share of p99.
spin() { timeout "$1" sh -c 'while :; do :; done'; }
spin $((secs + 2)) &
spinner1=$!
spin $((secs + 2)) &
spinner2=$!
sleep 0.2
echo "beside two busy threads: $(tools/bench/floor.sh log "$data" "$batch" "$secs")"
wait $spinner1 $spinner2 2>/dev/null || true
run 1
floors " at 1 connection"
