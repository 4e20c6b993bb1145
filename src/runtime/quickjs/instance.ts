/**
 * Worker side: one loaded agent bundle in its own interpreter. Runs calls in CPU slices,
 * pumps the job queue when host work settles, enforces the wall deadline, response size
 * and log caps, and drops the whole interpreter (never disposing into it) on any limit or
 * host-side exception — its WebAssembly memory goes with it.
 */
import type { QuickJSHandle } from "quickjs-emscripten-core";
import type { Limits } from "../types";
import type { RawScheduledResult } from "../guest-values";
import { timerDelay } from "../host-calls";
import { metaAsksStream, type GuestConfig } from "./protocol";
import { Call, Failure } from "./call-state";
import { currentCall, slice } from "./slices";
import type { HostResult, Settler } from "./guest-host";
import type { SparePool, Vm } from "./vm-factory";
import { newStringExact } from "./exact-strings";
import { heapTop } from "./bytecode";
import { dispatchInOneCrossing } from "./dispatch-entry";
import { newRawFunction } from "./raw-host";
import { EMPTY, classify, errorText, metaSaysStream, peekStatus, readPair, type StreamReply, type WorkerResponse } from "./guest-reads";

export type Bridge = (callId: number, op: string, args: string, bytes: Uint8Array | undefined) => Promise<HostResult>;
/**
 * A guest's host call of call `callId` answered at once (HostState.now): its JSON, or
 * undefined. Asked only for calls whose kv reads may be answered in the worker (Call.localReads).
 */
export type AnswerNow = (callId: number, op: string, args: string) => string | undefined;
/**
 * Host calls answered at once per slice (kv-reads.ts): the next goes through the main thread,
 * which ends the slice, so a guest awaiting reads in a loop leaves the worker's other calls
 * their turns, as it did when every read went through the main thread.
 */
export const READS_PER_SLICE = 32;

type Settled = { value?: QuickJSHandle; error?: QuickJSHandle };

export class QjsInstance {
  dead = false;
  private calls = new Map<number, Call>();
  private backend!: QuickJSHandle;
  private fns = {} as Record<"configure" | "describe" | "dispatch" | "settle" | "scheduled" | "pull" | "cancelBody", QuickJSHandle>;
  /** Calls whose streamed body is still open (their fetch answered with a stream head), by call id. */
  private streams = new Set<number>();
  /** Open streams the host has cancelled: an in-flight pull of one answers "end". */
  private cancelled = new Set<number>();
  /** Calls whose guest promise is still pending after the first slice, by call id. */
  private waits = new Map<number, (r: Settled) => void>();
  /** `(promise, callId) => void`: reports the promise's outcome through one persistent host function. */
  private watchFn: QuickJSHandle;
  /** Fetch calls waiting on their dispatch promise (after the first slice): a handle to it, by call id, for the entry's `settle` to hand back (resume). */
  private results = new Map<number, QuickJSHandle>();
  /** A waiting fetch call's [metadata, body], read by the crossing that settled it (resume), by call id: its fetch takes it instead of reading the promise again. */
  private answers = new Map<number, { meta: string | null; body: string }>();
  /**
   * Ids of `host.send` requests dropped unanswered (no call left to run them in): the next
   * settle tells the guest to forget them, or the next call's first slice does (forgetDropped).
   */
  private forgotten: number[] = [];
  private nextRequest = 0;

