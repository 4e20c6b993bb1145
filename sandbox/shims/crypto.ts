/**
 * `crypto` (Web Crypto): getRandomValues and randomUUID from the host's CSPRNG, and
 * `crypto.subtle` for what backends do most — digest (SHA-1/256/384/512) and HMAC keys
 * (importKey raw/jwk, generateKey, exportKey, sign, verify; verify compares in constant
 * time). The hashing runs in the host (`web.*` operations, data only: the guest keeps the
 * key bytes inside its CryptoKey). Other algorithms reject with NotSupportedError.
 */
import { host, hostCall } from "./host";
import { DOMException } from "./events";
import { ownBuffer, toBytes } from "./encoding";

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

const HASHES = ["SHA-1", "SHA-256", "SHA-384", "SHA-512"];
const BLOCK: Record<string, number> = { "SHA-1": 512, "SHA-256": 512, "SHA-384": 1024, "SHA-512": 1024 };
const JWK_ALG: Record<string, string> = { "SHA-1": "HS1", "SHA-256": "HS256", "SHA-384": "HS384", "SHA-512": "HS512" };

type AlgorithmIdentifier = string | { name: string; hash?: AlgorithmIdentifier; length?: number };

function algName(a: unknown): string {
  const n = typeof a === "string" ? a : a && typeof a === "object" && "name" in a ? String((a as { name: unknown }).name) : undefined;
  if (n === undefined) throw new TypeError("Algorithm: expected a name");
  return n;
}

function hashOf(a: unknown): string {
  const n = algName(a).toUpperCase();
  const h = HASHES.find((x) => x === n);
  if (!h) throw new DOMException(`Unrecognized hash ${algName(a)}`, "NotSupportedError");
  return h;
}

