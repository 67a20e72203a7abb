#!/usr/bin/env bash
# CPU per request by server thread, under the load of tools/bench-http.sh (wrk, 1 thread,
# 32 keep-alive connections, POST /v1/verify over 1,000 keys, release build).
#
# Default: two runs of wrk. In the first nothing watches the server but the kernel's own
# accounting (/proc/PID/task/TID/schedstat and stat), which gives each thread's CPU time
# per request, split into user and system, and the time it spent runnable but waiting for
# a core (the scheduler's share of latency: two cores, five busy threads with wrk). perf
# is not attached then: its per-thread counters make every context switch dearer, which
# inflated the server's figures (several threads that switch often) several-fold against
# nginx's (one process that rarely does). The second run is counted by `perf stat
# --per-thread` for system calls and context switches per request (counts, not times).
# wrk's own CPU per request is counted too (its task clock). Then nginx
# (../shared/limits/http-limit, the same wrk settings) is counted the same way, and the
# ratio of CPU per request printed, and the rate that CPU per request (wrk's included) allows
# with every core busy, as a share of nginx's.
#
# callgrind (--callgrind): the server runs under valgrind; its counters are zeroed
# after a warm-up and dumped after wrk, so each thread's user-space instructions per
# request are exact for the measured interval and comparable before and after a change.
# (Under valgrind the threads share one core and the writer's batches differ, so the
# writer's figure is less comparable than the event loop's; valgrind's CPU lacks SHA-NI,
# so SHA-256 counts higher than it runs.)
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
    # Each thread's name, CPU (schedstat: ns on a core, ns runnable and waiting), user
    # and system ticks (stat fields 14 and 15).
    threads() { for t in /proc/$pid/task/*; do
        printf '%s-%s %s %s\n' "$(tr -d ' ' < "$t/comm")" "${t##*/}" "$(cut -d' ' -f1,2 "$t/schedstat")" \
            "$(sed 's/^.*) //' "$t/stat" | cut -d' ' -f12,13)"; done; }
    threads > "$dir/before.txt"
    # wrk's own CPU too: the load generator shares the machine.
    out=$(KL_SECRETS="$dir/secrets.txt" perf stat -x, -e task-clock -o "$dir/wrk.csv" \
        wrk -t1 -c$conns -d${secs}s -s tools/bench/verify.lua "http://127.0.0.1:$port/v1/verify")
    threads > "$dir/after.txt"
    # The counting run.
    perf stat --per-thread -x, -e context-switches,raw_syscalls:sys_enter -p $pid -o "$dir/perf.csv" &
    perfpid=$!
    sleep 0.2
    counted=$(load "$secs")
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
# The limit, the same way: nginx (../shared/limits/http-limit, same wrk settings), all its
# processes together: a run timed by perf's task clock (one process that seldom switches:
# the clock costs it nothing measurable), then a run counting its system calls.
nport=${HTTP_LIMIT_PORT:-18182}
limit() {  # limit EVENTS CSV: a run of the limit counted with perf; prints its req/s
    HTTP_LIMIT_PORT=$nport ../shared/limits/http-limit "$secs" > "$dir/nginx.txt" &
    local limitpid=$! npids="" nperf
    for _ in $(seq 100); do
        npids=$(ss -ltnpH "sport = :$nport" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u | paste -sd, || true)
        [ -n "$npids" ] && break
        sleep 0.05
    done
    perf stat -x, -e "$1" -p "$npids" -o "$2" &
    nperf=$!
    wait $limitpid
    kill -INT $nperf
    wait $nperf || true
    awk '/Requests\/sec/ {print $2}' "$dir/nginx.txt"
}
echo "per request ($requests requests, $conns connections), by thread (dispatch threads by tid):"
counted_requests=$(echo "$counted" | awk '/requests in/ {print $1}')
tick_us=$(awk -v hz="$(getconf CLK_TCK)" 'BEGIN { print 1e6 / hz }')
# Times from the first run; syscalls and switches from the second, each per its requests.
awk -v n="$requests" -v m="$counted_requests" -v tick="$tick_us" '
  FILENAME ~ /before/ { r0[$1] = $2; w0[$1] = $3; u0[$1] = $4; s0[$1] = $5; next }
  FILENAME ~ /after/ { r[$1] = $2 - r0[$1]; w[$1] = $3 - w0[$1]; u[$1] = ($4 - u0[$1]) * tick; s[$1] = ($5 - s0[$1]) * tick; next }
  /^#/ { next }
  { if (split($0, f, ",") < 4) next
    if (f[4] ~ /context-switches/) c[f[1]] += f[2]; else if (f[4] ~ /sys_enter/) k[f[1]] += f[2] }
  END {
    printf "%-22s %8s %8s %8s %10s %12s %12s\n", "thread", "us/req", "user", "system", "waiting", "syscalls/req", "switches/req"
    for (t in r) if (r[t] / n > 100) {
      printf "%-22s %8.2f %8.2f %8.2f %10.2f %12.2f %12.3f\n", t, r[t] / n / 1000, u[t] / n, s[t] / n, w[t] / n / 1000, k[t] / m, c[t] / m
      tr += r[t]; tu += u[t]; ts += s[t]; tw += w[t]; tk += k[t]; tc += c[t] }
    printf "%-22s %8.2f %8.2f %8.2f %10.2f %12.2f %12.3f\n", "(all threads)", tr / n / 1000, tu / n, ts / n, tw / n / 1000, tk / m, tc / m
  }' "$dir/before.txt" "$dir/after.txt" "$dir/perf.csv" | tee "$dir/ours.txt"
