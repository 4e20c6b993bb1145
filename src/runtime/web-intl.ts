/**
 * Host side of `Intl` for engines without one (QuickJS has no Intl and no locale data): the
 * guest's Intl objects forward each call, as JSON data, to the host's own Intl (Bun's ICU)
 * through one synchronous host function. Data only: a request names the constructor, its
 * locales and options, the method and its arguments; the answer is JSON. Formatters are
 * cached per interpreter (bounded), since building one costs far more than using it.
 * Values JSON cannot carry cross tagged: {$num:"NaN"|"Infinity"|"-Infinity"|"-0"},
 * {$big:"digits"}, {$date:ms}. The default time zone is UTC, the guest's own.
 */

const KINDS = {
  NumberFormat: Intl.NumberFormat,
  DateTimeFormat: Intl.DateTimeFormat,
  Collator: Intl.Collator,
  PluralRules: Intl.PluralRules,
  RelativeTimeFormat: Intl.RelativeTimeFormat,
  ListFormat: Intl.ListFormat,
} as const;
type Kind = keyof typeof KINDS;

const METHODS: Record<Kind, readonly string[]> = {
  NumberFormat: ["format", "formatToParts", "formatRange", "resolvedOptions"],
  DateTimeFormat: ["format", "formatToParts", "formatRange", "resolvedOptions"],
  Collator: ["compare", "resolvedOptions"],
  PluralRules: ["select", "selectRange", "resolvedOptions"],
  RelativeTimeFormat: ["format", "formatToParts", "resolvedOptions"],
  ListFormat: ["format", "formatToParts", "resolvedOptions"],
};

const MAX_CACHED = 64;
const MAX_REQUEST_CHARS = 256 * 1024;

function revive(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(revive);
  if (!v || typeof v !== "object") return v;
  const o = v as Record<string, unknown>;
  if (typeof o.$num === "string") return o.$num === "-0" ? -0 : Number(o.$num);
  if (typeof o.$big === "string" && /^-?\d{1,400}$/.test(o.$big)) return BigInt(o.$big);
  if (typeof o.$date === "number") return new Date(o.$date);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(o)) out[k] = revive(x);
  return out;
}

/** One interpreter's Intl bridge; `call` takes and returns JSON text. */
export class IntlBridge {
  private cache = new Map<string, object>();

  private formatter(kind: Kind, locales: unknown, options: unknown): object {
    const key = JSON.stringify([kind, locales, options]);
    let f = this.cache.get(key);
    if (f) {
      this.cache.delete(key);
      this.cache.set(key, f);
      return f;
    }
    const opts = { ...(revive(options) as object) } as Record<string, unknown>;
    if (kind === "DateTimeFormat" && opts.timeZone === undefined) opts.timeZone = "UTC";
    f = new (KINDS[kind] as unknown as new (l: unknown, o: unknown) => object)(revive(locales), opts);
    this.cache.set(key, f);
    if (this.cache.size > MAX_CACHED) this.cache.delete(this.cache.keys().next().value!);
    return f;
  }

  /**
   * `json`: {kind, locales, options, method, args} — method "supportedLocalesOf" needs no
   * instance. Answers {result} or {error: {name, message}} (RangeError/TypeError as the
   * host's Intl threw them).
   */
  call(json: string): string {
    try {
      if (json.length > MAX_REQUEST_CHARS) throw new RangeError("Intl: request too large");
      const r = JSON.parse(json) as { kind: Kind; locales?: unknown; options?: unknown; method: string; args?: unknown[] };
      if (!Object.hasOwn(KINDS, r.kind)) throw new TypeError(`Intl: unknown constructor ${String(r.kind).slice(0, 40)}`);
      const args = (Array.isArray(r.args) ? r.args : []).map(revive);
      const supported = KINDS[r.kind].supportedLocalesOf as (l: unknown, o: unknown) => string[];
      if (r.method === "supportedLocalesOf") return JSON.stringify({ result: supported(revive(r.locales), revive(r.options)) });
      if (!METHODS[r.kind].includes(r.method)) throw new TypeError(`Intl.${r.kind}: unknown method ${String(r.method).slice(0, 40)}`);
      const f = this.formatter(r.kind, r.locales, r.options) as Record<string, (...a: unknown[]) => unknown>;
      return JSON.stringify({ result: f[r.method]!(...args) });
    } catch (e) {
      const err = e as { name?: unknown; message?: unknown };
      return JSON.stringify({ error: { name: String(err?.name ?? "Error"), message: String(err?.message ?? e) } });
    }
  }
}
