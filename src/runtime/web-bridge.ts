/**
 * Host side of the guest's Web APIs that the host does natively: data in, data out, no
 * handles to host objects cross. Two parts:
 * - TextDecoders: the guest TextDecoder's conversion (every Encoding-standard label,
 *   fatal, ignoreBOM, stream) on the host's own TextDecoder. Synchronous; one instance per
 *   interpreter; streaming state is kept by a small guest-chosen id, at most MAX_STREAMS
 *   at once (the oldest is forgotten beyond that).
 * - webCall: the asynchronous `web.*` host operations behind crypto.subtle (digest, HMAC
 *   sign/verify), each a pure function of its JSON args and bytes.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

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

const HASHES: Record<string, string> = { "SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512" };
/** An HMAC key or signature, base64 in the arguments: at most this many bytes. */
const MAX_SECRET_BYTES = 64 * 1024;

/** A typed `web.*` host call (see host-calls.ts, which routes the parsing here). */
export type WebCall =
  | { op: "web.digest"; hash: string; data: Uint8Array }
  | { op: "web.hmac.sign"; hash: string; key: Buffer; data: Uint8Array }
  | { op: "web.hmac.verify"; hash: string; key: Buffer; signature: Buffer; data: Uint8Array };

function hashName(h: unknown): string {
  const n = typeof h === "string" ? HASHES[h] : undefined;
  if (!n) throw new Error(`crypto.subtle: unsupported hash ${String(h).slice(0, 40)}`);
  return n;
}

function secret(v: unknown, what: string): Buffer {
  if (typeof v !== "string" || v.length > Math.ceil(MAX_SECRET_BYTES / 3) * 4 || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) throw new Error(`crypto.subtle: ${what} must be base64 of at most ${MAX_SECRET_BYTES} bytes`);
  return Buffer.from(v, "base64");
}

/**
 * Types one `web.*` call. args: `web.digest` {hash}; `web.hmac.sign` {hash, key};
 * `web.hmac.verify` {hash, key, signature} (key and signature base64); `data` is the
 * call's bytes. Throws an Error naming the bad field.
 */
export function parseWebCall(op: WebCall["op"], args: Record<string, unknown>, data: Uint8Array | undefined): WebCall {
  const hash = hashName(args.hash);
  const d = data ?? new Uint8Array(0);
  if (op === "web.digest") return { op, hash, data: d };
  if (op === "web.hmac.sign") return { op, hash, key: secret(args.key, "key"), data: d };
  return { op, hash, key: secret(args.key, "key"), signature: secret(args.signature, "signature"), data: d };
}

/** Runs a typed `web.*` call: digest/sign give the result bytes; verify gives JSON true/false (constant-time compare). */
export function webCall(c: WebCall): { json: string; bytes?: Uint8Array } {
  switch (c.op) {
    case "web.digest":
      return { json: "", bytes: new Uint8Array(createHash(c.hash).update(c.data).digest()) };
    case "web.hmac.sign":
      return { json: "", bytes: new Uint8Array(createHmac(c.hash, c.key).update(c.data).digest()) };
    case "web.hmac.verify": {
      const mac = createHmac(c.hash, c.key).update(c.data).digest();
      return { json: JSON.stringify(c.signature.length === mac.length && timingSafeEqual(c.signature, mac)) };
    }
  }
}