  private constructor(private v: Vm, private limits: Limits, private bridge: Bridge, private onDrop: (residentBytes: number) => void, private answerNow?: AnswerNow) {
    const { vm } = v;
    // One settle callback per interpreter instead of vm.resolvePromise's two new host functions per call.
    const settled = newRawFunction(vm, "settled", (a) => {
      const id = a.number(0);
      const w = id === undefined ? undefined : this.waits.get(id);
      if (!w) return undefined;
      this.waits.delete(id!);
      w(a.number(1) === 1 ? { value: a.handle(2) } : { error: a.handle(2) });
      return undefined;
    });
    const make = vm.unwrapResult(vm.evalCode("(f) => { const apply = Reflect.apply, then = Promise.prototype.then; return (p, id) => { apply(then, p, [(v) => f(id, 1, v), (e) => f(id, 0, e)]); }; }", "cantrip:watch.js", { type: "global" }));
    this.watchFn = vm.unwrapResult(vm.callFunction(make, vm.undefined, settled));
    make.dispose();
    settled.dispose();
    const s = v.host;
    s.log = (level, msg, claimed) => this.owner(claimed)?.log(level, msg);
    s.call = (op, args, bytes, claimed, settler) => {
      const call = this.owner(claimed);
      if (!call) throw new Error("no active call");
      this.bridge(call.id, op, args, bytes).then(
        (r) => this.deliver(call, settler, (st) => st.resolve(r)),
        (e) => this.deliver(call, settler, (st) => st.reject(e instanceof Error ? e.message : String(e))),
      );
    };
    s.send = (op, args, claimed) => {
      const call = this.owner(claimed);
      if (!call) throw new Error("no active call");
      const id = ++this.nextRequest;
      this.bridge(call.id, op, args, undefined).then(
        (r) => this.resume(call, id, true, r.json),
        (e) => this.resume(call, id, false, e instanceof Error ? e.message : String(e)),
      );
      return id;
    };
    s.now = (op, args, claimed) => {
      const call = this.owner(claimed);
      const running = currentCall() as Call | null;
      if (!call?.localReads || !this.answerNow || !running || running.sliceReads >= READS_PER_SLICE) return undefined;
      const json = this.answerNow(call.id, op, args);
      if (json !== undefined) running.sliceReads++;
      return json;
    };
    s.timer = (id, ms, settler) => {
      const call = currentCall() as Call | null;
      if (!call) throw new Error("no active call");
      call.timer(id, timerDelay(ms), settler, (st) => this.deliver(call, st, (x) => x.resolve()));
    };
    s.clearTimer = (id) => {
      for (const c of this.calls.values()) if (c.clearTimer(id)) return;
    };
  }

  /**
   * The call a host request belongs to: the one the guest named (its ctx), while it runs
   * on this instance; else the call whose slice is running.
   */
  private owner(claimed: number | undefined): Call | null {
    const named = claimed === undefined ? undefined : this.calls.get(claimed);
    if (named && !named.done) return named;
    return currentCall() as Call | null;
  }

  /**
   * Settles a host request's guest promise in a slice of its call. A request whose call
   * has ended (the guest shared its promise with another call) settles in a slice of a call
   * still running here — the only code that can be waiting for it — or is dropped.
   */
  private deliver(owner: Call, settler: Settler, apply: (s: Settler) => void): void {
    if (!this.inSliceOf(owner, () => (apply(settler), this.pump()))) settler.discard();
  }

  /**
   * Runs `work` in a slice of `owner`, or, when it has ended, of a call still running here
   * (the only code that can be waiting for what it settles); a failure fails that call. False
   * when there is no such call (nothing ran). A dropped instance runs nothing (true).
   */
  private inSliceOf(owner: Call, work: (target: Call) => void): boolean {
    if (this.dead) return true;
    const target = owner.done ? [...this.calls.values()].find((c) => !c.done) : owner;
    if (!target) return false;
    try {
      this.run(target, () => work(target));
    } catch (e) {
      target.fail(e instanceof Failure ? e : new Failure("crashed", String(e)));
    }
    return true;
  }

