/**
 * A linear-time nesting check for JSON text, run on request bodies before anything parses
 * them: parsing and schema-validating a body of 500,000 nested arrays takes seconds of the
 * one event loop, while this scan takes about a millisecond per megabyte. It counts
 * `[`/`{` against `]`/`}` outside strings (a string's escapes, including `\"` and `\\`,
 * are respected) and stops at the first level past the limit. It does not validate the
 * JSON otherwise; the real parser does that afterwards on a body known to be shallow.
 * Works on UTF-8 bytes: no byte of a multi-byte character is an ASCII bracket or quote.
 */

/** Deepest nesting accepted in request bodies of the control APIs. */
export const MAX_JSON_DEPTH = 64;

const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * The nesting depth of `json`, or `Infinity` as soon as it passes `limit` (the scan stops
 * there). `[]` and `{}` are depth 1, a scalar is depth 0.
 */
export function jsonDepth(json: Uint8Array, limit = MAX_JSON_DEPTH): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i]!;
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > max) {
        max = depth;
        if (max > limit) return Infinity;
      }
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) depth--;
  }
  return max;
}
