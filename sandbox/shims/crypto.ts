/**
 * `crypto` (Web Crypto): getRandomValues and randomUUID from the host's CSPRNG, and
 * `crypto.subtle`, every method run by the host's own Web Crypto through one data-only host
 * operation (`web.subtle`, see src/runtime/web-crypto.ts): arguments cross as JSON plus one
 * byte buffer, and a CryptoKey here holds its key material (as the host exported it), never
 * a reference to a host object. The host's errors come back as the same DOMExceptions.
 */
import { host } from "./host";
import { DOMException } from "./events";
import { toBytes } from "./encoding";

const INTEGER_ARRAYS = ["Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array", "Uint32Array", "BigInt64Array", "BigUint64Array"];

function getRandomValues<T extends ArrayBufferView | null>(arr: T): T {
  if (!ArrayBuffer.isView(arr) || arr instanceof DataView || !INTEGER_ARRAYS.includes(Object.prototype.toString.call(arr).slice(8, -1)))
    throw new DOMException("getRandomValues: expected an integer typed array", "TypeMismatchError");
  if (arr.byteLength > 65536) throw new DOMException(`getRandomValues: ${arr.byteLength} bytes requested, at most 65536 allowed`, "QuotaExceededError");
  new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength).set(new Uint8Array(host.random(arr.byteLength)));
  return arr;
}

