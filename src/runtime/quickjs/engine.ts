/**
 * Main thread: the QuickJS engine — a small pool of sandbox workers, each holding many
 * instances, grouped in lanes (light / heavy / load, see lanes.ts). Routes calls and host
 * calls, and runs the watchdog: a worker whose guest slice overruns its CPU budget (seen
 * through shared memory) or whose call passes its wall deadline is terminated and
 * replaced; the culprit's call fails, the other calls on it fail as `worker_restarted`
 * (the runtime re-runs them elsewhere when safe) and its instances reload on demand.
 * A killed worker's thread may run on (at nice 19) until its guest reaches the next
 * interrupt poll (worker-slot.ts); such threads are counted as zombies until they end.
 */
import type { Engine, EngineFactory, EngineFactoryOptions, EngineInstance, EngineLoadOptions, CallBridge } from "../engine";
import type { BackendDescription, GuestRequest, GuestResponse, GuestStreamResponse, Limits, ScheduledResult } from "../types";
import { failure } from "../failures";
import { acceptHead, acceptLogs, acceptResponse, acceptScheduled, type RawGuestResponse, type RawStreamChunk } from "../guest-values";
import { openGuestStream } from "../stream-body";
import { acceptLoad } from "../load-reply";
import { WATCH_CALL, WATCH_DEADLINE, requestMeta, type FromWorker, type ToWorker } from "./protocol";
import { WorkerSlot, type Reply } from "./worker-slot";
import { bodyText, decodeRead, encodeFetch, encodeHostResult, rawResponseOf, type ReadRecord } from "./wire";
import { LaneSlots } from "../lane-slots";
import type { Lane } from "../lanes";

const CPU_GRACE_MS = 25;
const WALL_GRACE_MS = 150;
const TICK_MS = 10;
const SPARES_PER_WORKER = 2;

export const quickjsEngine: EngineFactory = (opts) => new QuickJsEngine(opts);

class QuickJsEngine implements Engine {
  readonly name = "quickjs";
  private lanes: LaneSlots<WorkerSlot>;
  readonly handles = new Map<number, QjsHandle>();
  private nextId = 1;
  private nextInst = 1;
  private timer: ReturnType<typeof setInterval>;
  private closed = false;
  private failedStarts = 0;

  constructor(private opts: EngineFactoryOptions) {
    this.lanes = new LaneSlots(opts.workers, (lane, nice) => this.spawn(lane, nice), opts.deferHeavy ? ["heavy"] : []);
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref?.();
  }

  workers(): number {
    return this.lanes.callWorkers();
  }

  startDeferred(): void {
    if (!this.closed) this.lanes.startDeferred();
  }

  /** Terminations by the watchdog since start (metrics). */
  private kills = 0;
  watchdogKills(): number {
    return this.kills;
  }

  /** Killed workers whose thread still runs (worker-slot.ts): the only ones the host cannot stop at once. */
  private zombieSlots = new Set<WorkerSlot>();
  zombies(agentId?: string): number {
    if (agentId === undefined) return this.zombieSlots.size;
    let n = 0;
    for (const s of this.zombieSlots) if (s.culpritAgent === agentId) n++;
    return n;
  }

  id(): number {
    return this.nextId++;
  }

  /**
   * Light workers keep spares from the start; heavy and load workers make their first spares
   * after their first load (issue 15, cold start: at process start only the interpreters the
   * first calls need are made, not six).
   */
  private spawn(lane: Lane, nice: number): WorkerSlot {
    return new WorkerSlot(
      { spares: SPARES_PER_WORKER, lazySpares: lane !== "light", checksOnly: lane === "load", memoryBytes: this.opts.memoryBytes, nice, kvReadFile: lane === "load" ? undefined : this.opts.kvReadFile },
      (slot, m) => this.onHost(slot, m),
      (slot) => this.onDeath(slot),
      (slot) => this.zombieSlots.delete(slot),
    );
  }

  private onDeath(slot: WorkerSlot): void {
    if (!slot.threadEnded) this.zombieSlots.add(slot);
    for (const inst of slot.instances) this.handles.get(inst)?.markDead();
    if (this.closed || !this.lanes.slots.includes(slot)) return;
    // A worker that never started (bad entry path, wasm missing) would fail again at once:
    // back off instead of respawning in a tight loop; calls meanwhile fail fast.
    if (!slot.started) {
      this.failedStarts++;
      const delay = Math.min(30_000, 250 * 2 ** Math.min(this.failedStarts, 7));
      setTimeout(() => {
        if (!this.closed) this.lanes.replace(slot);
      }, delay).unref?.();
      return;
    }
    this.failedStarts = 0;
    this.lanes.replace(slot);
  }

