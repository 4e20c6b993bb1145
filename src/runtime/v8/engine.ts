/**
 * Host side: the V8 engine — isolated-vm isolates in a small pool of Node >= 24 sidecar
 * processes, behind the same Engine interface as QuickJS. Routes calls and host
 * operations (kv, egress stay in this process), restarts a sidecar that dies (its
 * in-flight calls fail as crashed) and runs the host watchdog: a call past its wall
 * deadline plus grace kills its sidecar (the other calls on it fail as `worker_restarted`,
 * which the runtime re-runs elsewhere when safe). CPU and memory are enforced inside the
 * sidecar. Sidecars are grouped in lanes (light / heavy / load, see lanes.ts).
 */
import type { CallBridge, Engine, EngineFactory, EngineFactoryOptions, EngineInstance, EngineLoadOptions } from "../engine";
import type { BackendDescription, GuestRequest, GuestResponse, GuestStreamResponse, Limits, ScheduledResult } from "../types";
import { failure } from "../failures";
import { acceptHead, acceptLogs, acceptResponse, acceptScheduled, type RawGuestResponse, type RawStreamChunk } from "../guest-values";
import { openGuestStream } from "../stream-body";
import { acceptLoad } from "../load-reply";
import type { FromSidecar, ToSidecar } from "./protocol";
import { probeV8, type NodeRuntime, type ProbeOptions } from "./probe";
import { SidecarSlot, type HostMessage, type V8Prelude } from "./sidecar-slot";
import { writeSidecar } from "./sources";
import { LaneSlots } from "../lane-slots";

const WALL_GRACE_MS = 250;
const TICK_MS = 20;

/** The V8 engine factory; throws one clear Error when Node >= 24 + isolated-vm are missing. `extra.prelude`: another guest prelude (benches). */
export function v8Engine(opts: ProbeOptions = {}, extra: { prelude?: V8Prelude } = {}): EngineFactory {
  return (f) => {
    const probe = probeV8(opts);
    if (!probe.ok) throw new Error(probe.error);
    return new V8Engine(f, probe.runtime, extra.prelude);
  };
}

class V8Engine implements Engine {
  readonly name = "v8";
  private lanes: LaneSlots<SidecarSlot>;
  readonly handles = new Map<number, V8Handle>();
  private nextId = 1;
  private nextInst = 1;
  private timer: ReturnType<typeof setInterval>;
  private closed = false;
  private files = writeSidecar();

