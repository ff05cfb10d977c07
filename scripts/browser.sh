#!/usr/bin/env bash
# Make sure Debian's chromium (and its driver) is installed for the browser tests.
# Playwright's own browser download needs the internet; Debian's package does not.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "browser: chromium is missing; install it with: sudo apt-get install -y chromium chromium-driver" >&2
  exit 1
fi
echo "browser: installing Debian's chromium (a minute)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-dejavu-core >/dev/null
