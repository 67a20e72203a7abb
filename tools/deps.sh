#!/usr/bin/env bash
# Installs the Debian packages KeyLedger builds against, when missing (liblmdb-dev,
# libssl-dev, pkg-config), and Python's `cryptography`, which tools/verify_export.py (and
# the tests that run it) need. Runs apt-get as root, or through sudo.
set -euo pipefail
if ! python3 -c "import cryptography" >/dev/null 2>&1; then
  echo "installing python3 cryptography" >&2
  python3 -m pip install --quiet --disable-pip-version-check cryptography </dev/null \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages cryptography </dev/null
fi
missing=()
for p in liblmdb-dev libssl-dev pkg-config; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "installing ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
