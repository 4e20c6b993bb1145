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
import { classify, memoryMb, metaSaysStream, peekStatus, textDecode } from "./values.mjs";

export { classify, memoryMb };

const MiB = 1024 * 1024;
const CANTRIP_MODULE = `const s = globalThis.__cantripSdk;
export const defineBackend = s.defineBackend, t = s.t, Type = s.t, HttpError = s.HttpError, route = s.route;
export default s;`;

/** CPU a housekeeping chore may use (cancelling an ended call's timers runs only shim code). */
const CHORE_CPU_MS = 50;

export class Instance {
  dead = false;
  running = null;
  sliceCpu0 = 0n;
  memoryBytes = 0;
  calls = new Map();
  #queue = Promise.resolve();
  #n = 0;

  /** shared: { ivm, prelude, sources, bootstrap, preludeCache }; hooks: { send(msg, bytes), host(inst, call, hid, op, args, bytes), dropped(inst) }. */
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
    g.setSync("$log", new ivm.Callback((level, msg, call) => this.#owner(call)?.log(level, msg)));
    g.setSync("$random", new ivm.Callback((n) => new Uint8Array(globalThis.crypto.getRandomValues(new Uint8Array(Math.min(65536, Math.max(0, n))))).buffer));
    g.setSync("$textDecode", new ivm.Callback((id, label, flags, bytes) => textDecode(this.decoders, id, label, flags, bytes)));
    g.setSync("$call", new ivm.Callback((hid, op, args, body, call) => this.#hostCall(hid, op, args, body, call)));
    g.setSync("$timer", new ivm.Callback((hid, id, ms) => this.#timer(hid, id, ms)));
    g.setSync("$clearTimer", new ivm.Callback((id) => {
      for (const c of this.calls.values()) if (c.clearTimer(id)) return;
    }));
    // The prelude's on-demand source texts (streams, the URL library): copied in only when the guest first needs one.
    g.setSync("$source", new ivm.Callback((name) => (name === "streams" || name === "libs" ? (shared.sources[name] ?? "") : "")));
    g.setSync("$done", new ivm.Callback((id, ok, a, b, problem) => this.#done(id, ok, a, b, problem), { ignored: true }));
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
    this.ctl = Object.fromEntries(["configure", "setBackend", "start", "scheduled", "settle", "cancel", "forget", "pull", "cancelBody"].map((k) => [k, ctl.getSync(k, { reference: true })]));
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
      // The host checks describe()'s text (src/runtime/guest-values.ts); it is not parsed here.
      call.finish(null, typeof description === "string" ? description : null);
    } catch (e) {
      const msg = String(e?.message ?? e);
      const reason = classify(msg);
      this.#fail(call, reason === "crashed" ? "load_failed" : reason, reason === "memory_limit" ? this.#oomText() : `The bundle failed to load: ${msg}`);
    }
  }

  fetch(id, req, body, stream) {
    const call = this.#begin(id, "fetch");
    call.streamAsked = stream === true;
    const meta = JSON.stringify({ method: req.method, url: req.url, headers: req.headers, call: id, ...(stream ? { stream: true } : {}) });
    const b = body && body.byteLength ? new this.ivm.ExternalCopy(body.buffer).copyInto({ release: true }) : null;
    this.#slice(call, () => this.ctl.start.apply(undefined, [id, meta, b])).catch((e) => this.#engineError(call, e));
  }

  /**
   * The next step of call `callId`'s open streamed body (request `req`): the guest's pull
   * reports through $done like a response; #complete answers with a "chunk" frame.
   */
  pull(req, callId) {
    const call = this.calls.get(callId);
    if (!call || call.kind !== "stream" || call.done) return this.hooks.send({ t: "failed", id: req, reason: "crashed", message: "The streamed call has ended.", dropped: this.dead, logs: [] });
    call.reqs.add(req);
    this.#slice(call, () => this.ctl.pull.apply(undefined, [callId])).catch((e) => this.#engineError(call, e));
  }

  /** The host stops reading call `callId`'s streamed body: cancel the guest's stream, end the call, answer request `req` with its end. */
  cancel(req, callId, reason) {
    const call = this.calls.get(callId);
    if (!call || call.kind !== "stream" || call.done) return this.hooks.send({ t: "chunk", id: req, kind: "end", dropped: this.dead, memoryBytes: this.memoryBytes });
    call.cancelled = true;
    call.reqs.add(req);
    this.#slice(call, () => this.ctl.cancelBody.apply(undefined, [callId, reason]))
      .then(() => call.finish(null, { kind: "end" }), (e) => this.#engineError(call, e));
  }

  scheduled(id) {
    const call = this.#begin(id, "scheduled");
    this.#slice(call, () => this.ctl.scheduled.apply(undefined, [id])).catch((e) => this.#engineError(call, e));
  }

  /**
   * Deliver a host result (kv, fetch, a timer) to the guest, as a slice of its call. A
   * result whose call has ended (its promise was shared with another call) settles in a
   * slice of a call still running here — the only code that can be waiting for it — or,
   * when none is, is forgotten without running guest code.
   */
  settle(owner, hid, ok, json, bytes) {
    if (this.dead) return;
    const b = bytes && bytes.byteLength ? new this.ivm.ExternalCopy(bytes.buffer.byteLength === bytes.byteLength ? bytes.buffer : bytes.slice().buffer).copyInto({ release: true }) : undefined;
    // The receiving call is chosen when the slice starts: the owner may end while it queues.
    let target = owner;
    const pick = () => (target = owner.done ? [...this.calls.values()].find((c) => !c.done) : owner);
    const orphan = () => this.ctl.forget.apply(undefined, [new this.ivm.ExternalCopy([hid]).copyInto()]);
    this.#slice(pick, () => this.ctl.settle.apply(undefined, [hid, ok, json, b]), orphan).catch((e) => target && this.#engineError(target, e));
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
   * then say so ("dying") and die at once — the host restarts the sidecar and re-runs its
   * other calls elsewhere (they are bystanders).
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
      writeSync(1, encodeFrame({ t: "dying" }));
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
    // A streamed call's end answers the requests still waiting on it (a pull, a cancel).
    const ids = call.kind === "stream" ? [...call.reqs] : [call.id];
    if (failure) {
      for (const id of ids) send({ t: "failed", id, reason: failure.reason, message: failure.message, dropped: true, logs: call.logs });
      return;
    }
    // Timers that outlive their call are cancelled in the guest too (only the setTimeout shim's handlers run).
    if (call.leftTimers.length && !this.dead) {
      const hids = call.leftTimers;
      this.#housekeep(() => this.ctl.cancel.apply(undefined, [new this.ivm.ExternalCopy(hids).copyInto()]));
    }
    if (kind === "load") return send({ t: "loaded", id: call.id, describeJson: value, memoryBytes: this.memoryBytes });
    const dropped = this.#afterCall();
    if (call.kind === "stream") {
      for (const id of ids) send({ t: "chunk", id, kind: value.kind, problem: value.problem, logs: call.logs, cpuMs: call.cpuMs, wallMs: call.wallMs, dropped, memoryBytes: this.memoryBytes });
      return;
    }
    if (kind === "scheduled") return send({ t: "scheduled-done", id: call.id, dropped, result: { ...value, logs: call.logs, cpuMs: call.cpuMs, wallMs: call.wallMs } });
    send({ t: "response", id: call.id, dropped, memoryBytes: this.memoryBytes, meta: value.meta, problem: value.problem, logs: call.logs, cpuMs: call.cpuMs, wallMs: call.wallMs }, value.body);
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

  /**
   * Runs fn (an async apply into the isolate) after the previous slice, attributed to call
   * (or to the call `call()` picks when the slice starts; if it picks none, `orphan` runs
   * as housekeeping instead).
   */
  #slice(pickCall, fn, orphan) {
    const run = async () => {
      if (this.dead) return undefined;
      const call = typeof pickCall === "function" ? pickCall() : pickCall;
      if (!call) return orphan ? orphan() : undefined;
      if (call.done) return undefined;
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

  /** The call a host request belongs to: the one the guest named (its ctx) while it runs, else the running slice's. */
  #owner(claimed) {
    const named = typeof claimed === "number" && claimed >= 0 ? this.calls.get(claimed) : undefined;
    if (named && !named.done) return named;
    const r = this.running;
    return r && !r.done && !r.chore ? r : null;
  }

  #hostCall(hid, op, args, body, claimed) {
    const call = this.#owner(claimed);
    if (!call) return;
    this.hooks.host(this, call, hid, op, args, body ? new Uint8Array(body) : undefined);
  }

  #timer(hid, id, ms) {
    const call = this.running;
    if (!call || call.done || call.chore) throw new Error("no active call");
    call.timer(hid, id, ms, (h) => this.settle(call, h, true, ""));
  }

  /**
   * Guest work that belongs to no call (forgetting or cancelling requests), between slices.
   * Only platform code should run, but a guest may have patched builtins it uses: it runs as
   * a "chore" with its own small CPU budget, policed by checkCpu like any slice.
   */
  #housekeep(fn) {
    const p = this.#queue.then(async () => {
      if (this.dead) return;
      const chore = { id: -1, chore: true, done: false, cpuNs: 0n, limits: { ...this.limits, cpuMs: Math.min(CHORE_CPU_MS, this.limits.cpuMs) }, log() {}, finish() { this.done = true; } };
      this.running = chore;
      this.sliceCpu0 = this.#cpuNow();
      try {
        await fn();
      } catch {
        this.drop();
      } finally {
        chore.cpuNs += this.#cpuNow() - this.sliceCpu0;
        this.running = null;
        if (!this.dead && chore.cpuNs > BigInt(chore.limits.cpuMs) * 1_000_000n) this.drop();
      }
    });
    this.#queue = p.catch(() => {});
  }

  #done(id, ok, a, b, problem) {
    const call = this.calls.get(id);
    if (!call || call.done) return;
    call.result = { ok, a, b, problem: typeof problem === "string" ? problem : undefined };
    if (this.running !== call) this.#complete(call);
  }

  #complete(call) {
    if (call.kind === "stream") return this.#step(call);
    const { ok, a, b } = call.result;
    const kind = call.kind;
    if (!ok) {
      const text = typeof a === "string" ? a : "an error that could not be described";
      const reason = classify(text);
      if (kind === "scheduled" && reason === "crashed") return call.finish(null, { ok: false, error: text });
      if (reason !== "crashed") return this.#fail(call, reason, reason === "memory_limit" ? this.#oomText() : `The backend failed: ${text}`);
      // The prelude's own error path failed (a replaced console, a poisoned global): no
      // response. The guest's error text goes to the call's log, not into the message.
      call.log("error", `The fetch handler failed without a response: ${text}`);
      return call.finish(null, { meta: null, problem: "the fetch handler failed without producing a response", body: new Uint8Array(0) });
    }
    if (kind === "scheduled") return call.finish(null, { ok: true });
    // `a` is the guest prelude's metadata text and `b` its body, copied out but not
    // interpreted: the host checks both (src/runtime/guest-values.ts).
    const out = { meta: typeof a === "string" ? a : null, problem: call.result.problem, body: new Uint8Array(0) };
    if (typeof b === "string") out.body = new TextEncoder().encode(b);
    else if (b instanceof ArrayBuffer) out.body = new Uint8Array(b);
    else if (b !== null && b !== undefined) out.problem ??= "the body is not bytes or text";
    if (out.body.byteLength > call.limits.responseBytes) {
      out.problem ??= `the body (${out.body.byteLength} bytes) exceeds the limit of ${call.limits.responseBytes} bytes`;
      out.body = new Uint8Array(0);
    }
    if (call.streamAsked && metaSaysStream(out.meta)) return this.#head(call, out);
    if (peekStatus(out.meta) < 500) return call.finish(null, out);
    // A failed allocation surfaces as a RangeError the handler may turn into a 500: an
    // isolate that is at its cap when that happens ran out of memory (as in QuickJS).
    this.iso.getHeapStatistics().then((s) => {
      if (s.used_heap_size + s.externally_allocated_size >= this.mb * MiB * 0.9) this.#fail(call, "memory_limit", this.#oomText());
      else call.finish(null, out);
    }, () => this.#fail(call, "memory_limit", this.#oomText()));
  }

  /**
   * The guest's head says a streamed body follows (and the host asked for one): answer the
   * fetch with the head and keep the call open — its timers, CPU and wall limits go on —
   * for pull()/cancel(). The host checks the same head (guest-values.ts).
   */
  #head(call, out) {
    call.result = null;
    call.kind = "stream";
    call.reqs = new Set();
    this.hooks.send({ t: "response", id: call.id, dropped: false, memoryBytes: this.memoryBytes, meta: out.meta, problem: out.problem, logs: call.logs, cpuMs: call.cpuMs, wallMs: call.wallMs });
  }

  /** A pull's outcome: a chunk for the waiting request, or the stream's end or error, which ends the call. */
  #step(call) {
    const { ok, a, b, problem } = call.result;
    call.result = null;
    if (call.cancelled) return; // cancel() ends the call and answers every waiting request
    if (!ok) {
      const text = typeof a === "string" ? a : "an error that could not be described";
      const reason = classify(text);
      if (reason !== "crashed") return this.#fail(call, reason, reason === "memory_limit" ? this.#oomText() : `The backend failed: ${text}`);
      return call.finish(null, { kind: "error", problem: text });
    }
    if (a === "e") return call.finish(null, { kind: "end" });
    let body = new Uint8Array(0);
    let bad = problem ?? (a === "c" ? undefined : "the body stream's step was not one the prelude produces");
    if (typeof b === "string") body = new TextEncoder().encode(b);
    else if (b instanceof ArrayBuffer) body = new Uint8Array(b);
    else bad ??= "a chunk of its body stream is not bytes";
    if (body.byteLength > call.limits.responseBytes) {
      bad ??= `a chunk of its body stream (${body.byteLength} bytes) exceeds the limit of ${call.limits.responseBytes} bytes`;
      body = new Uint8Array(0);
    }
    const [req] = call.reqs;
    if (req === undefined) return;
    call.reqs.delete(req);
    this.hooks.send({ t: "chunk", id: req, kind: "chunk", problem: bad, dropped: false, memoryBytes: this.memoryBytes }, body);
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
