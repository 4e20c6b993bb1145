#!/bin/bash
# Builds the sandbox's QuickJS WebAssembly module from vendored source (issue 15):
#   vendor/quickjs/             upstream QuickJS (bellard, VERSION), with quickjs-emscripten's
#                               WebKit-wasm workaround applied (vendor/quickjs-emscripten/0166-*.patch)
#   vendor/quickjs-emscripten/  quickjs-emscripten's C interface (v0.32.0, MIT), whose FFI the
#                               npm package @jitl/quickjs-wasmfile-release-sync@0.32.0 provides
#   sandbox/quickjs/cantrip.c   cantrip's own entries (bytecode compile/run) and the time zone
#                               offset QuickJS asks for (applied to vendor/quickjs/quickjs.c:
#                               sandbox/quickjs/0001-timezone-offset.patch; time_t is 32-bit here);
#                               also applied there: sandbox/quickjs/0002-shape-keep.patch (recent
#                               object shapes kept alive, so objects built alike reuse them)
# into sandbox/quickjs/dist/{emscripten-module.mjs,emscripten-module.wasm,BUILD-INFO}, which
# are committed: running cantrip needs no compiler. Needs Debian's emscripten (3.1.6) and
# node-acorn (scripts/ci-prepare.sh installs them). The build is reproducible: the same
# inputs give the same bytes, which `--check` verifies against the committed files (CI).
#
#   scripts/build-quickjs.sh           rebuild sandbox/quickjs/dist
#   scripts/build-quickjs.sh --check   rebuild in a temp dir; exit 1 if it differs from dist
set -euo pipefail
cd "$(dirname "$0")/.."
EMCC=${EMCC:-emcc}
command -v "$EMCC" >/dev/null || { echo "build-quickjs: emcc not found (apt-get install emscripten node-acorn)" >&2; exit 2; }
# Debian's emscripten runs its JS optimizer with the system's acorn (package node-acorn).
export NODE_PATH=${NODE_PATH:-/usr/share/nodejs}
# Only -O2 differs from upstream's release variant (-Oz, LTO, closure): speed over size.
OPT="-O2"
CHECK=0
[ "${1:-}" = "--check" ] && CHECK=1
OUT=sandbox/quickjs/dist
[ $CHECK = 1 ] && OUT=$(mktemp -d)
OBJ=$(mktemp -d)
trap 'rm -rf "$OBJ"; [ $CHECK = 1 ] && rm -rf "$OUT"' EXIT
mkdir -p "$OUT"

Q=vendor/quickjs
QDEF=(-D_GNU_SOURCE "-DCONFIG_VERSION=\"$(cat $Q/VERSION)\"" -DCONFIG_STACK_CHECK)
# Relative paths only: __FILE__ (assert messages) must not depend on where the tree is.
pids=()
for f in quickjs dtoa libregexp libunicode cutils quickjs-libc; do
  "$EMCC" $OPT -Wno-everything "${QDEF[@]}" -c -o "$OBJ/$f.o" "$Q/$f.c" & pids+=($!)
done
# interface.c includes "../vendor/quickjs/…": resolved from vendor/ (vendor/../vendor/quickjs).
"$EMCC" $OPT -Wno-everything -iquote vendor -c -o "$OBJ/interface.o" vendor/quickjs-emscripten/interface.c & pids+=($!)
"$EMCC" $OPT -Wno-everything -iquote $Q -c -o "$OBJ/cantrip.o" sandbox/quickjs/cantrip.c & pids+=($!)
for p in "${pids[@]}"; do wait "$p"; done

# The link options of quickjs-emscripten's variant Makefile (templates/Variant.mk, v0.32.0),
# minus what emscripten 3.1.6 lacks (-lccall.js: cwrap comes with EXPORTED_RUNTIME_METHODS).
# NODEJS_CATCH_EXIT=0 and NODEJS_CATCH_REJECTION=0 (upstream sets the first; 3.1.6 defaults the
# second on): without them every interpreter's glue adds process "uncaughtException" and
# "unhandledRejection" listeners that hold its module and memory for good — a dropped
# interpreter was never collected (~2 MB per deploy's load check) and a host rejection
# nobody handled was rethrown by emscripten's handler.
"$EMCC" $OPT -Wno-everything \
  -s MODULARIZE=1 -s IMPORTED_MEMORY=1 -s EXPORT_NAME=QuickJSRaw -s INVOKE_RUN=0 \
  -s ALLOW_MEMORY_GROWTH=1 -s ALLOW_TABLE_GROWTH=1 -s TOTAL_STACK=5MB -s SUPPORT_ERRNO=0 \
  --no-entry -s AUTO_JS_LIBRARIES=0 -s AUTO_NATIVE_LIBRARIES=0 -s AUTO_ARCHIVE_INDEXES=0 \
  -s DEFAULT_TO_CXX=0 -s ALLOW_UNIMPLEMENTED_SYSCALLS=0 -s FILESYSTEM=0 \
  -s EXPORTED_RUNTIME_METHODS=@vendor/quickjs-emscripten/exportedRuntimeMethods.json \
  -s EXPORTED_FUNCTIONS=@sandbox/quickjs/exported-functions.json \
  -s ENVIRONMENT=node -s EXPORT_ES6=1 -s NODEJS_CATCH_EXIT=0 -s NODEJS_CATCH_REJECTION=0 \
  --pre-js vendor/quickjs-emscripten/pre-extension.js --pre-js vendor/quickjs-emscripten/pre-wasmMemory.js \
  -o "$OUT/emscripten-module.mjs" \
  "$OBJ/quickjs.o" "$OBJ/dtoa.o" "$OBJ/libregexp.o" "$OBJ/libunicode.o" "$OBJ/cutils.o" "$OBJ/quickjs-libc.o" "$OBJ/interface.o" "$OBJ/cantrip.o"

# Every input, in a fixed order: test/runtime/quickjs-build.test.ts recomputes this to catch
# a source change committed without a rebuild (no compiler needed for that check).
inputs() {
  { ls vendor/quickjs/*.c vendor/quickjs/*.h vendor/quickjs/VERSION vendor/quickjs-emscripten/* sandbox/quickjs/cantrip.c sandbox/quickjs/exported-functions.json scripts/build-quickjs.sh | LC_ALL=C sort; } | while read -r f; do cat "$f"; done | sha256sum | cut -d" " -f1
}
{
  echo "inputs: $(inputs)"
  echo "emcc: $("$EMCC" --version | head -1)"
  echo "flags: $OPT"
  echo "quickjs: $(cat $Q/VERSION)"
  (cd "$OUT" && sha256sum emscripten-module.mjs emscripten-module.wasm)
} > "$OUT/BUILD-INFO"

if [ $CHECK = 1 ]; then
  for f in emscripten-module.mjs emscripten-module.wasm; do
    cmp -s "$OUT/$f" "sandbox/quickjs/dist/$f" || { echo "build-quickjs: sandbox/quickjs/dist/$f differs from a fresh build (run scripts/build-quickjs.sh and commit)" >&2; exit 1; }
  done
  echo "build-quickjs: sandbox/quickjs/dist matches a fresh build"
else
  cat "$OUT/BUILD-INFO"
fi
