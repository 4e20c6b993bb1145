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
 * Resolves once process `pid` has used under 5% of a CPU over 250 ms (waits at most 5 s): a
 * server whose load just stopped still runs its after-load work (a GC, buffered writes, WAL
 * checkpoints), which the next server measured would share the machine with.
 */
export async function settled(pid: number): Promise<void> {
  for (let i = 0; i < 20; i++) {
    const before = processCpuSeconds(pid);
    await Bun.sleep(250);
    if (!((processCpuSeconds(pid) - before) / 0.25 >= 0.05)) return;
  }
}

/** The thread groups CPU is split into: the main thread, threads named "Worker" (Bun's Worker threads: cantrip's sandbox workers), the rest (JIT, GC, I/O helpers). */
type Group = "main" | "workers" | "other";

/**
 * Calls `each(tid, group, stat, name)` for every thread of `pid` (its /proc `stat` line read,
 * and the thread's name from it);
 * false when the process is gone. A thread that ends meanwhile is skipped, and so is one
 * whose `each` throws (its file vanished between two reads).
 */
function forEachThread(pid: number, each: (tid: string, group: Group, stat: string, name: string) => void): boolean {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return false;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      each(tid, tid === String(pid) ? "main" : name === "Worker" ? "workers" : "other", stat, name);
    } catch {} // a thread that ended meanwhile
  }
  return true;
}

/** CPU seconds so far of a process's threads, split by Group. */
export function threadCpuSeconds(pid: number): { main: number; workers: number; other: number } {
  const out = { main: 0, workers: 0, other: 0 };
  if (!forEachThread(pid, (_tid, group, stat) => (out[group] += statSeconds(stat)))) return { main: NaN, workers: NaN, other: NaN };
  return out;
}

/**
 * Nanosecond-precise CPU time of a process's threads so far, in milliseconds, split by Group,
 * plus the main thread's time spent runnable but waiting for a CPU (`mainWaitMs`: what other
 * load on the machine cost it). Read from each thread's /proc/PID/task/TID/schedstat (run time
 * and run-queue wait, in ns; Linux with schedstats); NaN where that is missing. Threads that
 * already ended are not counted.
 */
export function threadCpuMs(pid: number): { main: number; workers: number; other: number; mainWaitMs: number } {
  const out = { main: 0, workers: 0, other: 0, mainWaitMs: 0 };
  const read = forEachThread(pid, (tid, group) => {
    const [runNs, waitNs] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").trim().split(" ").map(Number);
    out[group] += runNs! / 1e6;
    if (group === "main") out.mainWaitMs += waitNs! / 1e6;
  });
  return read ? out : { main: NaN, workers: NaN, other: NaN, mainWaitMs: NaN };
}

/**
 * CPU milliseconds so far of a process's "other" threads (neither its main thread nor a
 * sandbox Worker), summed by thread name (`comm`: JavaScriptCore's HeapHelper, JITWorker,
 * JSCWarmUp; mimalloc's mi-scavenger; …), from each thread's schedstat. Empty when the process
 * is gone; threads that already ended are not counted.
 */
export function otherThreadCpuMs(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  forEachThread(pid, (tid, group, _stat, name) => {
    if (group !== "other") return;
    const runNs = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    out.set(name, (out.get(name) ?? 0) + runNs / 1e6);
  });
  return out;
}

/**
 * The machine's CPU time so far, from the first line of /proc/stat, in USER_HZ ticks:
 * `idle` (idle + iowait) and `total` (every state). Differences of two readings give the
 * share of the machine's CPUs that stood idle meanwhile. NaN where /proc/stat is missing.
 */
export function machineTicks(): { idle: number; total: number } {
  try {
    const f = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    return { idle: f[3]! + f[4]!, total: f.reduce((a, b) => a + b, 0) };
  } catch {
    return { idle: NaN, total: NaN };
  }
}
