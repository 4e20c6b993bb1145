/**
 * Messages between the main thread and a sandbox worker. Everything is plain data
 * (structured-clone friendly). A call's request and response travel as one string each
 * (wire.ts); only a body that is bytes rather than text adds a buffer beside that string.
 * The shared `watch` array lets the main-thread watchdog see a guest slice that never
 * returns (a native builtin looping past the interrupt handler).
 */
import type { GuestLogLine, Limits, RuntimeFailureReason } from "../types";
import type { RawScheduledResult } from "../guest-values";

export interface GuestConfig {
  agentId: string;
  env: Record<string, string>;
  secrets: string[];
  /** "full": the guest always builds the Request first (AgentRuntimeConfig.dispatch). */
  dispatch?: "full";
  /** The worker may answer this instance's kv.get from its own connection (init's `kvReadFile`; kv-reads.ts). */
  kvReads?: true;
}

export type ToWorker =
  /** Sent by spawn-worker.ts's prestart before init: compile the wasm and make one interpreter for `memoryBytes` now. */
  /** `announce`: post `compiled` once the interpreter is made (spawn-worker.ts's start gate). */
  | { t: "prestart"; memoryBytes: number; announce?: boolean }
  /**
   * `nice`: OS priority for this worker thread (its lane's, lanes.ts). The worker compiles its
   * own QuickJS module (spawn-worker.ts says why none is shared); `announce`: post `compiled`
   * once it has (spawn-worker.ts's start gate).
   * `lazySpares`: make spare interpreters only after the first load (heavy and load lanes).
   * `checksOnly`: the load worker, whose loads are load-checks no call follows.
   */
  | { t: "init"; watch: SharedArrayBuffer; spares: number; lazySpares?: boolean; checksOnly?: boolean; memoryBytes: number; nice: number; announce?: boolean; kvReadFile?: string }
  | { t: "load"; id: number; inst: number; code: string; limits: Limits; config: GuestConfig }
  /** A call whose body is not UTF-8 text: `wire` is wire.ts's request string with no text, `body` the bytes (calls with text go as the string alone). */
  | { t: "fetch-bytes"; wire: string; body: Uint8Array }
  | { t: "scheduled"; id: number; inst: number }
  /** The next step of call `call`'s streamed body (a call whose fetch asked for one and got a stream head); `id` names this request. */
  | { t: "pull"; id: number; inst: number; call: number }
  /** Cancel call `call`'s streamed body with `reason` and end the call; answered with a "chunk" of kind "end". */
  | { t: "cancel"; id: number; inst: number; call: number; reason: string }
  | { t: "dispose"; inst: number }
  | { t: "host-result"; hid: number; ok: boolean; json?: string; bytes?: Uint8Array; error?: string };

export type FromWorker =
  /** Started; `tid` is the worker's OS thread id (Linux /proc/thread-self; 0 elsewhere), which the watchdog renices before a kill. */
  | { t: "ready"; tid: number }
  | { t: "init-failed"; message: string }
  /** This worker has compiled its QuickJS module (or failed to): the workers waiting at spawn-worker.ts's start gate may start. */
  | { t: "compiled" }
  | { t: "loaded"; id: number; describeJson: string | null; memoryBytes: number }
  /** A response whose body is bytes or long text: `wire` is wire.ts's response string with no text, `body` the (transferred) bytes. */
  | { t: "response-bytes"; wire: string; body: Uint8Array }
  | { t: "scheduled-done"; id: number; result: RawScheduledResult; dropped: boolean }
  /** A pull's or cancel's answer: `kind` chunk (body), end or error (problem); the last two end the call and carry its logs and timings. */
  | { t: "chunk"; id: number; kind: "chunk" | "end" | "error"; body?: Uint8Array; problem?: string; logs?: GuestLogLine[]; cpuMs?: number; wallMs?: number; dropped: boolean; memoryBytes: number }
  | { t: "failed"; id: number; reason: RuntimeFailureReason; message: string; dropped: boolean; logs: GuestLogLine[] }
  /** `reads`: read records (wire.ts encodeRead) of this worker's own kv answers that came before this request, recorded first. */
  | { t: "host"; hid: number; inst: number; call: number; op: string; args: string; bytes?: Uint8Array; reads?: string[] };

/** How the host's request metadata text ends when it asks for a streamed body (QjsHandle.fetchStream; the worker keeps such a call open). */
export const STREAM_ASKED = ',"stream":true}';

/** First character of the flat metadata form (requestMeta): a whole body asked for, or a streamed one. */
const FLAT_WHOLE = "\u0001";
const FLAT_STREAM = "\u0002";

/**
 * The request's metadata text for the prelude's dispatch. The flat form (issue 15: the
 * guest's JSON.parse of the JSON form cost ~2.3 µs per call in QuickJS, splitting the flat
 * one ~0.8 µs): FLAT_WHOLE or FLAT_STREAM, then method, url, call id and each header's name
 * and value, joined by "\n". A request with a "\n" in any of them (never one that came
 * through Bun's HTTP parser or Headers, which refuse it) gets the JSON form
 * `{method, url, headers, call}` (ending in STREAM_ASKED when streamed), which the prelude
 * also reads (the V8 engine sends only that one).
 */
export function requestMeta(method: string, url: string, headers: [string, string][], call: number, stream: boolean): string {
  let plain = !method.includes("\n") && !url.includes("\n");
  let flat = (stream ? FLAT_STREAM : FLAT_WHOLE) + method + "\n" + url + "\n" + call;
  for (let i = 0; plain && i < headers.length; i++) {
    const [name, value] = headers[i]!;
    if (name.includes("\n") || value.includes("\n")) plain = false;
    else flat += "\n" + name + "\n" + value;
  }
  if (plain) return flat;
  const head = JSON.stringify({ method, url, headers, call });
  return stream ? head.slice(0, -1) + STREAM_ASKED : head;
}

/** Whether a request's metadata text (either form of requestMeta) asks for a streamed body. */
export function metaAsksStream(meta: string): boolean {
  return meta.charCodeAt(0) === 2 || meta.endsWith(STREAM_ASKED);
}

/** Slots of the shared watch array (Float64Array). */
export const WATCH_DEADLINE = 0; // epoch ms at which the running slice exhausts its CPU budget; 0 when idle
export const WATCH_CALL = 1; // id of the call whose slice is running
