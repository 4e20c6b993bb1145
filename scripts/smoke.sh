#!/usr/bin/env bash
# Smoke-tests a cantrip command (the compiled executable, or `bun src/main.ts`): start it on a
# random port with a temp data dir, check /healthz, /readyz and GET /v1/agents with the
# admin token it wrote, run its sandbox selftest, then stop it.
# Usage: scripts/smoke.sh dist/cantrip   |   scripts/smoke.sh bun src/main.ts
set -euo pipefail
cmd=("$@")
# The command runs from an empty directory: make a relative executable path absolute.
if [[ "${cmd[0]}" == */* && "${cmd[0]}" != /* ]]; then cmd[0]="$PWD/${cmd[0]}"; fi
dir=$(mktemp -d)
port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
run_from=$(mktemp -d)   # run from an empty directory: nothing beside the executable
( cd "$run_from" && exec "${cmd[@]}" serve --port "$port" --data-dir "$dir" --log-requests false ) >"$dir/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$dir" "$run_from"' EXIT
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$port/healthz"; echo
curl -fsS "http://127.0.0.1:$port/readyz"; echo
token=$(cat "$dir/admin-token")
body=$(curl -fsS "http://127.0.0.1:$port/v1/agents" -H "authorization: Bearer $token")
echo "$body"
[ "$body" = '{"data":[],"nextCursor":null}' ] || { echo "unexpected /v1/agents body"; exit 1; }
if ( cd "$run_from" && "${cmd[@]}" selftest --help >/dev/null 2>&1 ); then
  ( cd "$run_from" && "${cmd[@]}" selftest --data-dir "$dir/selftest" )
fi
echo "smoke ok: ${cmd[*]}"
