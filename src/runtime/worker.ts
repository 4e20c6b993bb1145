/**
 * The sandbox worker (a Bun Worker; also an entry point of the compiled executable).
 * Holds QuickJS instances, runs the calls the main thread routes to it, and forwards the
 * guests' host calls (kv, fetch) back to the main thread. The main thread's watchdog
 * terminates this worker if a guest slice overruns; nothing here has to survive that.
 */
import { wasmPath } from "./quickjs/wasm-build";
import type { FromWorker, ToWorker } from "./quickjs/protocol";
import { WIRE_TEXT_MAX, decodeFetch, decodeHostResult, encodeHostRequest, encodeRead, encodeResponse, isHostResult, isWire, type WireFetch } from "./quickjs/wire";
import { SparePool, createVm, hasWasmModule, setWasmModule, type Vm } from "./quickjs/vm-factory";
import { QjsInstance } from "./quickjs/instance";
import { Failure } from "./quickjs/call-state";
import type { HostResult } from "./quickjs/guest-host";
import type { GuestLogLine } from "./types";
import { setWatch } from "./quickjs/slices";
import { callEnded, callStarted, expectCall } from "./quickjs/idle";
import { DroppedMemory } from "./quickjs/collect";
import { WorkerKvReads } from "./quickjs/kv-reads";
import type { GuestConfig } from "./quickjs/protocol";
import type { Limits } from "./types";
import { readlinkSync } from "node:fs";
import { setPriority } from "node:os";

declare const self: Worker;

const instances = new Map<number, QjsInstance>();
const hostWaits = new Map<number, { resolve: (r: HostResult) => void; reject: (e: Error) => void }>();
let nextHid = 1;
let spares: SparePool;
let ready: Promise<void> | null = null;
/** A prestarted worker's head start (spawn-worker.ts): the wasm compiled and one interpreter made before init. */
let early: Promise<Vm | null> | null = null;
/** The load worker: its loads are load-checks, which no call follows. */
let checksOnly = false;
/** This worker's own connection for guests' kv reads (init's kvReadFile), or null: every read goes through the main thread. */
let kvReads: WorkerKvReads | null = null;

/**
 * Records of kv reads this worker answered itself (wire.ts encodeRead), not yet sent. The
 * main thread's journal needs a call's records only to re-run it after a kill, and a kill
 * can only catch a call that is waiting across turns of this worker (a remote host call, a
 * timer, a streamed body): a call that reads and answers within one turn has ended before any
 * other call's slice runs. So records ride on the next host request (ahead of it: their order
 * among the calls' host calls is kept) or are sent at the end of the turn for calls still
 * running, and a call that has ended by then sends none (issue 15: a message per read cost
 * the main thread ~15 µs).
 */
let unsentReads: { inst: number; call: number; record: string }[] = [];
let readsFlush: ReturnType<typeof setImmediate> | null = null;

/** The unsent records of calls still running (and forgets the rest). */
function takeReads(): string[] {
  if (readsFlush) clearImmediate(readsFlush);
  readsFlush = null;
  const still = unsentReads.filter((r) => instances.get(r.inst)?.running(r.call) === true).map((r) => r.record);
  unsentReads = [];
  return still;
}

function sendReads(): void {
  for (const r of takeReads()) self.postMessage(r);
}

const post = (m: FromWorker) => {
  // A host request carries the reads that came before it, which the main thread records first.
  if (m.t === "host" && unsentReads.length) {
    const reads = takeReads();
    if (reads.length) m.reads = reads;
  }
  // One without bytes goes as one string (wire.ts).
  if (m.t === "host" && !m.bytes) return self.postMessage(encodeHostRequest({ hid: m.hid, inst: m.inst, call: m.call, op: m.op, args: m.args, reads: m.reads ?? [] }));
  self.postMessage(m);
};

// Set the handler before any await: messages posted during start-up must not be lost.
self.onmessage = async (ev: MessageEvent<ToWorker | string>) => {
  const m = ev.data;
  if (isWire(m)) {
    await ready;
    if (isHostResult(m)) {
      const r = decodeHostResult(m);
      return hostResult(r.hid, r.ok, r.ok ? r.text : undefined, undefined, r.ok ? undefined : r.text);
    }
    return void tracked(() => fetchCall(decodeFetch(m)));
  }
  if (m.t === "prestart") {
    early = prestart(m.memoryBytes, m.announce);
    return;
  }
  if (m.t === "init") {
    if (m.nice) lowerPriority(m.nice);
    checksOnly = m.checksOnly === true;
    if (m.kvReadFile) kvReads = new WorkerKvReads(m.kvReadFile);
    ready = init(m.watch, m.spares, m.memoryBytes, m.announce, m.lazySpares);
    await ready.then(
      () => post({ t: "ready", tid: threadId() }),
      (e) => post({ t: "init-failed", message: String((e as Error)?.message ?? e) }),
    );
    return;
  }
  await ready;
  if (m.t === "load" || m.t === "fetch-bytes" || m.t === "scheduled" || m.t === "pull" || m.t === "cancel") void tracked(() => handle(m));
  else void handle(m);
};

