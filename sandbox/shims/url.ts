/**
 * URL and URLSearchParams: core-js-pure's WHATWG implementation (URL Standard parsing,
 * setters, IDNA via punycode, IPv4/IPv6 hosts, URL.parse/canParse, searchParams). It is
 * bundled as its own prelude part (see sandbox/build-prelude.ts) and taken from there.
 */
import { URL as CoreURL, URLSearchParams as CoreURLSearchParams } from "cantrip:libs";

export const URL = CoreURL as unknown as typeof globalThis.URL;
export type URL = globalThis.URL;
export const URLSearchParams = CoreURLSearchParams as unknown as typeof globalThis.URLSearchParams;
export type URLSearchParams = globalThis.URLSearchParams;