  private onHost(slot: WorkerSlot, m: Extract<FromWorker, { t: "host" }> | ReadRecord): void {
    if (m.t === "host" && m.reads) for (const r of m.reads) this.onHost(slot, decodeRead(r));
    const bridge = this.handles.get(m.inst)?.bridges.get(m.call);
    // A kv read the worker answered itself: into the call's journal, in its place (nothing to answer).
    if (m.t === "host-read") return bridge?.record?.(m.op, m.args, m.json);
    // Answers go as one string (wire.ts encodeHostResult) unless they carry bytes.
    if (!bridge) return slot.post(encodeHostResult(m.hid, false, "the call has ended"));
    bridge.call(m.op, m.args, m.bytes).then(
      (r) => slot.post(r.bytes ? { t: "host-result", hid: m.hid, ok: true, json: r.json, bytes: r.bytes } : encodeHostResult(m.hid, true, r.json)),
      (e) => slot.post(encodeHostResult(m.hid, false, e instanceof Error ? e.message : String(e))),
    );
  }

  /** The watchdog: only the main thread can stop a worker stuck inside one native call. */
  private tick(): void {
    const now = Date.now();
    for (const slot of this.lanes.slots) {
      if (slot.dead || (slot.pending.size === 0 && slot.openStreams === 0)) continue;
      const deadline = slot.watch[WATCH_DEADLINE]!;
      if (deadline > 0 && now > deadline + CPU_GRACE_MS) {
        this.kills++;
        slot.kill("cpu_timeout", "The call exceeded its CPU limit (stopped by the watchdog).", slot.watch[WATCH_CALL]);
        continue;
      }
      for (const [id, p] of slot.pending) {
        if (now > p.killAt) {
          this.kills++;
          slot.kill("wall_timeout", "The call exceeded its wall-clock limit (stopped by the watchdog).", id);
          break;
        }
      }
    }
  }

  async load(o: EngineLoadOptions): Promise<EngineInstance> {
    if (this.closed) throw failure("crashed", "The sandbox runtime is closed.");
    const slot = this.lanes.pick(o.lane);
    await slot.ready;
    const inst = this.nextInst++;
    const id = this.id();
    const { config } = o.ref;
    const msg: ToWorker = {
      t: "load", id, inst, code: o.ref.code, limits: o.limits,
      config: {
        agentId: config.agentId,
        env: config.env ?? {},
        secrets: config.secrets.map((s) => s.name),
        ...(config.dispatch ? { dispatch: config.dispatch } : {}),
        // A scratch run's kv is its world's, held by the main thread (bridges.ts): never the table.
        ...(this.opts.kvReadFile && !config.scratch ? { kvReads: true } : {}),
      },
    };
    slot.instances.add(inst);
    const m = await slot.request(id, msg, inst, Date.now() + o.limits.wallMs + WALL_GRACE_MS, config.agentId).catch((e) => {
      slot.instances.delete(inst);
      throw e;
    });
    const { description, memoryBytes } = acceptLoad(
      m,
      () => slot.instances.delete(inst),
      () => slot.post({ t: "dispose", inst }),
    );
    const h = new QjsHandle(this, slot, inst, config.agentId, description, memoryBytes, o.limits, o.bridge);
    this.handles.set(inst, h);
    return h;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    for (const s of this.lanes.slots) s.kill("crashed", "The sandbox runtime is closing.");
    this.lanes.slots = [];
  }
}

class QjsHandle implements EngineInstance {
  alive = true;
  readonly bridges = new Map<number, CallBridge>();

  constructor(
    private engine: QuickJsEngine,
    private slot: WorkerSlot,
    private inst: number,
    private agentId: string,
    readonly description: BackendDescription,
    public memoryBytes: number,
    private limits: Limits,
    private bridge: () => CallBridge,
  ) {}

  markDead(): void {
    this.alive = false;
    this.engine.handles.delete(this.inst);
  }

  /**
   * One request to the worker for this instance. `keep`: the call may stay open after the
   * reply (a streamed body), so its bridge is left registered; the caller removes it.
   */
  private async call(make: (id: number) => ToWorker | string, bridge?: CallBridge, keep?: { id: number; killAt: number }): Promise<Reply> {
    if (!this.alive) throw failure("worker_restarted", "The sandbox instance is gone.");
    const id = keep?.id ?? this.engine.id();
    this.bridges.set(id, bridge ?? this.bridge());
    let ok = false;
    try {
      // (The worker request inline, not through request(): one async step less per call.)
      const m = this.replied(await this.slot.request(id, make(id), this.inst, keep?.killAt ?? Date.now() + this.limits.wallMs + WALL_GRACE_MS, this.agentId));
      ok = true;
      return m;
    } finally {
      if (!keep || !ok) this.bridges.delete(id);
    }
  }

