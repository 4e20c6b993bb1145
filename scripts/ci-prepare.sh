#!/usr/bin/env bash
# CI preparation (called by .ci/run when present): installs Chromium from Debian packages
# for the dashboard's browser test (test/e2e/dashboard.test.ts) when it is missing.
set -euo pipefail
if [ ! -x /usr/bin/chromium ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y chromium
fi
/usr/bin/chromium --version || true
