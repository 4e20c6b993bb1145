/**
 * Request and Response (Fetch standard) with buffered bodies: the host hands over whole
 * bodies and takes whole bodies back, so `body` is the bytes (a Uint8Array), not a
 * ReadableStream. Bodies may be strings, buffers, views, Blobs, FormData or
 * URLSearchParams, each with the standard Content-Type; readers are text/json/
 * arrayBuffer/bytes/blob/formData, each once (`bodyUsed`). A string body is kept as a
 * string so a JSON response crosses to the host without an encode step in the interpreter.
 */
import { Headers, type HeadersInit } from "./headers";
import { TextDecoder, TextEncoder, toBytes } from "./encoding";
import { isURLSearchParams, urlLibs, type URL, type URLSearchParams } from "./url";
import { Blob } from "./blob";
import { FormData, encodeMultipart, mediaType, parseMultipart } from "./formdata";
import { AbortController, AbortSignal } from "./events";
import { isReadableStream, readAll, streams } from "./streams";

export type BodyInit = string | ArrayBuffer | ArrayBufferView | Blob | FormData | URLSearchParams | ReadableStream | null | undefined;
type Stored = string | Uint8Array | null;

let boundaries = 0;

/** Extracts a body (Fetch "extract a body"): its stored form and its default Content-Type. */
function extract(body: BodyInit): { stored: Stored; type: string | null; stream?: ReadableStream } {
  if (body === null || body === undefined) return { stored: null, type: null };
  if (isReadableStream(body)) {
    if (body.locked || disturbed(body)) throw new TypeError("The body stream is locked or already read");
    return { stored: null, type: null, stream: body };
  }
  if (typeof body === "string") return { stored: body, type: "text/plain;charset=UTF-8" };
  if (isURLSearchParams(body)) return { stored: body.toString(), type: "application/x-www-form-urlencoded;charset=UTF-8" };
  if (body instanceof Blob) return { stored: Blob._bytes(body).slice(), type: body.type || null };
  if (body instanceof FormData) {
    const boundary = `----cantripFormBoundary${Date.now().toString(16)}${(++boundaries).toString(16)}`;
    return { stored: encodeMultipart(body, boundary), type: `multipart/form-data; boundary=${boundary}` };
  }
  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return { stored: toBytes(body).slice(), type: null };
  return { stored: String(body), type: "text/plain;charset=UTF-8" };
}

const disturbed = (s: ReadableStream) => (s as unknown as { _disturbed?: boolean })._disturbed === true;