  /** A request on the worker, its reply's `dropped` honoured and a failure thrown as the AppError it names. */
  private async request(id: number, msg: ToWorker | string, killAt: number): Promise<Reply> {
    return this.replied(await this.slot.request(id, msg, this.inst, killAt, this.agentId));
  }

  /** A reply as request() returns it: the instance disposed if the worker dropped it; a failure thrown. */
  private replied(m: Reply): Reply {
    if ((m.t === "failed" || m.t === "scheduled-done" || m.t === "chunk") && m.dropped) this.dispose();
    if (m.t === "wire-response" && m.res.dropped) this.dispose();
    if (m.t === "failed") throw failure(m.reason, m.message, { logs: acceptLogs(m.logs, this.limits) });
    return m;
  }

  async fetch(req: GuestRequest, bridge?: CallBridge): Promise<GuestResponse> {
    const m = await this.call(this.fetchMessage(req, false, bridge), bridge);
    return this.accept(() => acceptResponse(this.rawOf(m), this.limits));
  }

  async fetchStream(req: GuestRequest, bridge?: CallBridge): Promise<GuestResponse | GuestStreamResponse> {
    const startedAt = Date.now();
    const keep = { id: this.engine.id(), killAt: startedAt + this.limits.wallMs + WALL_GRACE_MS };
    const m = await this.call(this.fetchMessage(req, true, bridge), bridge, keep);
    const call = keep.id;
    const step = async (msg: (id: number) => ToWorker): Promise<RawStreamChunk> => {
      if (!this.alive) throw failure("crashed", "The sandbox instance is gone.");
      const id = this.engine.id();
      const r = await this.request(id, msg(id), keep.killAt);
      if (r.t !== "chunk") throw failure("crashed", "unexpected reply");
      this.memoryBytes = r.memoryBytes;
      return r;
    };
    // The watchdog watches the slot while a stream is open (counted until the call is over).
    const slot = this.slot;
    slot.openStreams++;
    return openGuestStream(
      () => this.accept(() => acceptHead(this.rawOf(m), this.limits)),
      {
        pull: () => step((id) => ({ t: "pull", id, inst: this.inst, call })),
        cancel: (reason) => step((id) => ({ t: "cancel", id, inst: this.inst, call, reason })),
      },
      this.limits,
      startedAt,
      () => {
        slot.openStreams--;
        this.bridges.delete(call);
      },
    );
  }

  /**
   * The fetch request for the worker: one string (wire.ts), or a structured message when the
   * body is not UTF-8 text. A re-run (`bridge.replaying`) tells the worker to send its kv
   * reads through the bridge, whose journal answers what the first attempt read.
   */
  private fetchMessage(req: GuestRequest, stream: boolean, bridge: CallBridge | undefined): (id: number) => ToWorker | string {
    const text = bodyText(req.body);
    return (id) => {
      // The metadata text the prelude's dispatch reads (protocol.ts requestMeta: it also says whether the body is streamed).
      const meta = requestMeta(req.method, req.url, req.headers, id, stream);
      const wire = encodeFetch({ id, inst: this.inst, meta, text: text ?? "", bridgedReads: bridge?.replaying === true });
      return text === null ? ({ t: "fetch-bytes", wire, body: req.body! } satisfies ToWorker) : wire;
    };
  }

  /** A fetch reply as the validation point takes it. */
  private rawOf(m: Reply): RawGuestResponse {
    if (m.t !== "wire-response") throw failure("crashed", "unexpected reply");
    this.memoryBytes = m.res.memoryBytes;
    const raw = rawResponseOf(m.res);
    if (m.bytes) raw.body = m.bytes;
    return raw;
  }

  async scheduled(bridge?: CallBridge): Promise<ScheduledResult> {
    const m = await this.call((id) => ({ t: "scheduled", id, inst: this.inst }), bridge);
    if (m.t !== "scheduled-done") throw failure("crashed", "unexpected reply");
    return acceptScheduled(m.result, this.limits);
  }

  /** The guest's value through the host's validation point; a malformed one recycles the instance (its globals may be poisoned). */
  private accept<T>(check: () => T): T {
    try {
      return check();
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  dispose(): void {
    if (!this.alive) return;
    this.markDead();
    this.slot.instances.delete(this.inst);
    this.slot.post({ t: "dispose", inst: this.inst });
  }
}
