#!/usr/bin/env bash
# Memory under a pipelined flood that reads nothing (issue 12, item 1): CONNECTIONS clients
# without a credential each pipeline up to 50 MB of GET /healthz at a release
# `keyledger serve` (default limits) and never read an answer. Prints the server's VmRSS
# and the bytes it took every second, then the largest RSS seen.
#   tools/bench-flood.sh [seconds, default 10] [connections, default 1]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
secs=${1:-10}
conns=${2:-1}
swift build -c release --product keyledger >/dev/null
bin=$PWD/.build/release/keyledger
dir=$(mktemp -d)
port=${KEYLEDGER_BENCH_PORT:-18421}
$bin init --data "$dir/data" >/dev/null
$bin serve --data "$dir/data" --listen 127.0.0.1:$port --quiet 2>"$dir/serve.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 50); do curl -fs "127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
kill -0 $pid 2>/dev/null || { echo "keyledger serve did not start:" >&2; cat "$dir/serve.log" >&2; exit 1; }
python3 - "$pid" "$port" "$secs" "$conns" <<'PY'
import socket, sys, time
pid, port, secs, conns = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
def rss():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
chunk = b"GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n" * 1800
limit = 50 << 20
socks = []
for _ in range(conns):
    s = socket.create_connection(("127.0.0.1", port))
    s.setblocking(False)
    socks.append([s, 0])
start = rss()
most = start
print(f"RSS at rest: {start / 2**20:.1f} MB")
begin = time.monotonic()
next_report = begin + 1
while time.monotonic() - begin < secs:
    for entry in socks:
        if entry[1] >= limit:
            continue
        try:
            # Resume where a partial send stopped: the stream stays whole requests.
            entry[1] += entry[0].send(chunk[entry[1] % len(chunk):])
        except BlockingIOError:
            pass
    now = time.monotonic()
    if now >= next_report:
        most = max(most, rss())
        taken = sum(e[1] for e in socks)
        print(f"{now - begin:4.0f} s  RSS {rss() / 2**20:6.1f} MB  pipelined {taken / 2**20:6.1f} MB")
        next_report += 1
    else:
        time.sleep(0.001)
most = max(most, rss())
print(f"largest RSS {most / 2**20:.1f} MB ({start / 2**20:.1f} MB at rest), {conns} connection(s) reading nothing")
PY
