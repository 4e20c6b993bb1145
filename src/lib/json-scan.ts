/**
 * A JSON validity and nesting check that builds nothing (issue 15, the invoke envelope): it
 * tells whether a text is one JSON value as RFC 8259 defines it — exactly what `JSON.parse`
 * accepts: whitespace is space, tab, LF, CR only; strings have no raw control characters
 * and only the standard escapes; numbers are `-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?` — and
 * whether its arrays and objects nest deeper than a limit. A long text is checked in slices
 * with a yield to the event loop between them (at the first token boundary after each
 * SLICE_CHARS characters; one string is scanned whole), so a 16 MB answer of many values
 * never holds the main thread for more than about a millisecond at a time.
 */

/** The outcome: one valid JSON value within the nesting limit, one nesting deeper, or not JSON. */
export type JsonScan = "ok" | "deep" | "invalid";

/** Characters checked between two yields (a slice costs well under a millisecond here). */
const SLICE_CHARS = 256 * 1024;

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

const isHex = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);

/** The index after the string whose opening quote is at `i`, or -1 when it is not a valid JSON string. */
function stringEnd(text: string, i: number): number {
  i++;
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === 34) return i + 1;
    if (c < 32 || c !== c) return -1; // c !== c: NaN, past the end
    if (c === 92) {
      const e = text.charCodeAt(i + 1);
      if (e === 117) {
        if (!isHex(text.charCodeAt(i + 2)) || !isHex(text.charCodeAt(i + 3)) || !isHex(text.charCodeAt(i + 4)) || !isHex(text.charCodeAt(i + 5))) return -1;
        i += 6;
      } else if (e === 34 || e === 92 || e === 47 || e === 98 || e === 102 || e === 110 || e === 114 || e === 116) i += 2;
      else return -1;
    } else i++;
  }
}

/** The index after the number starting at `i`, or -1 when it is not a valid JSON number. */
function numberEnd(text: string, i: number): number {
  let c = text.charCodeAt(i);
  if (c === 45) c = text.charCodeAt(++i);
  if (c === 48) c = text.charCodeAt(++i);
  else if (c >= 49 && c <= 57) while (c >= 48 && c <= 57) c = text.charCodeAt(++i);
  else return -1;
  if (c === 46) {
    c = text.charCodeAt(++i);
    if (!(c >= 48 && c <= 57)) return -1;
    while (c >= 48 && c <= 57) c = text.charCodeAt(++i);
  }
  if (c === 101 || c === 69) {
    c = text.charCodeAt(++i);
    if (c === 43 || c === 45) c = text.charCodeAt(++i);
    if (!(c >= 48 && c <= 57)) return -1;
    while (c >= 48 && c <= 57) c = text.charCodeAt(++i);
  }
  return i;
}

const VALUE = 0; // a value is due (start, after "[", "," in an array, ":")
const FIRST = 1; // just after "[" or "{": the container may close at once
const KEY = 2; // an object's key is due (after "{" or ",")
const AFTER = 3; // a value ended: the end, "," or the container's close

/**
 * Checks `text` (see the module note). `maxDepth`: the deepest nesting of arrays and objects
 * allowed (a top-level `[]` is depth 1; "deep" as soon as one goes past it). O(length);
 * yields every SLICE_CHARS characters when `text` is longer than that.
 */
export async function scanJson(text: string, maxDepth: number): Promise<JsonScan> {
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
    let c = text.charCodeAt(i);
    while (c === 32 || c === 10 || c === 13 || c === 9) c = text.charCodeAt(++i);
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
      if (c !== 34 || (i = stringEnd(text, i)) < 0) return "invalid";
      c = text.charCodeAt(i);
      while (c === 32 || c === 10 || c === 13 || c === 9) c = text.charCodeAt(++i);
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
      else if (c === 116 && text.startsWith("true", i)) i += 4;
      else if (c === 102 && text.startsWith("false", i)) i += 5;
      else if (c === 110 && text.startsWith("null", i)) i += 4;
      else return "invalid";
      if (i < 0) return "invalid";
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
