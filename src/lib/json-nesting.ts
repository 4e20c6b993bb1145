/**
 * A linear scan for JSON nesting depth, run before JSON.parse on text from an untrusted
 * side: parsing deep text is cheap in JavaScriptCore, but re-serialising it (an envelope,
 * a stored column) overflows the stack after hundreds of milliseconds, and validating it
 * against a schema took seconds of the event loop (request bodies, issue 12 §3).
 */

/**
 * True when `text` opens more than `max` arrays/objects at once. Brackets inside JSON
 * strings are ignored; the text need not be valid JSON (a parse comes after). O(length).
 */
export function nestsDeeperThan(text: string, max: number): boolean {
  if (text.length < max * 2) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++;
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > max) return true;
    } else if (c === 125 || c === 93) depth--;
  }
  return false;
}

/**
 * The same check on UTF-8 bytes (a request body before it is decoded): no byte of a
 * multi-byte character is an ASCII bracket, quote or backslash, so the scan is exact.
 * Stops at the first level past `max`. O(length).
 */
export function bytesNestDeeperThan(bytes: Uint8Array, max: number): boolean {
  if (bytes.length < max * 2) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (inString) {
      if (c === 92) i++;
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > max) return true;
    } else if (c === 125 || c === 93) depth--;
  }
  return false;
}