class Body {
  #body: Stored;
  #used = false;
  /** The body as a stream: the one given (then it is the body's only source) or one made over #body when `.body` was read. */
  #stream: ReadableStream | null = null;
  #streamIsSource = false;
  #headers: Headers | null = null;
  #rawHeaders: [string, string][] | null = null;
  /** `raw`: an incoming request's header pairs, turned into Headers only when read. */
  constructor(body: BodyInit, headers: HeadersInit | undefined, raw?: { headers: [string, string][]; body: Stored }) {
    if (raw) {
      this.#rawHeaders = raw.headers;
      this.#body = raw.body;
      return;
    }
    this.#headers = new Headers(headers);
    const { stored, type, stream } = extract(body);
    if (type !== null && !this.#headers.has("content-type")) this.#headers.append("content-type", type);
    this.#body = stored;
    if (stream) {
      this.#stream = stream;
      this.#streamIsSource = true;
    }
  }
  get headers(): Headers {
    if (this.#headers === null) {
      this.#headers = new Headers(this.#rawHeaders ?? undefined);
      this.#rawHeaders = null;
    }
    return this.#headers;
  }
  get bodyUsed(): boolean {
    return this.#used || (this.#stream !== null && disturbed(this.#stream));
  }
  /** The body as a ReadableStream of Uint8Array chunks, or null. */
  get body(): ReadableStream<Uint8Array> | null {
    if (this.#stream) return this.#stream as ReadableStream<Uint8Array>;
    if (this.#body === null) return null;
    const bytes = typeof this.#body === "string" ? new TextEncoder().encode(this.#body) : this.#body;
    const { ReadableStream: RS } = streams();
    const stream = new RS<Uint8Array>(
      {
        pull: (c) => {
          this.#used = true;
          if (bytes.byteLength) c.enqueue(bytes.slice());
          c.close();
        },
        cancel: () => {
          this.#used = true;
        },
      },
      { highWaterMark: 0 },
    );
    // A body already consumed by text()/json()/...: its stream is locked, as after a read to the end.
    if (this.#used) stream.getReader();
    this.#stream = stream;
    return stream;
  }
  /** The stored body as is (string or bytes), for the host boundary; null for a stream body (use _rawAsync). */
  _raw(): Stored {
    return this.#body;
  }
  /** The stored body, a stream body read to its end first (for fetch and the response to the host). */
  async _rawAsync(): Promise<Stored> {
    if (this.#streamIsSource && this.#stream) return this.#take();
    return this._raw();
  }
  /**
   * The body's source stream, locked to a new reader, when the body was given as a
   * ReadableStream and is still unread (for streaming the response to the host); else null.
   */
  _streamReader(): ReadableStreamDefaultReader<unknown> | null {
    if (!this.#streamIsSource || !this.#stream || this.bodyUsed || this.#stream.locked) return null;
    return this.#stream.getReader();
  }
  /** Splits a stream body for clone(): this body keeps one branch, the returned stream is the other. */
  _tee(): ReadableStream | null {
    if (!this.#streamIsSource || !this.#stream) return null;
    const [a, b] = this.#stream.tee();
    this.#stream = a;
    return b;
  }
  _setBody(b: Stored): void {
    this.#body = b;
  }
  _setStream(s: ReadableStream): void {
    this.#stream = s;
    this.#streamIsSource = true;
  }
  _markUsed(): void {
    this.#used = true;
  }
  async #take(): Promise<Stored> {
    if (this.bodyUsed) throw new TypeError("Body has already been consumed");
    if (this.#stream) {
      if (this.#stream.locked) throw new TypeError("The body stream is locked");
      if (!this.#streamIsSource) {
        this.#used = true;
        return this.#body;
      }
      return readAll(this.#stream);
    }
    if (this.#body !== null) this.#used = true;
    return this.#body;
  }
  /**
   * Fetch's "UTF-8 decode" of the body's bytes. A string-held body gives what its UTF-8 bytes
   * would: lone surrogates are U+FFFD (USVString) and a leading BOM is dropped (Bun keeps it there).
   */
  async text(): Promise<string> {
    const s = await this.#textWithBom();
    return s.charCodeAt(0) === 0xfeff ? s.slice(1) : s;
  }
  /** The body as text without BOM handling: the URL standard's "UTF-8 decode without BOM". */
  async #textWithBom(): Promise<string> {
    const b = await this.#take();
    return b === null ? "" : typeof b === "string" ? b.toWellFormed() : new TextDecoder("utf-8", { ignoreBOM: true }).decode(b);
  }
  async json(): Promise<any> {
    return JSON.parse(await this.text());
  }
  async arrayBuffer(): Promise<ArrayBuffer> {
    return (await this.bytes()).buffer as ArrayBuffer;
  }
  async bytes(): Promise<Uint8Array> {
    const b = await this.#take();
    return b === null ? new Uint8Array(0) : typeof b === "string" ? new TextEncoder().encode(b) : b.slice();
  }
  async blob(): Promise<Blob> {
    const type = this.headers.get("content-type") ?? "";
    return new Blob([await this.bytes()], { type: /^[\x20-\x7e]*$/.test(type) ? type : "" });
  }
  async formData(): Promise<FormData> {
    const { type, params } = mediaType(this.headers.get("content-type"));
    if (type === "multipart/form-data") {
      if (!params.boundary) throw new TypeError("formData(): multipart/form-data without a boundary");
      return parseMultipart(await this.bytes(), params.boundary);
    }
    if (type === "application/x-www-form-urlencoded") {
      const f = new FormData();
      // The application/x-www-form-urlencoded parser keeps a leading BOM in the first name.
      for (const [k, v] of new (urlLibs().URLSearchParams)(await this.#textWithBom())) f.append(k, v);
      return f;
    }
    throw new TypeError(`formData(): cannot parse a body of type "${type}"`);
  }
}

export interface RequestInit {
  method?: string;
  headers?: HeadersInit;
  body?: BodyInit;
  signal?: AbortSignal | null;
  redirect?: "follow" | "error" | "manual";
  [k: string]: unknown;
}

/** What the SDK's router reads of a request URL. */
export interface UrlParts {
  readonly pathname: string;
  readonly search: string;
  readonly searchParams: URLSearchParams;
}

/**
 * An http(s) URL already in the URL Standard's serialized form splits without the full
 * parser (which costs a few hundred µs in the interpreter, on every call): lower-case host,
 * a path of characters the path serializer leaves as they are and no dot segments, a query
 * of characters the query serializer leaves as they are, no fragment. Else null.
 */
const CANONICAL = /^https?:\/\/[a-z0-9.-]+(?::[1-9][0-9]{0,4})?(\/[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*)(\?[A-Za-z0-9\-._~!$&()*+,;=:@%/?[\]{}|^`]*)?$/;
const DOT_SEGMENT = /\/\.{1,2}(?:\/|$)|%2e/i;
const BAD_PERCENT = /%(?![0-9A-Fa-f]{2})/;

/** The last URL split (a backend is mostly called on a few URLs): its pathname and search, or null. */
let lastUrl: string | undefined;
let lastSplit: [pathname: string, search: string] | null = null;

export function canonicalParts(url: string): UrlParts | null {
  if (url !== lastUrl) {
    const m = CANONICAL.exec(url);
    lastSplit = !m || DOT_SEGMENT.test(m[1]!) || BAD_PERCENT.test(url) || url.endsWith("?") ? null : [m[1]!, m[2] ?? ""];
    lastUrl = url;
  }
  if (lastSplit === null) return null;
  // A fresh object every time: its searchParams is the caller's own (mutable) object.
  return new SplitUrl(lastSplit[0], lastSplit[1]);
}

/** canonicalParts' answer: searchParams made on first read (a class: no closure and accessor made per call, issue 15). */
class SplitUrl implements UrlParts {
  #params: URLSearchParams | null = null;
  constructor(readonly pathname: string, readonly search: string) {}
  get searchParams(): URLSearchParams {
    return (this.#params ??= new (urlLibs().URLSearchParams)(this.search));
  }
}

const INCOMING: { url: string; method: string; headers: [string, string][]; body: Stored } = { url: "", method: "", headers: [], body: null };
const NORMAL_METHODS = new Set(["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"]);
const METHOD = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function normalizeMethod(m: unknown): string {
  const s = String(m);
  if (!METHOD.test(s)) throw new TypeError(`Request: "${s}" is not a valid method`);
  const up = s.toUpperCase();
  if (up === "CONNECT" || up === "TRACE" || up === "TRACK") throw new TypeError(`Request: method ${up} is forbidden`);
  return NORMAL_METHODS.has(up) ? up : s;
}

export class Request extends Body {
  readonly url: string;
  readonly method: string;
  readonly redirect: string;
  readonly signal: AbortSignal;
  readonly credentials = "same-origin";
  readonly mode = "cors";
  readonly cache = "default";
  readonly referrer = "about:client";
  readonly referrerPolicy = "";
  readonly integrity = "";
  readonly keepalive = false;
  readonly destination = "";
  #parsed: UrlParts | null = null;
  constructor(input: string | URL | Request, init: RequestInit = {}) {
    if (init === (INCOMING as RequestInit)) {
      super(null, undefined, INCOMING);
      const fast = canonicalParts(INCOMING.url);
      const u = fast ?? new (urlLibs().URL)(INCOMING.url);
      this.url = fast ? INCOMING.url : (u as URL).href;
      this.method = INCOMING.method;
      this.redirect = "follow";
      this.signal = new AbortController().signal;
      this.#parsed = u;
      return;
    }
    if (init !== undefined && init !== null && typeof init !== "object") throw new TypeError("Request: init must be an object");
    init ??= {};
    const from = input instanceof Request ? input : null;
    if (from && init.body === undefined && from.bodyUsed) throw new TypeError("Request: the input request's body is already used");
    const method = init.method !== undefined ? normalizeMethod(init.method) : from ? from.method : "GET";
    const body = init.body !== undefined ? init.body : from ? (from._tee() ?? from._raw()) : null;
    if (body !== null && body !== undefined && (method === "GET" || method === "HEAD")) throw new TypeError("Request with GET/HEAD method cannot have body");
    const redirect = init.redirect !== undefined ? String(init.redirect) : from ? from.redirect : "follow";
    if (redirect !== "follow" && redirect !== "error" && redirect !== "manual") throw new TypeError(`Request: redirect must be "follow", "error" or "manual"`);
    let url: string;
    if (from) url = from.url;
    else {
      let u: URL;
      try {
        u = new (urlLibs().URL)(String(input));
      } catch {
        throw new TypeError(`Request: "${String(input)}" is not an absolute URL`);
      }
      if (u.username || u.password) throw new TypeError("Request: a URL with credentials is not allowed");
      url = u.href;
    }
    const signal = init.signal !== undefined ? init.signal : from ? from.signal : null;
    if (signal !== null && signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError("Request: signal must be an AbortSignal");
    super(body, init.headers ?? from?.headers);
    if (from && init.body === undefined && from._raw() !== null) from._markUsed();
    this.url = url;
    this.method = method;
    this.redirect = redirect;
    this.signal = signal ? AbortSignal.any([signal]) : new AbortController().signal;
  }
  clone(): Request {
    if (this.bodyUsed) throw new TypeError("Request.clone: the body is already used");
    return new Request(this.url, { method: this.method, headers: this.headers, body: this._tee() ?? this._raw(), redirect: this.redirect as RequestInit["redirect"], signal: this.signal });
  }
  get [Symbol.toStringTag](): string {
    return "Request";
  }
  /** This request's URL parsed (cached; for the SDK's router, which only reads it). */
  _url(): UrlParts {
    return (this.#parsed ??= canonicalParts(this.url) ?? new (urlLibs().URL)(this.url));
  }
  /** The request the host hands to dispatch: method upper-cased, body as given (no content-type defaulting). */
  static _incoming(url: string, method: string, headers: [string, string][], body: Stored): Request {
    INCOMING.url = url;
    INCOMING.method = method;
    INCOMING.headers = headers;
    INCOMING.body = body;
    try {
      return new Request(url, INCOMING as RequestInit);
    } finally {
      INCOMING.headers = [];
      INCOMING.body = null;
    }
  }
}

export interface ResponseInit {
  status?: number;
  statusText?: string;
  headers?: HeadersInit;
}

const NULL_BODY = new Set([101, 103, 204, 205, 304]);
const REASON = /^[\t\x20-\x7e\x80-\xff]*$/;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export class Response extends Body {
  readonly status: number;
  readonly statusText: string;
  type: "default" | "basic" | "cors" | "error" | "opaque" | "opaqueredirect" = "default";
  url = "";
  redirected = false;
  constructor(body?: BodyInit, init: ResponseInit = {}) {
    if (init !== undefined && init !== null && typeof init !== "object") throw new TypeError("Response: init must be an object");
    init ??= {};
    const status = init.status === undefined ? 200 : Number(init.status);
    if (!Number.isInteger(status) || status < 200 || status > 599) throw new RangeError(`Response: status ${init.status} is not in 200..599`);
    const statusText = init.statusText === undefined ? "" : String(init.statusText);
    if (!REASON.test(statusText)) throw new TypeError("Response: statusText is not a valid reason phrase");
    if (body !== null && body !== undefined && NULL_BODY.has(status)) throw new TypeError(`Response: a ${status} response cannot have a body`);
    super(body, init.headers);
    this.status = status;
    this.statusText = statusText;
  }
  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }
  clone(): Response {
    if (this.bodyUsed || this.body?.locked) throw new TypeError("Response.clone: the body is already used");
    const branch = this._tee();
    const out = Response._with(this, this._raw());
    if (branch) out._setStream(branch);
    return out;
  }
  get [Symbol.toStringTag](): string {
    return "Response";
  }
  static json(data: unknown, init: ResponseInit = {}): Response {
    const text = JSON.stringify(data);
    if (text === undefined) throw new TypeError("Response.json: the data is not JSON-serializable");
    const r = new Response(text, init);
    if (!init?.headers || !new Headers(init.headers).has("content-type")) r.headers.set("content-type", "application/json");
    return r;
  }
  static redirect(url: string | URL, status = 302): Response {
    let href: string;
    try {
      href = new (urlLibs().URL)(String(url)).href;
    } catch {
      throw new TypeError(`Response.redirect: "${String(url)}" is not an absolute URL`);
    }
    if (!REDIRECTS.has(Number(status))) throw new RangeError(`Response.redirect: status ${status} is not a redirect status`);
    const r = new Response(null, { status: Number(status), headers: { location: href } });
    r.headers._freeze();
    return r;
  }
  static error(): Response {
    const r = new Response(null, { status: 200 });
    (r as { status: number }).status = 0;
    r.type = "error";
    r.headers._freeze();
    return r;
  }
  /** A response with `like`'s status, type, URL and headers (copied) and this body (clone, fetched responses). */
  static _with(like: { status: number; statusText: string; headers: Headers; type?: Response["type"]; url?: string; redirected?: boolean }, body: Stored): Response {
    const out = new Response(null, { statusText: like.statusText, headers: like.headers });
    out._setBody(body === null || typeof body === "string" ? body : body.slice());
    (out as { status: number }).status = like.status;
    out.type = like.type ?? "default";
    out.url = like.url ?? "";
    out.redirected = like.redirected ?? false;
    return out;
  }
}
