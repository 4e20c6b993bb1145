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

export function spawnSandboxWorker(): Worker {
  return new Worker(workerEntry());
}
