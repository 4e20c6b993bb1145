/**
 * URL and URLSearchParams: core-js-pure's WHATWG implementation (URL Standard parsing,
 * setters, IDNA via punycode, IPv4/IPv6 hosts, URL.parse/canParse, searchParams). It is
 * bundled as its own prelude part as source text (see sandbox/build-prelude.ts) and
 * evaluated on first use, like the Web Streams (issue 15: compiling it was the larger part
 * of making every interpreter, and a request in serialized form never needs it — the SDK
 * splits such URLs itself, body.ts canonicalParts). The globals are getters that load it
 * when first read and then become plain data properties.
 */
import SOURCE from "cantrip:libs-source";

export type URL = globalThis.URL;
export type URLSearchParams = globalThis.URLSearchParams;

interface UrlLib {
  URL: typeof globalThis.URL;
  URLSearchParams: typeof globalThis.URLSearchParams;
}

let loaded: UrlLib | null = null;
const NAMES = ["URL", "URLSearchParams"] as const;
const indirectEval = eval;

/** The two classes, evaluated on first call (always the originals, whatever the guest did to the globals). */
export function urlLib(): UrlLib {
  if (!loaded) {
    // core-js looks for native URL/URLSearchParams globals while it loads: hide ours (the
    // getters below, which would load it again, or whatever the guest put there), as when
    // the prelude evaluated it before installing any globals.
    const g = globalThis as Record<string, unknown>;
    const saved = NAMES.map((n) => Reflect.getOwnPropertyDescriptor(g, n));
    for (const n of NAMES) Reflect.deleteProperty(g, n);
    try {
      loaded = indirectEval(SOURCE) as UrlLib;
    } finally {
      NAMES.forEach((n, i) => {
        const d = saved[i];
        if (d) Reflect.defineProperty(g, n, d);
      });
    }
    // The part is minified: give each class its standard name back.
    for (const [k, v] of Object.entries(loaded)) if (v.name !== k) Object.defineProperty(v, "name", { value: k, configurable: true });
  }
  return loaded;
}

/** `new URL(input)` with the original class. */
export const newURL = (input: string): URL => new (urlLib().URL)(input);

/** `new URLSearchParams(init)` with the original class. */
export const newSearchParams = (init?: string): URLSearchParams => new (urlLib().URLSearchParams)(init);

/** True for a URLSearchParams (never loads the implementation just to answer: none can exist before it is loaded). */
export const isSearchParams = (v: unknown): v is URLSearchParams => loaded !== null && v instanceof loaded.URLSearchParams;

/** Installs URL and URLSearchParams as getters that load the implementation when first read. */
export function installUrlGlobals(): void {
  for (const name of NAMES) {
    Object.defineProperty(globalThis, name, {
      configurable: true,
      enumerable: false,
      get() {
        const v = urlLib()[name];
        Object.defineProperty(globalThis, name, { value: v, writable: true, configurable: true, enumerable: false });
        return v;
      },
      set(v: unknown) {
        Object.defineProperty(globalThis, name, { value: v, writable: true, configurable: true, enumerable: false });
      },
    });
  }
}
