/**
 * Request and Response with buffered bodies (no streams: the host hands over whole bodies
 * and takes whole bodies back). A string body is kept as a string so a JSON response
 * crosses to the host without an extra encode step inside the interpreter.
 */
import { Headers, type HeadersInit } from "./headers";
import { TextDecoder, TextEncoder, toBytes } from "./encoding";
import { URL, URLSearchParams } from "./url";

export type BodyInit = string | ArrayBuffer | ArrayBufferView | URLSearchParams | null | undefined;
type Stored = string | Uint8Array | null;

function store(body: BodyInit, headers: Headers): Stored {
  if (body === null || body === undefined) return null;
  if (typeof body === "string") {
    if (!headers.has("content-type")) headers.set("content-type", "text/plain;charset=UTF-8");
    return body;
  }
  if (body instanceof URLSearchParams) {
    if (!headers.has("content-type")) headers.set("content-type", "application/x-www-form-urlencoded;charset=UTF-8");
    return body.toString();
  }
  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return toBytes(body).slice();
  return store(String(body), headers);
}

class Body {
  #body: Stored;
  #used = false;
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
    this.#body = store(body, this.#headers);
  }
  get headers(): Headers {
    if (this.#headers === null) {
      this.#headers = new Headers(this.#rawHeaders ?? undefined);
      this.#rawHeaders = null;
    }
    return this.#headers;
  }
  get bodyUsed(): boolean {
    return this.#used;
  }
  get body(): Uint8Array | null {
    return this.#body === null ? null : typeof this.#body === "string" ? new TextEncoder().encode(this.#body) : this.#body;
  }
  /** The stored body as is (string or bytes), for the host boundary. */
  _raw(): Stored {
    return this.#body;
  }
  #take(): Stored {
    if (this.#used) throw new TypeError("Body has already been consumed");
    this.#used = true;
    return this.#body;
  }
  async text(): Promise<string> {
    const b = this.#take();
    return b === null ? "" : typeof b === "string" ? b : new TextDecoder().decode(b);
  }
  async json(): Promise<any> {
    return JSON.parse(await this.text());
  }
  async arrayBuffer(): Promise<ArrayBuffer> {
    return (await this.bytes()).buffer as ArrayBuffer;
  }
  async bytes(): Promise<Uint8Array> {
    const b = this.#take();
    return b === null ? new Uint8Array(0) : typeof b === "string" ? new TextEncoder().encode(b) : b.slice();
  }
}

export interface RequestInit {
  method?: string;
  headers?: HeadersInit;
  body?: BodyInit;
  signal?: unknown;
  redirect?: string;
}

const INCOMING: { url: string; method: string; headers: [string, string][]; body: Stored } = { url: "", method: "", headers: [], body: null };

export class Request extends Body {
  readonly url: string;
  readonly method: string;
  #parsed: URL | null = null;
  constructor(input: string | URL | Request, init: RequestInit = {}) {
    if (init === (INCOMING as RequestInit)) {
      super(null, undefined, INCOMING);
      const u = new URL(INCOMING.url);
      this.url = u.href;
      this.method = INCOMING.method;
      this.#parsed = u;
      return;
    }
    const from = input instanceof Request ? input : null;
    const method = String(init.method ?? from?.method ?? "GET").toUpperCase();
    const body = init.body !== undefined ? init.body : from ? from._raw() : null;
    if (body !== null && body !== undefined && (method === "GET" || method === "HEAD")) throw new TypeError("Request with GET/HEAD method cannot have body");
    super(body, init.headers ?? from?.headers);
    this.url = from ? from.url : new URL(String(input)).href;
    this.method = method;
  }
  clone(): Request {
    return new Request(this);
  }
  /** This request's URL parsed (cached; for the SDK's router, which only reads it). */
  _url(): URL {
    return (this.#parsed ??= new URL(this.url));
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

export class Response extends Body {
  readonly status: number;
  readonly statusText: string;
  url = "";
  constructor(body?: BodyInit, init: ResponseInit = {}) {
    super(body, init.headers);
    const status = init.status ?? 200;
    if (!Number.isInteger(status) || status < 200 || status > 599) throw new RangeError(`Response status ${status} is not in 200..599`);
    this.status = status;
    this.statusText = init.statusText ?? "";
  }
  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }
  clone(): Response {
    return new Response(this._raw(), { status: this.status, statusText: this.statusText, headers: this.headers });
  }
  static json(data: unknown, init: ResponseInit = {}): Response {
    const headers = new Headers(init.headers);
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
    return new Response(JSON.stringify(data), init.status === undefined && init.statusText === undefined ? { headers } : { ...init, headers });
  }
  static redirect(url: string, status = 302): Response {
    return new Response(null, { status, headers: { location: new URL(url).href } });
  }
}
