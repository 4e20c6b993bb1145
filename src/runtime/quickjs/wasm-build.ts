/**
 * The QuickJS WebAssembly build the sandbox runs: cantrip's own (scripts/build-quickjs.sh,
 * committed in sandbox/quickjs/dist: upstream QuickJS at -O2 with cantrip's bytecode entries),
 * driven through quickjs-emscripten's FFI from the npm package the C interface was taken from
 * (@jitl/quickjs-wasmfile-release-sync@0.32.0: the same `QTS_*` functions).
 */
import stock from "@jitl/quickjs-wasmfile-release-sync";
import type { QuickJSSyncVariant } from "quickjs-emscripten-core";
import wasm from "../../../sandbox/quickjs/dist/emscripten-module.wasm" with { type: "file" };

/** The variant for `newQuickJSWASMModuleFromVariant` (always given a compiled module and a memory). */
export const variant: QuickJSSyncVariant = {
  type: "sync",
  importFFI: (stock as QuickJSSyncVariant).importFFI,
  importModuleLoader: () => import("../../../sandbox/quickjs/dist/emscripten-module.mjs").then((m) => m.default),
};

/** Path of the build's `.wasm` file (embedded in the compiled executable). */
export const wasmPath: string = wasm;
