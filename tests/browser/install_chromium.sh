#!/usr/bin/env bash
# Install Debian's headless-capable Chromium for the report browser check (tests/test_report_browser.py).
# Idempotent: does nothing when a chromium binary is already on the PATH. Needs root (or sudo) and apt.
# Prints the path of the binary on success; exits non-zero with a reason otherwise.
set -euo pipefail

for name in chromium chromium-browser google-chrome; do
    if command -v "$name" >/dev/null 2>&1; then
        command -v "$name"
        exit 0
    fi
done

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_chromium.sh: apt-get not found (not a Debian/Ubuntu system); install Chromium yourself" >&2
    exit 2
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        echo "install_chromium.sh: needs root (or passwordless sudo) to run apt-get" >&2
        exit 3
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
command -v chromium
