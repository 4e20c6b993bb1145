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

function hashName(h: unknown): string {
  const n = HASHES[String(h)];
  if (!n) throw new Error(`web: unsupported hash ${String(h)}`);
  return n;
}

const b64 = (s: unknown) => Buffer.from(String(s ?? ""), "base64");

/**
 * The `web.*` host operations. args: `web.digest` {hash}; `web.hmac.sign` {hash, key
 * (base64)}; `web.hmac.verify` {hash, key, signature (both base64)}; `bytes` is the data.
 * Returns the JSON result and, for digest/sign, the result bytes. Throws on bad args.
 */
export function webCall(op: string, args: { hash?: unknown; key?: unknown; signature?: unknown }, bytes: Uint8Array | undefined): { json: string; bytes?: Uint8Array } {
  const data = bytes ?? new Uint8Array(0);
  switch (op) {
    case "web.digest":
      return { json: "", bytes: new Uint8Array(createHash(hashName(args.hash)).update(data).digest()) };
    case "web.hmac.sign":
      return { json: "", bytes: new Uint8Array(createHmac(hashName(args.hash), b64(args.key)).update(data).digest()) };
    case "web.hmac.verify": {
      const mac = createHmac(hashName(args.hash), b64(args.key)).update(data).digest();
      const sig = b64(args.signature);
      return { json: JSON.stringify(sig.length === mac.length && timingSafeEqual(sig, mac)) };
    }
    default:
      throw new Error(`unknown host operation ${op}`);
  }
}