  /**
   * Answers a `host.send` request of `owner` (its result's JSON, or the failure's message when
   * !ok) in a slice of that call, or of a call still running here when it has ended (as
   * deliver does), through the entry's `settle` in one crossing with the jobs it unblocks
   * (dispatch-entry.ts). Through quickjs-emscripten's handles the same took a promise made per
   * request, its settlement, the job pump and the response's read, ~20 crossings. With no
   * call left, the request is forgotten by the guest at the next settle.
   */
  private resume(owner: Call, id: number, ok: boolean, text: string): void {
    if (!this.inSliceOf(owner, (target) => this.settleIn(target, ok ? String(id) : `-${id}`, text))) this.forgotten.push(id);
  }

  /** entry.settle(result, head, text) in `call`'s slice, then the pending jobs; keeps the call's answer when that settled its dispatch promise. */
  private settleIn(call: Call, id: string, text: string): void {
    const { vm } = this.v;
    const head = this.forgotten.length ? `${id} ${this.forgotten.splice(0).join(" ")}` : id;
    const result = this.results.get(call.id);
    const one = dispatchInOneCrossing(vm, this.fns.settle, this.v.entry, result ?? vm.undefined, head, text);
    if (one === null) {
      // A text the entry does not take (a lone surrogate): the same call through handles.
      const args = [result ? result.dup() : vm.undefined, vm.newString(head), text === "" ? vm.undefined : newStringExact(vm, text)];
      const r = vm.callFunction(this.fns.settle, this.v.entry, ...args);
      for (const a of args) if (a !== vm.undefined) a.dispose();
      if (r.error) throw new Error(this.errorText(r.error)); // run() makes it the call's Failure
      r.value.dispose();
      this.pump();
      return;
    }
    if (one.kind === "threw") throw new Error(this.errorText(one.error)); // (as above)
    if (one.kind === "answered") {
      if (result) this.answers.set(call.id, { meta: one.meta, body: one.body });
      return;
    }
    one.result.dispose();
    if (one.jobError) this.jobFailed(one.jobError);
  }

  /**
   * At the start of a call, tells the guest to forget the requests dropped while no call ran
   * here (settle with head "0 …": no request has id 0). Waiting for the next answered request
   * to carry them was not enough: a backend whose calls end before their kv answers come (a
   * `kv.set` not awaited) and that never waits on one (its reads answered in the worker) kept
   * every request's entry in the guest's map (~1 KB each) until its interpreter was recycled.
   */
  private forgetDropped(call: Call): void {
    if (this.forgotten.length) this.settleIn(call, "0", "");
  }

  /** `answerNow`: host calls the worker can answer inside the guest's slice (worker.ts, kv-reads.ts); absent: none. */
  static async load(spares: SparePool, callId: number, name: string, code: string, limits: Limits, config: GuestConfig, bridge: Bridge, onDrop: (residentBytes: number) => void, answerNow?: AnswerNow): Promise<{ instance: QjsInstance; describeJson: string | null }> {
    const v = await spares.take(limits.memoryBytes);
    const inst = new QjsInstance(v, limits, bridge, onDrop, answerNow);
    const call = inst.begin(callId);
    try {
      const { vm } = v;
      for (const k of ["configure", "describe", "dispatch", "settle", "scheduled", "pull", "cancelBody"] as const) inst.fns[k] = vm.getProp(v.entry, k);
      const describeJson = inst.run(call, () => {
        inst.callEntry("configure", vm.newString(JSON.stringify(config)));
        const r = vm.evalCode(code, name, { type: "module" });
        if (r.error) throw new Failure("load_failed", `The bundle failed to load: ${inst.errorText(r.error)}`);
        let ns = r.value;
        const state = vm.getPromiseState(ns);
        if (state.type === "pending") {
          inst.pump();
          const after = vm.getPromiseState(ns);
          if (after.type !== "fulfilled") throw new Failure("load_failed", "The bundle's top-level await did not settle synchronously.");
          ns = after.value;
        } else if (state.type === "rejected") throw new Failure("load_failed", `The bundle failed to load: ${inst.errorText(state.error)}`);
        inst.backend = vm.getProp(ns, "default");
        const d = inst.callEntry("describe", inst.backend.dup());
        // Checked by the host (guest-values.ts acceptDescription), not here.
        const text = vm.typeof(d) === "string" ? vm.getString(d) : null;
        d.dispose();
        return text;
      });
      return { instance: inst, describeJson };
    } catch (e) {
      inst.drop();
      throw e instanceof Failure && e.reason !== "crashed" ? e : new Failure("load_failed", `The bundle failed to load: ${(e as Error).message}`);
    } finally {
      inst.end(call);
    }
  }

