/**
 * The calling thread's CPU time, for the sandbox worker's per-call accounting (slices.ts).
 *
 * `process.threadCpuUsage` is getrusage(RUSAGE_THREAD), and on Linux that reports the runtime
 * the kernel last recorded for the thread: while the thread runs it moves only at a scheduler
 * tick (every 4 ms at HZ=250) or a context switch (measured here: 61 distinct values in 200 ms
 * of a busy loop). CPU spent since the last tick shows up only when the thread next sleeps, and
 * a reading taken after that sleep already includes it: a guest computing a few ms between
 * awaits was charged 7–55% of its CPU and could stay in the light lane while burning it. POSIX
 * clock_gettime(CLOCK_THREAD_CPUTIME_ID) brings the runtime up to date first (Linux
 * `task_sched_runtime`), so it is exact to the nanosecond. Neither Bun nor Node exposes it, so
 * it is called through bun:ffi from the C library; both are system calls (~1.2–1.6 µs each on
 * a 2-vCPU VM with page-table isolation).
 */
import { dlopen, FFIType, ptr, read } from "bun:ffi";

/** A thread CPU clock: `read()` in milliseconds; `precise` when it is clock_gettime's. */
export interface ThreadClock {
  read: () => number;
  precise: boolean;
}

/** CLOCK_THREAD_CPUTIME_ID (Linux `<linux/time.h>`, macOS `<time.h>`). */
const CLOCK_ID: Partial<Record<NodeJS.Platform, number>> = { linux: 3, darwin: 16 };

/** Where the C library is found, tried in order (glibc, musl on x86-64 and arm64, macOS). */
const LIBC: Partial<Record<NodeJS.Platform, string[]>> = {
  linux: ["libc.so.6", "libc.musl-x86_64.so.1", "libc.musl-aarch64.so.1"],
  darwin: ["/usr/lib/libSystem.B.dylib"],
};

/**
 * The struct timespec clock_gettime writes, for every clock made on this thread (each read
 * writes then reads it synchronously). It lives as long as the module: a reader that kept only
 * ptr() of it, a plain number, let the garbage collector free the array, and every read then
 * wrote 16 bytes into memory reused by other objects (slices.test.ts, "writes only its own memory").
 */
const TIMESPEC = new Int32Array(4);

/** getrusage's clock (imprecise on Linux, see above), for platforms where clock_gettime cannot be reached. */
export function usageClock(): ThreadClock {
  return {
    read: () => {
      const u = process.threadCpuUsage();
      return (u.user + u.system) / 1000;
    },
    precise: false,
  };
}

/**
 * clock_gettime(CLOCK_THREAD_CPUTIME_ID) through the C library when it can be loaded and
 * answers, else getrusage's clock (imprecise as described above), else wall time where
 * neither exists. Each thread that reads it should make its own (a Worker loads the library
 * for itself).
 */
export function threadClock(): ThreadClock {
  const id = CLOCK_ID[process.platform];
  for (const name of LIBC[process.platform] ?? []) {
    try {
      const lib = dlopen(name, { clock_gettime: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 } });
      // struct timespec on the 64-bit little-endian platforms Bun runs on: tv_sec and tv_nsec,
      // 64 bits each, read as 32-bit halves (no BigInt per read; tv_nsec < 1e9). Read through
      // bun:ffi's `read`, not a typed array over the same memory: JavaScriptCore's optimizing
      // tiers do not see the foreign call write it and reuse the array's earlier values, so once
      // hot such a clock stood still (measured: charged 0 ms for 100 ms of CPU per round).
      const at = ptr(TIMESPEC);
      const gettime = lib.symbols.clock_gettime;
      if (id === undefined || gettime(id, at) !== 0) continue;
      // (It answered once for this clock id on this thread, so it cannot fail later: no check per read.)
      const now = () => (gettime(id, at), (read.u32(at, 0) + read.i32(at, 4) * 4294967296) * 1e3 + read.i32(at, 8) / 1e6);
      return { read: now, precise: true };
    } catch {
      // (not this name, or no FFI here: the next one, then getrusage)
    }
  }
  if (typeof process.threadCpuUsage === "function") return usageClock();
  return { read: () => performance.now(), precise: false };
}
