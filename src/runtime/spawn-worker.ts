/**
 * Starts a sandbox worker. Under `bun run`/`bun test` the worker is ./worker.ts beside this
 * file. Inside the executable built with `bun build --compile src/main.ts
 * src/runtime/worker.ts`, every module's import.meta.url is the executable itself
 * (/$bunfs/root/<name>) and the worker entry is embedded at its path relative to the
 * entries' common root (src/) — /$bunfs/root/runtime/worker.ts — so look there.
 *
 * Every worker compiles its own QuickJS WebAssembly module (~10 ms); none is handed to another
 * worker. JavaScriptCore keeps a module's tier-up state (per function: not compiled / compiling
 * / compiled) with the module, and each tier-up compile (IPInt → BBQ, BBQ → OMG) is queued
 * for the one VM that asked for it; a VM that ends — a worker killed by the watchdog, retired
 * or closed — cancels its queued compiles (Wasm::Worklist::stopAllPlansForContext) without
 * resetting that state, so the function stays "compiling" for good. With one module shared by
 * all workers (as from 8d143af until 2026-11-30), every other worker then ran that function in
 * the slower tier for the rest of the process: after 30 runtimes were closed just after their
 * calls, a watchdog-killed call's thread used 10.7–13.6 s of CPU instead of 3.8–4.0 s, and in
 * about half the full-suite CI runs 224 s (the interpreter); with a module per worker it is
 * back to 3.9–4.9 s (test/runtime/wasm-module-per-worker.test.ts). A worker's own module ends
 * with it, so its cancelled compiles harm nobody. The price is a colder start: a new one-worker
 * runtime answers its first call in 51–55 ms instead of 29–30 ms (medians, same run), ~40 ms
 * more CPU per worker, since its first interpreter runs on not-yet-optimised WebAssembly.
 *
 * Workers spawned while the process's first worker compiles still wait for it (the start
 * gate: up to MODULE_WAIT_MS) instead of competing with it for the CPU at process start.
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
 * How long a new worker waits at the start gate for the first worker to compile (that worker
 * may be slow on a crowded machine, or die) before it goes ahead: compiling alone takes ~10 ms.
 */
export const MODULE_WAIT_MS = 5000;

/** Whether a worker of this process has compiled its module (the start gate is open). */
let compiledOnce = false;
/** The worker compiling now, and the promise its waiters hold (true once it has compiled; false if it ended or timed out first). */
let compiling: { worker: Worker; done: Promise<boolean> } | undefined;

/** Marks `worker` as the one the start gate waits for: it posts `{ t: "compiled" }` when told to announce (worker.ts). */
function compiledBy(worker: Worker): void {
  let settle!: (ok: boolean) => void;
  const done = new Promise<boolean>((r) => (settle = r));
  const finish = (ok: boolean) => {
    worker.removeEventListener("message", onMessage);
    worker.removeEventListener("close", onClose);
    clearTimeout(timer);
    if (ok) compiledOnce = true;
    if (compiling?.worker === worker) compiling = undefined;
    settle(ok);
  };
  const onMessage = (ev: MessageEvent) => {
    const m = ev.data as { t?: string } | null;
    if (m && typeof m === "object" && m.t === "compiled") finish(true);
  };
  const onClose = () => finish(false);
  const timer = setTimeout(() => finish(false), MODULE_WAIT_MS);
  timer.unref?.();
  worker.addEventListener("message", onMessage);
  worker.addEventListener("close", onClose);
  compiling = { worker, done };
}

/**
 * The start gate for `worker`'s init: now, or once the compiling worker has compiled (or
 * ended, or timed out: then this worker may be the one to announce). `announce: true` when
 * `worker` is the one the others wait for.
 */
export function startGate(worker: Worker): { announce: boolean } | Promise<{ announce: boolean }> {
  if (compiledOnce) return { announce: false };
  if (compiling?.worker === worker) return { announce: true };
  if (compiling) return compiling.done.then((ok) => (ok ? { announce: false } : startGate(worker)));
  compiledBy(worker);
  return { announce: true };
}

/**
 * Starts `n` QuickJS sandbox workers at process start, before the server's own modules load
 * (issue 15: process start → first 2xx): each loads its modules, compiles the QuickJS
 * WebAssembly and makes one interpreter for `memoryBytes` while the main thread is still
 * importing, instead of after boot. The runtime's engine takes them as its first workers;
 * dropPrestartedWorkers ends any it did not take (another engine, fewer workers). Workers
 * spawned later wait at the start gate (see above) until the first one has made its
 * interpreter — so they do not take the CPU from it meanwhile.
 */
export function prestartSandboxWorkers(n: number, memoryBytes: number): void {
  for (let i = 0; i < n; i++) {
    const w = new Worker(workerEntry());
    const announce = !compiledOnce && !compiling;
    if (announce) compiledBy(w);
    w.postMessage({ t: "prestart", memoryBytes, announce });
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