  /** The interpreter's WebAssembly memory as allocated (grown on demand up to its cap; never shrinks). */
  get memoryBytes(): number {
    return this.v.memory.buffer.byteLength;
  }

  private peakHeapTop = 0;

  /**
   * What the host charges this instance against the sandbox memory budget while it is idle:
   * the highest heap top seen (bytecode.ts heapTop; pages once written stay resident), not
   * the whole WebAssembly memory, most of which a typical backend never touches (~6 MB
   * against 16 MB). Read after a load and after each call, when the worker reports it.
   */
  get residentBytes(): number {
    try {
      this.peakHeapTop = Math.max(this.peakHeapTop, heapTop(this.v.vm));
    } catch {
      return this.memoryBytes; // (a build without cantrip's entries: the whole memory, as before)
    }
    return Math.min(this.peakHeapTop, this.memoryBytes);
  }

  /**
   * One call of the guest's fetch handler. `meta` is the request's metadata text for the
   * prelude's dispatch; the body is `text` when it is UTF-8 ("" = none) or else `bytes`.
   * The response body comes back as the guest gave it: text, or a fresh copy of its bytes.
   * `localReads`: its kv reads may be answered from the worker's own connection (kv-reads.ts).
   */
  async fetch(id: number, meta: string, text: string, bytes?: Uint8Array, localReads = false): Promise<{ res: WorkerResponse; dropped: boolean }> {
    const call = this.begin(id);
    call.localReads = localReads;
    const { vm } = this.v;
    let open = false;
    try {
      const first = this.run(call, () => {
        this.forgetDropped(call);
        // Text in, the usual pair out: one crossing into the interpreter (dispatch-entry.ts).
        // Anything else it hands back as the call's result (its jobs run already), read below.
        const one = text !== "" || !bytes?.byteLength ? dispatchInOneCrossing(vm, this.fns.dispatch, this.v.entry, this.backend, meta, text) : null;
        if (one?.kind === "answered") return { meta: one.meta, body: one.body };
        if (one?.kind === "threw") throw this.entryFailure(one.error);
        let p: QuickJSHandle;
        if (one) p = one.result;
        else {
          const body = text !== "" ? newStringExact(vm, text) : bytes && bytes.byteLength ? vm.newArrayBuffer(bytes.slice().buffer as ArrayBuffer) : vm.undefined;
          p = this.callEntry("dispatch", this.backend.dup(), vm.newString(meta), body);
        }
        try {
          if (!one) this.pump();
          else if (one.jobError) this.jobFailed(one.jobError);
          // Settled already (the usual case): read the response in this same slice (a slice
          // costs two thread-CPU clock reads, each a system call of ~1-2 µs).
          const settled = this.settledOrWatch(call, p);
          if (!(settled instanceof Promise)) return this.readResponse(call, settled);
          this.results.set(id, p.dup());
          return settled;
        } finally {
          p.dispose();
        }
      });
      let raw: Awaited<typeof first>;
      if (first instanceof Promise) {
        const settled = await Promise.race([first, call.failed]);
        // Its dispatch promise has settled: later settles of this call (an open stream's) need not read it.
        this.dropResult(id);
        const read = this.answers.get(id);
        if (read) {
          // The crossing that settled it read the answer already (resume).
          this.answers.delete(id);
          (settled.value ?? settled.error)?.dispose();
          raw = read;
        } else raw = this.run(call, () => this.readResponse(call, settled));
      } else raw = first;
      // An allocation failure can surface as a catchable error (even `throw null`) that the
      // handler turns into a 500; an interpreter that hit its cap doing so ran out of memory.
      if (this.memoryBytes >= this.v.maxBytes * 0.9 && peekStatus(raw.meta) >= 500) throw new Failure("memory_limit", `The sandbox ran out of memory (limit ${this.limits.memoryBytes} bytes).`);
      const res: WorkerResponse = { ...raw, logs: call.logs, cpuMs: call.threadCpuMs, wallMs: call.wallMs };
      // The host asked for a streamed body (its metadata text says so) and the guest's head says
      // one follows: the call stays open for pull()/cancel(). The host checks the same head.
      if (metaAsksStream(meta) && metaSaysStream(raw.meta)) {
        open = true;
        this.streams.add(id);
        return { res, dropped: false };
      }
      return { res, dropped: this.afterCall() };
    } catch (e) {
      throw this.failCall(call, e);
    } finally {
      if (!open) this.end(call);
    }
  }

