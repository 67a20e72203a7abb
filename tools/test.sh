#!/usr/bin/env bash
# The whole test suite: installs what a fresh Debian machine lacks, builds with zero
# warnings allowed, and runs every test (real LMDB files, real processes, real sockets).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
tools/deps.sh
log=$(mktemp)
swift build --build-tests 2>&1 | tee "$log"
if grep -q "warning:" "$log"; then
  echo "build has warnings (the project keeps them at zero)" >&2
  exit 1
fi
rm -f "$log"
swift test --skip-build
# The web console in headless Chromium against a live server (screenshots in
# .build/console-screenshots/).
tools/deps.sh --browser
KEYLEDGER_BIN="$PWD/.build/debug/keyledger" /usr/bin/python3 tools/console_test.py
# Monitoring against a real Prometheus (lint, alert rules, a live scrape).
KEYLEDGER_BIN="$PWD/.build/debug/keyledger" tools/prometheus-test.sh
# Webhooks end to end: a real HTTPS receiver, signatures checked with standardwebhooks.
KEYLEDGER_BIN="$PWD/.build/debug/keyledger" tools/webhooks-test.sh
# Coverage-guided fuzzing of the parsers that take untrusted bytes (fixed seed).
tools/fuzz.sh "${FUZZ_SECONDS:-15}"
# The contract: schemathesis against a live server and docs/openapi.yaml.
KEYLEDGER_BIN="$PWD/.build/debug/keyledger" tools/schemathesis.sh
