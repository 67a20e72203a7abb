#!/usr/bin/env bash
# A/B of keyledger binaries over HTTP: interleaved rounds (A, B, A, B, ...), each on a fresh
# ledger of 1,000 keys, with tools/bench-http.sh's wrk settings (1 thread, POST /v1/verify,
# after a 1 s warm-up). Each round prints req/s, p50, p99 and the server's CPU per request
# (all its threads, user + system, from /proc; system in brackets) and the share of the
# machine's CPU the hypervisor gave other guests meanwhile (stolen: a round with much of it
# measured the host, not the binary). Interleaving spreads the machine's changing load over
# both binaries; compare them round by round. At the end, each binary's medians over the
# rounds with at most 1% stolen.
#   tools/bench-http-ab.sh SECONDS ROUNDS CONNECTIONS BINARY...
# Say, a copy of the release build before a change against the one after it.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 4 ] || { echo "usage: tools/bench-http-ab.sh SECONDS ROUNDS CONNECTIONS BINARY..." >&2; exit 2; }
secs=$1; rounds=$2; conns=$3; shift 3
dpkg -s wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
port=${KEYLEDGER_BENCH_PORT:-18450}
summary=$(mktemp)
trap 'rm -f "$summary"' EXIT
tick_us=$(awk -v hz="$(getconf CLK_TCK)" 'BEGIN { print 1e6 / hz }')
for _ in $(seq "$rounds"); do
  for bin in "$@"; do
    d=$(mktemp -d)
    token=$("$bin" init --data "$d/data")
    "$bin" serve --data "$d/data" --listen 127.0.0.1:$port --quiet 2>"$d/serve.log" &
    pid=$!
    for _ in $(seq 100); do curl -fs "127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
    python3 tools/bench/make_keys.py $port "$token" 1000 > "$d/secrets.txt"
    load() { KL_SECRETS="$d/secrets.txt" wrk -t1 -c"$conns" -d"$1"s --latency -s tools/bench/verify.lua "http://127.0.0.1:$port/v1/verify"; }
    load 1 >/dev/null
    c0=$(awk '{print $14 + $15, $15}' /proc/$pid/stat)
    st0=$(awk '/^cpu / {print $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat)
    out=$(load "$secs")
    st1=$(awk '/^cpu / {print $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat)
    c1=$(awk '{print $14 + $15, $15}' /proc/$pid/stat)
    n=$(echo "$out" | awk '/requests in/ {print $1}')
    line="$bin $(echo "$out" | awk '/Requests\/sec/ {r = $2} /^ +50%/ {p50 = $2} /^ +99%/ {p99 = $2}
      END {printf "%s req/s, p50 %s, p99 %s", r, p50, p99}') $(echo "$c0 $c1 $n $tick_us" | awk '
      {printf "CPU %.1f us/req (system %.1f)", ($3 - $1) * $6 / $5, ($4 - $2) * $6 / $5}'), $(echo "$st0 $st1" | awk '
      {printf "%.0f%% stolen", ($4 > $2 ? 100 * ($3 - $1) / ($4 - $2) : 0)}')"
    echo "$line"
    echo "$line" >> "$summary"
    kill $pid; wait $pid 2>/dev/null || true
    rm -rf "$d"
  done
done
# Per binary, the medians over the rounds with at most 1% of the CPU stolen (the others
# measured the host): req/s, p99 (ms) and CPU per request.
echo "medians of the rounds with <= 1% stolen:"
for bin in "$@"; do
  awk -v b="$bin" '
    function ms(t) { return t ~ /us$/ ? t / 1000 : (t ~ /ms$/ ? t + 0 : t * 1000) }
    function median(a, n,   i, j, t) {
      for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
      return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
    $1 == b { stolen = $NF == "stolen" ? $(NF - 1) : ""; sub(/%/, "", stolen)
      if (stolen + 0 > 1) { skipped++; next }
      n++; r[n] = $2; p[n] = ms($7); c[n] = $9 }
    END { if (n == 0) { printf "%s: no quiet round (%d skipped)\n", b, skipped; exit }
      printf "%s: %.0f req/s, p99 %.2f ms, CPU %.1f us/req (%d rounds, %d skipped)\n", b, median(r, n), median(p, n), median(c, n), n, skipped }' "$summary"
done