  /**
   * The next step of an open streamed body: a chunk (a fresh copy of its bytes, at most the
   * agent's responseBytes, else `problem`), or its end or error — which end the call and
   * carry its logs and timings. Limits hit meanwhile fail the call (and drop the instance)
   * as in fetch.
   */
  async pull(id: number): Promise<StreamReply> {
    const call = this.calls.get(id);
    if (!call || !this.streams.has(id)) throw new Failure("crashed", "The streamed call has ended.");
    const { vm } = this.v;
    try {
      const first = this.run(call, () => {
        const p = this.callEntry("pull", vm.newNumber(id));
        try {
          this.pump();
          return this.settledOrWatch(call, p);
        } finally {
          p.dispose();
        }
      });
      const settled = first instanceof Promise ? await Promise.race([first, call.failed]) : first;
      if (this.cancelled.has(id) || !this.streams.has(id)) {
        try {
          (settled.value ?? settled.error)?.dispose();
        } catch {}
        return { kind: "end", dropped: false };
      }
      if (settled.error) {
        const text = this.run(call, () => this.errorText(settled.error!));
        const reason = classify(text);
        if (reason !== "crashed") throw new Failure(reason, reason === "memory_limit" ? `The sandbox ran out of memory (limit ${this.limits.memoryBytes} bytes).` : text);
        return this.closeStream(call, { kind: "error", problem: text });
      }
      const step = this.run(call, () => this.readResponse(call, settled));
      if (step.meta === "e") return this.closeStream(call, { kind: "end" });
      const body = typeof step.body === "string" ? new TextEncoder().encode(step.body) : step.body;
      return { kind: "chunk", body, problem: step.meta === "c" ? step.problem : "the body stream's step was not one the prelude produces", dropped: false };
    } catch (e) {
      if (this.cancelled.has(id)) return { kind: "end", dropped: false };
      this.streams.delete(id);
      const f = this.failCall(call, e);
      this.end(call);
      throw f;
    }
  }

  /** The host stops reading an open streamed body: cancel the guest's stream (its `cancel` runs) and end the call. */
  cancel(id: number, reason: string): StreamReply {
    const call = this.calls.get(id);
    if (!call || !this.streams.has(id)) return { kind: "end", dropped: this.dead };
    const { vm } = this.v;
    this.cancelled.add(id);
    try {
      this.run(call, () => {
        this.callEntry("cancelBody", vm.newNumber(id), vm.newString(reason)).dispose();
        this.pump();
      });
    } catch (e) {
      this.streams.delete(id);
      this.cancelled.delete(id);
      const f = this.failCall(call, e);
      this.end(call);
      throw f;
    }
    // An in-flight pull waiting on the guest stops waiting (and answers "end").
    call.fail(new Failure("crashed", "The streamed body was cancelled."));
    const out = this.closeStream(call, { kind: "end" });
    this.cancelled.delete(id);
    return out;
  }

