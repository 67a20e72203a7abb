#!/usr/bin/env bash
# Memory of the write path: a release `keyledger serve` on a generated ledger of KEYS keys
# (default 1,000,000; one event each), its resident memory after the decision state loaded,
# the decision state's bytes per key (keyledger_decision_state_bytes / _keys), then a wrk
# flood of POST /v1/verify with well-formed secrets the ledger does not know (minted by a
# scratch ledger): it appends nothing and grows nothing.
#   tools/bench-memory.sh [keys, default 1000000] [flood seconds, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
keys=${1:-1000000}
secs=${2:-10}
tools/deps.sh
dpkg -s wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
swift build -c release --product keyledger >/dev/null
bin=$PWD/.build/release/keyledger
dir=$(mktemp -d)
port=${KEYLEDGER_BENCH_PORT:-18422}
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
start_server() {
  $bin serve --data "$1" --listen 127.0.0.1:$port --quiet 2>"$dir/serve.log" &
  pid=$!
  for _ in $(seq 600); do curl -fs "127.0.0.1:$port/healthz" >/dev/null && return; sleep 0.1; done
  echo "keyledger serve did not start:" >&2; cat "$dir/serve.log" >&2; exit 1
}
stop_server() { kill $pid; wait $pid 2>/dev/null || true; pid=; }
# Unknown secrets: 1,000 keys of a scratch ledger.
token=$($bin init --data "$dir/scratch")
start_server "$dir/scratch"
python3 tools/bench/make_keys.py $port "$token" 1000 > "$dir/unknown.txt"
stop_server
token=$($bin init --data "$dir/data")
$bin generate --data "$dir/data" --keys "$keys" --events "$keys" --days 1 >/dev/null 2>"$dir/generate.log"
start_server "$dir/data"
metric() { curl -fs "127.0.0.1:$port/metrics" -H "Authorization: Bearer $token" | awk -v m="$1" '$1 == m {print $2}'; }
status() { awk -v f="$1:" '$1 == f {print $2 * 1024}' /proc/$pid/status; }
report() {
  local rss anon events dkeys dbytes
  rss=$(status VmRSS); anon=$(status RssAnon)
  events=$(metric keyledger_events_appended_total)
  dkeys=$(metric keyledger_decision_state_keys); dbytes=$(metric keyledger_decision_state_bytes)
  printf '%s: VmRSS %.1f MB (anonymous %.1f MB), events %s, decision state %s keys in %.1f MB = %.0f bytes/key\n' \
    "$1" "$(awk -v b="$rss" 'BEGIN{print b/1048576}')" "$(awk -v b="$anon" 'BEGIN{print b/1048576}')" "$events" \
    "$dkeys" "$(awk -v b="$dbytes" 'BEGIN{print b/1048576}')" "$(awk -v b="$dbytes" -v k="$dkeys" 'BEGIN{print b/k}')"
  echo "$anon" > "$dir/last-anon"
}
report "after start with $keys keys"
before=$(cat "$dir/last-anon")
# Twice: the first flood gives the connections their buffers; the second shows that
# nothing grows with the requests themselves.
for round in 1 2; do
  out=$(KL_SECRETS="$dir/unknown.txt" wrk -t1 -c32 -d${secs}s --latency -s tools/bench/verify.lua "http://127.0.0.1:$port/v1/verify")
  echo "flood $round of unknown secrets: $(echo "$out" | awk '/Requests\/sec/ {print $2}') req/s for $secs s"
  report "after flood $round"
  after=$(cat "$dir/last-anon")
  awk -v a="$before" -v b="$after" -v r="$round" 'BEGIN { printf "anonymous memory grew %.1f MB during flood %s\n", (b - a) / 1048576, r }'
  before=$after
done
echo "(events appended meanwhile are the sweeper's key.expired for generated keys whose expiry passed)"
