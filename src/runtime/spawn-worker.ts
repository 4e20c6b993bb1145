/**
 * Starts a sandbox worker. Under `bun run`/`bun test` the worker is ./worker.ts beside this
 * file. Inside the executable built with `bun build --compile src/main.ts
 * src/runtime/worker.ts`, every module's import.meta.url is the executable itself
 * (/$bunfs/root/<name>) and the worker entry is embedded at its path relative to the
 * entries' common root (src/) — /$bunfs/root/runtime/worker.ts — so look there.
 */
import { existsSync } from "node:fs";

const EMBEDDED = ["/$bunfs/root/runtime/worker.ts", "/$bunfs/root/runtime/worker.js", "/$bunfs/root/src/runtime/worker.ts", "/$bunfs/root/worker.ts"];

export function workerEntry(): string {
  const beside = new URL("./worker.ts", import.meta.url).href;
  if (!import.meta.url.includes("$bunfs")) return beside;
  return EMBEDDED.find((p) => existsSync(p)) ?? beside;
}

/** Workers started before the runtime existed (prestartSandboxWorkers), taken first by spawnSandboxWorker. */
const prestarted: Worker[] = [];

/**
 * Starts `n` QuickJS sandbox workers at process start, before the server's own modules load
 * (issue 15: process start → first 2xx): each loads its modules, compiles the QuickJS
 * WebAssembly and makes one interpreter for `memoryBytes` while the main thread is still
 * importing, instead of after boot. The runtime's engine takes them as its first workers;
 * dropPrestartedWorkers ends any it did not take (another engine, fewer workers).
 */
export function prestartSandboxWorkers(n: number, memoryBytes: number): void {
  for (let i = 0; i < n; i++) {
    const w = new Worker(workerEntry());
    w.postMessage({ t: "prestart", memoryBytes });
    prestarted.push(w);
  }
}

/** Ends the prestarted workers no engine took. */
export function dropPrestartedWorkers(): void {
  for (const w of prestarted.splice(0)) w.terminate();
}

export function spawnSandboxWorker(): Worker {
  return prestarted.shift() ?? new Worker(workerEntry());
}