  /** Ends an open streamed call: its logs and timings go with the last reply. */
  private closeStream(call: Call, out: Pick<StreamReply, "kind" | "problem">): StreamReply {
    this.streams.delete(call.id);
    const reply: StreamReply = { ...out, logs: call.logs, cpuMs: call.threadCpuMs, wallMs: call.wallMs, dropped: false };
    this.end(call);
    reply.dropped = this.dead || this.afterCall();
    return reply;
  }

  async scheduled(id: number): Promise<{ result: RawScheduledResult; dropped: boolean }> {
    const call = this.begin(id);
    try {
      const first = this.run(call, () => {
        this.forgetDropped(call);
        const p = this.callEntry("scheduled", this.backend.dup(), this.v.vm.newNumber(id));
        try {
          this.pump();
          return this.settledOrWatch(call, p);
        } finally {
          p.dispose();
        }
      });
      const settled = first instanceof Promise ? await Promise.race([first, call.failed]) : first;
      let error: string | undefined;
      if (settled.error) {
        error = this.run(call, () => this.errorText(settled.error!));
        const reason = classify(error);
        if (reason !== "crashed") throw new Failure(reason, error);
      } else settled.value!.dispose();
      return { result: { ok: !settled.error, error, logs: call.logs, cpuMs: call.threadCpuMs, wallMs: call.wallMs }, dropped: this.afterCall() };
    } catch (e) {
      throw this.failCall(call, e);
    } finally {
      this.end(call);
    }
  }

  /** Forget the interpreter: no dispose into a possibly corrupted module; GC frees its memory. */
  drop(): void {
    if (this.dead) return;
    this.dead = true;
    for (const c of this.calls.values()) c.fail(new Failure("crashed", "The sandbox instance was dropped during this call."));
    this.onDrop(this.residentBytes);
  }

  /** True while call `id` runs on this instance (begun, not yet ended: a streamed body keeps it open). */
  running(id: number): boolean {
    return this.calls.has(id);
  }

  private begin(id: number): Call {
    if (this.dead) throw new Failure("crashed", "The sandbox instance is gone.");
    const call = new Call(id, this.limits, (c) => {
      c.fail(new Failure("wall_timeout", `The call exceeded its wall-clock limit of ${this.limits.wallMs} ms.`));
    });
    this.calls.set(id, call);
    return call;
  }

  private end(call: Call): void {
    // Timers that outlive their call are cancelled in the guest too (their promise rejects,
    // so the shim forgets them); only shim code runs in this slice.
    if (!this.dead && call.pendingTimers > 0) {
      const left = call.takeTimers();
      try {
        this.run(call, () => {
          for (const st of left) st.reject("the call that set this timer has ended");
          this.pump();
        });
      } catch {
        this.drop();
      }
    }
    call.finish();
    this.calls.delete(call.id);
    this.waits.delete(call.id);
    this.dropResult(call.id);
    this.answers.delete(call.id);
  }

  /** Forgets call `id`'s dispatch promise handle (resume reads the answer no more). */
  private dropResult(id: number): void {
    const result = this.results.get(id);
    if (!result) return;
    this.results.delete(id);
    if (!this.dead) result.dispose();
  }

  /** The outcome of the entry's promise if it already settled (the usual case), else a promise of it. */
  private settledOrWatch(call: Call, p: QuickJSHandle): Settled | Promise<Settled> {
    const { vm } = this.v;
    const state = vm.getPromiseState(p);
    if (state.type === "fulfilled") return { value: state.notAPromise ? p.dup() : state.value };
    if (state.type === "rejected") return { error: state.error };
    const out = new Promise<Settled>((resolve) => this.waits.set(call.id, resolve));
    const idH = vm.newNumber(call.id);
    const r = vm.callFunction(this.watchFn, vm.undefined, p, idH);
    idH.dispose();
    if (r.error) {
      this.waits.delete(call.id);
      throw new Failure("crashed", this.errorText(r.error));
    }
    r.value.dispose();
    return out;
  }

