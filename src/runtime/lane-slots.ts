/**
 * The workers of one engine, grouped by lane (lanes.ts). Both engines keep their worker
 * threads / sidecar processes here: `pick(lane)` returns the least-loaded worker of the
 * lane (the load worker is started on first use), and a dead worker is replaced by one
 * serving the same lane.
 */
import { effectiveLane, laneNice, laneSizes, type Lane, type LaneSizes } from "./lanes";

/** What LaneSlots needs of a worker. */
export interface LaneSlot {
  lane: Lane;
  readonly instances: Set<number>;
  readonly pending: Map<number, unknown>;
}

export class LaneSlots<S extends LaneSlot> {
  slots: S[] = [];
  readonly sizes: LaneSizes;

  /**
   * `spawn(lane, nice)` starts a worker for `lane` at OS priority `nice` (laneNice). The
   * workers of the lanes in `defer` are not started here but by `startDeferred()` (or, one,
   * by the lane's first `pick`).
   */
  constructor(workers: number, private spawn: (lane: Lane, nice: number) => S, defer: readonly ("light" | "heavy")[] = []) {
    this.sizes = laneSizes(workers);
    this.deferred = new Set(defer);
    for (const lane of ["light", "heavy"] as const) if (!this.deferred.has(lane)) this.fill(lane);
  }

  private deferred: Set<"light" | "heavy">;

  /** Starts the deferred lanes' workers (up to each lane's size, counting any started since). */
  startDeferred(): void {
    for (const lane of this.deferred) this.fill(lane);
    this.deferred.clear();
  }

  private fill(lane: "light" | "heavy"): void {
    let have = 0;
    for (const s of this.slots) if (s.lane === lane) have++;
    for (let i = have; i < this.sizes[lane]; i++) this.slots.push(this.make(lane));
  }

  /** Workers that run calls (the load worker is not counted). */
  callWorkers(): number {
    return this.sizes.light + this.sizes.heavy;
  }

  /** The least-loaded worker serving `lane`. */
  pick(lane: Lane = "light"): S {
    const want = effectiveLane(lane, this.sizes);
    let best: S | undefined;
    for (const s of this.slots) {
      if (s.lane !== want) continue;
      if (!best || s.instances.size + s.pending.size < best.instances.size + best.pending.size) best = s;
    }
    if (best) return best;
    const made = this.make(want);
    this.slots.push(made);
    return made;
  }

  /** Puts `fresh` where `dead` was (same lane). False if `dead` is no longer a slot. */
  replace(dead: S): boolean {
    const i = this.slots.indexOf(dead);
    if (i < 0) return false;
    this.slots[i] = this.make(dead.lane);
    return true;
  }

  private make(lane: Lane): S {
    const s = this.spawn(lane, laneNice(lane, this.sizes));
    s.lane = lane;
    return s;
  }
}
