/**
 * Blob and File (https://w3c.github.io/FileAPI/): immutable bytes with a type. Parts may
 * be strings (UTF-8, lone surrogates → U+FFFD), buffers, views or Blobs; `endings:
 * "native"` converts line endings to "\n" (a Unix platform's).
 */
import { TextDecoder, TextEncoder } from "./encoding";
import { streams } from "./streams";

export type BlobPart = string | ArrayBuffer | ArrayBufferView | Blob;

const ASCII_TYPE = /^[\x20-\x7e]*$/;

function normalizeType(t: unknown): string {
  const s = t === undefined ? "" : String(t);
  return ASCII_TYPE.test(s) ? s.toLowerCase() : "";
}

export class Blob {
  #bytes: Uint8Array;
  #type: string;
  constructor(parts?: Iterable<BlobPart>, options?: { type?: string; endings?: "transparent" | "native" }) {
    if (parts !== undefined && (parts === null || typeof parts !== "object" || typeof (parts as Iterable<BlobPart>)[Symbol.iterator] !== "function"))
      throw new TypeError("Blob: blobParts must be an iterable");
    if (options !== undefined && options !== null && typeof options !== "object" && typeof options !== "function") throw new TypeError("Blob: options must be an object");
    const endings = options?.endings === undefined ? "transparent" : String(options.endings);
    if (endings !== "transparent" && endings !== "native") throw new TypeError(`Blob: endings must be "transparent" or "native"`);
    const type = normalizeType(options?.type);
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (const p of parts ?? []) {
      let b: Uint8Array;
      if (p instanceof Blob) b = p.#bytes;
      else if (p instanceof ArrayBuffer) b = new Uint8Array(p.slice(0));
      else if (ArrayBuffer.isView(p)) b = new Uint8Array(p.buffer.slice(p.byteOffset, p.byteOffset + p.byteLength) as ArrayBuffer);
      else {
        const s = String(p);
        b = new TextEncoder().encode(endings === "native" ? s.replace(/\r\n?/g, "\n") : s);
      }
      chunks.push(b);
      size += b.byteLength;
    }
    const all = new Uint8Array(size);
    let at = 0;
    for (const c of chunks) {
      all.set(c, at);
      at += c.byteLength;
    }
    this.#bytes = all;
    this.#type = type;
  }
  get size(): number {
    return this.#bytes.byteLength;
  }
  get type(): string {
    return this.#type;
  }
  slice(start?: number, end?: number, contentType?: string): Blob {
    const n = this.#bytes.byteLength;
    const rel = (x: number | undefined, d: number) => {
      const v = x === undefined ? d : Math.trunc(Number(x)) || 0;
      return v < 0 ? Math.max(n + v, 0) : Math.min(v, n);
    };
    const from = rel(start, 0);
    const to = rel(end, n);
    const out = new Blob([], { type: contentType });
    out.#bytes = this.#bytes.slice(from, Math.max(from, to));
    return out;
  }
  async text(): Promise<string> {
    return new TextDecoder().decode(this.#bytes);
  }
  async arrayBuffer(): Promise<ArrayBuffer> {
    return this.#bytes.slice().buffer as ArrayBuffer;
  }
  async bytes(): Promise<Uint8Array> {
    return this.#bytes.slice();
  }
  /** The bytes as a ReadableStream of one Uint8Array chunk. */
  stream(): ReadableStream<Uint8Array> {
    const bytes = this.#bytes;
    return new (streams().ReadableStream)<Uint8Array>({
      pull(c) {
        if (bytes.byteLength) c.enqueue(bytes.slice());
        c.close();
      },
    }, { highWaterMark: 0 });
  }
  get [Symbol.toStringTag](): string {
    return "Blob";
  }
  /** The bytes themselves (no copy), for Request/Response bodies inside the shims. */
  static _bytes(b: Blob): Uint8Array {
    return b.#bytes;
  }
}

export class File extends Blob {
  #name: string;
  #lastModified: number;
  constructor(bits: Iterable<BlobPart>, name: string, options?: { type?: string; endings?: "transparent" | "native"; lastModified?: number }) {
    if (arguments.length < 2) throw new TypeError("File: 2 arguments required");
    super(bits, options);
    this.#name = String(name);
    this.#lastModified = options?.lastModified === undefined ? Date.now() : Math.trunc(Number(options.lastModified)) || 0;
  }
  get name(): string {
    return this.#name;
  }
  get lastModified(): number {
    return this.#lastModified;
  }
  override get [Symbol.toStringTag](): string {
    return "File";
  }
}
