/**
 * One isolate (V8 heap capped at the agent's memory limit) holding one agent bundle. Guest
 * work runs off the sidecar's main thread (isolated-vm's async apply), one slice at a
 * time; each slice is attributed to a call and its CPU read from the isolate's own clock,
 * so the watchdog (checkCpu, ticked by the sidecar) can dispose the isolate mid-slice —
 * native builtin loops and promise jobs included. Any limit or engine error drops the
 * whole isolate; replies use the same reasons as the QuickJS engine.
 */
import { writeSync } from "node:fs";
import { Call } from "./call.mjs";
import { encodeFrame } from "./frames.mjs";

const MiB = 1024 * 1024;
const CANTRIP_MODULE = `const s = globalThis.__cantripSdk;
export const defineBackend = s.defineBackend, t = s.t, Type = s.t, HttpError = s.HttpError, route = s.route;
export default s;`;

export function classify(message) {
  if (/memory limit|out of memory|allocation failed/i.test(message)) return "memory_limit";
  if (/timed out/i.test(message)) return "cpu_timeout";
  return "crashed";
}

export const memoryMb = (bytes) => Math.max(8, Math.ceil(bytes / MiB));

/**
 * The guest TextDecoder's conversion on Node's TextDecoder (same contract as
 * src/runtime/web-bridge.ts TextDecoders.decode): bytes undefined → canonical name or null;
 * else the text, or null when fatal and invalid. flags: 1 fatal, 2 ignoreBOM, 4 stream.
 */
function textDecode(streams, id, label, flags, bytes) {
  if (bytes === undefined || bytes === null) {
    try { return new TextDecoder(String(label)).encoding; } catch { return null; }
  }
  const stream = (flags & 4) !== 0;
  let d = id > 0 ? streams.get(id) : undefined;
  if (!d) {
    try { d = new TextDecoder(String(label), { fatal: (flags & 1) !== 0, ignoreBOM: (flags & 2) !== 0 }); } catch { return null; }
  }
  if (id > 0) {
    streams.delete(id);
    if (stream) {
      streams.set(id, d);
      if (streams.size > 64) streams.delete(streams.keys().next().value);
    }
  }
  try { return d.decode(new Uint8Array(bytes), { stream }); } catch { if (id > 0) streams.delete(id); return null; }
}

export class Instance {
  dead = false;
  running = null;
  sliceCpu0 = 0n;
  memoryBytes = 0;
  calls = new Map();
  #queue = Promise.resolve();
  #n = 0;

  /** shared: { ivm, prelude, bootstrap, preludeCache }; hooks: { send(msg, bytes), host(inst, call, hid, op, args, bytes), dropped(inst) }. */
  /** Streaming TextDecoders of this isolate's guest, by guest-chosen id (bounded). */
  decoders = new Map();

