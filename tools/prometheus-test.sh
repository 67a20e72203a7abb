#!/usr/bin/env bash
# Monitoring against a real Prometheus: serves a fresh ledger, makes some traffic, then
#   1. lints the /metrics exposition with `promtool check metrics`;
#   2. validates docs/prometheus-alerts.yml with `promtool check rules`;
#   3. runs a real Prometheus on loopback that scrapes KeyLedger with a `ledger:metrics` key and loads
#      the alerting rules, and checks through its HTTP API that the target is up, that samples
#      arrived (events appended, verify decisions by code, latency histograms), and that every
#      rule loaded healthy.
# Exits non-zero on any failure. Needs the `prometheus` Debian package (installed when missing)
# and a built keyledger (KEYLEDGER_BIN, default .build/debug/keyledger).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
log() { printf 'prometheus-test.sh: %s\n' "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
    sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq prometheus >/dev/null
fi
# The Debian package starts a system Prometheus on :9090; this test runs its own.
bin=${KEYLEDGER_BIN:-$root/.build/debug/keyledger}
[ -x "$bin" ] || die "no keyledger executable at $bin (swift build first)"

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

token=$("$bin" init --data "$work/data")
port=$(free_port)
"$bin" serve --data "$work/data" --listen "127.0.0.1:$port" --quiet </dev/null 2>"$work/server.log" &
pids+=($!)
base="http://127.0.0.1:$port"
for _ in $(seq 100); do curl -fs -o /dev/null "$base/healthz" && break; sleep 0.1; done
curl -fs -o /dev/null "$base/healthz" || die "server did not start: $(cat "$work/server.log")"

created=$(curl -fsS "$base/v1/keys" -H "Authorization: Bearer $token" \
    --json '{"owner":"org_1","name":"scraped","scopes":["a:read"]}')
secret=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["secret"])' <<<"$created")
for _ in 1 2 3; do curl -fsS -o /dev/null "$base/v1/verify" --json "{\"key\":\"$secret\",\"scope\":\"a:read\"}"; done
curl -fsS -o /dev/null "$base/v1/verify" --json "{\"key\":\"$secret\",\"scope\":\"b:write\"}"

# A scraper's own credential: a key that may read /metrics and nothing else.
scraper=$(curl -fsS "$base/v1/keys" -H "Authorization: Bearer $token" \
    --json '{"owner":"ops","name":"prometheus","scopes":["ledger:metrics"]}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["secret"])')
status=$(curl -s -o /dev/null -w '%{http_code}' "$base/v1/keys" -H "Authorization: Bearer $scraper")
[ "$status" = "403" ] || die "a ledger:metrics key listed keys (status $status)"

# 1. the exposition itself
curl -fsS "$base/metrics" -H "Authorization: Bearer $scraper" >"$work/metrics.txt"
promtool check metrics <"$work/metrics.txt" || die "promtool check metrics found problems"
grep -q '^keyledger_verify_decisions_total{code="VALID"} 3$' "$work/metrics.txt" || die "VALID decisions not counted"
grep -q '^keyledger_build_info{version=' "$work/metrics.txt" || die "no build info"
grep -q '^process_resident_memory_bytes [1-9]' "$work/metrics.txt" || die "no resident memory"

# 2. the rules file
promtool check rules docs/prometheus-alerts.yml >/dev/null || die "alert rules do not validate"

# 3. a real Prometheus scraping it
printf '%s' "$scraper" >"$work/token"
chmod 600 "$work/token"
cat >"$work/prometheus.yml" <<CONF
global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: ["$root/docs/prometheus-alerts.yml"]
scrape_configs:
  - job_name: keyledger
    authorization: {type: Bearer, credentials_file: $work/token}
    static_configs: [{targets: ["127.0.0.1:$port"]}]
CONF
pport=$(free_port)
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
    --web.listen-address="127.0.0.1:$pport" >"$work/prometheus.log" 2>&1 &
pids+=($!)
papi="http://127.0.0.1:$pport/api/v1"
query() { curl -fsS --get "$papi/query" --data-urlencode "query=$1"; }
value() { python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")'; }
up=""
for _ in $(seq 150); do
    up=$(query 'up{job="keyledger"}' 2>/dev/null | value 2>/dev/null || true)
    [ "$up" = "1" ] && break
    sleep 0.2
done
[ "$up" = "1" ] || die "Prometheus never scraped KeyLedger up (last: '$up'); its log: $(tail -5 "$work/prometheus.log")"
valid=$(query 'keyledger_verify_decisions_total{code="VALID"}' | value)
[ "$valid" = "3" ] || die "Prometheus has VALID decisions = '$valid', expected 3"
count=$(query 'sum(keyledger_http_request_duration_seconds_count{route="/v1/verify"})' | value)
[ "${count%%.*}" -ge 4 ] || die "verify latency histogram count '$count', expected >= 4"
health=$(curl -fsS "$papi/rules" | python3 -c '
import json, sys
groups = json.load(sys.stdin)["data"]["groups"]
rules = [r for g in groups for r in g["rules"]]
bad = [r["name"] for r in rules if r.get("health") not in ("ok", "unknown")]
print(str(len(rules)) + "," + " ".join(bad))')
expected=$(grep -c '^ *- alert:' docs/prometheus-alerts.yml)
[ "${health%%,*}" -eq "$expected" ] || die "Prometheus loaded ${health%%,*} rules, expected $expected"
[ -z "${health#*,}" ] || die "rules not healthy: ${health#*,}"
log "ok: exposition lints clean, $expected rules load, Prometheus scraped up=1 and VALID=3"
echo "prometheus: 1 passed, 0 failed"
