/**
 * Worker side: CPU accounting. Guest code only ever runs inside a slice (a call into the
 * interpreter or a pump of its job queue); each slice is charged to one call, and the
 * interrupt handler stops the guest when that call's CPU budget is spent. Time spent
 * awaiting host work is not in any slice, so it is not CPU. The slice deadline is also
 * published in shared memory for the main-thread watchdog, which kills the worker when a
 * slice overruns (a native builtin that never reaches the interrupt check).
 * Besides that budget clock (wall time of the slices), each call also gets the thread's
 * real CPU time in its slices (`threadCpuMs`, from the thread's CPU clock, thread-clock.ts):
 * that is what it reports as cpuMs and what the scheduler classifies agents by, because on a
 * crowded machine a slice's wall time can be several times the CPU it used. Reading that
 * clock is a system call, so a stretch of a slice shorter than SHORT_STRETCH_MS is charged its
 * wall time instead (see chargeStretch). No rule here charges a call less than the CPU its
 * slices used: that would let a tenant stay in the light lane while burning CPU.
 */
import { WATCH_CALL, WATCH_DEADLINE } from "./protocol";
import { threadClock } from "./thread-clock";

export interface CallClock {
  id: number;
  cpuMs: number;
  budgetMs: number;
  /** CPU time of this thread inside the call's slices (ms), as chargeStretch counts it. */
  threadCpuMs: number;
}

/** This thread's CPU clock (ms): clock_gettime's where it can be called, exact (thread-clock.ts). */
let threadCpu = threadClock().read;

/**
 * Replaces this thread's CPU clock (ms) and returns the one it replaced; the next stretch
 * reads the new one. For tests, which count its reads or give it getrusage's coarse steps.
 */
export function useThreadClock(read: () => number): () => number {
  const previous = threadCpu;
  threadCpu = read;
  cpuReadAt = -Infinity;
  return previous;
}

/**
 * A stretch of a slice (from its start, or from the end of a slice nested in it, to its end
 * or the start of a nested one) at least this long (wall ms) is charged the thread's CPU
 * time in it, read from the clock; a shorter one is charged its wall time, which is at least
 * the CPU it used and exceeds it by no more than the time the thread was descheduled within
 * it, under SHORT_STRETCH_MS. Issue 15: reading the clock is a system call (1.2–1.6 µs in a
 * tight loop on a 2-vCPU VM with page-table isolation), and reading it at both ends of every
 * slice cost the worker ~5 µs of its 37–42 µs per warm invoke call there.
 */
export const SHORT_STRETCH_MS = 0.25;

/**
 * How old (wall ms) the last clock reading may be to serve as the CPU at the start of a
 * stretch; an older one is read again when a stretch starts. A long stretch is charged
 * CPU now − that reading, so the host work in the reading's age, at most this much CPU, is
 * the most a long stretch can be overcharged.
 *
 * That charge is not capped at the stretch's wall time, for the platforms where the clock is
 * getrusage's (thread-clock.ts): that clock advances only at a scheduler tick or a context
 * switch, so two reads 0.3 ms apart usually show no change and then one shows a jump of
 * milliseconds, and consecutive charges add up to the CPU used only if each jump is charged
 * whole to the stretch that sees it (capped at wall time, back-to-back stretches just over
 * SHORT_STRETCH_MS were charged ~1/10 of their CPU: slices.test.ts, "coarse thread clock").
 */
export const CPU_READING_MAX_AGE_MS = 1;

let watch: Float64Array | null = null;
let running: CallClock | null = null;
/** performance.now() at which the running call's current stretch started. */
let sliceStart = 0;
/** The thread's CPU clock (ms) at or before sliceStart: a long stretch's CPU is measured from it. */
let stretchCpuStart = 0;
/** The last reading of the thread's CPU clock (ms), and performance.now() when it was taken. */
let cpuReading = 0;
let cpuReadAt = -Infinity;

function readCpu(now: number): number {
  cpuReading = threadCpu();
  cpuReadAt = now;
  return cpuReading;
}

/**
 * Charges `call` for the stretch from sliceStart to `now` (wall ms): cpuMs (the budget clock)
 * its wall time, threadCpuMs its CPU time (see SHORT_STRETCH_MS).
 */
function chargeStretch(call: CallClock, now: number): void {
  const wall = now - sliceStart;
  call.cpuMs += wall;
  call.threadCpuMs += wall < SHORT_STRETCH_MS ? wall : Math.max(0, readCpu(now) - stretchCpuStart);
}

/** Starts a stretch at `now`, with a clock reading no older than CPU_READING_MAX_AGE_MS. */
function startStretch(now: number): void {
  sliceStart = now;
  stretchCpuStart = now - cpuReadAt > CPU_READING_MAX_AGE_MS ? readCpu(now) : cpuReading;
}

/** Publishes slice deadlines in `buf` (a Float64Array's memory: WATCH_DEADLINE, WATCH_CALL of protocol.ts) for the main thread's watchdog. */
export function setWatch(buf: SharedArrayBuffer): void {
  watch = new Float64Array(buf);
}

/** The call whose slice is running on this thread, or null between slices. */
export function currentCall(): CallClock | null {
  return running;
}

/** For the interpreter's interrupt handler: true once the running call is over budget. */
export function overBudget(): boolean {
  return running !== null && running.cpuMs + (performance.now() - sliceStart) > running.budgetMs;
}

/**
 * Runs `fn` (guest code: a call into the interpreter or a pump of its jobs) as a slice of
 * `call`: its wall time goes to call.cpuMs (the budget overBudget() enforces) and its CPU to
 * call.threadCpuMs (chargeStretch), and its deadline is published for the watchdog. Slices
 * nest: a slice begun inside another pauses the outer call's clocks until it returns. Returns
 * what `fn` returns; rethrows what it throws, with the time charged either way.
 */
export function slice<T>(call: CallClock, fn: () => T): T {
  const outer = running;
  const started = performance.now();
  if (outer) chargeStretch(outer, started);
  running = call;
  startStretch(started);
  if (watch) {
    watch[WATCH_CALL] = call.id;
    watch[WATCH_DEADLINE] = Date.now() + Math.max(0, call.budgetMs - call.cpuMs);
  }
  try {
    return fn();
  } finally {
    const ended = performance.now();
    chargeStretch(call, ended);
    running = outer;
    if (outer) startStretch(ended);
    if (watch) {
      watch[WATCH_DEADLINE] = outer ? Date.now() + Math.max(0, outer.budgetMs - outer.cpuMs) : 0;
      watch[WATCH_CALL] = outer ? outer.id : 0;
    }
  }
}