  constructor(shared, mb, hooks) {
    const { ivm } = shared;
    this.ivm = ivm;
    this.mb = mb;
    this.hooks = hooks;
    this.iso = new ivm.Isolate({ memoryLimit: mb, onCatastrophicError: (m) => this.#catastrophe(m) });
    this.ctx = this.iso.createContextSync();
    const g = this.ctx.global;
    g.setSync("$log", new ivm.Callback((level, msg) => this.running?.log(level, msg)));
    g.setSync("$random", new ivm.Callback((n) => new Uint8Array(globalThis.crypto.getRandomValues(new Uint8Array(Math.min(65536, Math.max(0, n))))).buffer));
    g.setSync("$textDecode", new ivm.Callback((id, label, flags, bytes) => textDecode(this.decoders, id, label, flags, bytes)));
    g.setSync("$call", new ivm.Callback((hid, op, args, body) => this.#hostCall(hid, op, args, body)));
    g.setSync("$done", new ivm.Callback((id, ok, a, b) => this.#done(id, ok, a, b), { ignored: true }));
    this.iso.compileScriptSync(shared.bootstrap, { filename: "cantrip:v8-bootstrap.js" }).runSync(this.ctx);
    const prelude = this.iso.compileScriptSync(shared.prelude, { filename: "cantrip:prelude.js", cachedData: shared.preludeCache, produceCachedData: !shared.preludeCache });
    if (!shared.preludeCache && prelude.cachedData) shared.preludeCache = prelude.cachedData;
    prelude.runSync(this.ctx);
    this.cantrip = this.iso.compileModuleSync(CANTRIP_MODULE, { filename: "cantrip" });
    this.cantrip.instantiateSync(this.ctx, () => {
      throw new Error("cantrip imports nothing");
    });
    this.cantrip.evaluateSync();
    const ctl = this.ctx.evalSync("__cantripV8Finish()", { reference: true });
    this.ctl = Object.fromEntries(["configure", "setBackend", "start", "scheduled", "settle"].map((k) => [k, ctl.getSync(k, { reference: true })]));
  }

  async load(id, code, limits, config) {
    this.limits = limits;
    const call = this.#begin(id, "load");
    try {
      this.ctl.configure.applySync(undefined, [JSON.stringify(config)]);
      const mod = await this.iso.compileModule(code, { filename: `bundle-${id}.js` });
      mod.instantiateSync(this.ctx, (spec) => {
        if (spec === "cantrip") return this.cantrip;
        throw new Error(`Cannot import "${spec}": only "cantrip" is available in the sandbox`);
      });
      await this.#slice(call, () => mod.evaluate());
      const description = await this.#slice(call, () => this.ctl.setBackend.apply(undefined, [mod.namespace.derefInto()]));
      if (call.done) return;
      const s = this.iso.getHeapStatisticsSync();
      this.memoryBytes = s.total_heap_size + s.externally_allocated_size;
      call.finish(null, JSON.parse(description));
    } catch (e) {
      const msg = String(e?.message ?? e);
      const reason = classify(msg);
      this.#fail(call, reason === "crashed" ? "load_failed" : reason, reason === "memory_limit" ? this.#oomText() : `The bundle failed to load: ${msg}`);
    }
  }

  fetch(id, req, body) {
    const call = this.#begin(id, "fetch");
    const meta = JSON.stringify({ method: req.method, url: req.url, headers: req.headers });
    const b = body && body.byteLength ? new this.ivm.ExternalCopy(body.buffer).copyInto({ release: true }) : null;
    this.#slice(call, () => this.ctl.start.apply(undefined, [id, meta, b])).catch((e) => this.#engineError(call, e));
  }

  scheduled(id) {
    const call = this.#begin(id, "scheduled");
    this.#slice(call, () => this.ctl.scheduled.apply(undefined, [id])).catch((e) => this.#engineError(call, e));
  }

  /** Deliver a host result (kv, fetch, a timer) to the guest, as a slice of its call. */
  settle(call, hid, ok, json, bytes) {
    if (this.dead || call.done) return;
    const b = bytes && bytes.byteLength ? new this.ivm.ExternalCopy(bytes.buffer.byteLength === bytes.byteLength ? bytes.buffer : bytes.slice().buffer).copyInto({ release: true }) : undefined;
    this.#slice(call, () => this.ctl.settle.apply(undefined, [hid, ok, json, b])).catch((e) => this.#engineError(call, e));
  }

  /**
   * The watchdog: a slice past its call's CPU budget disposes the isolate. Read from this
   * thread while the slice runs, isolated-vm's clock is wall time since the slice (re)started
   * (thread CPU time only once it ends), and it keeps running while the guest waits for this
   * thread in a host callback — so allow a grace of half the budget (at least 25 ms). Finished
   * slices are charged their exact CPU time (see #slice).
   */
  checkCpu() {
    const c = this.running;
    if (!c || this.dead || c.done) return;
    const now = this.#cpuNow();
    const grace = Math.max(25, c.limits.cpuMs / 2);
    if (c.cpuNs + (now - this.sliceCpu0) > BigInt(Math.round(c.limits.cpuMs + grace)) * 1_000_000n) this.#fail(c, "cpu_timeout", `The call exceeded its CPU limit of ${c.limits.cpuMs} ms.`);
  }

  /** Throw the isolate away; every call still on it fails (the culprit was failed first). */
  drop() {
    if (this.dead) return;
    this.dead = true;
    for (const c of this.calls.values()) c.finish({ reason: "crashed", message: "The sandbox instance was dropped during this call." });
    try {
      this.iso.dispose();
    } catch {}
    this.hooks.dropped(this);
  }

  /**
   * V8 lost control of the isolate (e.g. one allocation larger than the heap left): the
   * process cannot be trusted any more. Tell the host which call caused it (memory_limit),
   * then die at once — the host restarts the sidecar and fails its other calls as crashed.
   */
  #catastrophe(m) {
    const oom = /memory/i.test(m);
    this.dead = true;
    try {
      // The callback may arrive after the slice's apply settled: every call still on this
      // isolate shared the heap that blew up.
      for (const c of this.calls.values()) {
        if (!c.done) writeSync(1, encodeFrame({ t: "failed", id: c.id, reason: oom ? "memory_limit" : "crashed", message: oom ? this.#oomText() : `The sandbox crashed: ${m}`, dropped: true, logs: c.logs }));
        c.done = true;
      }
      writeSync(2, `isolated-vm catastrophic error: ${m}; restarting the sidecar\n`);
    } finally {
      // Let the host read the replies above before the pipe closes, then die for good.
      setTimeout(() => process.kill(process.pid, "SIGKILL"), 100);
    }
  }

  #cpuNow() {
    try {
      return this.iso.cpuTime;
    } catch {
      return this.sliceCpu0;
    }
  }

  #begin(id, kind) {
    const call = new Call(id, this.limits, (failure, value) => this.#reply(call, kind, failure, value), (c) => {
      this.#fail(c, "wall_timeout", `The call exceeded its wall-clock limit of ${this.limits.wallMs} ms.`);
    });
    call.kind = kind;
    if (this.dead) call.finish({ reason: "crashed", message: "The sandbox instance is gone." });
    else this.calls.set(id, call);
    return call;
  }

  #reply(call, kind, failure, value) {
    this.calls.delete(call.id);
    const { send } = this.hooks;
    if (failure) return send({ t: "failed", id: call.id, reason: failure.reason, message: failure.message, dropped: true, logs: call.logs });
    if (kind === "load") return send({ t: "loaded", id: call.id, description: value, memoryBytes: this.memoryBytes });
    const dropped = this.#afterCall();
    if (kind === "scheduled") return send({ t: "scheduled-done", id: call.id, dropped, result: { ...value, logs: call.logs, cpuMs: call.cpuMs, wallMs: call.wallMs } });
    send({ t: "response", id: call.id, dropped, memoryBytes: this.memoryBytes, status: value.status, headers: value.headers, logs: call.logs, cpuMs: call.cpuMs, wallMs: call.wallMs }, value.body);
  }

  #fail(call, reason, message) {
    if (call.done) return;
    call.finish({ reason, message });
    this.drop();
  }

  #engineError(call, e) {
    const msg = String(e?.message ?? e);
    const reason = classify(msg);
    this.#fail(call, reason, reason === "memory_limit" ? this.#oomText() : `The sandbox crashed: ${msg}`);
  }

  #oomText() {
    return `The sandbox ran out of memory (limit ${this.limits.memoryBytes} bytes).`;
  }

  /** Runs fn (an async apply into the isolate) after the previous slice, attributed to call. */
  #slice(call, fn) {
    const run = async () => {
      if (this.dead || call.done) return undefined;
      this.running = call;
      this.sliceCpu0 = this.#cpuNow();
      try {
        return await fn();
      } finally {
        call.cpuNs += this.#cpuNow() - this.sliceCpu0;
        this.running = null;
        if (!call.done && call.cpuNs > BigInt(call.limits.cpuMs) * 1_000_000n) this.#fail(call, "cpu_timeout", `The call exceeded its CPU limit of ${call.limits.cpuMs} ms.`);
        if (!call.done && call.result) this.#complete(call);
      }
    };
    const p = this.#queue.then(run);
    this.#queue = p.catch(() => {});
    return p;
  }

