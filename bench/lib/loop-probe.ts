/**
 * Preloaded into a cantrip process by bench/stalls.ts (`BUN_OPTIONS=--preload …`): a 1 ms
 * interval timer on the main thread records each gap between its runs (wall ms) and the
 * main thread's own CPU time inside the gap (clock_gettime(CLOCK_THREAD_CPUTIME_ID), the
 * sandbox's thread clock: src/runtime/quickjs/thread-clock.ts), so a long turn of the event
 * loop spent working (a flush, a GC pause) is told apart from one the thread spent descheduled
 * on a crowded machine. (`process.threadCpuUsage`, used here before, moves only at a
 * scheduler tick while the thread runs — 4 ms steps at HZ=250 — so a turn counted as "more
 * than 3 ms of its own CPU" whenever a tick fell in it.) On SIGUSR2 it writes what it saw
 * since the last signal as JSON to `$CANTRIP_LOOP_PROBE_OUT` and starts again. Benchmark
 * tooling only.
 */
import { writeFileSync } from "node:fs";
import { threadClock } from "../../src/runtime/quickjs/thread-clock";

const out = process.env.CANTRIP_LOOP_PROBE_OUT;
let gaps: [wallMs: number, cpuMs: number][] = [];
let last = performance.now();
const clock = threadClock();
let lastCpu = clock.read();

setInterval(() => {
  const now = performance.now();
  const cpu = clock.read();
  gaps.push([now - last, cpu - lastCpu]);
  last = now;
  lastCpu = cpu;
}, 1).unref();

process.on("SIGUSR2", () => {
  if (out) {
    const busy = (ms: number) => gaps.filter((g) => g[1] > ms).length;
    writeFileSync(out, JSON.stringify({ precise: clock.precise, turns: gaps.length, cpuOver3: busy(3), cpuOver5: busy(5), cpuOver8: busy(8), cpuMax: Math.max(0, ...gaps.map((g) => g[1])), wallMax: Math.max(0, ...gaps.map((g) => g[0])) }));
  }
  gaps = [];
  last = performance.now();
  lastCpu = clock.read();
});
