/**
 * TextEncoder/TextDecoder (Encoding standard) and atob/btoa (HTML). Conversion runs in the
 * host: UTF-8 encoding through `host.encode` (lone surrogates → U+FFFD, the USVString
 * rule), decoding through `host.textDecode` — the host's own TextDecoder, so every label,
 * `fatal`, `ignoreBOM` and `stream` behave as the standard says. A streaming decoder's
 * state lives in the host under a small id (bounded per interpreter).
 */
import { host } from "./host";

export function toBytes(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  throw new TypeError("expected an ArrayBuffer or a typed array");
}

/** A standalone ArrayBuffer holding exactly these bytes (for handing to the host). */
export function ownBuffer(b: Uint8Array): ArrayBuffer {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? (b.buffer as ArrayBuffer) : (b.slice().buffer as ArrayBuffer);
}

export class TextEncoder {
  get encoding(): string {
    return "utf-8";
  }
  encode(s: unknown = ""): Uint8Array {
    return new Uint8Array(host.encode(String(s)));
  }
  /** Encodes as many whole code points of `s` as fit into `dest`. */
  encodeInto(s: unknown, dest: Uint8Array): { read: number; written: number } {
    if (!(dest instanceof Uint8Array)) throw new TypeError("encodeInto: destination must be a Uint8Array");
    const str = String(s);
    const room = dest.length;
    let read = 0;
    let written = 0;
    // Fast path: the whole string fits.
    const all = this.encode(str);
    if (all.length <= room) {
      dest.set(all);
      return { read: str.length, written: all.length };
    }
    for (let i = 0; i < str.length; ) {
      const c = str.codePointAt(i)!;
      const units = c > 0xffff ? 2 : 1;
      const lone = c >= 0xd800 && c <= 0xdfff;
      const n = lone ? 3 : c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
      if (written + n > room) break;
      const cp = lone ? 0xfffd : c;
      if (n === 1) dest[written] = cp;
      else if (n === 2) {
        dest[written] = 0xc0 | (cp >> 6);
        dest[written + 1] = 0x80 | (cp & 63);
      } else if (n === 3) {
        dest[written] = 0xe0 | (cp >> 12);
        dest[written + 1] = 0x80 | ((cp >> 6) & 63);
        dest[written + 2] = 0x80 | (cp & 63);
      } else {
        dest[written] = 0xf0 | (cp >> 18);
        dest[written + 1] = 0x80 | ((cp >> 12) & 63);
        dest[written + 2] = 0x80 | ((cp >> 6) & 63);
        dest[written + 3] = 0x80 | (cp & 63);
      }
      written += n;
      read += units;
      i += units;
    }
    return { read, written };
  }
  get [Symbol.toStringTag](): string {
    return "TextEncoder";
  }
}

let nextStream = 1;

export class TextDecoder {
  #encoding: string;
  #fatal: boolean;
  #ignoreBOM: boolean;
  /** Host-side stream id while a streamed decode is in progress, else 0. */
  #stream = 0;
  constructor(label: unknown = "utf-8", options: { fatal?: boolean; ignoreBOM?: boolean } = {}) {
    if (options !== undefined && options !== null && typeof options !== "object") throw new TypeError("TextDecoder: options must be an object");
    this.#fatal = !!options?.fatal;
    this.#ignoreBOM = !!options?.ignoreBOM;
    const name = host.textDecode(0, String(label), 0, undefined);
    if (name === null) throw new RangeError(`TextDecoder: "${String(label)}" is not a supported encoding label`);
    this.#encoding = name;
  }
  get encoding(): string {
    return this.#encoding;
  }
  get fatal(): boolean {
    return this.#fatal;
  }
  get ignoreBOM(): boolean {
    return this.#ignoreBOM;
  }
  decode(input?: ArrayBuffer | ArrayBufferView | null, options: { stream?: boolean } = {}): string {
    if (input !== undefined && input !== null && !(input instanceof ArrayBuffer) && !ArrayBuffer.isView(input)) throw new TypeError("TextDecoder.decode: input must be a buffer or a view");
    const stream = !!options?.stream;
    const bytes = input === undefined || input === null ? new ArrayBuffer(0) : toBytes(input).slice().buffer as ArrayBuffer;
    if (!stream && this.#stream === 0 && this.#encoding === "utf-8" && !this.#fatal && !this.#ignoreBOM) return host.decode(bytes);
    if (stream && this.#stream === 0) this.#stream = nextStream++;
    const id = this.#stream;
    if (!stream) this.#stream = 0;
    const flags = (this.#fatal ? 1 : 0) | (this.#ignoreBOM ? 2 : 0) | (stream ? 4 : 0);
    const out = host.textDecode(id, this.#encoding, flags, bytes);
    if (out === null) {
      this.#stream = 0;
      throw new TypeError(`TextDecoder.decode: the input is not valid ${this.#encoding}`);
    }
    return out;
  }
  get [Symbol.toStringTag](): string {
    return "TextDecoder";
  }
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

function invalidCharacter(message: string): Error {
  const D = (globalThis as { DOMException?: new (m: string, n: string) => Error }).DOMException;
  return D ? new D(message, "InvalidCharacterError") : new Error(message);
}

/** HTML's btoa: Latin-1 string → base64; other characters throw InvalidCharacterError. */
export function btoa(data: unknown): string {
  if (arguments.length < 1) throw new TypeError("btoa: 1 argument required");
  const s = String(data);
  let out = "";
  for (let i = 0; i < s.length; i += 3) {
    const a = s.charCodeAt(i), b = s.charCodeAt(i + 1), c = s.charCodeAt(i + 2);
    if (a > 255 || b > 255 || c > 255) throw invalidCharacter("btoa: the string contains characters outside Latin-1");
    const n = (a << 16) | ((b || 0) << 8) | (c || 0);
    out += B64[(n >> 18) & 63]! + B64[(n >> 12) & 63]! + (i + 1 < s.length ? B64[(n >> 6) & 63] : "=") + (i + 2 < s.length ? B64[n & 63] : "=");
  }
  return out;
}

/** HTML's forgiving-base64 decode (https://infra.spec.whatwg.org/#forgiving-base64-decode). */
export function atob(data: unknown): string {
  if (arguments.length < 1) throw new TypeError("atob: 1 argument required");
  let s = String(data).replace(/[\t\n\f\r ]/g, "");
  if (s.length % 4 === 0) s = s.replace(/==?$/, "");
  if (s.length % 4 === 1 || /[^A-Za-z0-9+/]/.test(s)) throw invalidCharacter("atob: the string is not correctly encoded base64");
  let out = "";
  let bits = 0, acc = 0;
  for (let i = 0; i < s.length; i++) {
    acc = ((acc << 6) | B64.indexOf(s[i]!)) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += String.fromCharCode((acc >> bits) & 255);
    }
  }
  return out;
}
