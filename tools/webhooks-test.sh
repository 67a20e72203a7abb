#!/usr/bin/env bash
# Webhook delivery end to end (tools/webhooks_test.py): a Python HTTPS receiver with a test CA
# made here by openssl, every delivery checked with the PyPI standardwebhooks package;
# lifecycle order and filters, a receiver down then up, SIGKILL mid-delivery, and POST
# /v1/verify's rate with and without a hanging receiver, beside nginx's (the HTTP limit).
#   KEYLEDGER_BIN=.build/debug/keyledger tools/webhooks-test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${KEYLEDGER_BIN:-$PWD/.build/debug/keyledger}
if ! python3 -c "import standardwebhooks" >/dev/null 2>&1; then
  echo "installing python3 standardwebhooks" >&2
  python3 -m pip install --quiet --disable-pip-version-check standardwebhooks </dev/null \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages standardwebhooks </dev/null
fi
if ! command -v wrk >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq wrk >/dev/null
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The test CA and the receiver's certificate for 127.0.0.1.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=KeyLedger test CA" \
  -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=127.0.0.1" \
  -keyout "$work/receiver.key" -out "$work/receiver.csr" 2>/dev/null
printf "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n" > "$work/ext.cnf"
openssl x509 -req -in "$work/receiver.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial -days 2 \
  -extfile "$work/ext.cnf" -out "$work/receiver.pem" 2>/dev/null
# A certificate no trusted CA signed: deliveries to it must fail verification.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=127.0.0.1" \
  -addext "subjectAltName=IP:127.0.0.1" -keyout "$work/untrusted.key" -out "$work/untrusted.pem" 2>/dev/null
python3 tools/webhooks_test.py "$bin" "$work" | tee "$work/out.txt"
if [ -x ../shared/limits/http-limit ]; then
  nginx=$(../shared/limits/http-limit "${WEBHOOK_BENCH_SECONDS:-4}" | awk '/Requests\/sec/ {print $2}')
  for case in without with; do
    rate=$(awk -v c="$case" '$0 ~ "verify rate " c " " {print $(NF-1)}' "$work/out.txt")
    awk -v c="$case" -v a="$rate" -v b="$nginx" \
      'BEGIN { printf "ratio to nginx (%s hanging receivers): %.1f%% (%s vs %s req/s)\n", c, 100 * a / b, a, b }'
  done
fi
