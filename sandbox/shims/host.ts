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
   * A host operation the host can answer at once (QuickJS: a kv.get its worker reads itself):
   * the result's JSON, or undefined when it must go through `call`. Absent on engines without it.
   */
  now?(op: string, args: string, call?: number): string | undefined;
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

/**
 * Calls an async host op with JSON args and parses the JSON result; `call` names the owning
 * call. An op the host can answer at once (host.now) settles without waiting for the host's
 * event loop: the promise still resolves asynchronously, as before.
 */
export async function hostCall<T>(op: string, args: unknown, body?: ArrayBuffer, call?: number): Promise<T> {
  const text = JSON.stringify(args ?? null);
  const now = body === undefined && host.now && NOW_OPS.has(op) ? host.now(op, text, call) : undefined;
  const json = now !== undefined ? now : (await host.call(op, text, body, call))[0];
  return json === "" ? (undefined as T) : (JSON.parse(json) as T);
}
