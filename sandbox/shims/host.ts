/**
 * The bridge to the host. The worker installs `__cantripHost` before the prelude runs; this
 * module captures it and removes it from globalThis, so guest code reaches the host only
 * through the Web shims and the SDK's ctx (every host function is scoped to this agent).
 *
 * Host requests name the call they belong to (`call`, the id the host gave the request or
 * scheduled run) when the SDK knows it — ctx.kv/fetch/log do — so a continuation that runs
 * in another call's slice (a shared in-flight promise) still charges and answers its own
 * call. Without it (the Web globals) the host attributes the request to the running slice.
 */
export interface Host {
  log(level: string, message: string, call?: number): void;
  random(n: number): ArrayBuffer;
  encode(s: string): ArrayBuffer;
  decode(b: ArrayBuffer): string;
  /**
   * The host's TextDecoder: `bytes` undefined → the canonical name of `label` or null;
   * else the decoded text, or null when fatal and invalid. flags: 1 fatal, 2 ignoreBOM,
   * 4 stream; id > 0 names a stream kept in the host until a call without flag 4.
   */
  textDecode(id: number, label: string, flags: number, bytes: ArrayBuffer | undefined): string | null;
  /** The host's Intl (engines without one): JSON request → JSON answer (src/runtime/web-intl.ts). Absent where the engine has Intl. */
  intl?(request: string): string;
  /** Asynchronous host operation; resolves to [resultJson, bytes?]. */
  call(op: string, args: string, body?: ArrayBuffer, call?: number): Promise<[string, ArrayBuffer | undefined]>;
  /**
   * The same operation answered with JSON text only (QuickJS): returns the request's id at
   * once (throws as `call` does), and the host answers it through the entry's `settle`
   * (settleRequest), in the same crossing that runs the jobs it unblocks. `units`: the length
   * of `args` (UTF-16 code units; -1 when it is not a string), so the host can tell when its
   * fast read of the text was not exact. Absent on engines without it, which use `call`.
   */
  send?(op: string, args: string, call?: number, units?: number): number;
  /**
   * A host operation the host can answer at once (QuickJS: a kv.get its worker reads itself):
   * the result's JSON, or undefined when it must go through `call`; `units` as for `send`.
   * Absent on engines without it.
   */
  now?(op: string, args: string, call?: number, units?: number): string | undefined;
  /**
   * A timer of `ms` (never fires early; one that would outlast the call's wall deadline
   * never fires). Rejects when cancelled: clearTimer, or its call ended first. Throws at
   * once past the per-call timer limit.
   */
  timer(id: number, ms: number): Promise<void>;
  clearTimer(id: number): void;
  /** QuickJS: the text of a prelude source the host keeps ("streams", "libs"), for the prelude's parts that park it (build-prelude.ts). */
  source?(name: string): string | undefined;
}

const g = globalThis as any;
export const host: Host = g.__cantripHost;
delete g.__cantripHost;

/** Host operations worth asking `host.now` for first (the host may answer them without a round trip). */
const NOW_OPS = new Set(["kv.get"]);

/** Captured before any guest code runs: a guest that replaces the globals does not reach the host bridge's own promises and errors. */
const HostPromise = Promise;
const HostError = Error;

/** Requests made with `host.send`, waiting for settleRequest, by id. */
const waiting = new Map<number, [(json: string) => void, (e: Error) => void]>();

/**
 * Calls an async host op with JSON args and parses the JSON result; `call` names the owning
 * call. An op the host can answer at once (host.now) settles without waiting for the host's
 * event loop: the promise still resolves asynchronously, as before. One without a body goes
 * by `host.send` where the engine has it.
 */
export async function hostCall<T>(op: string, args: unknown, body?: ArrayBuffer, call?: number): Promise<T> {
  // The guest's own JSON.stringify: the host checks whatever text it gets (host-calls.ts).
  const text = JSON.stringify(args ?? null);
  // Its length says to the host what it must read (a U+0000 cuts the C string it reads fast).
  const units = typeof text === "string" ? text.length : -1;
  const now = body === undefined && host.now && NOW_OPS.has(op) ? host.now(op, text, call, units) : undefined;
  let json: string;
  if (now !== undefined) json = now;
  else if (body === undefined && host.send) {
    const id = host.send(op, text, call, units);
    json = await new HostPromise<string>((resolve, reject) => void waiting.set(id, [resolve, reject]));
  } else json = (await host.call(op, text, body, call))[0];
  return json === "" ? (undefined as T) : (JSON.parse(json) as T);
}

/**
 * The host's answer to a `host.send` request (the entry's `settle`): `head` is the request's
 * id, negative when the request failed (then `text` is the error's message), followed by the
 * ids of requests the host dropped unanswered (their call ended with no other running), each
 * after a space; `text` is the result's JSON ("" or undefined: none). Unknown ids are ignored.
 */
export function settleRequest(head: string, text: string | undefined): void {
  const ids = head.split(" ");
  for (let i = 1; i < ids.length; i++) waiting.delete(Number(ids[i]));
  const id = Number(ids[0]);
  const key = id < 0 ? -id : id;
  const w = waiting.get(key);
  if (!w) return;
  waiting.delete(key);
  if (id < 0) w[1](new HostError(text ?? ""));
  else w[0](text ?? "");
}