echo "(us/req: on a core, from schedstat; user and system: from stat, in ${tick_us} us ticks; waiting: runnable, not on a core)"
nrate=$(limit task-clock "$dir/nginx.csv")
ncounted=$(limit raw_syscalls:sys_enter "$dir/nginx-count.csv")
echo "nginx (limit): $nrate req/s"
# nginx's processes over its whole run, per request it answered (req/s x seconds).
{ awk -F, -v rate="$nrate" -v secs="$secs" '/^#/ || NF < 3 { next }
    $3 ~ /task-clock/ { t += $1 * ($2 == "msec" ? 1e6 : 1) } END { print t / (rate * secs) / 1000 }' "$dir/nginx.csv"
  awk -F, -v rate="$ncounted" -v secs="$secs" '/^#/ || NF < 3 { next }
    $3 ~ /sys_enter/ { s += $1 } END { print s / (rate * secs) }' "$dir/nginx-count.csv"
} | paste -sd' ' | awk '{ printf "%-22s %8.2f %8s %8s %10s %12.2f\n", "nginx (limit)", $1, "", "", "", $2 }' | tee "$dir/theirs.txt"
# wrk's CPU per request (its task clock over the requests it counted).
wrk_us=$(awk -F, -v n="$requests" '$3 ~ /task-clock/ { t += $1 * ($2 == "msec" ? 1e6 : 1) }
  END { print t / n / 1000 }' "$dir/wrk.csv")
awk -v w="$wrk_us" 'BEGIN { printf "%-22s %10.2f   (the load generator)\n", "wrk", w }'
ours=$(awk '/^\(all threads\)/ {print $3}' "$dir/ours.txt")
theirs=$(awk '{print $3}' "$dir/theirs.txt")
awk -v a="$ours" -v b="$theirs" 'BEGIN { if (a > 0 && b > 0) printf "CPU per request: %.1fx nginx'"'"'s (%s vs %s us)\n", a / b, a, b }'
# The rate this CPU per request allows with every core busy (wrk's share included, as it
# shares the cores), against nginx's rate in this run: whatever else limits the rate (the
# synced write's latency, idle cores between waves of answers), it cannot pass this.
awk -v a="$ours" -v w="$wrk_us" -v cores="$(nproc)" -v rate="$nrate" 'BEGIN {
    if (a <= 0 || rate <= 0) exit
    ceiling = cores * 1e6 / (a + w)
    printf "ceiling with %d cores busy: %.0f req/s (server %.2f + wrk %.2f us per request), %.1f%% of nginx'"'"'s %s\n", cores, ceiling, a, w, 100 * ceiling / rate, rate }'
