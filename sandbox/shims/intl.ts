/**
 * `Intl` for an engine that has none (QuickJS): NumberFormat, DateTimeFormat, Collator,
 * PluralRules, RelativeTimeFormat and ListFormat whose every call runs on the host's Intl
 * (ICU) through the synchronous data-only `host.intl` (src/runtime/web-intl.ts), plus the
 * locale-sensitive methods that use them (Number/BigInt/Date toLocale*String,
 * String.prototype.localeCompare). Installed only where `Intl` is missing: V8 keeps its own.
 * The default time zone is UTC, the guest's own.
 */
import { host } from "./host";

type Kind = "NumberFormat" | "DateTimeFormat" | "Collator" | "PluralRules" | "RelativeTimeFormat" | "ListFormat";

/** Values JSON cannot carry, tagged (see web-intl.ts). */
function tag(v: unknown): unknown {
  if (typeof v === "number") return Number.isFinite(v) ? (Object.is(v, -0) ? { $num: "-0" } : v) : { $num: String(v) };
  if (typeof v === "bigint") return { $big: v.toString() };
  if (v instanceof Date) return { $date: v.getTime() };
  if (Array.isArray(v)) return v.map(tag);
  if (v && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v)) out[k] = tag((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

function call(kind: Kind, locales: unknown, options: unknown, method: string, args: unknown[]): any {
  const r = JSON.parse(host.intl!(JSON.stringify({ kind, locales: tag(locales), options: tag(options), method, args: args.map(tag) }))) as { result?: unknown; error?: { name: string; message: string } };
  if (r.error) throw new (r.error.name === "RangeError" ? RangeError : TypeError)(r.error.message);
  return r.result;
}

/** Copies locales/options to plain data (getters read once, as the constructors do). */
function snapshot(locales: unknown, options: unknown): [unknown, unknown] {
  const l = locales === undefined ? undefined : typeof locales === "string" ? locales : Array.isArray(locales) ? locales.map(String) : String(locales);
  const o = options === undefined ? undefined : options === null ? (() => { throw new TypeError("Intl: options must be an object"); })() : { ...(options as object) };
  return [l, o];
}

function makeClass(kind: Kind, methods: Record<string, (self: Base, ...a: unknown[]) => unknown>) {
  class C extends Base {
    constructor(locales?: unknown, options?: unknown) {
      super(kind, locales, options);
    }
    static supportedLocalesOf(locales: unknown, options?: unknown): string[] {
      const [l, o] = snapshot(locales, options);
      return call(kind, l, o, "supportedLocalesOf", []);
    }
  }
  for (const [name, fn] of Object.entries(methods)) {
    Object.defineProperty(C.prototype, name, { value: function (this: Base, ...a: unknown[]) { return fn(this, ...a); }, writable: true, configurable: true });
  }
  Object.defineProperty(C, "name", { value: kind });
  Object.defineProperty(C.prototype, Symbol.toStringTag, { value: `Intl.${kind}`, configurable: true });
  return C;
}

class Base {
  readonly _kind: Kind;
  readonly _l: unknown;
  readonly _o: unknown;
  #resolved: Record<string, unknown>;
  constructor(kind: Kind, locales: unknown, options: unknown) {
    [this._l, this._o] = snapshot(locales, options);
    this._kind = kind;
    this.#resolved = call(kind, this._l, this._o, "resolvedOptions", []);
  }
  _call(method: string, args: unknown[]): any {
    return call(this._kind, this._l, this._o, method, args);
  }
  resolvedOptions(): Record<string, unknown> {
    return { ...this.#resolved };
  }
}

const fmt = (self: Base, v: unknown) => self._call("format", [v]);
const parts = (self: Base, v: unknown) => self._call("formatToParts", [v]);
const date = (v: unknown) => (v === undefined ? new Date() : v instanceof Date ? v : new Date(Number(v)));

export const NumberFormat = makeClass("NumberFormat", {
  format: (s, v) => fmt(s, typeof v === "bigint" ? v : Number(v)),
  formatToParts: (s, v) => parts(s, typeof v === "bigint" ? v : Number(v)),
  formatRange: (s, a, b) => s._call("formatRange", [Number(a), Number(b)]),
});
export const DateTimeFormat = makeClass("DateTimeFormat", {
  format: (s, v) => fmt(s, date(v)),
  formatToParts: (s, v) => parts(s, date(v)),
  formatRange: (s, a, b) => s._call("formatRange", [date(a), date(b)]),
});
export const Collator = makeClass("Collator", {
  compare: (s, a, b) => s._call("compare", [String(a), String(b)]),
});
// Intl.Collator.prototype.compare is a getter returning a bound function in the spec; a plain method bound on read behaves alike.
Object.defineProperty(Collator.prototype, "compare", {
  get(this: Base) {
    return (a: unknown, b: unknown) => this._call("compare", [String(a), String(b)]);
  },
  configurable: true,
});
export const PluralRules = makeClass("PluralRules", {
  select: (s, v) => s._call("select", [Number(v)]),
  selectRange: (s, a, b) => s._call("selectRange", [Number(a), Number(b)]),
});
export const RelativeTimeFormat = makeClass("RelativeTimeFormat", {
  format: (s, v, unit) => s._call("format", [Number(v), String(unit)]),
  formatToParts: (s, v, unit) => s._call("formatToParts", [Number(v), String(unit)]),
});
export const ListFormat = makeClass("ListFormat", {
  format: (s, list) => fmt(s, [...(list as Iterable<unknown>)].map(String)),
  formatToParts: (s, list) => parts(s, [...(list as Iterable<unknown>)].map(String)),
});

/** Installs Intl and the locale-sensitive built-ins on it, when the engine has no Intl. */
export function installIntl(): void {
  if (typeof (globalThis as { Intl?: unknown }).Intl !== "undefined" || typeof host.intl !== "function") return;
  const Intl = { NumberFormat, DateTimeFormat, Collator, PluralRules, RelativeTimeFormat, ListFormat };
  Object.defineProperty(Intl, Symbol.toStringTag, { value: "Intl", configurable: true });
  Object.defineProperty(globalThis, "Intl", { value: Intl, writable: true, configurable: true, enumerable: false });
  const method = (proto: object, name: string, fn: (this: any, ...a: any[]) => unknown) =>
    Object.defineProperty(proto, name, { value: fn, writable: true, configurable: true, enumerable: false });
  method(Number.prototype, "toLocaleString", function (this: number, l?: unknown, o?: unknown) {
    return new NumberFormat(l, o)._call("format", [Number.prototype.valueOf.call(this)]);
  });
  method(BigInt.prototype, "toLocaleString", function (this: bigint, l?: unknown, o?: unknown) {
    return new NumberFormat(l, o)._call("format", [BigInt.prototype.valueOf.call(this)]);
  });
  const dateWith = (defaults: Record<string, string>, required: string[]) =>
    function (this: Date, l?: unknown, o?: Record<string, unknown>) {
      const t = Date.prototype.getTime.call(this);
      if (Number.isNaN(t)) return "Invalid Date";
      const opts = { ...(o ?? {}) };
      const has = required.some((k) => opts[k] !== undefined) || opts.dateStyle !== undefined || opts.timeStyle !== undefined;
      return new DateTimeFormat(l, has ? opts : { ...opts, ...defaults })._call("format", [new Date(t)]);
    };
  const DATE = { year: "numeric", month: "numeric", day: "numeric" };
  const TIME = { hour: "numeric", minute: "numeric", second: "numeric" };
  const DATE_KEYS = ["weekday", "year", "month", "day"];
  const TIME_KEYS = ["dayPeriod", "hour", "minute", "second", "fractionalSecondDigits"];
  method(Date.prototype, "toLocaleString", dateWith({ ...DATE, ...TIME }, [...DATE_KEYS, ...TIME_KEYS]));
  method(Date.prototype, "toLocaleDateString", dateWith(DATE, DATE_KEYS));
  method(Date.prototype, "toLocaleTimeString", dateWith(TIME, TIME_KEYS));
  method(String.prototype, "localeCompare", function (this: string, that: unknown, l?: unknown, o?: unknown) {
    return new Collator(l, o)._call("compare", [String(this), String(that)]);
  });
}
