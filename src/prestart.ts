/**
 * Process start, before anything else loads (src/main.ts imports this first): for `serve`,
 * starts one QuickJS sandbox worker at once, so its module loading, WebAssembly compile and
 * first interpreter overlap the main thread's ~175 ms of imports and boot instead of
 * following them (issue 15: process start → first 2xx). The runtime's engine takes it as its
 * first (light-lane) worker; boot ends it if the configured engine does not (V8).
 * Imports nothing heavy: only spawn-worker.ts and the default limits.
 */
import { prestartSandboxWorkers } from "./runtime/spawn-worker";
import { defaultLimits } from "./runtime/types";

if (process.argv[2] === "serve") prestartSandboxWorkers(1, defaultLimits.memoryBytes);
