/**
 * FormData (https://xhr.spec.whatwg.org/#interface-formdata): ordered (name, value)
 * entries, a value being a string or a File (a Blob is wrapped as File "blob"); plus the
 * multipart/form-data encoder and parser (RFC 7578) Request/Response and the SDK use.
 */
import { Blob, File } from "./blob";
import { TextDecoder, TextEncoder } from "./encoding";

export type FormDataEntryValue = string | File;

const toUSV = (s: unknown) => String(s).toWellFormed();

function entryValue(value: unknown, filename: unknown, argc: number): FormDataEntryValue {
  if (!(value instanceof Blob)) {
    if (argc > 2) throw new TypeError("FormData: a filename is only allowed with a Blob value");
    return toUSV(value);
  }
  const name = filename !== undefined ? toUSV(filename) : value instanceof File ? value.name : "blob";
  if (value instanceof File && filename === undefined) return value;
  return new File([value], name, { type: value.type, lastModified: value instanceof File ? value.lastModified : undefined });
}

export class FormData {
  #entries: [string, FormDataEntryValue][] = [];
  constructor(form?: unknown) {
    if (form !== undefined) throw new TypeError("FormData: there are no HTML forms in the sandbox");
  }
  append(name: string, value: string | Blob, filename?: string): void {
    if (arguments.length < 2) throw new TypeError("FormData.append: 2 arguments required");
    this.#entries.push([toUSV(name), entryValue(value, filename, arguments.length)]);
  }
  set(name: string, value: string | Blob, filename?: string): void {
    if (arguments.length < 2) throw new TypeError("FormData.set: 2 arguments required");
    const n = toUSV(name);
    const v = entryValue(value, filename, arguments.length);
    const i = this.#entries.findIndex((e) => e[0] === n);
    if (i < 0) this.#entries.push([n, v]);
    else {
      this.#entries[i] = [n, v];
      this.#entries = this.#entries.filter((e, j) => j <= i || e[0] !== n);
    }
  }
  get(name: string): FormDataEntryValue | null {
    const n = toUSV(name);
    return this.#entries.find((e) => e[0] === n)?.[1] ?? null;
  }
  getAll(name: string): FormDataEntryValue[] {
    const n = toUSV(name);
    return this.#entries.filter((e) => e[0] === n).map((e) => e[1]);
  }
  has(name: string): boolean {
    const n = toUSV(name);
    return this.#entries.some((e) => e[0] === n);
  }
  delete(name: string): void {
    const n = toUSV(name);
    this.#entries = this.#entries.filter((e) => e[0] !== n);
  }
  forEach(cb: (value: FormDataEntryValue, name: string, self: FormData) => void, thisArg?: unknown): void {
    for (const [n, v] of this) cb.call(thisArg, v, n, this);
  }
  *entries(): IterableIterator<[string, FormDataEntryValue]> {
    for (let i = 0; i < this.#entries.length; i++) yield [this.#entries[i]![0], this.#entries[i]![1]];
  }
  *keys(): IterableIterator<string> {
    for (const [n] of this.entries()) yield n;
  }
  *values(): IterableIterator<FormDataEntryValue> {
    for (const [, v] of this.entries()) yield v;
  }
  [Symbol.iterator](): IterableIterator<[string, FormDataEntryValue]> {
    return this.entries();
  }
  get [Symbol.toStringTag](): string {
    return "FormData";
  }
}

const escapeName = (s: string) => s.replace(/\r\n?|\n/g, "\r\n").replace(/\n/g, "%0A").replace(/\r/g, "%0D").replace(/"/g, "%22");

/** Encodes entries as multipart/form-data with the given boundary (HTML's algorithm). */
export function encodeMultipart(form: FormData, boundary: string): Uint8Array {
  const enc = new TextEncoder();
  const chunks: Uint8Array[] = [];
  for (const [name, value] of form) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${escapeName(name)}"`;
    if (typeof value === "string") {
      chunks.push(enc.encode(`${head}\r\n\r\n${value.replace(/\r\n?|\n/g, "\r\n")}\r\n`));
    } else {
      head += `; filename="${escapeName(value.name)}"\r\nContent-Type: ${value.type || "application/octet-stream"}\r\n\r\n`;
      chunks.push(enc.encode(head), Blob._bytes(value), enc.encode("\r\n"));
    }
  }
  chunks.push(enc.encode(`--${boundary}--\r\n`));
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  outer: for (let i = from; i <= hay.length - needle.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** `type/subtype` lower-cased, and the parameters of a Content-Type-like header. */
export function mediaType(header: string | null): { type: string; params: Record<string, string> } {
  // No parameters (e.g. "application/json", every call of most backends): no split.
  if (header === null || header.indexOf(";") < 0) return { type: (header ?? "").trim().toLowerCase(), params: {} };
  const [head, ...rest] = header.split(";");
  const params: Record<string, string> = {};
  for (const p of rest) {
    const i = p.indexOf("=");
    if (i > 0) params[p.slice(0, i).trim().toLowerCase()] = p.slice(i + 1).trim().replace(/^"(.*)"$/, "$1");
  }
  return { type: head!.trim().toLowerCase(), params };
}

/** RFC 7578 multipart/form-data → FormData (file parts as File). Throws TypeError when malformed. */
export function parseMultipart(body: Uint8Array, boundary: string): FormData {
  const enc = new TextEncoder();
  const delim = enc.encode(`--${boundary}`);
  const out = new FormData();
  let at = indexOf(body, delim, 0);
  if (at < 0) throw new TypeError("multipart body has no part with the declared boundary");
  for (;;) {
    let start = at + delim.length;
    if (body[start] === 45 && body[start + 1] === 45) break; // closing "--boundary--"
    if (body[start] === 13 && body[start + 1] === 10) start += 2;
    const next = indexOf(body, enc.encode(`\r\n--${boundary}`), start);
    if (next < 0) throw new TypeError("multipart body is not terminated by its closing boundary");
    const part = body.subarray(start, next);
    const split = indexOf(part, enc.encode("\r\n\r\n"), 0);
    const head = new TextDecoder().decode(split < 0 ? part : part.subarray(0, split));
    const data = split < 0 ? new Uint8Array(0) : part.subarray(split + 4);
    const headers: Record<string, string> = {};
    for (const line of head.split("\r\n")) {
      const i = line.indexOf(":");
      if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    const disposition = mediaType(headers["content-disposition"] ?? null).params;
    if (disposition.name !== undefined) {
      if (disposition.filename !== undefined) out.append(disposition.name, new File([data], disposition.filename, { type: headers["content-type"] ?? "application/octet-stream", lastModified: 0 }));
      else out.append(disposition.name, new TextDecoder().decode(data));
    }
    at = next + 2;
  }
  return out;
}
