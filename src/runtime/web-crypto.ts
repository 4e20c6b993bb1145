/**
 * Host side of the guest's crypto.subtle: every SubtleCrypto method runs on the host's own
 * Web Crypto (Bun's), behind a data-only bridge. The guest sends the method name and its
 * arguments as JSON, binary fields as `{"$bin":[offset,length]}` into the call's one byte
 * buffer and keys as `{"$key":{...}}` — a key's material travels with it (a JWK, or the raw
 * bytes for PBKDF2/HKDF, which have no JWK form) because no host object may outlive the call.
 * Results come back the same way; a failure is `{"error":{name,message}}` so the guest can
 * throw the same DOMException the host threw.
 *
 * Host CPU is bounded: RSA moduli above 4096 bits and PBKDF2 above 1,000,000 iterations are
 * refused, and the bridge counts operations per guest call (see bridges.ts).
 */

const subtle = globalThis.crypto.subtle;
const MAX_RSA_BITS = 4096;
const MAX_PBKDF2_ITERATIONS = 1_000_000;
const NO_JWK = new Set(["PBKDF2", "HKDF"]);

/** A key as it crosses: its public properties and its material. */
interface KeyData {
  type: KeyType;
  extractable: boolean;
  algorithm: unknown;
  usages: KeyUsage[];
  jwk?: JsonWebKey;
  raw?: Uint8Array;
}

class Reader {
  constructor(private bytes: Uint8Array) {}
  async revive(v: unknown): Promise<unknown> {
    if (Array.isArray(v)) return Promise.all(v.map((x) => this.revive(x)));
    if (!v || typeof v !== "object") return v;
    const o = v as Record<string, unknown>;
    if (Array.isArray(o.$bin)) {
      const [at, n] = o.$bin as [number, number];
      if (!Number.isInteger(at) || !Number.isInteger(n) || at < 0 || n < 0 || at + n > this.bytes.length) throw new TypeError("crypto.subtle: bad binary reference");
      return this.bytes.slice(at, at + n);
    }
    if (o.$key && typeof o.$key === "object") return importKeyData((await this.revive(o.$key)) as KeyData);
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(o)) out[k] = await this.revive(x);
    return out;
  }
}

class Writer {
  chunks: Uint8Array[] = [];
  size = 0;
  bin(b: ArrayBuffer | ArrayBufferView): { $bin: [number, number] } {
    const u = b instanceof ArrayBuffer ? new Uint8Array(b) : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    this.chunks.push(u);
    this.size += u.byteLength;
    return { $bin: [this.size - u.byteLength, u.byteLength] };
  }
  async encode(v: unknown, raw?: Uint8Array): Promise<unknown> {
    if (v instanceof CryptoKey) return { $key: await this.key(v, raw) };
    if (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) return this.bin(v);
    if (Array.isArray(v)) return Promise.all(v.map((x) => this.encode(x, raw)));
    if (v && typeof v === "object") {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = await this.encode(x, raw);
      return out;
    }
    return v;
  }
  async key(k: CryptoKey, raw?: Uint8Array): Promise<unknown> {
    const name = (k.algorithm as { name: string }).name;
    const material = NO_JWK.has(name) ? { raw: raw ? this.bin(raw) : undefined } : { jwk: await subtle.exportKey("jwk", k) };
    return { type: k.type, extractable: k.extractable, algorithm: await this.encode(k.algorithm), usages: k.usages, ...material };
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.byteLength;
    }
    return out;
  }
}

/** The algorithm to re-import a key with, from its `algorithm` dictionary. */
function importParams(a: Record<string, unknown>): Record<string, unknown> {
  const { name, hash, namedCurve, length } = a as { name: string; hash?: { name: string }; namedCurve?: string; length?: number };
  if (name.startsWith("RSA")) return { name, hash };
  if (name === "ECDSA" || name === "ECDH") return { name, namedCurve };
  if (name === "HMAC") return { name, hash, length };
  return { name };
}

async function importKeyData(k: KeyData): Promise<CryptoKey> {
  const alg = importParams(k.algorithm as Record<string, unknown>);
  if (k.raw) return subtle.importKey("raw", k.raw as Uint8Array<ArrayBuffer>, alg as never, false, k.usages);
  if (!k.jwk) throw new TypeError("crypto.subtle: a key without material");
  return subtle.importKey("jwk", k.jwk, alg as never, true, k.usages);
}

function checkCost(alg: unknown): void {
  if (!alg || typeof alg !== "object") return;
  const a = alg as { modulusLength?: unknown; iterations?: unknown };
  if (typeof a.modulusLength === "number" && a.modulusLength > MAX_RSA_BITS) throw new DOMException(`RSA keys above ${MAX_RSA_BITS} bits are not available in the sandbox`, "NotSupportedError");
  if (typeof a.iterations === "number" && a.iterations > MAX_PBKDF2_ITERATIONS) throw new DOMException(`PBKDF2 above ${MAX_PBKDF2_ITERATIONS} iterations is not available in the sandbox`, "NotSupportedError");
}

