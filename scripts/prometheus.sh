#!/usr/bin/env bash
# Make sure Debian's prometheus (server and promtool) is installed for the tests
# that scrape the app's /metrics and load the generated rule file. The package's
# own service is not used: each test starts its own server on 127.0.0.1.
set -euo pipefail
if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "prometheus: missing; install it with: sudo apt-get install -y prometheus" >&2
  exit 1
fi
echo "prometheus: installing Debian's prometheus (a minute)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# policy-rc.d keeps the package's own service from starting on a shared machine
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && made_policy=1
fi
apt-get install -y -qq --no-install-recommends prometheus >/dev/null
if [ "$made_policy" = 1 ]; then rm -f "$policy"; fi