  #hostCall(hid, op, args, body) {
    const call = this.running;
    if (!call || call.done) return;
    const settle = (ok, json, bytes) => this.settle(call, hid, ok, json, bytes);
    if (op === "sleep") return call.sleep(Number(args) || 0, settle);
    this.hooks.host(this, call, hid, op, args, body ? new Uint8Array(body) : undefined);
  }

  #done(id, ok, a, b) {
    const call = this.calls.get(id);
    if (!call || call.done) return;
    call.result = { ok, a, b };
    if (this.running !== call) this.#complete(call);
  }

  #complete(call) {
    const { ok, a, b } = call.result;
    const kind = call.kind;
    if (!ok) {
      const reason = classify(a);
      if (kind === "scheduled" && reason === "crashed") return call.finish(null, { ok: false, error: a });
      return this.#fail(call, reason, reason === "memory_limit" ? this.#oomText() : `The backend failed: ${a}`);
    }
    if (kind === "scheduled") return call.finish(null, { ok: true });
    const meta = JSON.parse(a);
    if (meta.bad) return this.#fail(call, "bad_response", `Bad response from the backend: ${meta.bad}`);
    const body = typeof b === "string" ? new TextEncoder().encode(b) : b ? new Uint8Array(b) : new Uint8Array(0);
    if (body.byteLength > call.limits.responseBytes) return this.#fail(call, "bad_response", `The response body (${body.byteLength} bytes) exceeds the limit of ${call.limits.responseBytes} bytes.`);
    if (meta.status < 500) return call.finish(null, { status: meta.status, headers: meta.headers, body });
    // A failed allocation surfaces as a RangeError the handler may turn into a 500: an
    // isolate that is at its cap when that happens ran out of memory (as in QuickJS).
    this.iso.getHeapStatistics().then((s) => {
      if (s.used_heap_size + s.externally_allocated_size >= this.mb * MiB * 0.9) this.#fail(call, "memory_limit", this.#oomText());
      else call.finish(null, { status: meta.status, headers: meta.headers, body });
    }, () => this.#fail(call, "memory_limit", this.#oomText()));
  }

  /** Refresh the heap figure now and then; recycle an isolate that nears its cap. */
  #afterCall() {
    if (++this.#n % 16 === 1) {
      this.iso.getHeapStatistics().then((s) => {
        this.memoryBytes = s.total_heap_size + s.externally_allocated_size;
      }, () => {});
    }
    if (this.memoryBytes > this.mb * MiB * 0.75) {
      this.drop();
      return true;
    }
    return false;
  }
}