/** Runs one SubtleCrypto method for the guest; `args` JSON-decoded, `bytes` the call's buffer. */
export async function subtleCall(method: string, args: unknown[], bytes: Uint8Array): Promise<{ json: string; bytes?: Uint8Array }> {
  const w = new Writer();
  try {
    const a = (await new Reader(bytes).revive(args)) as unknown[];
    const wantExtractable = (i: number) => a[i] === true;
    let result: unknown;
    switch (method) {
      case "digest":
        result = await subtle.digest(a[0] as AlgorithmIdentifier, a[1] as BufferSource);
        break;
      case "importKey": {
        const [format, data, alg, , usages] = a as [KeyFormat, BufferSource | JsonWebKey, AlgorithmIdentifier, boolean, KeyUsage[]];
        const noJwk = NO_JWK.has(String((alg as { name?: string })?.name ?? alg).toUpperCase());
        const key = await subtle.importKey(format as "raw", data as BufferSource, alg, noJwk ? wantExtractable(3) : true, usages);
        result = { $key: { ...((await w.key(key, noJwk ? (data as Uint8Array) : undefined)) as object), extractable: wantExtractable(3) } };
        return { json: JSON.stringify({ result }), bytes: w.bytes() };
      }
      case "exportKey":
        result = await subtle.exportKey(a[0] as "jwk", a[1] as CryptoKey);
        if (result && typeof result === "object" && !(result instanceof ArrayBuffer)) (result as JsonWebKey).ext = true;
        break;
      case "generateKey": {
        checkCost(a[0]);
        const k = await subtle.generateKey(a[0] as AlgorithmIdentifier, true, a[2] as KeyUsage[]);
        const one = async (key: CryptoKey, ext: boolean) => ({ $key: { ...((await w.key(key)) as object), extractable: ext } });
        result = k instanceof CryptoKey ? await one(k, wantExtractable(1)) : { publicKey: await one(k.publicKey, true), privateKey: await one(k.privateKey, wantExtractable(1)) };
        return { json: JSON.stringify({ result }), bytes: w.bytes() };
      }
      case "sign":
        result = await subtle.sign(a[0] as AlgorithmIdentifier, a[1] as CryptoKey, a[2] as BufferSource);
        break;
      case "verify":
        result = await subtle.verify(a[0] as AlgorithmIdentifier, a[1] as CryptoKey, a[2] as BufferSource, a[3] as BufferSource);
        break;
      case "encrypt":
        result = await subtle.encrypt(a[0] as AlgorithmIdentifier, a[1] as CryptoKey, a[2] as BufferSource);
        break;
      case "decrypt":
        result = await subtle.decrypt(a[0] as AlgorithmIdentifier, a[1] as CryptoKey, a[2] as BufferSource);
        break;
      case "deriveBits":
        checkCost(a[0]);
        result = await subtle.deriveBits(a[0] as AlgorithmIdentifier, a[1] as CryptoKey, a[2] as number);
        break;
      case "deriveKey": {
        checkCost(a[0]);
        const key = await subtle.deriveKey(a[0] as AlgorithmIdentifier, a[1] as CryptoKey, a[2] as AlgorithmIdentifier, true, a[4] as KeyUsage[]);
        result = { $key: { ...((await w.key(key)) as object), extractable: wantExtractable(3) } };
        return { json: JSON.stringify({ result }), bytes: w.bytes() };
      }
      case "wrapKey":
        result = await subtle.wrapKey(a[0] as "raw", a[1] as CryptoKey, a[2] as CryptoKey, a[3] as AlgorithmIdentifier);
        break;
      case "unwrapKey": {
        const key = await subtle.unwrapKey(a[0] as "raw", a[1] as BufferSource, a[2] as CryptoKey, a[3] as AlgorithmIdentifier, a[4] as AlgorithmIdentifier, true, a[6] as KeyUsage[]);
        result = { $key: { ...((await w.key(key)) as object), extractable: wantExtractable(5) } };
        return { json: JSON.stringify({ result }), bytes: w.bytes() };
      }
      default:
        throw new TypeError(`crypto.subtle: unknown method ${method.slice(0, 40)}`);
    }
    return { json: JSON.stringify({ result: await w.encode(result) }), bytes: w.bytes() };
  } catch (e) {
    const err = e as { name?: unknown; message?: unknown };
    return { json: JSON.stringify({ error: { name: String(err?.name ?? "Error"), message: String(err?.message ?? e) } }) };
  }
}
