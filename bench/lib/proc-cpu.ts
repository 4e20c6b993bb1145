/**
 * CPU time of a process and of its threads, read from /proc (Linux; NaN elsewhere), for the
 * benches that report CPU per request next to their throughput.
 */
import { readdirSync, readFileSync } from "node:fs";

/** utime + stime of a /proc `stat` line, in seconds (USER_HZ is 100/s). */
function statSeconds(stat: string): number {
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** CPU seconds a process (all its threads) has used so far. */
export function processCpuSeconds(pid: number): number {
  try {
    return statSeconds(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return NaN;
  }
}

/**
 * CPU seconds so far of a process's threads, split: its main thread, its threads named
 * "Worker" (Bun's Worker threads: cantrip's sandbox workers) and the rest (JIT, GC, I/O helpers).
 */
export function threadCpuSeconds(pid: number): { main: number; workers: number; other: number } {
  const out = { main: 0, workers: 0, other: 0 };
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return { main: NaN, workers: NaN, other: NaN };
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const secs = statSeconds(stat);
      if (tid === String(pid)) out.main += secs;
      else if (name === "Worker") out.workers += secs;
      else out.other += secs;
    } catch {} // a thread that ended meanwhile
  }
  return out;
}

/**
 * Nanosecond-precise CPU time of a process's threads so far, in milliseconds, split as
 * threadCpuSeconds splits it, plus the main thread's time spent runnable but waiting for a
 * CPU (`mainWaitMs`: what other load on the machine cost it). Read from each thread's
 * /proc/PID/task/TID/schedstat (run time and run-queue wait, in ns; Linux with schedstats);
 * NaN where that is missing. Threads that already ended are not counted.
 */
export function threadCpuMs(pid: number): { main: number; workers: number; other: number; mainWaitMs: number } {
  const out = { main: 0, workers: 0, other: 0, mainWaitMs: 0 };
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return { main: NaN, workers: NaN, other: NaN, mainWaitMs: NaN };
  }
  for (const tid of tids) {
    try {
      const [runNs, waitNs] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").trim().split(" ").map(Number);
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const ms = runNs! / 1e6;
      if (tid === String(pid)) {
        out.main += ms;
        out.mainWaitMs += waitNs! / 1e6;
      } else if (name === "Worker") out.workers += ms;
      else out.other += ms;
    } catch {} // a thread that ended meanwhile
  }
  return out;
}
