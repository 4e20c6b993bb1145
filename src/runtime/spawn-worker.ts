/**
 * Starts a sandbox worker. Under `bun run`/`bun test` the worker is ./worker.ts beside this
 * file. Inside the executable built with `bun build --compile src/main.ts
 * src/runtime/worker.ts`, every module's import.meta.url is the executable itself
 * (/$bunfs/root/<name>) and the worker entry is embedded at its path relative to the
 * entries' common root (src/) — /$bunfs/root/runtime/worker.ts — so look there.
 *
 * Also shares the QuickJS WebAssembly module between workers (issue 15, cold start): the
 * first worker compiles it and posts the compiled `WebAssembly.Module` back; every worker
 * started after it gets that module in its `init` instead of compiling its own. JavaScriptCore
 * keeps a module's tiered-up machine code with the module, so a worker given a module that
 * has already run makes its first interpreter in ~25 ms instead of ~80–200 ms of
 * not-yet-optimised WebAssembly (measured: 23–31 vs 80–113 ms, same process), and workers
 * started while the first one compiles do not compete with it for the CPU.
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
 * How long a new worker waits for the compiling worker's module before it compiles its own
 * (that worker may be slow on a crowded machine, or die): compiling alone takes ~10 ms.
 */
export const MODULE_WAIT_MS = 5000;

/** The compiled QuickJS module, once a worker has posted it. */
let sharedModule: WebAssembly.Module | undefined;
/** The worker compiling the module now, and the promise its waiters hold (settles with the module, or undefined if it never comes). */
let compiling: { worker: Worker; module: Promise<WebAssembly.Module | undefined> } | undefined;

/**
 * Marks `worker` as the one that compiles the module (it posts `{ t: "module" }` when asked
 * to share, see worker.ts); workers asking meanwhile wait for that message.
 */
function compiledBy(worker: Worker): void {
  let settle!: (m: WebAssembly.Module | undefined) => void;
  const module = new Promise<WebAssembly.Module | undefined>((r) => (settle = r));
  const done = (m: WebAssembly.Module | undefined) => {
    worker.removeEventListener("message", onMessage);
    worker.removeEventListener("close", onClose);
    clearTimeout(timer);
    if (m) sharedModule = m;
    if (compiling?.worker === worker) compiling = undefined;
    settle(m);
  };
  const onMessage = (ev: MessageEvent) => {
    const m = ev.data as { t?: string; module?: unknown } | null;
    if (m && typeof m === "object" && m.t === "module") done(m.module instanceof WebAssembly.Module ? m.module : undefined);
  };
  const onClose = () => done(undefined);
  const timer = setTimeout(() => done(undefined), MODULE_WAIT_MS);
  timer.unref?.();
  worker.addEventListener("message", onMessage);
  worker.addEventListener("close", onClose);
  compiling = { worker, module };
}

/** Workers whose init carried the shared module (a diagnostic for tests and benchmarks). */
let sharedInits = 0;

/** The shared module and how many workers started from it, so far in this process. */
export function sharedWasmModule(): { module: WebAssembly.Module | undefined; workersStarted: number } {
  return { module: sharedModule, workersStarted: sharedInits };
}

/**
 * What `worker`'s init should carry: the shared module (now, or once the compiling worker
 * posts it), or `share: true` when this worker is the one to compile it and post it back.
 */
export function wasmModuleFor(worker: Worker): { module?: WebAssembly.Module; share: boolean } | Promise<{ module?: WebAssembly.Module; share: boolean }> {
  if (sharedModule) return (sharedInits++, { module: sharedModule, share: false });
  if (compiling?.worker === worker) return { share: true };
  if (compiling) return compiling.module.then((module) => (module ? (sharedInits++, { module, share: false }) : wasmModuleFor(worker)));
  compiledBy(worker);
  return { share: true };
}

/**
 * Starts `n` QuickJS sandbox workers at process start, before the server's own modules load
 * (issue 15: process start → first 2xx): each loads its modules, compiles the QuickJS
 * WebAssembly and makes one interpreter for `memoryBytes` while the main thread is still
 * importing, instead of after boot. The runtime's engine takes them as its first workers;
 * dropPrestartedWorkers ends any it did not take (another engine, fewer workers). The first
 * one's compiled module is shared with the workers started later (see above), once it has
 * made its interpreter — so they do not take the CPU from it meanwhile.
 */
export function prestartSandboxWorkers(n: number, memoryBytes: number): void {
  for (let i = 0; i < n; i++) {
    const w = new Worker(workerEntry());
    const share = !sharedModule && !compiling;
    if (share) compiledBy(w);
    w.postMessage({ t: "prestart", memoryBytes, share });
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
