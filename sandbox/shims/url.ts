/**
 * URL and URLSearchParams: core-js-pure's WHATWG implementation (URL Standard parsing,
 * setters, IDNA via punycode, IPv4/IPv6 hosts, URL.parse/canParse, searchParams). QuickJS
 * is loaded on first use (`__cantripLazyLibs`) through urlLibs() and the two globals, getters
 * until then: V8 hands over a function that fetches its source text (a bare isolate pays ~0.5 MB
 * for it); a process's first QuickJS interpreter (PRELUDE_PARTS_LAZY_URL: its first call waits
 * for it to be made) one that has the host run the library's prelude part from bytecode and
 * returns the classes.
 * The incoming request's URL is split without it (body.ts canonicalParts), so a backend that
 * never touches URL never loads it.
 */
import SOURCE from "cantrip:libs-source";

export type URL = globalThis.URL;
export type URLSearchParams = globalThis.URLSearchParams;

export interface UrlLibs {
  URL: typeof globalThis.URL;
  URLSearchParams: typeof globalThis.URLSearchParams;
}

let source: (() => string | UrlLibs) | null = typeof SOURCE === "function" ? (SOURCE as () => string | UrlLibs) : null;
/** Evaluated already when the prelude's own part did it (QuickJS). */
let loaded: UrlLibs | null = typeof SOURCE === "function" ? null : named(SOURCE as unknown as UrlLibs);

/** The prelude is minified: give the classes their standard names back. */
function named(libs: UrlLibs): UrlLibs {
  for (const [k, v] of Object.entries(libs)) Object.defineProperty(v, "name", { value: k, configurable: true });
  return libs;
}
const indirectEval = eval;
const NAMES = ["URL", "URLSearchParams"] as const;

/** The URL classes, evaluated on first call. */
export function urlLibs(): UrlLibs {
  if (loaded) return loaded;
  // core-js uses a global URL it finds instead of its own: hide ours (getters) while it loads.
  const g = globalThis as Record<string, unknown>;
  const saved = NAMES.map((n) => Object.getOwnPropertyDescriptor(g, n));
  for (const n of NAMES) delete g[n];
  try {
    const s = source!();
    loaded = typeof s === "string" ? (indirectEval(s) as UrlLibs) : s;
  } finally {
    NAMES.forEach((n, i) => saved[i] && Object.defineProperty(g, n, saved[i]!));
  }
  source = null;
  return named(loaded);
}

/** True for a URLSearchParams (never loads the implementation just to answer). */
export function isURLSearchParams(v: unknown): v is URLSearchParams {
  return loaded !== null && v instanceof loaded.URLSearchParams;
}

/** Installs the two globals: values now, or (lazy) getters that load the implementation when first read. */
export function installUrlGlobals(lazy: boolean): void {
  if (!lazy) urlLibs();
  for (const name of NAMES) {
    const define = (v: unknown) => Object.defineProperty(globalThis, name, { value: v, writable: true, configurable: true, enumerable: false });
    if (loaded) {
      define(loaded[name]);
      continue;
    }
    Object.defineProperty(globalThis, name, {
      configurable: true,
      enumerable: false,
      get() {
        const v = urlLibs()[name];
        define(v);
        return v;
      },
      set: define,
    });
  }
}
