/**
 * Headers: case-insensitive, insertion-ordered, iterable; values of repeated names are
 * joined with ", " as in the Fetch standard.
 */
export type HeadersInit = Headers | [string, string][] | Record<string, string>;

export class Headers {
  #map = new Map<string, string>();

  constructor(init?: HeadersInit) {
    if (!init) return;
    if (init instanceof Headers) this.#map = new Map(init.#map);
    else if (Array.isArray(init)) for (const [k, v] of init) this.append(k, v);
    else for (const k of Object.keys(init)) this.append(k, (init as Record<string, string>)[k]!);
  }
  append(name: string, value: string): void {
    const k = norm(name);
    const v = String(value).trim();
    const prev = this.#map.get(k);
    this.#map.set(k, prev === undefined ? v : `${prev}, ${v}`);
  }
  set(name: string, value: string): void {
    this.#map.set(norm(name), String(value).trim());
  }
  get(name: string): string | null {
    return this.#map.get(norm(name)) ?? null;
  }
  has(name: string): boolean {
    return this.#map.has(norm(name));
  }
  delete(name: string): void {
    this.#map.delete(norm(name));
  }
  forEach(cb: (value: string, name: string, self: Headers) => void): void {
    for (const [k, v] of this) cb(v, k, this);
  }
  entries(): IterableIterator<[string, string]> {
    return this._list()[Symbol.iterator]();
  }
  keys(): IterableIterator<string> {
    return this._list().map((e) => e[0])[Symbol.iterator]();
  }
  values(): IterableIterator<string> {
    return this._list().map((e) => e[1])[Symbol.iterator]();
  }
  /** A sorted snapshot of the (name, value) pairs. */
  _list(): [string, string][] {
    const l = [...this.#map.entries()];
    return l.length > 1 ? l.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)) : l;
  }
  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }
  getSetCookie(): string[] {
    const v = this.get("set-cookie");
    return v === null ? [] : [v];
  }
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
function norm(name: string): string {
  const k = String(name).toLowerCase();
  if (!TOKEN.test(k)) throw new TypeError(`Invalid header name: ${name}`);
  return k;
}
