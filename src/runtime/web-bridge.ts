/**
 * Host side of the guest's Web APIs that the host does natively: data in, data out, no
 * handles to host objects cross. Two parts:
 * - TextDecoders: the guest TextDecoder's conversion (every Encoding-standard label,
 *   fatal, ignoreBOM, stream) on the host's own TextDecoder. Synchronous; one instance per
 *   interpreter; streaming state is kept by a small guest-chosen id, at most MAX_STREAMS
 *   at once (the oldest is forgotten beyond that).
 * - parseWebCall: types the asynchronous `web.subtle` host call behind crypto.subtle, which
 *   web-crypto.ts runs on the host's Web Crypto.
 */
const MAX_STREAMS = 64;

export class TextDecoders {
  private streams = new Map<number, TextDecoder>();

  /**
   * `bytes` undefined: the canonical name of `label` (lower-case, e.g. "windows-1252"), or
   * null when no decoder has that label. Otherwise the decoded string, or null when `fatal`
   * (flags & 1) and the input is invalid. flags: 1 fatal, 2 ignoreBOM, 4 stream; `id` > 0
   * names a stream, continued until a call without the stream flag.
   */
  decode(id: number, label: string, flags: number, bytes: Uint8Array | undefined): string | null {
    if (bytes === undefined) {
      try {
        return new TextDecoder(label).encoding;
      } catch {
        return null;
      }
    }
    const stream = (flags & 4) !== 0;
    let d = id > 0 ? this.streams.get(id) : undefined;
    if (!d) {
      try {
        d = new TextDecoder(label, { fatal: (flags & 1) !== 0, ignoreBOM: (flags & 2) !== 0 });
      } catch {
        return null;
      }
    }
    if (id > 0) {
      this.streams.delete(id);
      if (stream) {
        this.streams.set(id, d);
        if (this.streams.size > MAX_STREAMS) this.streams.delete(this.streams.keys().next().value!);
      }
    }
    try {
      return d.decode(bytes, { stream });
    } catch {
      if (id > 0) this.streams.delete(id);
      return null;
    }
  }
}

/** A typed `web.subtle` host call (host-calls.ts routes its parsing here): one SubtleCrypto method. */
export interface WebCall {
  op: "web.subtle";
  method: string;
  args: unknown[];
  data: Uint8Array;
}

/** Types one `web.subtle` call: args {method: string, args: array}; `data` is the call's byte buffer. */
export function parseWebCall(op: "web.subtle", args: Record<string, unknown>, data: Uint8Array | undefined): WebCall {
  if (typeof args.method !== "string" || args.method.length > 40) throw new Error("crypto.subtle: method must be a short string");
  if (!Array.isArray(args.args) || args.args.length > 8) throw new Error("crypto.subtle: args must be an array of at most 8 items");
  return { op, method: args.method, args: args.args, data: data ?? new Uint8Array(0) };
}
