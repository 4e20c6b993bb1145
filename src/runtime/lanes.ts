/**
 * Worker lanes: how an engine's workers (QuickJS threads or V8 sidecars) are split so that
 * one kind of work cannot delay another. `light` runs calls of agents whose calls use
 * little CPU; `heavy` runs calls of agents the scheduler has seen burn CPU (and bundles
 * big enough that compiling them is one long native call); `load` is one extra worker,
 * started on first use, that runs load-checks (compile + describe) and nothing else.
 * Both engines and the scheduler (scheduler.ts) take their sizes from here.
 */

export type Lane = "light" | "heavy" | "load";

export interface LaneSizes {
  light: number;
  /** 0 when there is a single worker: heavy agents then share it with light ones. */
  heavy: number;
}

/**
 * Splits `workers` (CANTRIP_SANDBOX_WORKERS) into lanes: a quarter (at least one) for
 * heavy agents once there are two or more workers, the rest for light agents. The load
 * worker comes on top. Examples: 1 → 1 shared; 2 → 1 + 1; 4 → 3 + 1; 8 → 6 + 2.
 */
export function laneSizes(workers: number): LaneSizes {
  const n = Math.max(1, Math.floor(workers));
  const heavy = n >= 2 ? Math.max(1, Math.floor(n / 4)) : 0;
  return { light: n - heavy, heavy };
}

/**
 * OS scheduling priority (nice) of a lane's workers: heavy workers yield the CPU to light
 * workers and the main thread when cores are scarce (Linux: per thread for QuickJS
 * workers, per process for V8 sidecars; best effort elsewhere). The load worker keeps
 * normal priority: a compile's CPU limit is counted in wall time, and a niced compile on
 * a crowded machine would fail uploads that are fine.
 */
export function laneNice(lane: Lane, sizes: LaneSizes): number {
  return lane === "heavy" && sizes.heavy > 0 ? 10 : 0;
}

/** The lane whose workers actually run `lane` given the sizes (heavy falls back to light). */
export function effectiveLane(lane: Lane, sizes: LaneSizes): Lane {
  return lane === "heavy" && sizes.heavy === 0 ? "light" : lane;
}
