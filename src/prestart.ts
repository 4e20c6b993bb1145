/**
 * Process start, before anything else loads (src/main.ts imports this first): for `serve`,
 * starts one QuickJS sandbox worker at once, so its module loading, WebAssembly compile and
 * first interpreter overlap the main thread's ~175 ms of imports and boot instead of
 * following them (issue 15: process start → first 2xx). The runtime's engine takes it as its
 * first (light-lane) worker; boot ends it if the configured engine does not (V8).
 * First, when the environment lacks the JavaScriptCore options the sandbox needs, it
 * re-executes the process with them (runtime/jsc-options.ts).
 * Imports nothing heavy: spawn-worker.ts, the default limits, jsc-options.ts and binary.ts.
 */
import { prestartSandboxWorkers } from "./runtime/spawn-worker";
import { defaultLimits } from "./runtime/types";
import { ensureServerJscOptions } from "./runtime/jsc-options";
import { isEmbeddedPath } from "./bundle/binary";

if (process.argv[2] === "serve") {
  // Before the first WebAssembly.Memory: JSC reads its options at process start only.
  ensureServerJscOptions(isEmbeddedPath(Bun.main));
  prestartSandboxWorkers(1, defaultLimits.memoryBytes);
}