  constructor(private opts: EngineFactoryOptions, private node: NodeRuntime, private prelude?: V8Prelude) {
    this.lanes = new LaneSlots(opts.workers, (_lane, nice) => this.spawn(nice), opts.deferHeavy ? ["heavy"] : []);
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
  /** Always 0: a killed sidecar gets SIGKILL, which ends the process with no further guest code. */
  zombies(): number {
    return 0;
  }

  watchdogKills(): number {
    return this.kills;
  }

  id(): number {
    return this.nextId++;
  }

  private spawn(nice: number): SidecarSlot {
    return new SidecarSlot(
      { node: this.node.node, entry: this.files.entry, env: this.node.env, memoryBytes: this.opts.memoryBytes, nice, prelude: this.prelude },
      (slot, m, bytes) => this.onHost(slot, m, bytes),
      (slot) => this.onDeath(slot),
    );
  }

  private onDeath(slot: SidecarSlot): void {
    for (const inst of slot.instances) this.handles.get(inst)?.markDead();
    if (!this.closed) this.lanes.replace(slot);
  }

  private onHost(slot: SidecarSlot, m: HostMessage, bytes?: Uint8Array): void {
    const bridge = this.handles.get(m.inst)?.bridges.get(m.call);
    if (!bridge) return slot.post({ t: "host-result", hid: m.hid, ok: false, error: "the call has ended" });
    bridge.call(m.op, m.args, bytes).then(
      (r) => slot.post({ t: "host-result", hid: m.hid, ok: true, json: r.json }, r.bytes),
      (e) => slot.post({ t: "host-result", hid: m.hid, ok: false, error: e instanceof Error ? e.message : String(e) }),
    );
  }

  /** The host watchdog: a sidecar that does not answer by the wall deadline is killed. */
  private tick(): void {
    const now = Date.now();
    for (const slot of this.lanes.slots) {
      if (slot.dead) continue;
      for (const [id, p] of slot.pending) {
        if (now > p.killAt) {
          this.kills++;
          slot.kill("wall_timeout", "The call exceeded its wall-clock limit (the V8 sidecar was stopped by the watchdog).", id);
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
    const msg: ToSidecar = {
      t: "load", id, inst, code: o.ref.code, limits: o.limits,
      config: { agentId: config.agentId, env: config.env ?? {}, secrets: config.secrets.map((s) => s.name), ...(config.dispatch ? { dispatch: config.dispatch } : {}) },
    };
    slot.instances.add(inst);
    const { m } = await slot.request(id, msg, Date.now() + o.limits.wallMs + WALL_GRACE_MS).catch((e) => {
      slot.instances.delete(inst);
      throw e;
    });
    const { description, memoryBytes } = acceptLoad(
      m,
      () => slot.instances.delete(inst),
      () => slot.post({ t: "dispose", inst }),
    );
    const h = new V8Handle(this, slot, inst, description, memoryBytes, o.limits, o.bridge);
    this.handles.set(inst, h);
    return h;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    for (const s of this.lanes.slots) s.kill("crashed", "The sandbox runtime is closing.");
    this.lanes.slots = [];
    this.files.cleanup();
  }
}

class V8Handle implements EngineInstance {
  alive = true;
  readonly bridges = new Map<number, CallBridge>();

  constructor(
    private engine: V8Engine,
    private slot: SidecarSlot,
    private inst: number,
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
   * One request to the sidecar for this instance. `keep`: the call may stay open after the
   * reply (a streamed body), so its bridge is left registered; the caller removes it.
   */
  private async call(make: (id: number) => ToSidecar, bytes?: Uint8Array, bridge?: CallBridge, keep?: { id: number; killAt: number }): Promise<{ m: FromSidecar; bytes?: Uint8Array }> {
    if (!this.alive) throw failure("worker_restarted", "The sandbox instance is gone.");
    const id = keep?.id ?? this.engine.id();
    this.bridges.set(id, bridge ?? this.bridge());
    let ok = false;
    try {
      const r = await this.request(id, make(id), keep?.killAt ?? Date.now() + this.limits.wallMs + WALL_GRACE_MS, bytes);
      ok = true;
      return r;
    } finally {
      if (!keep || !ok) this.bridges.delete(id);
    }
  }

  /** A request on the sidecar, its reply's `dropped` honoured and a failure thrown as the AppError it names. */
  private async request(id: number, msg: ToSidecar, killAt: number, bytes?: Uint8Array): Promise<{ m: FromSidecar; bytes?: Uint8Array }> {
    const r = await this.slot.request(id, msg, killAt, bytes);
    const m = r.m;
    if ((m.t === "failed" || m.t === "response" || m.t === "scheduled-done" || m.t === "chunk") && m.dropped) this.dispose();
    if (m.t === "failed") throw failure(m.reason, m.message, { logs: acceptLogs(m.logs, this.limits) });
    return r;
  }

  private fetchMessage(req: GuestRequest, stream: boolean): (id: number) => ToSidecar {
    return (id) => ({ t: "fetch", id, inst: this.inst, req: { method: req.method, url: req.url, headers: req.headers }, ...(stream ? { stream } : {}) });
  }

  /** A fetch reply as the validation point takes it. */
  private rawOf(r: { m: FromSidecar; bytes?: Uint8Array }): RawGuestResponse {
    const m = r.m;
    if (m.t !== "response") throw failure("crashed", "unexpected reply");
    this.memoryBytes = m.memoryBytes;
    return { meta: m.meta, problem: m.problem, body: r.bytes ?? new Uint8Array(0), logs: m.logs, cpuMs: m.cpuMs, wallMs: m.wallMs };
  }

  /** The guest's value through the host's validation point; a malformed one recycles the isolate (its globals may be poisoned). */
  private accept<T>(check: () => T): T {
    try {
      return check();
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  async fetch(req: GuestRequest, bridge?: CallBridge): Promise<GuestResponse> {
    const r = await this.call(this.fetchMessage(req, false), req.body ?? undefined, bridge);
    return this.accept(() => acceptResponse(this.rawOf(r), this.limits));
  }

  async fetchStream(req: GuestRequest, bridge?: CallBridge): Promise<GuestResponse | GuestStreamResponse> {
    const startedAt = Date.now();
    const keep = { id: this.engine.id(), killAt: startedAt + this.limits.wallMs + WALL_GRACE_MS };
    const r = await this.call(this.fetchMessage(req, true), req.body ?? undefined, bridge, keep);
    const call = keep.id;
    const step = async (msg: (id: number) => ToSidecar): Promise<RawStreamChunk> => {
      if (!this.alive) throw failure("crashed", "The sandbox instance is gone.");
      const id = this.engine.id();
      const { m, bytes } = await this.request(id, msg(id), keep.killAt);
      if (m.t !== "chunk") throw failure("crashed", "unexpected reply");
      this.memoryBytes = m.memoryBytes;
      return { ...m, body: m.kind === "chunk" ? (bytes ?? new Uint8Array(0)) : undefined };
    };
    return openGuestStream(
      () => this.accept(() => acceptHead(this.rawOf(r), this.limits)),
      {
        pull: () => step((id) => ({ t: "pull", id, inst: this.inst, call })),
        cancel: (reason) => step((id) => ({ t: "cancel", id, inst: this.inst, call, reason })),
      },
      this.limits,
      startedAt,
      () => this.bridges.delete(call),
    );
  }

  async scheduled(bridge?: CallBridge): Promise<ScheduledResult> {
    const { m } = await this.call((id) => ({ t: "scheduled", id, inst: this.inst }), undefined, bridge);
    if (m.t !== "scheduled-done") throw failure("crashed", "unexpected reply");
    return acceptScheduled(m.result, this.limits);
  }

  dispose(): void {
    if (!this.alive) return;
    this.markDead();
    this.slot.instances.delete(this.inst);
    this.slot.post({ t: "dispose", inst: this.inst });
  }
}
