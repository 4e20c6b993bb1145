/**
 * TextEncoder/TextDecoder (UTF-8 only, converted by the host for speed) and atob/btoa.
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
  readonly encoding = "utf-8";
  encode(s = ""): Uint8Array {
    return new Uint8Array(host.encode(String(s)));
  }
  encodeInto(s: string, dest: Uint8Array): { read: number; written: number } {
    const b = this.encode(s);
    if (b.length > dest.length) throw new RangeError("encodeInto: destination too small");
    dest.set(b);
    return { read: s.length, written: b.length };
  }
}

export class TextDecoder {
  readonly encoding: string;
  constructor(label = "utf-8") {
    const l = String(label).toLowerCase();
    if (l !== "utf-8" && l !== "utf8") throw new RangeError(`TextDecoder: unsupported encoding ${label}`);
    this.encoding = "utf-8";
  }
  decode(input?: ArrayBuffer | ArrayBufferView): string {
    if (input === undefined) return "";
    return host.decode(ownBuffer(toBytes(input)));
  }
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

export function btoa(data: string): string {
  const s = String(data);
  let out = "";
  for (let i = 0; i < s.length; i += 3) {
    const a = s.charCodeAt(i), b = s.charCodeAt(i + 1), c = s.charCodeAt(i + 2);
    if (a > 255 || b > 255 || c > 255) throw new Error("btoa: string contains characters outside Latin1");
    const n = (a << 16) | ((b || 0) << 8) | (c || 0);
    out += B64[(n >> 18) & 63]! + B64[(n >> 12) & 63]! + (i + 1 < s.length ? B64[(n >> 6) & 63] : "=") + (i + 2 < s.length ? B64[n & 63] : "=");
  }
  return out;
}

export function atob(data: string): string {
  const s = String(data).replace(/[\t\n\f\r ]/g, "").replace(/=+$/, "");
  if (s.length % 4 === 1 || /[^A-Za-z0-9+/]/.test(s)) throw new Error("atob: invalid base64");
  let out = "";
  let bits = 0, acc = 0;
  for (let i = 0; i < s.length; i++) {
    acc = (acc << 6) | B64.indexOf(s[i]!);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += String.fromCharCode((acc >> bits) & 255);
    }
  }
  return out;
}
