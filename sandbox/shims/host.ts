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
