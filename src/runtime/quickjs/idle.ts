/**
 * Worker side: background work that blocks the thread for milliseconds — creating a spare
 * interpreter (~7 ms, most of it evaluating the prelude) or a forced GC — runs only while
 * no call is in flight on this worker (issue 15), so it never stalls a call that is
 * running or waiting for a host result. A task may also name a deadline after which it runs
 * even on a busy worker (the GC that hands dropped instances' memory back: the sandbox's
 * memory cap counts on it).
 */

/** How long the worker must have been idle before a task runs (ms): a burst's next call usually arrives sooner. */
const IDLE_DELAY_MS = 5;

let inFlight = 0;
const waiting: { task: () => void; due: number }[] = [];
let timer: ReturnType<typeof setTimeout> | null = null;

/** A call (load, fetch, scheduled) started on this worker. */
export function callStarted(): void {
  inFlight++;
}

/** A call ended; when it was the last one, waiting tasks run after IDLE_DELAY_MS. */
export function callEnded(): void {
  if (--inFlight === 0) rearm();
}

/** Calls in flight on this worker. */
export function callsInFlight(): number {
  return inFlight;
}

/** Runs `task` once the worker is idle, or after `maxDelayMs` (default: never forced) whatever it is doing. */
export function whenIdle(task: () => void, maxDelayMs = Infinity): void {
  waiting.push({ task, due: performance.now() + maxDelayMs });
  rearm();
}

/** The next wake-up: soon when idle, else at the earliest forced deadline (none: callEnded() wakes us). */
function rearm(): void {
  if (waiting.length === 0) return;
  if (inFlight === 0) return arm(IDLE_DELAY_MS);
  const due = Math.min(...waiting.map((w) => w.due));
  if (Number.isFinite(due)) arm(Math.max(1, due - performance.now()));
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
  const ready = waiting.filter((w) => inFlight === 0 || w.due <= now);
  for (const w of ready) waiting.splice(waiting.indexOf(w), 1);
  for (const w of ready) w.task();
  rearm();
}
