/**
 * Pulls machine-readable parts out of model replies, which local models wrap in prose and
 * code fences even when asked not to: the first balanced JSON object (fences stripped,
 * strings and escapes respected), and the code of a fenced block.
 */

export type Extracted = { ok: true; value: unknown } | { ok: false; error: string };

const FENCE = /```([\w+-]*)[^\n]*\n([\s\S]*?)```/g;

/** Finds the first balanced {...} starting at or after `from`, or undefined. */
function balancedObject(text: string, from = 0): { start: number; end: number } | undefined {
  const start = text.indexOf("{", from);
  if (start < 0) return undefined;
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === "\\") i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === "{") depth++;
    else if (ch === "}" && --depth === 0) return { start, end: i + 1 };
  }
  return undefined;
}

/** The JSON value in a reply: whole text, else fenced blocks, else the first balanced object. */
export function extractJson(text: string): Extracted {
  const trimmed = text.trim();
  if (!trimmed) return { ok: false, error: "the reply was empty" };
  try {
    return { ok: true, value: JSON.parse(trimmed) };
  } catch {}
  const candidates: string[] = [];
  for (const m of trimmed.matchAll(FENCE)) candidates.push(m[2]!.trim());
  candidates.push(trimmed);
  let lastError = "no JSON object found in the reply";
  for (const c of candidates) {
    let from = 0;
    for (let span = balancedObject(c, from); span; span = balancedObject(c, from)) {
      try {
        return { ok: true, value: JSON.parse(c.slice(span.start, span.end)) };
      } catch (e) {
        lastError = `invalid JSON: ${(e as Error).message}`;
        from = span.start + 1;
      }
    }
    if (c.includes("{") && !balancedObject(c)) lastError = "the JSON object in the reply is not closed (truncated?)";
  }
  return { ok: false, error: lastError };
}

/**
 * The code of the fenced block whose language is in `languages` (or has none), taking the
 * longest when several match (models add short usage snippets); an unclosed fence (a
 * truncated reply) yields what follows it; no fence at all yields the trimmed text.
 */
export function extractCode(text: string, languages = ["ts", "typescript", "js", "javascript", "tsx", ""]): string {
  const blocks = [...text.matchAll(FENCE)].filter((m) => languages.includes(m[1]!.toLowerCase()));
  if (blocks.length === 0) {
    const open = text.match(/```[\w+-]*[^\n]*\n([\s\S]*)$/);
    return (open ? open[1]! : text).trim() + "\n";
  }
  const longest = blocks.reduce((a, b) => (b[2]!.length > a[2]!.length ? b : a));
  return longest[2]!.trimEnd() + "\n";
}