const b64 = (b: Uint8Array) => {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return (globalThis as unknown as { btoa(s: string): string }).btoa(s);
};
const fromB64url = (s: string): Uint8Array => {
  const std = s.replace(/-/g, "+").replace(/_/g, "/");
  if (/[^A-Za-z0-9+/]/.test(std)) throw new DOMException("JWK: k is not base64url", "DataError");
  const bin = (globalThis as unknown as { atob(s: string): string }).atob(std + "===".slice((std.length + 3) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
};
const toB64url = (b: Uint8Array) => b64(b).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

function bufferSource(v: unknown, what: string): Uint8Array {
  if (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) return toBytes(v).slice();
  throw new TypeError(`${what}: expected an ArrayBuffer or a view`);
}

const KEY = Symbol("key");

export class CryptoKey {
  readonly type = "secret";
  readonly extractable: boolean;
  readonly algorithm: { name: "HMAC"; hash: { name: string }; length: number };
  readonly usages: string[];
  [KEY]: Uint8Array;
  constructor(key: symbol, raw: Uint8Array, hash: string, extractable: boolean, usages: string[]) {
    if (key !== KEY) throw new TypeError("Illegal constructor");
    this[KEY] = raw;
    this.algorithm = { name: "HMAC", hash: { name: hash }, length: raw.length * 8 };
    this.extractable = extractable;
    this.usages = usages;
  }
  get [Symbol.toStringTag](): string {
    return "CryptoKey";
  }
}

function hmacUsages(usages: unknown): string[] {
  const list = [...(usages as Iterable<string>)].map(String);
  for (const u of list) if (u !== "sign" && u !== "verify") throw new DOMException(`HMAC keys cannot be used to ${u}`, "SyntaxError");
  if (list.length === 0) throw new DOMException("A secret key needs at least one usage", "SyntaxError");
  return [...new Set(list)];
}

function checkKey(key: unknown, usage: string): CryptoKey {
  if (!(key instanceof CryptoKey)) throw new TypeError("Expected a CryptoKey");
  if (!key.usages.includes(usage)) throw new DOMException(`The key cannot be used to ${usage}`, "InvalidAccessError");
  return key;
}

function hmacAlg(alg: unknown, key: CryptoKey): void {
  if (algName(alg).toUpperCase() !== "HMAC") throw new DOMException(`Unrecognized algorithm ${algName(alg)}`, key ? "InvalidAccessError" : "NotSupportedError");
}

const notSupported = (name: string) => new DOMException(`Algorithm ${name} is not supported in the sandbox (supported: digest SHA-1/256/384/512, HMAC)`, "NotSupportedError");

const subtle = {
  async digest(alg: AlgorithmIdentifier, data: BufferSource): Promise<ArrayBuffer> {
    const hash = hashOf(alg);
    const [, out] = await host.call("web.digest", JSON.stringify({ hash }), ownBuffer(bufferSource(data, "digest")));
    return out!;
  },
  async importKey(format: string, keyData: unknown, alg: AlgorithmIdentifier, extractable: boolean, usages: Iterable<string>): Promise<CryptoKey> {
    const name = algName(alg);
    if (name.toUpperCase() !== "HMAC") throw notSupported(name);
    if (typeof alg !== "object" || alg.hash === undefined) throw new TypeError("HMAC importKey: algorithm.hash is required");
    const hash = hashOf(alg.hash);
    const use = hmacUsages(usages);
    let raw: Uint8Array;
    if (format === "raw") raw = bufferSource(keyData, "importKey");
    else if (format === "jwk") {
      const jwk = keyData as { kty?: string; k?: string; alg?: string; use?: string; key_ops?: string[]; ext?: boolean };
      if (!jwk || typeof jwk !== "object") throw new TypeError("importKey: a JWK must be an object");
      if (jwk.kty !== "oct") throw new DOMException("JWK: kty must be \"oct\"", "DataError");
      if (typeof jwk.k !== "string") throw new DOMException("JWK: k is required", "DataError");
      raw = fromB64url(jwk.k);
      if (jwk.alg !== undefined && jwk.alg !== JWK_ALG[hash]) throw new DOMException(`JWK: alg ${jwk.alg} does not match ${hash}`, "DataError");
      if (use.length && jwk.use !== undefined && jwk.use !== "sig") throw new DOMException("JWK: use must be \"sig\"", "DataError");
      if (jwk.key_ops !== undefined && use.some((u) => !jwk.key_ops!.includes(u))) throw new DOMException("JWK: key_ops does not allow these usages", "DataError");
      if (jwk.ext === false && extractable) throw new DOMException("JWK: ext is false but the key is to be extractable", "DataError");
    } else if (format === "pkcs8" || format === "spki") throw new DOMException(`HMAC keys cannot be imported as ${format}`, "NotSupportedError");
    else throw new TypeError(`importKey: unknown format ${format}`);
    if (raw.length === 0) throw new DOMException("An HMAC key cannot be empty", "DataError");
    const length = alg.length;
    if (length !== undefined && (length > raw.length * 8 || length <= (raw.length - 1) * 8)) throw new DOMException("HMAC: length does not match the key data", "DataError");
    return new CryptoKey(KEY, raw, hash, !!extractable, use);
  },
  async generateKey(alg: AlgorithmIdentifier, extractable: boolean, usages: Iterable<string>): Promise<CryptoKey> {
    const name = algName(alg);
    if (name.toUpperCase() !== "HMAC") throw notSupported(name);
    if (typeof alg !== "object" || alg.hash === undefined) throw new TypeError("HMAC generateKey: algorithm.hash is required");
    const hash = hashOf(alg.hash);
    const use = hmacUsages(usages);
    const bits = alg.length === undefined ? BLOCK[hash]! : Number(alg.length);
    if (!(bits > 0) || bits % 8 !== 0) throw new DOMException("HMAC: length must be a positive multiple of 8", "OperationError");
    return new CryptoKey(KEY, new Uint8Array(host.random(bits / 8)), hash, !!extractable, use);
  },
  async exportKey(format: string, key: CryptoKey): Promise<ArrayBuffer | Record<string, unknown>> {
    if (!(key instanceof CryptoKey)) throw new TypeError("exportKey: expected a CryptoKey");
    if (!key.extractable) throw new DOMException("The key is not extractable", "InvalidAccessError");
    if (format === "raw") return key[KEY].slice().buffer as ArrayBuffer;
    if (format === "jwk") return { kty: "oct", k: toB64url(key[KEY]), alg: JWK_ALG[key.algorithm.hash.name], key_ops: [...key.usages], ext: true };
    throw new DOMException(`HMAC keys cannot be exported as ${format}`, "NotSupportedError");
  },
  async sign(alg: AlgorithmIdentifier, key: CryptoKey, data: BufferSource): Promise<ArrayBuffer> {
    const k = checkKey(key, "sign");
    hmacAlg(alg, k);
    const [, out] = await host.call("web.hmac.sign", JSON.stringify({ hash: k.algorithm.hash.name, key: b64(k[KEY]) }), ownBuffer(bufferSource(data, "sign")));
    return out!;
  },
  async verify(alg: AlgorithmIdentifier, key: CryptoKey, signature: BufferSource, data: BufferSource): Promise<boolean> {
    const k = checkKey(key, "verify");
    hmacAlg(alg, k);
    const sig = bufferSource(signature, "verify");
    return hostCall<boolean>("web.hmac.verify", { hash: k.algorithm.hash.name, key: b64(k[KEY]), signature: b64(sig) }, ownBuffer(bufferSource(data, "verify")));
  },
  async encrypt(alg: AlgorithmIdentifier): Promise<never> {
    throw notSupported(algName(alg));
  },
  async decrypt(alg: AlgorithmIdentifier): Promise<never> {
    throw notSupported(algName(alg));
  },
  async deriveBits(alg: AlgorithmIdentifier): Promise<never> {
    throw notSupported(algName(alg));
  },
  async deriveKey(alg: AlgorithmIdentifier): Promise<never> {
    throw notSupported(algName(alg));
  },
  async wrapKey(): Promise<never> {
    throw notSupported("wrapKey");
  },
  async unwrapKey(): Promise<never> {
    throw notSupported("unwrapKey");
  },
};
Object.defineProperty(subtle, Symbol.toStringTag, { value: "SubtleCrypto" });

type BufferSource = ArrayBuffer | ArrayBufferView;

export const crypto = { getRandomValues, randomUUID, subtle };
Object.defineProperty(crypto, Symbol.toStringTag, { value: "Crypto" });
