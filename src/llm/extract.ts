/**
 * Pulls machine-readable parts out of model replies, which local models wrap in prose,
 * code fences and reasoning even when asked not to. Reasoning (`<think>…</think>` from
 * R1-style models: DeepSeek-R1, Qwen3, QwQ through Ollama, vLLM, llama.cpp) is never the
 * answer and is dropped first. JSON: the last complete object that the caller accepts
 * (a schema check), so a sketch in the prose loses to the real answer after it. Code: the
 * fenced block that is a module exporting a backend, so a ```json sample before it loses.
 */

export type Extracted = { ok: true; value: unknown } | { ok: false; error: string };

const FENCE = /```([\w+-]*)[^\n]*\n([\s\S]*?)```/g;

/** Tags reasoning models put around their chain of thought. */
const REASONING = /<(think|thinking|reasoning|reflection)>[\s\S]*?<\/\1>/gi;
const OPEN_REASONING = /<(think|thinking|reasoning|reflection)>/i;
const CLOSE_REASONING = /<\/(think|thinking|reasoning|reflection)>/gi;

/**
 * The reply without its reasoning: closed `<think>…</think>` blocks are removed; an
 * unclosed opening tag (a reply cut inside its reasoning) drops everything after it; a
 * closing tag with no opening one (chat templates that open the block in the prompt, as
 * Qwen3's and DeepSeek-R1's do) drops everything before it.
 */
export function stripReasoning(text: string): string {
  let out = text.replace(REASONING, "");
  let lastClose = -1;
  for (const m of out.matchAll(CLOSE_REASONING)) lastClose = m.index! + m[0].length;
  if (lastClose >= 0) out = out.slice(lastClose);
  const open = OPEN_REASONING.exec(out);
  if (open) out = out.slice(0, open.index);
  return out.trim();
}

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

/** Every JSON object in `c` that parses, in order of appearance (nested ones only when the outer one fails). */
function objectsIn(c: string, found: unknown[]): string | undefined {
  let from = 0;
  let error: string | undefined;
  for (let span = balancedObject(c, from); span; span = balancedObject(c, from)) {
    try {
      found.push(JSON.parse(c.slice(span.start, span.end)));
      from = span.end;
    } catch (e) {
      error = `invalid JSON: ${(e as Error).message}`;
      from = span.start + 1;
    }
  }
  const tail = c.lastIndexOf("{", c.length);
  if (tail >= from && !balancedObject(c, tail)) error = "the JSON object in the reply is not closed (truncated?)";
  return error;
}

/**
 * The JSON value in a reply, reasoning removed. With `accept` (e.g. a schema check), the
 * last candidate it accepts wins; when it accepts none, the largest candidate is returned
 * so its errors can be quoted back. Without `accept`, the whole text when it parses, else
 * the first object found (fenced blocks first).
 */
export function extractJson(text: string, accept?: (value: unknown) => boolean): Extracted {
  const trimmed = stripReasoning(text);
  if (!trimmed) return { ok: false, error: text.trim() ? "the reply held only reasoning, no answer" : "the reply was empty" };
  try {
    return { ok: true, value: JSON.parse(trimmed) };
  } catch {}
  const found: unknown[] = [];
  let lastError: string | undefined;
  for (const m of trimmed.matchAll(FENCE)) lastError = objectsIn(m[2]!.trim(), found) ?? lastError;
  const fenced = found.length;
  lastError = objectsIn(trimmed, found) ?? lastError;
  if (found.length === 0) return { ok: false, error: lastError ?? "no JSON object found in the reply" };
  if (!accept) return { ok: true, value: found[0] };
  for (let i = found.length - 1; i >= 0; i--) if (accept(found[i])) return { ok: true, value: found[i] };
  const size = (v: unknown) => JSON.stringify(v).length;
  const pool = fenced > 0 ? found.slice(0, fenced) : found;
  return { ok: true, value: pool.reduce((a, b) => (size(b) >= size(a) ? b : a)) };
}

const BACKEND_MODULE = /\bexport\s+default\b|\bdefineBackend\s*\(/;

/**
 * The code of a fenced block whose language is in `languages` (or has none), reasoning
 * removed. Blocks that are a module exporting a backend (`export default`, `defineBackend(`)
 * win over snippets, the last such block winning (models restate the final module after a
 * draft); otherwise the longest block. An unclosed fence (a truncated reply) yields what
 * follows it; no fence at all yields the trimmed text.
 */
export function extractCode(text: string, languages = ["ts", "typescript", "js", "javascript", "tsx", "jsx", "mjs", ""]): string {
  const body = stripReasoning(text);
  const blocks = [...body.matchAll(FENCE)].filter((m) => languages.includes(m[1]!.toLowerCase()));
  if (blocks.length === 0) {
    const open = body.match(/```([\w+-]*)[^\n]*\n([\s\S]*)$/);
    return (open && languages.includes(open[1]!.toLowerCase()) ? open[2]! : body).trim() + "\n";
  }
  const modules = blocks.filter((m) => BACKEND_MODULE.test(m[2]!));
  const chosen = modules.length > 0 ? modules[modules.length - 1]! : blocks.reduce((a, b) => (b[2]!.length > a[2]!.length ? b : a));
  return chosen[2]!.trimEnd() + "\n";
}
