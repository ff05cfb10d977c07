#!/usr/bin/env bash
# Make sure Debian's prometheus-alertmanager is installed for the notify tests that
# push alerts to a real Alertmanager (and compare its webhook with ours).
set -euo pipefail
if command -v prometheus-alertmanager >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "alertmanager: missing; install it with: sudo apt-get install -y prometheus-alertmanager" >&2
  exit 1
fi
echo "alertmanager: installing Debian's prometheus-alertmanager"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# the package's service is not started: the tests run their own on a free port
apt-get install -y -qq --no-install-recommends prometheus-alertmanager >/dev/null
