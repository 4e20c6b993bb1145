/**
 * Pulls machine-readable parts out of model replies, which local models wrap in prose,
 * code fences and reasoning even when asked not to. Reasoning (`<think>…</think>` from
 * R1-style models: DeepSeek-R1, Qwen3, QwQ through Ollama, vLLM, llama.cpp) is never the
 * answer and is dropped first. JSON: the last complete object that the caller accepts
 * (a schema check), so a sketch in the prose loses to the real answer after it. Code: the
 * fenced block that is a module exporting a backend, so a ```json sample before it loses.
 *
 * A reply is hostile data (threat model, promise 1): every scan here is linear in its
 * length, or stops at a stated budget. Lazy regular expressions with backtracking (one
 * per fence, one per reasoning block) and a brace matcher restarted inside every failed
 * candidate were quadratic: a 120 kB reply of nested braces, 280 kB of unclosed `<think>`
 * or 200 kB of unclosed fences held the event loop for seconds, a 1 MB one for minutes.
 */
import { nestsDeeperThan } from "../lib/json-nesting";

export type Extracted = { ok: true; value: unknown } | { ok: false; error: string };

/** A fenced block: its language word (the run of [\w+-] after the backticks) and its text. */
interface Fence {
  lang: string;
  body: string;
}

const LANG = /^[\w+-]*/;

/**
 * The fenced blocks of `text`, as the regular expression /```([\w+-]*)[^\n]*\n([\s\S]*?)```/g
 * finds them (a fence opens at any "```" followed later by a newline and closes at the
 * next "```"), in one pass. With `open`, a last fence that never closes is returned too,
 * its body running to the end.
 */
function fencesIn(text: string, open = false): Fence[] {
  const out: Fence[] = [];
  for (let at = 0; ; ) {
    const start = text.indexOf("```", at);
    if (start < 0) break;
    const nl = text.indexOf("\n", start + 3);
    if (nl < 0) break;
    const lang = LANG.exec(text.slice(start + 3, nl))![0];
    const end = text.indexOf("```", nl + 1);
    if (end < 0) {
      if (open) out.push({ lang, body: text.slice(nl + 1) });
      break;
    }
    out.push({ lang, body: text.slice(nl + 1, end) });
    at = end + 3;
  }
  return out;
}

/** Tags reasoning models put around their chain of thought (opening or closing). */
const REASONING_TAG = /<(\/?)(think|thinking|reasoning|reflection)>/gi;
const OPEN_REASONING = /<(think|thinking|reasoning|reflection)>/i;
const CLOSE_REASONING = /<\/(think|thinking|reasoning|reflection)>/gi;

/**
 * `text` without its closed reasoning blocks, as /<(think|…)>[\s\S]*?<\/\1>/gi would
 * remove them (an opening tag pairs with the next closing tag of the same name; one with
 * none stays), in one pass over the tags.
 */
function removeClosedBlocks(text: string): string {
  const tags = [...text.matchAll(REASONING_TAG)].map((m) => ({ close: m[1] === "/", name: m[2]!.toLowerCase(), start: m.index!, end: m.index! + m[0].length }));
  const closes = new Map<string, { list: { start: number; end: number }[]; next: number }>();
  for (const t of tags) if (t.close) (closes.get(t.name) ?? closes.set(t.name, { list: [], next: 0 }).get(t.name)!).list.push(t);
  let out = "";
  let pos = 0;
  for (const t of tags) {
    if (t.close || t.start < pos) continue;
    const c = closes.get(t.name);
    if (!c) continue;
    while (c.next < c.list.length && c.list[c.next]!.start < t.end) c.next++;
    const close = c.list[c.next];
    if (!close) continue;
    out += text.slice(pos, t.start);
    pos = close.end;
  }
  return out + text.slice(pos);
}

/**
 * The reply without its reasoning: closed `<think>…</think>` blocks are removed; an
 * unclosed opening tag (a reply cut inside its reasoning) drops everything after it; a
 * closing tag with no opening one (chat templates that open the block in the prompt, as
 * Qwen3's and DeepSeek-R1's do) drops everything before it.
 */
