#!/usr/bin/env bash
# Fincept's account tiers on a running KeyLedger: five plans whose limits every key of an
# account shares, a guest key (24 h, 50 credits, no top-up, purged 7 days after expiry)
# and a user key that regenerates itself with its own secret.
#
#   KEYLEDGER_URL    the server (default http://127.0.0.1:8080)
#   KEYLEDGER_TOKEN  the root token (required)
#
# Prints the ids it made (never a secret) and exits non-zero on the first failure.
# Needs curl and jq.
set -euo pipefail
url=${KEYLEDGER_URL:-http://127.0.0.1:8080}
token=${KEYLEDGER_TOKEN:?set KEYLEDGER_TOKEN to the root token}

# call METHOD PATH [BODY] [CREDENTIAL]: the response body; fails on a non-2xx answer.
call() {
    local method=$1 path=$2 body=${3:-} credential=${4:-$token}
    local args=(-sS -X "$method" -H "Authorization: Bearer $credential" -w '\n%{http_code}')
    [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data "$body")
    local out status
    out=$(curl "${args[@]}" "$url$path")
    status=${out##*$'\n'}
    out=${out%$'\n'*}
    if [ "${status:0:1}" != 2 ]; then
        echo "fincept-tiers.sh: $method $path answered $status: $out" >&2
        exit 1
    fi
    printf '%s' "$out"
}

hour=3600
# plan NAME LIMIT [DAY_LIMIT]: per-hour (and per-day) limits shared by an account's keys.
plan() {
    local limits="{\"name\":\"hour\",\"limit\":$2,\"windowSeconds\":$hour}"
    [ -n "${3:-}" ] && limits="$limits,{\"name\":\"day\",\"limit\":$3,\"windowSeconds\":86400}"
    call PUT "/v1/plans/$1" "{\"rateLimits\":[$limits]}" >/dev/null
    echo "plan $1"
}
plan guest 60 50
plan free 500
plan basic 1000
plan standard 2000
plan pro 5000

# A guest account: the guest plan, its keys purged 7 days after they expire.
call PUT /v1/owners/guest_1 '{"plan":"guest","purgeAfterSeconds":604800}' >/dev/null
echo "owner guest_1 (plan guest)"
# 50 credits, no refill: a ledger:keys credential cannot add credits (that needs ledger:quotas).
guest=$(call POST /v1/keys '{"owner":"guest_1","name":"Guest","prefix":"fk_guest_","ttlSeconds":86400,"credits":50}')
echo "guest key $(jq -r .data.key.id <<<"$guest")"

# A user account on the free plan, upgraded later with one PUT; its key rotates itself.
call PUT /v1/owners/user_1 '{"plan":"free"}' >/dev/null
user=$(call POST /v1/keys '{"owner":"user_1","name":"User","prefix":"fk_user_","selfRotate":true}')
user_id=$(jq -r .data.key.id <<<"$user")
user_secret=$(jq -r .data.secret <<<"$user")
echo "user key $user_id"
verified=$(call POST /v1/verify "{\"key\":\"$user_secret\"}")
[ "$(jq -r .data.code <<<"$verified")" = VALID ] || { echo "fincept-tiers.sh: the user key does not verify" >&2; exit 1; }
rotated=$(call POST /v1/keys/self/rotate '{"gracePeriodSeconds":0}' "$user_secret")
user_secret=$(jq -r .data.secret <<<"$rotated")
verified=$(call POST /v1/verify "{\"key\":\"$user_secret\"}")
[ "$(jq -r .data.code <<<"$verified")" = VALID ] || { echo "fincept-tiers.sh: the new secret does not verify" >&2; exit 1; }
echo "user key $user_id rotated itself"
call PUT /v1/owners/user_1 '{"plan":"pro"}' >/dev/null
echo "owner user_1 upgraded to pro"