  private failCall(call: Call, e: unknown): Failure {
    const f = e instanceof Failure ? e : new Failure(classify(String((e as Error)?.message ?? e)), `The sandbox crashed: ${String((e as Error)?.message ?? e)}`);
    (f as Failure & { logs?: unknown }).logs = call.logs;
    this.drop();
    return f;
  }

  /** A slice of guest work; host exceptions and an exhausted budget become Failures. */
  private run<T>(call: Call, fn: () => T): T {
    let out: T;
    call.sliceReads = 0;
    try {
      out = slice(call, fn);
    } catch (e) {
      if (call.cpuMs > call.budgetMs) throw this.cpuFailure();
      if (e instanceof Failure) throw e;
      const msg = String((e as Error)?.message ?? e);
      throw new Failure(classify(msg), classify(msg) === "memory_limit" ? `The sandbox ran out of memory (limit ${this.limits.memoryBytes} bytes).` : `The sandbox crashed: ${msg}`);
    }
    if (call.cpuMs > call.budgetMs) throw this.cpuFailure();
    return out;
  }

  private cpuFailure(): Failure {
    return new Failure("cpu_timeout", `The call exceeded its CPU limit of ${this.limits.cpuMs} ms.`);
  }

  private pump(): void {
    const r = this.v.rt.executePendingJobs(-1);
    if (r.error) this.jobFailed(r.error);
  }

  /** A pending job threw: an interrupt or out of memory fails the call; the guest's own error is its business. */
  private jobFailed(error: QuickJSHandle): void {
    const text = this.errorText(error);
    if (classify(text) !== "crashed") throw new Failure(classify(text), text);
  }

  private callEntry(name: keyof QjsInstance["fns"], ...args: QuickJSHandle[]): QuickJSHandle {
    const { vm } = this.v;
    const r = vm.callFunction(this.fns[name], this.v.entry, ...args);
    for (const a of args) if (a !== vm.undefined) a.dispose();
    if (r.error) throw this.entryFailure(r.error);
    return r.value;
  }

  /** What an entry call that threw fails with: an interrupt or out of memory as such, anything else as load_failed. */
  private entryFailure(error: QuickJSHandle): Failure {
    const text = this.errorText(error);
    return new Failure(classify(text) === "crashed" ? "load_failed" : classify(text), text);
  }

  /**
   * Copies the prelude's [metadata, body] out of the interpreter without interpreting it:
   * the host checks it (src/runtime/guest-values.ts). A rejected dispatch (the prelude's
   * own error path failed, e.g. a replaced console) is reported as a malformed response,
   * with the guest's error text in the call's log rather than in the message.
   */
  private readResponse(call: Call, settled: { error?: QuickJSHandle; value?: QuickJSHandle }): Pick<WorkerResponse, "meta" | "body" | "problem"> {
    const { vm } = this.v;
    if (settled.error) {
      const text = this.errorText(settled.error);
      if (classify(text) !== "crashed") throw new Failure(classify(text), `The backend failed: ${text}`);
      call.log("error", `The fetch handler failed without a response: ${text}`);
      return { meta: null, body: EMPTY, problem: "the fetch handler failed without producing a response" };
    }
    return readPair(vm, settled.value!, this.limits.responseBytes);
  }

  private errorText(h: QuickJSHandle): string {
    return errorText(this.v.vm, h);
  }

  /** A bloated interpreter cannot give memory back; recycle it once it nears its cap. */
  private afterCall(): boolean {
    if (this.memoryBytes > this.v.maxBytes * 0.75) {
      this.drop();
      return true;
    }
    return false;
  }
}
