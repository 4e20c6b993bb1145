/**
 * Headers per the Fetch standard (https://fetch.spec.whatwg.org/#headers-class): a header
 * list of (lower-cased name, value) pairs; values normalized (leading/trailing HTTP
 * whitespace stripped) and validated (no NUL, CR or LF; names are tokens; both ByteStrings);
 * inits from a Headers, any iterable of pairs or a record; `get` joins repeated names with
 * ", "; iteration is sorted and combined, except `set-cookie`, which stays one entry per
 * value (also from `getSetCookie()`); an "immutable" guard rejects changes.
 */
export type HeadersInit = Headers | Iterable<Iterable<string>> | Record<string, string>;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const CTL_VALUE = /[\0\r\n]/;
const WIDE_VALUE = /[^\0-\u00ff]/;
const EDGE_WS = /^[\t\n\r ]+|[\t\n\r ]+$/g;

function headerName(name: unknown): string {
  const n = String(name);
  if (!TOKEN.test(n)) throw new TypeError(`Headers: invalid header name "${n}"`);
  return n.toLowerCase();
}

function headerValue(value: unknown): string {
  const v = String(value).replace(EDGE_WS, "");
  if (CTL_VALUE.test(v)) throw new TypeError("Headers: the header value contains CR, LF, NUL");
  if (WIDE_VALUE.test(v)) throw new TypeError("Headers: the header value has characters outside Latin-1");
  return v;
}

/** Headers iterators: `next` on a prototype inheriting %IteratorPrototype%, as WebIDL's iterators have. */
const iterState = new WeakMap<object, { next(): IteratorResult<unknown> }>();
const HeadersIteratorPrototype = Object.create(Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]())), {
  next: {
    value: function next(this: object) {
      const st = iterState.get(this);
      if (!st) throw new TypeError("next() called on an object that is not a Headers iterator");
      return st.next();
    },
    writable: true,
    enumerable: true,
    configurable: true,
  },
  [Symbol.toStringTag]: { value: "Headers Iterator", configurable: true },
});

export class Headers {
  #list: [string, string][] = [];
  #guard: "none" | "immutable" = "none";

  constructor(init?: HeadersInit) {
    if (init === undefined || init === null) {
      if (init === null) throw new TypeError("Headers: init must be an object");
      return;
    }
    if (typeof init !== "object" && typeof init !== "function") throw new TypeError("Headers: init must be an object");
    if (#list in init) {
      this.#list = (init as Headers).#list.map(([k, v]) => [k, v] as [string, string]);
      return;
    }
    const it = (init as Iterable<Iterable<string>>)[Symbol.iterator];
    if (it !== undefined && it !== null) {
      if (typeof it !== "function") throw new TypeError("Headers: init[Symbol.iterator] is not a function");
      for (const pair of init as Iterable<Iterable<string>>) {
        if (pair === null || (typeof pair !== "object" && typeof pair !== "function")) throw new TypeError("Headers: each init entry must be a [name, value] pair");
        const p = [...pair];
        if (p.length !== 2) throw new TypeError("Headers: each init entry must have exactly two items");
        this.append(p[0]!, p[1]!);
      }
      return;
    }
    // WebIDL record conversion: keys, then per key its descriptor and (if enumerable) its value.
    const pairs: [string, string][] = [];
    for (const key of Reflect.ownKeys(init)) {
      const desc = Reflect.getOwnPropertyDescriptor(init, key);
      if (!desc?.enumerable) continue;
      if (typeof key === "symbol") throw new TypeError("Headers: a record key cannot be a symbol");
      pairs.push([key, String((init as Record<string, string>)[key])]);
    }
    for (const [k, v] of pairs) this.append(k, v);
  }
  #check(): void {
    if (this.#guard === "immutable") throw new TypeError("Headers: these headers are immutable");
  }
  append(name: string, value: string): void {
    const k = headerName(name);
    const v = headerValue(value);
    this.#check();
    this.#list.push([k, v]);
  }
  set(name: string, value: string): void {
    const k = headerName(name);
    const v = headerValue(value);
    this.#check();
    const i = this.#list.findIndex((e) => e[0] === k);
    if (i < 0) this.#list.push([k, v]);
    else {
      this.#list[i]![1] = v;
      this.#list = this.#list.filter((e, j) => j <= i || e[0] !== k);
    }
  }
  get(name: string): string | null {
    const k = headerName(name);
    let out: string | null = null;
    for (const [n, v] of this.#list) if (n === k) out = out === null ? v : `${out}, ${v}`;
    return out;
  }
  has(name: string): boolean {
    const k = headerName(name);
    return this.#list.some((e) => e[0] === k);
  }
  delete(name: string): void {
    const k = headerName(name);
    this.#check();
    this.#list = this.#list.filter((e) => e[0] !== k);
  }
  getSetCookie(): string[] {
    return this.#list.filter((e) => e[0] === "set-cookie").map((e) => e[1]);
  }
  forEach(cb: (value: string, name: string, self: Headers) => void, thisArg?: unknown): void {
    if (typeof cb !== "function") throw new TypeError("Headers.forEach: callback must be a function");
    const list = this._list();
    for (let i = 0; i < list.length; i++) cb.call(thisArg, list[i]![1], list[i]![0], this);
  }
  entries(): IterableIterator<[string, string]> {
    return this.#iterate((e) => e);
  }
  keys(): IterableIterator<string> {
    return this.#iterate((e) => e[0]);
  }
  values(): IterableIterator<string> {
    return this.#iterate((e) => e[1]);
  }
  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }
  get [Symbol.toStringTag](): string {
    return "Headers";
  }
  /** Live iteration: re-sorts when the list changes, as the spec's iterator does. */
  #iterate<T>(pick: (e: [string, string]) => T): IterableIterator<T> {
    let i = 0;
    const self = this;
    const it = Object.create(HeadersIteratorPrototype) as IterableIterator<T>;
    iterState.set(it, {
      next(): IteratorResult<T> {
        const list = self._list();
        return i < list.length ? { value: pick(list[i++]!), done: false } : { value: undefined as T, done: true };
      },
    });
    return it;
  }
  /** Sorted, combined (name, value) pairs; set-cookie values stay separate. */
  _list(): [string, string][] {
    // A null-prototype record, not a Map: this runs on every response, also after guest code
    // replaced Map.prototype methods (the host then still gets its answer or a clear refusal).
    const out: [string, string][] = [];
    const at: Record<string, number> = Object.create(null);
    for (const [n, v] of this.#list) {
      const i = n === "set-cookie" ? undefined : at[n];
      if (i === undefined) {
        if (n !== "set-cookie") at[n] = out.length;
        out.push([n, v]);
      } else out[i]![1] += `, ${v}`;
    }
    return out.length > 1 ? out.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0)) : out;
  }
  /** Makes these headers read-only (Response.error/redirect, fetched responses). */
  _freeze(): this {
    this.#guard = "immutable";
    return this;
  }
}
