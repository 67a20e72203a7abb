#!/usr/bin/env bash
# Property-based contract test: runs schemathesis against a fresh keyledger server,
# using docs/openapi.yaml as the oracle.
#
# What it does:
#   1. installs schemathesis (pinned) into .build-schemathesis/venv when missing;
#   2. builds `swift build -c release`, unless KEYLEDGER_BIN names a built executable;
#   3. `keyledger init` in a temporary data directory (its only stdout line is the root token);
#   4. `keyledger serve` on 127.0.0.1:<free port>, waits for GET /healthz;
#   5. runs schemathesis with the root token, checking: no 5xx, documented status codes,
#      documented content types, response bodies valid against their schemas;
#   6. stops the server (SIGTERM; it must exit 0) and removes the temporary directory.
# Exits non-zero on any failure.
#
# Environment (all optional):
#   KEYLEDGER_BIN            path to a built keyledger executable (skips the build)
#   SCHEMATHESIS_MAX_EXAMPLES  test cases per operation and phase (default 20)
#   SCHEMATHESIS_SEED          run with this random seed instead of the default deterministic
#                              (derandomized) generation, to explore beyond the fixed cases
#   SCHEMATHESIS_CHECKS        comma list of checks (default: the four above)
#   SCHEMATHESIS_PHASES        comma list of phases (default examples,coverage,fuzzing,stateful)
#   SCHEMATHESIS_KEEP          1: keep the temporary directory (data, server log, report)
#   PYTHON                   interpreter for the venv (default python3; 3.10 or newer)
set -euo pipefail

readonly SCHEMATHESIS_VERSION=4.32.5

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

spec="$root/docs/openapi.yaml"
venv="$root/.build-schemathesis/venv"
python=${PYTHON:-python3}
max_examples=${SCHEMATHESIS_MAX_EXAMPLES:-20}
checks=${SCHEMATHESIS_CHECKS:-not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance}
phases=${SCHEMATHESIS_PHASES:-examples,coverage,fuzzing,stateful}

log() { printf 'schemathesis.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

[[ -f "$spec" ]] || die "no $spec"

# --- 1. schemathesis -------------------------------------------------------------------
schemathesis="$venv/bin/schemathesis"
if [[ ! -x "$schemathesis" ]] ||
    [[ "$("$schemathesis" --version 2>/dev/null)" != "schemathesis, version $SCHEMATHESIS_VERSION" ]]; then
    command -v "$python" >/dev/null || die "$python not found (needs Python 3.10 or newer)"
    "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' ||
        die "$python is older than 3.10"
    log "installing schemathesis $SCHEMATHESIS_VERSION into $venv"
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        "schemathesis==$SCHEMATHESIS_VERSION"
fi
"$schemathesis" --version >&2

# --- 2. the server executable ----------------------------------------------------------
if [[ -n "${KEYLEDGER_BIN:-}" ]]; then
    bin=$KEYLEDGER_BIN
else
    log "building (swift build -c release)"
    swift build -c release >&2
    bin="$(swift build -c release --show-bin-path)/keyledger"
fi
[[ -x "$bin" ]] || die "not an executable: $bin"

# --- 3. a fresh ledger -----------------------------------------------------------------
work=$(mktemp -d)
server_pid=""
schemathesis_pid=""

stop_server() {
    # Stops the server started below; returns its exit status (0 when it was not running).
    local pid=$server_pid status=0
    [[ -n "$pid" ]] || return 0
    server_pid=""
    kill -0 "$pid" 2>/dev/null || { wait "$pid" || status=$?; return "$status"; }
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "server $pid did not stop within 10 s of SIGTERM; killing it"
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        return 1
    fi
    wait "$pid" || status=$?
    return "$status"
}

cleanup() {
    local status=$?
    if [[ -n "$schemathesis_pid" ]] && kill -0 "$schemathesis_pid" 2>/dev/null; then
        kill -TERM "$schemathesis_pid" 2>/dev/null || true
        wait "$schemathesis_pid" 2>/dev/null || true
    fi
    stop_server || true
    if [[ "${SCHEMATHESIS_KEEP:-0}" == 1 || $status -ne 0 ]]; then
        if [[ -s "$work/server.log" && $status -ne 0 ]]; then
            log "last lines of the server log ($work/server.log):"
            tail -n 40 "$work/server.log" >&2 || true
        fi
        log "kept $work"
    else
        rm -rf "$work"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

data="$work/data"
mkdir -p "$data"
token=$("$bin" init --data "$data")
[[ -n "$token" && "$token" != *$'\n'* ]] || die "keyledger init did not print exactly one line"

# --- 4. the server ---------------------------------------------------------------------
port=$("$python" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
base="http://127.0.0.1:$port"

"$bin" serve --data "$data" --listen "127.0.0.1:$port" </dev/null >"$work/server.out" 2>"$work/server.log" &
server_pid=$!

for _ in $(seq 1 300); do
    if curl -fsS --max-time 1 -o /dev/null "$base/healthz" 2>/dev/null; then
        break
    fi
    kill -0 "$server_pid" 2>/dev/null || die "keyledger serve exited before answering /healthz"
    sleep 0.1
done
curl -fsS --max-time 2 -o /dev/null "$base/healthz" || die "no answer from $base/healthz within 30 s"
log "server $server_pid on $base"

# --- 5. schemathesis -------------------------------------------------------------------
# GET /v1/events long-polls for `wait` seconds (0..60) when no event follows `after`:
# pin `wait` to 0 so a generated value cannot hold a test for a minute.
cat >"$work/schemathesis.toml" <<'TOML'
[[operations]]
include-operation-id = "listEvents"
parameters = { "query.wait" = 0 }
TOML

# Reproducible by default: deterministic generation (the same cases on every run, no
# example database); SCHEMATHESIS_SEED switches to seeded random generation.
if [[ -n "${SCHEMATHESIS_SEED:-}" ]]; then
    generation=(--seed "$SCHEMATHESIS_SEED" --generation-database none)
else
    generation=(--generation-deterministic)
fi

# In the background, so that a signal to this script is handled at once (by the traps
# above, which stop schemathesis and the server) rather than after schemathesis ends.
"$schemathesis" --config-file "$work/schemathesis.toml" --no-color run "$spec" \
    --url "$base" \
    --header "Authorization: Bearer $token" \
    --checks "$checks" \
    --phases "$phases" \
    --mode all \
    --max-examples "$max_examples" \
    "${generation[@]}" \
    --generation-with-security-parameters false \
    --workers 1 \
    --request-timeout 10 \
    --report junit --report-junit-path "$work/junit.xml" </dev/null &
schemathesis_pid=$!
status=0
wait "$schemathesis_pid" || status=$?
schemathesis_pid=""

# --- 6. stop -----------------------------------------------------------------------------
server_status=0
stop_server || server_status=$?
if [[ $status -ne 0 ]]; then
    log "FAILED: schemathesis exited with status $status; JUnit report: $work/junit.xml"
fi
if [[ $server_status -ne 0 ]]; then
    log "FAILED: keyledger serve exited with status $server_status after SIGTERM (expected 0)"
    [[ $status -ne 0 ]] || status=1
fi
[[ $status -eq 0 ]] || exit "$status"
log "passed"
