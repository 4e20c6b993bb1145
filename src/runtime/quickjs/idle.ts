/**
 * Worker side: background work that blocks the thread for milliseconds — creating a spare
 * interpreter (~7 ms warm, most of it evaluating the prelude; far more while the WebAssembly
 * is not yet optimised) or a forced GC — runs only while no call is in flight on this worker
 * (issue 15), so it never stalls a call that is running or waiting for a host result. A
 * task may also name a deadline after which it runs even on a busy worker (the GC that hands
 * dropped instances' memory back: the sandbox's memory cap counts on it) and how long the
 * worker must have been idle first; after a load, idle time counts only once the call that
 * usually follows it (a deploy's first call, a few ms after its warm-up) has come and gone
 * (expectCall).
 */

/** How long the worker must have been idle before a task runs (ms): a burst's next call usually arrives sooner. */
const IDLE_DELAY_MS = 5;

let inFlight = 0;
/** When the last call ended (performance.now()); the worker is idle since then while inFlight is 0. */
let idleSince = 0;
const waiting: { task: () => void; queuedAt: number; due: number; idleMs: number }[] = [];
let timer: ReturnType<typeof setTimeout> | null = null;

/** Until when a call is expected (performance.now()); background work waits for it (expectCall). */
let expectUntil = 0;

/** A call (load, fetch, scheduled) started on this worker. */
export function callStarted(): void {
  inFlight++;
  expectUntil = 0;
}

/**
 * A call is likely soon — a load was just answered, and its instance's first call usually
 * follows within a few ms (a deploy's warm-up, a cold call) — so background work waits for
 * that call to start and end, or at most `ms`, before its idle time counts.
 */
export function expectCall(ms: number): void {
  expectUntil = performance.now() + ms;
}

/** A call ended; when it was the last one, waiting tasks run once the worker has been idle long enough. */
export function callEnded(): void {
  if (--inFlight === 0) {
    idleSince = performance.now();
    rearm();
  }
}

/** No call in flight and none expected now (expectCall). */
export function workerIdle(): boolean {
  return inFlight === 0 && performance.now() >= expectUntil;
}

/** Calls in flight on this worker. */
export function callsInFlight(): number {
  return inFlight;
}

/**
 * Runs `task` once the worker has been idle for `idleMs` (default IDLE_DELAY_MS; counted from
 * the later of the last call's end and this request), or after `maxDelayMs` (default: never
 * forced) whatever it is doing.
 */
export function whenIdle(task: () => void, maxDelayMs = Infinity, idleMs = IDLE_DELAY_MS): void {
  const now = performance.now();
  waiting.push({ task, queuedAt: now, due: now + maxDelayMs, idleMs });
  rearm();
}

/** whenIdle as a promise: resolves once the worker has been idle for `idleMs`. */
export function idle(idleMs = IDLE_DELAY_MS): Promise<void> {
  return new Promise((resolve) => whenIdle(resolve, Infinity, idleMs));
}

/** When `w` may run on an idle worker. */
const idleAt = (w: (typeof waiting)[number]) => Math.max(idleSince, w.queuedAt, expectUntil) + w.idleMs;

/** The next wake-up: the earliest idle time (when idle) or forced deadline (none while busy: callEnded() wakes us). */
function rearm(): void {
  if (waiting.length === 0) return;
  let at = Infinity;
  for (const w of waiting) at = Math.min(at, w.due, inFlight === 0 ? idleAt(w) : Infinity);
  if (Number.isFinite(at)) arm(Math.max(0, at - performance.now()));
}

let timerAt = 0;
function arm(ms: number): void {
  const at = performance.now() + ms;
  if (timer && timerAt <= at) return;
  if (timer) clearTimeout(timer);
  timerAt = at;
  timer = setTimeout(run, ms);
}

function run(): void {
  timer = null;
  const now = performance.now();
  const ready = waiting.filter((w) => (inFlight === 0 && idleAt(w) <= now) || w.due <= now);
  for (const w of ready) waiting.splice(waiting.indexOf(w), 1);
  for (const w of ready) w.task();
  rearm();
}
