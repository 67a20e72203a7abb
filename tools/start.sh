#!/usr/bin/env bash
# Newcomer's first command: installs what is missing, builds, and serves a ledger kept in
# ./data on 127.0.0.1:8420 and ./data/keyledger.sock (creating it, and printing its root
# token once, on first run).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
tools/deps.sh
swift build -c release --product keyledger
bin=.build/release/keyledger
data=${KEYLEDGER_DATA:-$PWD/data}
if [ ! -e "$data/data.mdb" ]; then
  echo "creating a new ledger in $data; its root token (shown only now):" >&2
  $bin init --data "$data"
fi
exec $bin serve --data "$data" --listen "${KEYLEDGER_LISTEN:-127.0.0.1:8420}" --socket "${KEYLEDGER_SOCKET:-$data/keyledger.sock}"
