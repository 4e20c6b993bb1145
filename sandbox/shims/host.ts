/**
 * The bridge to the host. The worker installs `__cantripHost` before the prelude runs; this
 * module captures it and removes it from globalThis, so guest code reaches the host only
 * through the Web shims and the SDK's ctx (every host function is scoped to this agent).
 */
export interface Host {
  log(level: string, message: string): void;
  random(n: number): ArrayBuffer;
  encode(s: string): ArrayBuffer;
  decode(b: ArrayBuffer): string;
  /**
   * The host's TextDecoder: `bytes` undefined → the canonical name of `label` or null;
   * else the decoded text, or null when fatal and invalid. flags: 1 fatal, 2 ignoreBOM,
   * 4 stream; id > 0 names a stream kept in the host until a call without flag 4.
   */
  textDecode(id: number, label: string, flags: number, bytes: ArrayBuffer | undefined): string | null;
  /** Asynchronous host operation; resolves to [resultJson, bytes?]. */
  call(op: string, args: string, body?: ArrayBuffer): Promise<[string, ArrayBuffer | undefined]>;
}

const g = globalThis as any;
export const host: Host = g.__cantripHost;
delete g.__cantripHost;

/** Calls an async host op with JSON args and parses the JSON result. */
export async function hostCall<T>(op: string, args: unknown, body?: ArrayBuffer): Promise<T> {
  const [json] = await host.call(op, JSON.stringify(args ?? null), body);
  return json === "" ? (undefined as T) : (JSON.parse(json) as T);
}
