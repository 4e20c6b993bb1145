import { afterAll, describe, expect, test } from "bun:test";
import { CPU_READING_MAX_AGE_MS, slice, SHORT_STRETCH_MS, type CallClock } from "./slices";

// Every read of the thread's CPU clock (getrusage, a system call) counted.
const threadCpuUsage = process.threadCpuUsage;
const cpuClockReads = { count: 0 };
process.threadCpuUsage = ((prev?: NodeJS.CpuUsage) => (cpuClockReads.count++, threadCpuUsage.call(process, prev))) as typeof process.threadCpuUsage;
afterAll(() => void (process.threadCpuUsage = threadCpuUsage));

/** How far a call's threadCpuMs may exceed its slices' wall time: the thread clock advances in jumps of up to a scheduler tick (see CPU_READING_MAX_AGE_MS). */
const CLOCK_JUMP_MS = 12;

const call = (id: number): CallClock => ({ id, cpuMs: 0, budgetMs: 10_000, threadCpuMs: 0 });

/** Busy CPU for `ms` of wall time. */
function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {}
}

/** The thread asleep (no CPU) for `ms`, as when it is descheduled on a crowded machine. */
function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

describe("slice CPU accounting", () => {
  test("short slices do not read the thread's CPU clock each time (issue 15: a system call per read)", () => {
    const c = call(1);
    slice(c, () => {}); // (a first read, whatever the module's state)
    const before = cpuClockReads.count;
    const started = performance.now();
    let long = 0;
    for (let i = 0; i < 2000; i++) {
      const t = performance.now();
      slice(c, () => {});
      if (performance.now() - t >= SHORT_STRETCH_MS) long++; // (descheduled mid-slice: read once at its end)
    }
    const elapsed = performance.now() - started;
    const reads = cpuClockReads.count - before;
    // At most one read per CPU_READING_MAX_AGE_MS at a slice's start, and one at the end of each long slice.
    expect(reads).toBeLessThanOrEqual(Math.ceil(elapsed / CPU_READING_MAX_AGE_MS) + 1 + long);
    expect(reads).toBeLessThan(2000); // the code before read it twice per slice: 4,000 times
    expect(c.threadCpuMs).toBeGreaterThan(0);
    expect(c.threadCpuMs).toBeLessThanOrEqual(c.cpuMs + CLOCK_JUMP_MS);
  });

  test("a long busy slice is charged about its CPU time", () => {
    const c = call(2);
    slice(c, () => spin(30));
    expect(c.cpuMs).toBeGreaterThanOrEqual(30);
    // CPU ≤ wall, give or take a jump of the coarse thread clock and CPU_READING_MAX_AGE_MS of host work before the slice.
    expect(c.threadCpuMs).toBeLessThanOrEqual(c.cpuMs + CLOCK_JUMP_MS);
    expect(c.threadCpuMs).toBeGreaterThan(15); // (a busy loop: most of the wall time is CPU even on a shared machine)
  });

  test("a long slice in which the thread did not run is charged its CPU, not its wall time", () => {
    const c = call(3);
    slice(c, () => sleep(40));
    expect(c.cpuMs).toBeGreaterThanOrEqual(39); // the budget clock counts wall time
    expect(c.threadCpuMs).toBeLessThan(10); // the CPU clock does not count the 40 ms asleep
  });

  test("a nested slice's time is its own, the outer call keeps the rest", () => {
    const outer = call(4);
    const inner = call(5);
    slice(outer, () => {
      spin(10);
      slice(inner, () => sleep(30));
      spin(10);
    });
    expect(inner.cpuMs).toBeGreaterThanOrEqual(29);
    expect(inner.threadCpuMs).toBeLessThan(10);
    expect(outer.cpuMs).toBeGreaterThanOrEqual(20);
    expect(outer.cpuMs).toBeLessThan(29); // the inner slice's 30 ms are not the outer call's
    expect(outer.threadCpuMs).toBeGreaterThan(5);
    expect(outer.threadCpuMs).toBeLessThanOrEqual(outer.cpuMs + CLOCK_JUMP_MS);
  });
});

describe("slice CPU accounting under a coarse thread clock", () => {
  // getrusage(RUSAGE_THREAD) of a running thread advances only when the kernel updates its
  // runtime (a scheduler tick, 4 ms at HZ=250, or a context switch): read twice 0.3 ms apart
  // it usually has not moved, and then jumps by milliseconds. A stretch that sees a jump must
  // be charged all of it, or a guest whose work comes in stretches just over SHORT_STRETCH_MS
  // is charged a fraction of its CPU and stays in the light lane.
  test("back-to-back busy slices just over SHORT_STRETCH_MS are charged about the CPU they burn", () => {
    const c = call(6);
    const before = threadCpuUsage.call(process);
    for (let i = 0; i < 400; i++) slice(c, () => spin(SHORT_STRETCH_MS * 1.4));
    const used = threadCpuUsage.call(process, before);
    const real = (used.user + used.system) / 1000;
    expect(real).toBeGreaterThan(40); // (a busy loop: even on a crowded machine most of its 140 ms of wall time)
    expect(c.threadCpuMs).toBeGreaterThan(real * 0.6);
    expect(c.threadCpuMs).toBeLessThan(real + 10);
  });
});
