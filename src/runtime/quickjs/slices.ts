/**
 * Worker side: CPU accounting. Guest code only ever runs inside a slice (a call into the
 * interpreter or a pump of its job queue); each slice is charged to one call, and the
 * interrupt handler stops the guest when that call's CPU budget is spent. Time spent
 * awaiting host work is not in any slice, so it is not CPU. The slice deadline is also
 * published in shared memory for the main-thread watchdog, which kills the worker when a
 * slice overruns (a native builtin that never reaches the interrupt check).
 * Besides that budget clock (wall time of the slices), each call also gets the thread's
 * real CPU time in its slices (`threadCpuMs`, from getrusage per thread): that is what it
 * reports as cpuMs and what the scheduler classifies agents by, because on a crowded
 * machine a slice's wall time can be several times the CPU it used.
 */
import { WATCH_CALL, WATCH_DEADLINE } from "./protocol";

export interface CallClock {
  id: number;
  cpuMs: number;
  budgetMs: number;
  /** Real CPU time of this thread inside the call's slices (ms). */
  threadCpuMs: number;
}

const threadCpu: () => number =
  typeof process.threadCpuUsage === "function"
    ? () => {
        const u = process.threadCpuUsage();
        return (u.user + u.system) / 1000;
      }
    : () => performance.now();

let watch: Float64Array | null = null;
let running: CallClock | null = null;
let sliceStart = 0;
let sliceCpuStart = 0;

export function setWatch(buf: SharedArrayBuffer): void {
  watch = new Float64Array(buf);
}

export function currentCall(): CallClock | null {
  return running;
}

/** For the interpreter's interrupt handler: true once the running call is over budget. */
export function overBudget(): boolean {
  return running !== null && running.cpuMs + (performance.now() - sliceStart) > running.budgetMs;
}

export function slice<T>(call: CallClock, fn: () => T): T {
  const outer = running;
  const outerStart = sliceStart;
  const cpuNow = threadCpu();
  if (outer) {
    outer.cpuMs += performance.now() - outerStart;
    outer.threadCpuMs += cpuNow - sliceCpuStart;
  }
  running = call;
  sliceStart = performance.now();
  sliceCpuStart = cpuNow;
  if (watch) {
    watch[WATCH_CALL] = call.id;
    watch[WATCH_DEADLINE] = Date.now() + Math.max(0, call.budgetMs - call.cpuMs);
  }
  try {
    return fn();
  } finally {
    call.cpuMs += performance.now() - sliceStart;
    const cpuEnd = threadCpu();
    call.threadCpuMs += cpuEnd - sliceCpuStart;
    running = outer;
    sliceStart = performance.now();
    sliceCpuStart = cpuEnd;
    if (watch) {
      watch[WATCH_DEADLINE] = outer ? Date.now() + Math.max(0, outer.budgetMs - outer.cpuMs) : 0;
      watch[WATCH_CALL] = outer ? outer.id : 0;
    }
  }
}
