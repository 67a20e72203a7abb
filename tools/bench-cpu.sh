#!/usr/bin/env bash
# CPU per request by server thread, under the load of tools/bench-http.sh (wrk, 1 thread,
# 32 keep-alive connections, POST /v1/verify over 1,000 keys, release build).
#
# perf: `perf stat --per-thread` on the server while wrk runs gives each thread's CPU
# time, system calls and context switches per request (requests as wrk counts them).
# Time moves with the machine's load; the syscall and switch counts do not. wrk's own CPU
# per request is counted too. Then nginx
# (../shared/limits/http-limit, the same wrk settings) is counted the same way, and the
# ratio of CPU per request printed.
#
# callgrind (--callgrind): the server runs under valgrind; its counters are zeroed
# after a warm-up and dumped after wrk, so each thread's user-space instructions per
# request are exact for the measured interval and comparable before and after a change.
# (Under valgrind the threads share one core and the writer's batches differ, so the
# writer's figure is less comparable than the event loop's.)
#   tools/bench-cpu.sh [--callgrind] [seconds, default 5] [connections, default 32] [serve options...]
# KEYLEDGER_BIN=path measures that binary (say, a copy of an earlier build) instead.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
mode=perf
if [ "${1:-}" = --callgrind ]; then mode=callgrind; shift; fi
secs=${1:-5}
conns=${2:-32}
shift $(($# < 2 ? $# : 2))
command -v perf >/dev/null || { echo "needs perf (linux-perf)" >&2; exit 1; }
dpkg -s wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
if [ -n "${KEYLEDGER_BIN:-}" ]; then bin=$KEYLEDGER_BIN; else
    swift build -c release --product keyledger >/dev/null
    bin=$PWD/.build/release/keyledger
fi
dir=$(mktemp -d)
port=${KEYLEDGER_BENCH_PORT:-18421}
token=$($bin init --data "$dir/data")
if [ $mode = callgrind ]; then
    valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$dir/cg.out" \
        $bin serve --data "$dir/data" --listen 127.0.0.1:$port --quiet "$@" 2>"$dir/serve.log" &
else
    $bin serve --data "$dir/data" --listen 127.0.0.1:$port --quiet "$@" 2>"$dir/serve.log" &
fi
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; [ -z "${KEEP:-}" ] || cp -r "$dir" /tmp/benchcpu; rm -rf "$dir"' EXIT
for _ in $(seq 1200); do curl -fs "127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
python3 tools/bench/make_keys.py $port "$token" 1000 > "$dir/secrets.txt"
load() { KL_SECRETS="$dir/secrets.txt" wrk -t1 -c$conns -d${1}s -s tools/bench/verify.lua "http://127.0.0.1:$port/v1/verify"; }
# A warm-up, so the decision state and the buffers have seen every key.
load 1 >/dev/null
sleep 1
if [ $mode = callgrind ]; then
    callgrind_control -z $pid >/dev/null 2>&1
    out=$(load "$secs")
    callgrind_control -d $pid >/dev/null 2>&1
    sleep 1
else
    perf stat --per-thread -x, -e task-clock,context-switches,raw_syscalls:sys_enter -p $pid -o "$dir/perf.csv" &
    perfpid=$!
    sleep 0.2
    # wrk's own CPU too: the load generator shares the machine.
    out=$(KL_SECRETS="$dir/secrets.txt" perf stat -x, -e task-clock -o "$dir/wrk.csv" \
        wrk -t1 -c$conns -d${secs}s -s tools/bench/verify.lua "http://127.0.0.1:$port/v1/verify")
    kill -INT $perfpid
    wait $perfpid || true
fi
requests=$(echo "$out" | awk '/requests in/ {print $1}')
echo "$out" | grep -E "requests in|Requests/sec|Non-2xx|Socket errors" || true
if [ $mode = callgrind ]; then
    echo "user-space instructions per request ($requests requests, $conns connections), by thread:"
    for f in "$dir"/cg.out.*-*; do
        [ -e "$f" ] || continue
        ir=$(awk '/^summary:/ {print $2}' "$f")
        name=$(ps -o comm= -T -p $pid 2>/dev/null | sed -n "$(basename "$f" | sed -E 's/.*-0*([0-9]+)$/\1/')p")
        awk -v ir="${ir:-0}" -v n="$requests" -v f="$(basename "$f")" -v name="$name" \
            'BEGIN { if (ir / n > 100) printf "%-28s %-16s %12.0f\n", f, name, ir / n }'
    done
    exit 0
fi
# The limit, the same way: nginx (../shared/limits/http-limit, same wrk settings) counted
# with perf while it answers, all its processes together.
nport=${HTTP_LIMIT_PORT:-18182}
HTTP_LIMIT_PORT=$nport ../shared/limits/http-limit "$secs" > "$dir/nginx.txt" &
limitpid=$!
npids=""
for _ in $(seq 100); do
    npids=$(ss -ltnpH "sport = :$nport" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u | paste -sd, || true)
    [ -n "$npids" ] && break
    sleep 0.05
done
perf stat -x, -e task-clock,raw_syscalls:sys_enter -p "$npids" -o "$dir/nginx.csv" &
nperf=$!
wait $limitpid
kill -INT $nperf
wait $nperf || true
nrate=$(awk '/Requests\/sec/ {print $2}' "$dir/nginx.txt")
echo "nginx (limit): $nrate req/s"
echo "per request ($requests requests, $conns connections), by thread (dispatch threads by tid):"
# perf's CSV: name-tid,count,unit,event,...
awk -F, -v n="$requests" '
  /^#/ || NF < 4 { next }
  { thread = $1; count = $2 * ($3 == "msec" ? 1e6 : 1)
    if ($4 ~ /task-clock/) t[thread] += count
    else if ($4 ~ /context-switches/) c[thread] += count
    else if ($4 ~ /sys_enter/) s[thread] += count }
  END {
    printf "%-22s %10s %12s %12s\n", "thread", "us/req", "syscalls/req", "switches/req"
    for (thread in t) if (t[thread] / n > 100) {
      printf "%-22s %10.2f %12.2f %12.3f\n", thread, t[thread] / n / 1000, s[thread] / n, c[thread] / n }
    for (thread in t) { tt += t[thread]; ts += s[thread]; tc += c[thread] }
    printf "%-22s %10.2f %12.2f %12.3f\n", "(all threads)", tt / n / 1000, ts / n, tc / n
  }' "$dir/perf.csv" | tee "$dir/ours.txt"
# nginx's processes over its whole run, per request it answered (req/s x seconds).
awk -F, -v rate="$nrate" -v secs="$secs" '
  /^#/ || NF < 4 { next }
  { count = $1 * ($2 == "msec" ? 1e6 : 1)
    if ($3 ~ /task-clock/) t += count; else if ($3 ~ /sys_enter/) s += count }
  END { n = rate * secs; if (n > 0) printf "%-22s %10.2f %12.2f\n", "nginx (limit)", t / n / 1000, s / n }' \
    "$dir/nginx.csv" | tee "$dir/theirs.txt"
awk -F, -v n="$requests" '$3 ~ /task-clock/ { t += $1 * ($2 == "msec" ? 1e6 : 1) }
  END { printf "%-22s %10.2f   (the load generator)\n", "wrk", t / n / 1000 }' "$dir/wrk.csv"
ours=$(awk '/^\(all threads\)/ {print $3}' "$dir/ours.txt")
theirs=$(awk '{print $3}' "$dir/theirs.txt")
awk -v a="$ours" -v b="$theirs" 'BEGIN { if (a > 0 && b > 0) printf "CPU per request: %.1fx nginx'"'"'s (%s vs %s us)\n", a / b, a, b }'
