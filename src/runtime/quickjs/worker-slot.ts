/**
 * Main thread: one sandbox worker and the requests in flight on it. Starts the worker
 * (the entry must stay src/runtime/worker.ts for the compiled executable), matches replies
 * to requests, and can be killed — every pending request then fails with a typed reason.
 * A kill cannot stop the thread at once: Bun's terminate() takes effect only when the
 * thread next runs JavaScript, and a guest inside one long native call of the QuickJS
 * WebAssembly reaches JavaScript only at its next interrupt poll (every 10,000 interpreter
 * ticks). So the thread is reniced to 19 before terminate(), and stays a "zombie" until
 * the worker's `close` event, which Bun fires when the thread has stopped running
 * (measured: the thread is gone from /proc/self/task a few ms later).
 */
import type { RuntimeFailureReason } from "../types";
import { BYSTANDER_MESSAGE, failure } from "../failures";
import type { Lane } from "../lanes";
import type { FromWorker, ToWorker } from "./protocol";
import { decodeHostRequest, decodeRead, decodeResponse, isHostRequest, isReadRecord, isWire, type ReadRecord, type WireResponse } from "./wire";

/** A reply to a request: a structured message, or a fetch call's response decoded from its wire string (with its bytes, when it had some). */
export type Reply = FromWorker | { t: "wire-response"; res: WireResponse; bytes?: Uint8Array };
import { spawnSandboxWorker, startGate } from "../spawn-worker";
import { setPriority } from "node:os";

/** The nice value a killed worker's thread gets (the lowest priority Linux has for ordinary threads). */
export const ZOMBIE_NICE = 19;

export interface Pending {
  resolve(m: Reply): void;
  reject(e: Error): void;
  inst: number;
  /** Epoch ms after which the watchdog kills the worker (wall deadline + grace). */
  killAt: number;
  /** The agent whose call this is (set for calls; a kill names its culprit's agent). */
  agent?: string;
}

export class WorkerSlot {
  readonly worker: Worker;
  readonly watch = new Float64Array(new SharedArrayBuffer(16));
  readonly pending = new Map<number, Pending>();
  readonly instances = new Set<number>();
  readonly ready: Promise<void>;
  dead = false;
  /** The lane this worker serves (lanes.ts); its replacement serves the same lane. */
  lane: Lane = "light";
  /**
   * Streamed calls open on this worker (engine.ts fetchStream): between two pulls no request
   * is pending, yet the call's timers still run guest slices, so the watchdog keeps watching.
   */
  openStreams = 0;
  /** True once the worker reported ready (used to back off respawning broken workers). */
  started = false;
  /** The worker's OS thread id as it reported it (0: unknown, e.g. not Linux or not started). */
  tid = 0;
  /** True once the worker's thread has stopped running (its `close` event). */
  threadEnded = false;
  /** The agent whose call caused the kill (the watchdog's culprit), if any. */
  culpritAgent: string | undefined;
  private failReady: (e: Error) => void = () => {};

  constructor(
    opts: { spares: number; lazySpares?: boolean; checksOnly?: boolean; memoryBytes: number; nice?: number; kvReadFile?: string },
    private onHost: (slot: WorkerSlot, m: Extract<FromWorker, { t: "host" }> | ReadRecord) => void,
    private onDeath: (slot: WorkerSlot) => void,
    private onThreadEnd: (slot: WorkerSlot) => void = () => {},
  ) {
    this.worker = spawnSandboxWorker();
    let markReady!: () => void;
    this.ready = new Promise((resolve, reject) => {
      markReady = resolve;
      this.failReady = reject;
    });
    this.ready.catch(() => {});
    const startup = setTimeout(() => this.kill("crashed", "The sandbox worker did not start within 15 s."), 15_000);
    startup.unref?.();
    this.worker.onmessage = (ev: MessageEvent<FromWorker | string>) => {
      const m = ev.data;
      if (isWire(m)) {
        if (isHostRequest(m)) return this.onHost(this, { t: "host", ...decodeHostRequest(m) });
        return isReadRecord(m) ? this.onHost(this, decodeRead(m)) : this.settle({ t: "wire-response", res: decodeResponse(m) });
      }
      if (m.t === "response-bytes") return this.settle({ t: "wire-response", res: decodeResponse(m.wire), bytes: m.body });
      if (m.t === "ready") return (clearTimeout(startup), (this.started = true), (this.tid = m.tid ?? 0), markReady());
      if (m.t === "init-failed") return (clearTimeout(startup), this.kill("crashed", `The sandbox worker failed to start: ${m.message}`));
      if (m.t === "host") return this.onHost(this, m);
      if (m.t === "compiled") return; // for spawn-worker.ts's own listener
      this.settle(m);
    };
    this.worker.addEventListener("close", () => {
      this.threadEnded = true;
      this.kill("crashed", "The sandbox worker exited.");
      this.onThreadEnd(this);
    });
    this.worker.onerror = (ev) => this.kill("crashed", `The sandbox worker failed: ${(ev as ErrorEvent).message ?? "error"}`);
    // The init waits while the process's first worker compiles its QuickJS module (spawn-worker.ts).
    const init = (g: { announce: boolean }) =>
      this.post({ t: "init", watch: this.watch.buffer as SharedArrayBuffer, spares: opts.spares, lazySpares: opts.lazySpares, checksOnly: opts.checksOnly, memoryBytes: opts.memoryBytes, nice: opts.nice ?? 0, kvReadFile: opts.kvReadFile, ...g });
    const gate = startGate(this.worker);
    if (gate instanceof Promise) void gate.then(init);
    else init(gate);
  }

  private settle(m: Reply & { t: "wire-response" | "loaded" | "scheduled-done" | "failed" | "chunk" }): void {
    const id = m.t === "wire-response" ? m.res.id : m.id;
    const p = this.pending.get(id);
    this.pending.delete(id);
    p?.resolve(m);
  }

  /** Posts a structured message, or a wire string (wire.ts). */
  post(m: ToWorker | string): void {
    if (!this.dead) this.worker.postMessage(m);
  }

  request(id: number, m: ToWorker | string, inst: number, killAt: number, agent?: string): Promise<Reply> {
    if (this.dead) return Promise.reject(failure("crashed", "The sandbox worker is gone."));
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, inst, killAt, agent });
      this.post(m);
    });
  }

  /**
   * Terminate the worker. The call that caused it gets `reason`; the others are bystanders
   * (`worker_restarted`, which the runtime may re-run elsewhere). Without a culprit every
   * pending call gets `reason`. The thread is reniced to ZOMBIE_NICE first (Linux; best
   * effort elsewhere), so whatever it still runs before terminate() takes effect yields
   * to live work.
   */
  kill(reason: RuntimeFailureReason, message: string, culprit?: number): void {
    if (this.dead) return;
    this.dead = true;
    if (culprit !== undefined) this.culpritAgent = this.pending.get(culprit)?.agent;
    if (this.tid > 0 && !this.threadEnded) {
      try {
        setPriority(this.tid, ZOMBIE_NICE);
      } catch {}
    }
    this.worker.terminate();
    this.failReady(failure(reason, message));
    for (const [id, p] of this.pending) {
      p.reject(id === culprit || culprit === undefined ? failure(reason, message) : failure("worker_restarted", BYSTANDER_MESSAGE));
    }
    this.pending.clear();
    this.onDeath(this);
  }
}
