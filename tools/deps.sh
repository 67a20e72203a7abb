#!/usr/bin/env bash
# Installs the Debian packages KeyLedger builds against, when missing (liblmdb-dev, libcurl4-openssl-dev,
# libssl-dev, pkg-config) and Python's `cryptography` (tools/verify_export.py and the tests
# that run it). With --browser, instead the ones the console's browser test uses (chromium,
# chromium-driver, python3-selenium for Debian's /usr/bin/python3).
# Runs apt-get as root, or through sudo; non-interactive, so CI (no stdin) can run it.
set -euo pipefail
packages=(liblmdb-dev libssl-dev libcurl4-openssl-dev pkg-config)
[ "${1:-}" = "--browser" ] && packages=(chromium chromium-driver python3-selenium)
if [ "${1:-}" != "--browser" ] && ! python3 -c "import cryptography" >/dev/null 2>&1; then
  echo "installing python3 cryptography" >&2
  python3 -m pip install --quiet --disable-pip-version-check cryptography </dev/null \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages cryptography </dev/null
fi
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "installing ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
