/**
 * URL and URLSearchParams: core-js-pure's WHATWG implementation (URL Standard parsing,
 * setters, IDNA via punycode, IPv4/IPv6 hosts, URL.parse/canParse, searchParams), bundled
 * into the prelude. Measured in a fresh guest interpreter it costs a fraction of
 * whatwg-url's evaluation time and heap (see README, "Web platform in the guest").
 */
import CoreURL from "core-js-pure/actual/url/index.js";
import CoreURLSearchParams from "core-js-pure/actual/url-search-params/index.js";

export const URL = CoreURL as unknown as typeof globalThis.URL;
export type URL = globalThis.URL;
export const URLSearchParams = CoreURLSearchParams as unknown as typeof globalThis.URLSearchParams;
export type URLSearchParams = globalThis.URLSearchParams;