export function stripReasoning(text: string): string {
  let out = removeClosedBlocks(text);
  let lastClose = -1;
  for (const m of out.matchAll(CLOSE_REASONING)) lastClose = m.index! + m[0].length;
  if (lastClose >= 0) out = out.slice(lastClose);
  const open = OPEN_REASONING.exec(out);
  if (open) out = out.slice(0, open.index);
  return out.trim();
}

/**
 * How much scanning one extraction may do, in characters: a few passes over the reply.
 * Restarting the brace matcher inside each candidate that fails to parse is quadratic on
 * nested braces; past the budget the search stops with what it found.
 */
interface Budget {
  left: number;
}

/**
 * JSON objects one extraction collects: a real reply holds a handful (a sketch, a sample,
 * the answer). Each candidate is schema-checked by the caller, so "{}{}{}…" (2 million in
 * 4 MB) held the event loop 13 s; the search stops at this many.
 */
const MAX_CANDIDATES = 100;

/** JSON an answer may nest (a spec is about five levels); deeper candidates are refused before parsing. */
const MAX_DEPTH = 64;

/** Finds the first balanced {...} starting at or after `from`, or undefined; charges the scan to `budget`. */
function balancedObject(text: string, from: number, budget: Budget): { start: number; end: number } | undefined {
  const start = text.indexOf("{", from);
  if (start < 0) return undefined;
  let depth = 0;
  let inString = false;
  const stop = Math.min(text.length, start + Math.max(0, budget.left));
  for (let i = start; i < stop; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === "\\") i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === "{") depth++;
    else if (ch === "}" && --depth === 0) {
      budget.left -= i + 1 - start;
      return { start, end: i + 1 };
    }
  }
  budget.left -= stop - start;
  return undefined;
}

/** Every JSON object in `c` that parses, in order of appearance (nested ones only when the outer one fails). */
function objectsIn(c: string, found: unknown[], budget: Budget): string | undefined {
  let from = 0;
  let error: string | undefined;
  for (let span = balancedObject(c, from, budget); span; span = balancedObject(c, from, budget)) {
    if (found.length >= MAX_CANDIDATES) return error ?? `the reply holds more than ${MAX_CANDIDATES} JSON objects`;
    const candidate = c.slice(span.start, span.end);
    budget.left -= candidate.length;
    try {
      if (nestsDeeperThan(candidate, MAX_DEPTH)) throw new Error(`nested deeper than ${MAX_DEPTH} levels`);
      found.push(JSON.parse(candidate));
      from = span.end;
    } catch (e) {
      error = `invalid JSON: ${(e as Error).message}`;
      from = span.start + 1;
    }
  }
  if (budget.left <= 0) return error ?? "the reply's braces could not be matched within the extraction budget";
  const tail = c.lastIndexOf("{", c.length);
  if (tail >= from && !balancedObject(c, tail, budget)) error = "the JSON object in the reply is not closed (truncated?)";
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
  // Deep text parses cheaply but overflows the stack when cloned or checked; its candidates are refused below.
  if (!nestsDeeperThan(trimmed, MAX_DEPTH))
    try {
      return { ok: true, value: JSON.parse(trimmed) };
    } catch {}
  const found: unknown[] = [];
  let lastError: string | undefined;
  const budget: Budget = { left: 4 * trimmed.length + 65_536 };
  for (const f of fencesIn(trimmed)) lastError = objectsIn(f.body.trim(), found, budget) ?? lastError;
  const fenced = found.length;
  lastError = objectsIn(trimmed, found, budget) ?? lastError;
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
  const fences = fencesIn(body, true);
  const blocks = fencesIn(body).filter((f) => languages.includes(f.lang.toLowerCase()));
  if (blocks.length === 0) {
    const open = fences[0];
    return (open && languages.includes(open.lang.toLowerCase()) ? open.body : body).trim() + "\n";
  }
  const modules = blocks.filter((f) => BACKEND_MODULE.test(f.body));
  const chosen = modules.length > 0 ? modules[modules.length - 1]! : blocks.reduce((a, b) => (b.body.length > a.body.length ? b : a));
  return chosen.body.trimEnd() + "\n";
}