function randomUUID(): string {
  const b = new Uint8Array(host.random(16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const KEY = Symbol("key");

/** A key's material as the host exported it (JWK, or raw bytes for PBKDF2/HKDF), kept inside the CryptoKey. */
interface Material {
  jwk?: Record<string, unknown>;
  raw?: Uint8Array;
}

export class CryptoKey {
  readonly type: string;
  readonly extractable: boolean;
  readonly algorithm: Record<string, unknown>;
  readonly usages: string[];
  [KEY]: Material & { type: string; algorithm: unknown; usages: string[] };
  constructor(key: symbol, d: { type: string; extractable: boolean; algorithm: Record<string, unknown>; usages: string[]; jwk?: Record<string, unknown>; raw?: Uint8Array }) {
    if (key !== KEY) throw new TypeError("Illegal constructor");
    this.type = d.type;
    this.extractable = d.extractable;
    this.algorithm = d.algorithm;
    this.usages = d.usages;
    this[KEY] = { type: d.type, algorithm: d.algorithm, usages: d.usages, jwk: d.jwk, raw: d.raw };
  }
  get [Symbol.toStringTag](): string {
    return "CryptoKey";
  }
}

/** Arguments → JSON with binary fields as {$bin:[offset,length]} into one buffer, keys as {$key}. */
class Packer {
  chunks: Uint8Array[] = [];
  size = 0;
  bin(b: Uint8Array): { $bin: [number, number] } {
    const copy = b.slice();
    this.chunks.push(copy);
    this.size += copy.byteLength;
    return { $bin: [this.size - copy.byteLength, copy.byteLength] };
  }
  pack(v: unknown, depth = 0): unknown {
    if (depth > 16) throw new TypeError("crypto.subtle: argument nests too deeply");
    if (v instanceof CryptoKey) {
      const k = v[KEY];
      return { $key: { type: k.type, extractable: true, algorithm: this.pack(k.algorithm, depth + 1), usages: k.usages, jwk: k.jwk, raw: k.raw ? this.bin(k.raw) : undefined } };
    }
    if (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) return this.bin(toBytes(v));
    if (Array.isArray(v)) return v.map((x) => this.pack(x, depth + 1));
    if (v && typeof v === "object") {
      const out: Record<string, unknown> = {};
      for (const k in v) out[k] = this.pack((v as Record<string, unknown>)[k], depth + 1);
      return out;
    }
    if (typeof v === "function" || typeof v === "symbol") throw new TypeError("crypto.subtle: unexpected argument type");
    return v;
  }
  buffer(): ArrayBuffer {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.byteLength;
    }
    return out.buffer as ArrayBuffer;
  }
}

function unpack(v: unknown, bytes: Uint8Array): unknown {
  if (Array.isArray(v)) return v.map((x) => unpack(x, bytes));
  if (!v || typeof v !== "object") return v;
  const o = v as Record<string, unknown>;
  if (Array.isArray(o.$bin)) {
    const [at, n] = o.$bin as [number, number];
    return bytes.slice(at, at + n).buffer;
  }
  if (o.$key) {
    const k = unpack(o.$key, bytes) as { type: string; extractable: boolean; algorithm: Record<string, unknown>; usages: string[]; jwk?: Record<string, unknown>; raw?: ArrayBuffer };
    if (k.algorithm.publicExponent instanceof ArrayBuffer) k.algorithm.publicExponent = new Uint8Array(k.algorithm.publicExponent);
    return new CryptoKey(KEY, { ...k, raw: k.raw ? new Uint8Array(k.raw) : undefined });
  }
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(o)) out[k] = unpack(x, bytes);
  return out;
}

const ERRORS: Record<string, ErrorConstructor> = { TypeError, RangeError, SyntaxError: SyntaxError, Error };

/** One SubtleCrypto method on the host's Web Crypto; rejects with the host's error (DOMException name kept). */
async function run(method: string, args: unknown[]): Promise<any> {
  const p = new Packer();
  const packed = args.map((a) => p.pack(a));
  const [json, bytes] = await host.call("web.subtle", JSON.stringify({ method, args: packed }), p.buffer());
  const r = JSON.parse(json) as { result?: unknown; error?: { name: string; message: string } };
  if (r.error) {
    const { name, message } = r.error;
    if (name === "TypeError" || name === "RangeError") throw new ERRORS[name]!(message);
    throw new DOMException(message, name);
  }
  return unpack(r.result, new Uint8Array(bytes ?? new ArrayBuffer(0)));
}

const requireKey = (k: unknown) => {
  if (!(k instanceof CryptoKey)) throw new TypeError("Expected a CryptoKey");
  return k;
};

const subtle = {
  digest: (alg: unknown, data: unknown) => run("digest", [alg, data]),
  importKey: (format: unknown, keyData: unknown, alg: unknown, extractable: unknown, usages: unknown) => run("importKey", [format, keyData, alg, !!extractable, usages]),
  async exportKey(format: unknown, key: unknown) {
    if (!requireKey(key).extractable) throw new DOMException("The key is not extractable", "InvalidAccessError");
    return run("exportKey", [format, key]);
  },
  generateKey: (alg: unknown, extractable: unknown, usages: unknown) => run("generateKey", [alg, !!extractable, usages]),
  sign: (alg: unknown, key: unknown, data: unknown) => run("sign", [alg, requireKey(key), data]),
  verify: (alg: unknown, key: unknown, sig: unknown, data: unknown) => run("verify", [alg, requireKey(key), sig, data]),
  encrypt: (alg: unknown, key: unknown, data: unknown) => run("encrypt", [alg, requireKey(key), data]),
  decrypt: (alg: unknown, key: unknown, data: unknown) => run("decrypt", [alg, requireKey(key), data]),
  deriveBits: (alg: unknown, key: unknown, length: unknown) => run("deriveBits", [alg, requireKey(key), length]),
  deriveKey: (alg: unknown, key: unknown, derived: unknown, extractable: unknown, usages: unknown) => run("deriveKey", [alg, requireKey(key), derived, !!extractable, usages]),
  async wrapKey(format: unknown, key: unknown, wrappingKey: unknown, alg: unknown) {
    if (!requireKey(key).extractable) throw new DOMException("The key is not extractable", "InvalidAccessError");
    return run("wrapKey", [format, key, requireKey(wrappingKey), alg]);
  },
  unwrapKey: (format: unknown, wrapped: unknown, key: unknown, alg: unknown, keyAlg: unknown, extractable: unknown, usages: unknown) =>
    run("unwrapKey", [format, wrapped, requireKey(key), alg, keyAlg, !!extractable, usages]),
};
Object.defineProperty(subtle, Symbol.toStringTag, { value: "SubtleCrypto" });

export const crypto = { getRandomValues, randomUUID, subtle };
Object.defineProperty(crypto, Symbol.toStringTag, { value: "Crypto" });
