/**
 * A JSON validity and nesting check over UTF-8 bytes that builds nothing (issue 15, the
 * invoke envelope): it tells whether the bytes are well-formed UTF-8 (the WHATWG decoder's
 * rules: no overlong forms, surrogates or code points past U+10FFFF) holding one JSON value
 * as RFC 8259 defines it — exactly what `JSON.parse` of the decoded text accepts:
 * whitespace is space, tab, LF, CR only; strings have no raw control characters and only
 * the standard escapes; numbers are `-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?` — and whether
 * its arrays and objects nest deeper than a limit. A leading byte order mark is not JSON
 * here ("invalid"; a decoder would drop it first). A long text is checked in slices
 * with a yield to the event loop between them (at the first token boundary after each
 * SLICE_CHARS characters; one string is scanned whole), so a 16 MB answer of many values
 * never holds the main thread for more than about a millisecond at a time.
 */

/** The outcome: one valid JSON value within the nesting limit, one nesting deeper, not JSON, or not UTF-8. */
export type JsonScan = "ok" | "deep" | "invalid" | "not-utf8";

/** Bytes checked between two yields (a slice costs well under a millisecond here). */
const SLICE_CHARS = 256 * 1024;

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

const isHex = (c: number | undefined) => c !== undefined && ((c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102));

const NOT_UTF8 = -2;

/** Whether byte `b` is a UTF-8 continuation byte in [lo, hi] (default 0x80..0xBF). */
const cont = (b: number, lo = 0x80, hi = 0xbf) => b >= lo && b <= hi;

/**
 * The index after the string whose opening quote is at `i`, -1 when it is not a valid JSON
 * string, NOT_UTF8 when it holds a byte sequence that is not UTF-8.
 */
function stringEnd(text: Uint8Array, i: number): number {
  i++;
  for (;;) {
    const c = text[i];
    if (c === 34) return i + 1;
    if (c === undefined || c < 32) return -1;
    if (c === 92) {
      const e = text[i + 1];
      if (e === 117) {
        if (!isHex(text[i + 2]) || !isHex(text[i + 3]) || !isHex(text[i + 4]) || !isHex(text[i + 5])) return -1;
        i += 6;
      } else if (e === 34 || e === 92 || e === 47 || e === 98 || e === 102 || e === 110 || e === 114 || e === 116) i += 2;
      else return -1;
    } else if (c < 0x80) i++;
    else if (c >= 0xc2 && c <= 0xdf) {
      if (!cont(text[i + 1]!)) return NOT_UTF8;
      i += 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      if (!cont(text[i + 1]!, c === 0xe0 ? 0xa0 : 0x80, c === 0xed ? 0x9f : 0xbf) || !cont(text[i + 2]!)) return NOT_UTF8;
      i += 3;
    } else if (c >= 0xf0 && c <= 0xf4) {
      if (!cont(text[i + 1]!, c === 0xf0 ? 0x90 : 0x80, c === 0xf4 ? 0x8f : 0xbf) || !cont(text[i + 2]!) || !cont(text[i + 3]!)) return NOT_UTF8;
      i += 4;
    } else return NOT_UTF8;
  }
}

/** The index after the number starting at `i`, or -1 when it is not a valid JSON number. */
function numberEnd(text: Uint8Array, i: number): number {
  let c = text[i]!;
  if (c === 45) c = text[++i]!;
  if (c === 48) c = text[++i]!;
  else if (c >= 49 && c <= 57) while (c >= 48 && c <= 57) c = text[++i]!;
  else return -1;
  if (c === 46) {
    c = text[++i]!;
    if (!(c >= 48 && c <= 57)) return -1;
    while (c >= 48 && c <= 57) c = text[++i]!;
  }
  if (c === 101 || c === 69) {
    c = text[++i]!;
    if (c === 43 || c === 45) c = text[++i]!;
    if (!(c >= 48 && c <= 57)) return -1;
    while (c >= 48 && c <= 57) c = text[++i]!;
  }
  return i;
}

const TRUE = [116, 114, 117, 101];
const FALSE = [102, 97, 108, 115, 101];
const NULL = [110, 117, 108, 108];
const startsWith = (text: Uint8Array, i: number, word: number[]) => word.every((b, k) => text[i + k] === b);

const VALUE = 0; // a value is due (start, after "[", "," in an array, ":")
const FIRST = 1; // just after "[" or "{": the container may close at once
const KEY = 2; // an object's key is due (after "{" or ",")
const AFTER = 3; // a value ended: the end, "," or the container's close

/**
 * Checks `text` (see the module note). `maxDepth`: the deepest nesting of arrays and objects
 * allowed (a top-level `[]` is depth 1; "deep" as soon as one goes past it). O(length);
 * yields every SLICE_CHARS characters when `text` is longer than that.
 */
export async function scanJson(text: Uint8Array, maxDepth: number): Promise<JsonScan> {
  const n = text.length;
  // Open containers: 1 = object, 0 = array.
  const stack = new Uint8Array(Math.min(maxDepth, n) + 1);
  let depth = 0;
  let i = 0;
  let state = VALUE;
  let nextYield = SLICE_CHARS;
  for (;;) {
    if (i >= nextYield) {
      await yieldToLoop();
      nextYield = i + SLICE_CHARS;
    }
    let c = text[i]!;
    while (c === 32 || c === 10 || c === 13 || c === 9) c = text[++i]!;
    if (state === FIRST) {
      if (c === (stack[depth - 1] === 1 ? 125 : 93)) {
        depth--;
        i++;
        state = AFTER;
        continue;
      }
      state = stack[depth - 1] === 1 ? KEY : VALUE;
    }
    if (state === KEY) {
      if (c !== 34) return "invalid";
      i = stringEnd(text, i);
      if (i < 0) return i === NOT_UTF8 ? "not-utf8" : "invalid";
      c = text[i]!;
      while (c === 32 || c === 10 || c === 13 || c === 9) c = text[++i]!;
      if (c !== 58) return "invalid";
      i++;
      state = VALUE;
      continue;
    }
    if (state === VALUE) {
      if (c === 123 || c === 91) {
        if (depth >= maxDepth) return "deep";
        stack[depth++] = c === 123 ? 1 : 0;
        i++;
        state = FIRST;
        continue;
      }
      if (c === 34) i = stringEnd(text, i);
      else if (c === 45 || (c >= 48 && c <= 57)) i = numberEnd(text, i);
      else if (c === 116 && startsWith(text, i, TRUE)) i += 4;
      else if (c === 102 && startsWith(text, i, FALSE)) i += 5;
      else if (c === 110 && startsWith(text, i, NULL)) i += 4;
      else return "invalid";
      if (i < 0) return i === NOT_UTF8 ? "not-utf8" : "invalid";
      state = AFTER;
      continue;
    }
    // AFTER: the end, a comma or the container's close.
    if (depth === 0) return i === n ? "ok" : "invalid";
    if (c === 44) {
      i++;
      state = stack[depth - 1] === 1 ? KEY : VALUE;
    } else if (c === (stack[depth - 1] === 1 ? 125 : 93)) {
      depth--;
      i++;
    } else return "invalid";
  }
}
