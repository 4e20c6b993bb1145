/**
 * Web Streams (ReadableStream, WritableStream, TransformStream and the two queuing
 * strategies) from web-streams-polyfill, the WHATWG reference implementation's port. Its
 * source is kept as text and evaluated on first use (the globals are getters until then),
 * so interpreters that never touch a stream do not compile 60 KB of it. Also the glue that
 * lets Request/Response bodies be streams: a stream over buffered bytes, and reading a
 * stream to its end.
 */
import SOURCE from "cantrip:streams-source";

export interface Streams {
  ReadableStream: typeof globalThis.ReadableStream;
  WritableStream: typeof globalThis.WritableStream;
  TransformStream: typeof globalThis.TransformStream;
  ByteLengthQueuingStrategy: typeof globalThis.ByteLengthQueuingStrategy;
  CountQueuingStrategy: typeof globalThis.CountQueuingStrategy;
}

let loaded: Streams | null = null;
const indirectEval = eval;

/** The stream classes, evaluated on first call. */
export function streams(): Streams {
  if (!loaded) {
    loaded = indirectEval(typeof SOURCE === "function" ? SOURCE() : SOURCE) as Streams;
    for (const [k, v] of Object.entries(loaded)) Object.defineProperty(v, "name", { value: k, configurable: true });
  }
  return loaded;
}

/** True for a ReadableStream (never loads the implementation just to answer). */
export function isReadableStream(v: unknown): v is ReadableStream {
  return loaded !== null && v instanceof loaded.ReadableStream;
}

/** Installs the five globals as getters that load the implementation when first read. */
export function installStreamGlobals(): void {
  for (const name of ["ReadableStream", "WritableStream", "TransformStream", "ByteLengthQueuingStrategy", "CountQueuingStrategy"] as const) {
    Object.defineProperty(globalThis, name, {
      configurable: true,
      enumerable: false,
      get() {
        const v = streams()[name];
        Object.defineProperty(globalThis, name, { value: v, writable: true, configurable: true, enumerable: false });
        return v;
      },
      set(v: unknown) {
        Object.defineProperty(globalThis, name, { value: v, writable: true, configurable: true, enumerable: false });
      },
    });
  }
}

/** Reads a byte stream to its end; chunks must be Uint8Arrays (else TypeError, as fetch requires). */
export async function readAll(stream: ReadableStream): Promise<Uint8Array> {
  const reader = stream.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (!(value instanceof Uint8Array)) {
      await reader.cancel(new TypeError("body stream chunks must be Uint8Arrays")).catch(() => {});
      throw new TypeError("A body stream produced a chunk that is not a Uint8Array");
    }
    parts.push(value);
    size += value.byteLength;
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
