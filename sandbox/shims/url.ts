/**
 * URL and URLSearchParams: a compact parser covering absolute and relative http(s)-style
 * URLs (scheme, userinfo, host, port, path with dot segments, query, fragment). Not a full
 * WHATWG implementation: no IDNA or IPv4 number normalization.
 */
const SPECIAL: Record<string, string> = { "http:": "80", "https:": "443", "ws:": "80", "wss:": "443", "ftp:": "21" };
const ABS = /^([a-zA-Z][a-zA-Z0-9+.-]*:)(?:\/\/(?:([^:@/?#]*)(?::([^@/?#]*))?@)?(\[[^\]]*\]|[^:/?#]*)(?::(\d*))?)?([^?#]*)(\?[^#]*)?(#.*)?$/;

function encodePart(s: string, keep: RegExp): string {
  if ((keep === PATH_OK ? PATH_ALL_OK : QUERY_ALL_OK).test(s)) return s;
  let out = "";
  for (const ch of s) out += keep.test(ch) || ch === "%" ? ch : encodeURIComponent(ch);
  return out;
}
const PATH_OK = /[A-Za-z0-9\-._~!$&'()*+,;=:@/]/;
const QUERY_OK = /[A-Za-z0-9\-._~!$&'()*+,;=:@/?]/;
const PATH_ALL_OK = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/;
const QUERY_ALL_OK = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*$/;
/**
 * An already-normalized absolute http(s) URL (what the host sends every call): lowercase
 * host, no port/userinfo/fragment, nothing to percent-encode and no dot segments. Parsing
 * it generally gives back the same parts, so take them directly.
 */
const FAST = /^(https?:)\/\/([a-z0-9-]+(?:\.[a-z0-9-]+)*)(\/[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*)?(\?[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*)?$/;

function removeDots(path: string): string {
  const out: string[] = [];
  const segs = path.split("/");
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i]!;
    if (s === "..") {
      if (out.length > 1) out.pop();
      if (i === segs.length - 1) out.push("");
    } else if (s === ".") {
      if (i === segs.length - 1) out.push("");
    } else out.push(s);
  }
  return out.join("/") || "/";
}

export class URL {
  protocol = "";
  username = "";
  password = "";
  hostname = "";
  port = "";
  pathname = "";
  #search = "";
  hash = "";
  #params?: URLSearchParams;

  constructor(input: string | URL, base?: string | URL) {
    const f = typeof input === "string" ? FAST.exec(input) : null;
    if (f && (f[3] === undefined || f[3].indexOf("/.") < 0)) {
      this.protocol = f[1]!;
      this.hostname = f[2]!;
      this.pathname = f[3] ?? "/";
      this.#search = f[4] && f[4] !== "?" ? f[4] : "";
      return;
    }
    let s = String(input).trim().replace(/\\/g, "/");
    if (!ABS.test(s) || !/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(s)) {
      if (base === undefined) throw new TypeError(`Invalid URL: ${input}`);
      s = resolve(new URL(base), s);
    }
    const m = ABS.exec(s);
    if (!m) throw new TypeError(`Invalid URL: ${input}`);
    this.protocol = m[1]!.toLowerCase();
    this.username = m[2] ?? "";
    this.password = m[3] ?? "";
    this.hostname = (m[4] ?? "").toLowerCase();
    const special = this.protocol in SPECIAL;
    if (special && !this.hostname && this.protocol !== "file:") throw new TypeError(`Invalid URL: ${input}`);
    if (/[\s<>^|%]/.test(this.hostname) && !this.hostname.startsWith("[")) throw new TypeError(`Invalid URL: ${input}`);
    this.port = m[5] && m[5] !== SPECIAL[this.protocol] ? String(Number(m[5])) : "";
    const rawPath = m[6] ?? "";
    this.pathname = m[4] !== undefined || special ? removeDots(encodePart(rawPath || "/", PATH_OK)) : encodePart(rawPath, PATH_OK);
    this.#search = m[7] && m[7] !== "?" ? encodePart(m[7], QUERY_OK) : "";
    this.hash = m[8] && m[8] !== "#" ? m[8] : "";
  }
  get host(): string {
    return this.port ? `${this.hostname}:${this.port}` : this.hostname;
  }
  get origin(): string {
    return this.protocol in SPECIAL ? `${this.protocol}//${this.host}` : "null";
  }
  get search(): string {
    return this.#search;
  }
  set search(v: string) {
    const s = String(v);
    this.#search = s === "" || s === "?" ? "" : encodePart(s.startsWith("?") ? s : `?${s}`, QUERY_OK);
    this.#params?._reset(this.#search);
  }
  get searchParams(): URLSearchParams {
    if (!this.#params) {
      this.#params = new URLSearchParams(this.#search);
      this.#params._onChange = (q) => (this.#search = q ? `?${q}` : "");
    }
    return this.#params;
  }
  get href(): string {
    const auth = this.username || this.password ? `${this.username}${this.password ? `:${this.password}` : ""}@` : "";
    const authority = this.hostname || this.protocol in SPECIAL ? `//${auth}${this.host}` : "";
    return `${this.protocol}${authority}${this.pathname}${this.#search}${this.hash}`;
  }
  toString(): string {
    return this.href;
  }
  toJSON(): string {
    return this.href;
  }
  static canParse(input: string, base?: string): boolean {
    try {
      new URL(input, base);
      return true;
    } catch {
      return false;
    }
  }
}

function resolve(base: URL, rel: string): string {
  if (rel.startsWith("//")) return base.protocol + rel;
  const root = `${base.protocol}//${base.username ? `${base.username}@` : ""}${base.host}`;
  if (rel.startsWith("/")) return root + rel;
  if (rel === "") return root + base.pathname + base.search;
  if (rel.startsWith("?")) return root + base.pathname + rel;
  if (rel.startsWith("#")) return root + base.pathname + base.search + rel;
  const dir = base.pathname.slice(0, base.pathname.lastIndexOf("/") + 1);
  return root + dir + rel;
}

const formEncode = (s: string) => encodeURIComponent(s).replace(/%20/g, "+").replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const formDecode = (s: string) => {
  try {
    return decodeURIComponent(s.replace(/\+/g, " "));
  } catch {
    return s;
  }
};

export class URLSearchParams {
  #list: [string, string][] = [];
  _onChange?: (q: string) => void;

  constructor(init?: string | URLSearchParams | Record<string, string> | [string, string][]) {
    if (init === undefined || init === null) return;
    if (typeof init === "string") this._reset(init);
    else if (init instanceof URLSearchParams || Array.isArray(init)) for (const [k, v] of init) this.#list.push([String(k), String(v)]);
    else for (const k of Object.keys(init)) this.#list.push([k, String(init[k])]);
  }
  _reset(q: string): void {
    this.#list = [];
    if (q === "" || q === "?") return;
    for (const part of q.replace(/^\?/, "").split("&")) {
      if (!part) continue;
      const i = part.indexOf("=");
      this.#list.push(i < 0 ? [formDecode(part), ""] : [formDecode(part.slice(0, i)), formDecode(part.slice(i + 1))]);
    }
  }
  #changed(): void {
    this._onChange?.(this.toString());
  }
  get size(): number {
    return this.#list.length;
  }
  append(k: string, v: string): void {
    this.#list.push([String(k), String(v)]);
    this.#changed();
  }
  delete(k: string): void {
    this.#list = this.#list.filter(([n]) => n !== k);
    this.#changed();
  }
  get(k: string): string | null {
    return this.#list.find(([n]) => n === k)?.[1] ?? null;
  }
  getAll(k: string): string[] {
    return this.#list.filter(([n]) => n === k).map(([, v]) => v);
  }
  has(k: string): boolean {
    return this.#list.some(([n]) => n === k);
  }
  set(k: string, v: string): void {
    const i = this.#list.findIndex(([n]) => n === k);
    if (i < 0) this.#list.push([String(k), String(v)]);
    else this.#list = this.#list.filter(([n], j) => n !== k || j === i).map((e, j) => (j === i ? [e[0], String(v)] : e));
    this.#changed();
  }
  sort(): void {
    this.#list.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    this.#changed();
  }
  forEach(cb: (v: string, k: string, self: URLSearchParams) => void): void {
    for (const [k, v] of this.#list) cb(v, k, this);
  }
  entries(): IterableIterator<[string, string]> {
    return this.#list.map((e) => [e[0], e[1]] as [string, string])[Symbol.iterator]();
  }
  keys(): IterableIterator<string> {
    return this.#list.map((e) => e[0])[Symbol.iterator]();
  }
  values(): IterableIterator<string> {
    return this.#list.map((e) => e[1])[Symbol.iterator]();
  }
  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }
  toString(): string {
    return this.#list.map(([k, v]) => `${formEncode(k)}=${formEncode(v)}`).join("&");
  }
}