/** Counts a call as in flight until it has answered (idle.ts runs background work only when none is). */
async function tracked(run: () => Promise<void>): Promise<void> {
  callStarted();
  try {
    await run();
  } finally {
    callEnded();
  }
}

/**
 * This worker's own QuickJS module, compiled here and never posted to another worker:
 * JavaScriptCore keeps a module's tier-up state with it, and a worker that ends while one of
 * its tier-up compiles is still queued leaves that function marked "compiling" for every
 * other holder of the module — which then run it in a slower tier for good (spawn-worker.ts).
 */
const compileWasm = async () => new WebAssembly.Module(await Bun.file(wasmPath).arrayBuffer());

/** Tells the main thread this worker has compiled (spawn-worker.ts's start gate opens). */
function announceCompiled(): void {
  self.postMessage({ t: "compiled" } satisfies FromWorker);
}

/**
 * A prestarted worker: compile and make the first interpreter now, with the URL library left
 * to first use (it is most of the work, and the process's first call waits for this one);
 * the start gate opens (if asked) once that interpreter exists.
 */
async function prestart(memoryBytes: number, announce: boolean | undefined): Promise<Vm | null> {
  try {
    setWasmModule(await compileWasm());
    return await createVm(memoryBytes, undefined, true);
  } catch {
    return null;
  } finally {
    if (announce) announceCompiled();
  }
}

async function init(watch: SharedArrayBuffer, spareCount: number, memoryBytes: number, announce: boolean | undefined, lazySpares: boolean | undefined): Promise<void> {
  setWatch(watch);
  const made = early ? await early : null;
  if (!hasWasmModule()) {
    try {
      setWasmModule(await compileWasm());
    } finally {
      if (announce && !early) announceCompiled();
    }
  }
  spares = new SparePool(spareCount, memoryBytes);
  if (made) spares.add(made);
  // Lazy: the first load's take() starts the refill.
  if (!lazySpares) spares.refillSoon();
}

/** This worker's OS thread id (Linux: /proc/thread-self); 0 where that is not available. */
function threadId(): number {
  try {
    const tid = Number(readlinkSync("/proc/thread-self").split("/").pop());
    return tid > 0 ? tid : 0;
  } catch {
    return 0;
  }
}

/** Linux: renice this thread only (setpriority on its thread id); best effort elsewhere. */
function lowerPriority(nice: number): void {
  try {
    const tid = threadId();
    if (tid > 0) setPriority(tid, nice);
  } catch {}
}

/** How long background work waits, after a load, for the loaded instance's first call (ms). */
const FIRST_CALL_GRACE_MS = 100;

/** Dropped interpreters hold their WebAssembly memory until a full GC runs: when it runs (collect.ts). */
const dropped = new DroppedMemory(() => Bun.gc(true));

/**
 * Per call on this worker: its kv writes sent to the main thread and not answered yet. While
 * there are any, the call's kv reads go through the main thread too, which orders them after
 * the agent's earlier writes (kv-sqlite.ts: a guest's `kv.set` it did not await, then its
 * `kv.get`, reads the write). Per call, not per agent: concurrent calls promise each other no
 * order, and a per-agent rule sent every read of a busy agent through the main thread.
 */
const kvWritesInFlight = new Map<number, number>();
const isKvWrite = (op: string) => op === "kv.set" || op === "kv.delete";

/** Instance `inst`'s host calls: each goes to the main thread and waits for its answer. */
function bridgeFor(inst: number) {
  return (call: number, op: string, args: string, bytes: Uint8Array | undefined) =>
    new Promise<HostResult>((resolve, reject) => {
      const hid = nextHid++;
      if (isKvWrite(op)) {
        kvWritesInFlight.set(call, (kvWritesInFlight.get(call) ?? 0) + 1);
        const answered = () => {
          const n = (kvWritesInFlight.get(call) ?? 1) - 1;
          if (n > 0) kvWritesInFlight.set(call, n);
          else kvWritesInFlight.delete(call);
        };
        hostWaits.set(hid, { resolve: (r) => (answered(), resolve(r)), reject: (e) => (answered(), reject(e)) });
      } else hostWaits.set(hid, { resolve, reject });
      post({ t: "host", hid, inst, call, op, args, bytes });
    });
}

/**
 * Instance `inst`'s host calls answered inside the guest's slice: a kv.get of an instance
 * whose config allows it, read from this worker's own connection (kv-reads.ts), its record
 * kept for the main thread's journal (unsentReads). Undefined: no such answers.
 */
function answerNowFor(inst: number, config: GuestConfig, limits: Limits) {
  const reads = config.kvReads ? kvReads : null;
  if (!reads) return undefined;
  return (call: number, op: string, args: string): string | undefined => {
    if (op !== "kv.get" || kvWritesInFlight.has(call)) return undefined;
    const json = reads.get(config.agentId, args, limits);
    if (json === null) return undefined;
    unsentReads.push({ inst, call, record: encodeRead({ inst, call, op, args, json }) });
    readsFlush ??= setImmediate(sendReads);
    return json;
  };
}

/** Host request `hid`'s answer (a wire string or, with bytes, a structured message): its waiting guest call goes on. */
function hostResult(hid: number, ok: boolean, json: string | undefined, bytes: Uint8Array | undefined, error: string | undefined): void {
  const w = hostWaits.get(hid);
  hostWaits.delete(hid);
  if (ok) w?.resolve({ json: json ?? "", bytes });
  else w?.reject(new Error(error ?? "host call failed"));
}

function failed(id: number, e: unknown, dropped: boolean): FromWorker {
  const f = e instanceof Failure ? e : new Failure("crashed", String((e as Error)?.message ?? e));
  return { t: "failed", id, reason: f.reason, message: f.message, dropped, logs: (f as { logs?: [] }).logs ?? [] };
}

/** One fetch call; the reply is one string (wire.ts), plus the body's buffer when it is bytes or long text. */
async function fetchCall(m: WireFetch, bytes?: Uint8Array): Promise<void> {
  const inst = instances.get(m.inst);
  if (!inst || inst.dead) return post(failed(m.id, new Failure("crashed", "The sandbox instance is gone."), true));
  try {
    const { res, dropped } = await inst.fetch(m.id, m.meta, m.text, bytes, kvReads !== null && !m.bridgedReads);
    const reply = { id: m.id, memoryBytes: inst.residentBytes, dropped, cpuMs: res.cpuMs as number, wallMs: res.wallMs as number, meta: res.meta, problem: res.problem, logs: res.logs as GuestLogLine[] };
    if (typeof res.body === "string" && res.body.length <= WIRE_TEXT_MAX) return self.postMessage(encodeResponse({ ...reply, text: res.body }));
    if (typeof res.body !== "string" && res.body.byteLength === 0) return self.postMessage(encodeResponse({ ...reply, text: "" }));
    const body = typeof res.body === "string" ? new TextEncoder().encode(res.body) : res.body;
    // The body is a fresh copy out of the interpreter: move it instead of cloning it.
    self.postMessage({ t: "response-bytes", wire: encodeResponse({ ...reply, text: "" }), body } satisfies FromWorker, body.byteLength ? [body.buffer as ArrayBuffer] : []);
  } catch (e) {
    post(failed(m.id, e, inst.dead));
  }
}

async function handle(m: ToWorker): Promise<void> {
  switch (m.t) {
    case "host-result":
      return hostResult(m.hid, m.ok, m.json, m.bytes, m.error);
    case "load": {
      try {
        const onDrop = (residentBytes: number) => {
          instances.delete(m.inst);
          dropped.dropped(residentBytes);
        };
        const { instance, describeJson } = await QjsInstance.load(spares, m.id, `bundle-${m.inst}.js`, m.code, m.limits, m.config, bridgeFor(m.inst), onDrop, answerNowFor(m.inst, m.config, m.limits));
        instances.set(m.inst, instance);
        // Its first call is likely close behind: no refill or GC starts before it (idle.ts).
        if (!checksOnly) expectCall(FIRST_CALL_GRACE_MS);
        post({ t: "loaded", id: m.id, describeJson, memoryBytes: instance.residentBytes });
      } catch (e) {
        post(failed(m.id, e, true));
      }
      return;
    }
    case "fetch-bytes":
      return fetchCall(decodeFetch(m.wire), m.body);
    case "scheduled": {
      const inst = instances.get(m.inst);
      if (!inst || inst.dead) return post(failed(m.id, new Failure("crashed", "The sandbox instance is gone."), true));
      try {
        const { result, dropped } = await inst.scheduled(m.id);
        post({ t: "scheduled-done", id: m.id, result, dropped });
      } catch (e) {
        post(failed(m.id, e, inst.dead));
      }
      return;
    }
    case "pull":
    case "cancel": {
      const inst = instances.get(m.inst);
      if (!inst || inst.dead) return post(failed(m.id, new Failure("crashed", "The sandbox instance is gone."), true));
      try {
        const r = m.t === "pull" ? await inst.pull(m.call) : inst.cancel(m.call, m.reason);
        const reply: FromWorker = { t: "chunk", id: m.id, ...r, memoryBytes: inst.residentBytes };
        // The chunk is a fresh copy out of the interpreter: move it.
        self.postMessage(reply, r.body && r.body.byteLength ? [r.body.buffer as ArrayBuffer] : []);
      } catch (e) {
        post(failed(m.id, e, inst.dead));
      }
      return;
    }
    case "dispose": {
      instances.get(m.inst)?.drop();
      return;
    }
  }
}
