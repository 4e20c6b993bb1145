/**
 * The one validation point where values from a guest enter the host (threat model,
 * promise 2). Each engine's host half (QuickJS: quickjs/engine.ts; V8: v8/engine.ts)
 * hands every reply it receives to these functions before anything else reads it: a
 * response's metadata arrives as the JSON text the guest's prelude produced (a guest that
 * replaced JSON.stringify, Array.prototype or a getter makes it garbage), so nothing about
 * it is trusted until it has been parsed and checked here. Malformed responses become
 * `bad_response` failures whose message is written here and names the problem without
 * echoing more than a short, escaped excerpt of the guest's value.
 */
import type { BackendDescription, GuestLogLine, GuestResponse, Limits, ScheduledResult } from "./types";
import { failure } from "./failures";
import { nestsDeeperThan } from "../lib/json-nesting";

/** A response exactly as an engine copied it out of the guest, before any check. */
export interface RawGuestResponse {
  /** The prelude's JSON text `{status, headers}` or `{bad}`; null when the guest's value was not a string. */
  meta: string | null;
  body: Uint8Array;
  /** A malformation the engine saw while copying the value out (a body of the wrong type, too large). */
  problem?: string;
  logs: unknown;
  cpuMs: unknown;
  wallMs: unknown;
}

/** A scheduled handler's outcome as an engine reported it, before any check. */
export interface RawScheduledResult {
  ok: unknown;
  error?: unknown;
  logs: unknown;
  cpuMs: unknown;
  wallMs: unknown;
}

/** Bounds on response metadata (RFC 9110 leaves them to the server; these match common proxies). */
export const RESPONSE_RULES = {
  /** Status codes a fetch handler may answer with (the Fetch standard's Response range). */
  minStatus: 200,
  maxStatus: 599,
  maxHeaders: 256,
  maxHeaderNameChars: 256,
  maxHeaderValueChars: 8192,
  /** Sum of name and value lengths over all headers. */
  maxHeaderBytes: 64 * 1024,
  /** The metadata JSON text itself, checked before it is parsed. */
  maxMetaChars: 1024 * 1024,
} as const;

/** Bounds on describe() output: it is stored with the version and rendered as OpenAPI. */
export const DESCRIPTION_RULES = { maxChars: 1024 * 1024, maxDepth: 64, maxRoutes: 500, maxPathChars: 1024, maxTextChars: 4096 } as const;

const LOG_LEVELS = new Set(["debug", "info", "log", "warn", "error"]);
const MAX_LOG_CHARS = 16 * 1024 + 64;
const MAX_ERROR_CHARS = 8 * 1024;
/** RFC 9110 §5.1 field-name (token) and §5.5 field-value (no CR, LF, NUL or other controls; Latin-1 only). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** A short, escaped excerpt of a guest value for an error message. */
export function excerpt(v: unknown): string {
  let s: string;
  if (typeof v === "string") s = JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  else if (typeof v === "number" || typeof v === "boolean" || v === null || v === undefined) s = String(v);
  else s = Array.isArray(v) ? "an array" : `a ${typeof v}`;
  return s;
}

function bad(problem: string): never {
  throw failure("bad_response", `The backend returned something that is not a valid HTTP response: ${problem}.`);
}

/**
 * Checks a response copied out of the guest and returns it typed. Throws a `bad_response`
 * AppError (502) naming the first problem: metadata that is not the prelude's JSON, a
 * status that is not an integer in 200–599, headers that are not [name, value] string
 * pairs with an RFC 9110 token name and a Latin-1 value without CR/LF/NUL, more than
 * RESPONSE_RULES.maxHeaders headers or maxHeaderBytes in total, or a body over
 * `limits.responseBytes`. Logs and timings are normalised, never rejected.
 */
export function acceptResponse(raw: RawGuestResponse, limits: Pick<Limits, "responseBytes" | "logLines">): GuestResponse {
  return acceptHead(raw, limits).response;
}

/**
 * acceptResponse for a call that asked for a streamed body: the same checks, plus whether
 * the guest's metadata says its body follows as a stream (`"stream": true`; the engine
 * reads the same text to decide whether to keep the call open for pulls).
 */
export function acceptHead(raw: RawGuestResponse, limits: Pick<Limits, "responseBytes" | "logLines">): { response: GuestResponse; stream: boolean } {
  const logs = acceptLogs(raw.logs, limits);
  const timing = { cpuMs: finite(raw.cpuMs), wallMs: finite(raw.wallMs) };
  try {
    if (raw.problem) bad(raw.problem);
    const body = raw.body;
    if (!(body instanceof Uint8Array)) bad("the body is not bytes or text");
    if (body.byteLength > limits.responseBytes) bad(`the body (${body.byteLength} bytes) exceeds the limit of ${limits.responseBytes} bytes`);
    const head = acceptMetaText(raw.meta);
    return { response: { status: head.status, headers: head.headers.map((h) => [h[0], h[1]]), body, logs, ...timing }, stream: head.stream };
  } catch (e) {
    // The call's console lines stay with the failure (for the invocation log, never the caller).
    throw failure("bad_response", (e as Error).message, { logs });
  }
}

/** A metadata text's checked status, headers and stream flag. */
interface AcceptedHead {
  status: number;
  headers: readonly (readonly [string, string])[];
  stream: boolean;
}

/**
 * The last metadata text accepted and what it gave: most calls of a backend answer with the
 * same text (every JSON result of the SDK's lean path does), and the same text always passes
 * the same checks with the same result, so it is parsed and checked once (issue 15: ~1 µs per
 * call on the main thread). Only a text that passed is kept; callers get fresh header pairs.
 */
let lastHead: { text: string; head: AcceptedHead } | null = null;

/** parseMeta, acceptStatus and acceptHeaders of one metadata text. Throws as they do. */
function acceptMetaText(text: string | null): AcceptedHead {
  if (lastHead !== null && text === lastHead.text) return lastHead.head;
  const meta = parseMeta(text);
  const head: AcceptedHead = { status: acceptStatus(meta.status), headers: acceptHeaders(meta.headers), stream: meta.stream === true };
  lastHead = { text: text!, head };
  return head;
}

function parseMeta(text: string | null): { status: unknown; headers: unknown; stream: unknown } {
  if (typeof text !== "string") bad("its metadata was not text (was JSON.stringify replaced?)");
  if (text.length > RESPONSE_RULES.maxMetaChars) bad(`its metadata is ${text.length} characters long (limit ${RESPONSE_RULES.maxMetaChars})`);
  if (nestsDeeperThan(text, 8)) bad("its metadata nests too deeply");
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    bad(`its metadata is not JSON (starts ${excerpt(text)})`);
  }
  if (!v || typeof v !== "object" || Array.isArray(v)) bad(`its metadata is ${excerpt(v)}, not an object`);
  const m = v as Record<string, unknown>;
  if ("bad" in m) bad(typeof m.bad === "string" ? m.bad.slice(0, 200) : "the prelude could not read it");
  return { status: m.status, headers: m.headers, stream: m.stream };
}

function acceptStatus(s: unknown): number {
  if (typeof s !== "number" || !Number.isInteger(s) || s < RESPONSE_RULES.minStatus || s > RESPONSE_RULES.maxStatus) {
    bad(`status ${excerpt(s)} is not an integer in ${RESPONSE_RULES.minStatus}–${RESPONSE_RULES.maxStatus}`);
  }
  return s;
}

function acceptHeaders(h: unknown): [string, string][] {
  if (!Array.isArray(h)) bad(`the headers are ${excerpt(h)}, not a list of [name, value] pairs`);
  if (h.length > RESPONSE_RULES.maxHeaders) bad(`${h.length} headers (limit ${RESPONSE_RULES.maxHeaders})`);
  let bytes = 0;
  const out: [string, string][] = [];
  for (const pair of h) {
    if (!Array.isArray(pair) || pair.length !== 2) bad(`a header entry is ${excerpt(pair)}, not a [name, value] pair`);
    const [name, value] = pair as unknown[];
    if (typeof name !== "string" || typeof value !== "string") bad(`a header name or value is ${typeof name !== "string" ? excerpt(name) : excerpt(value)}, not a string`);
    if (name.length > RESPONSE_RULES.maxHeaderNameChars || !TOKEN.test(name)) bad(`header name ${excerpt(name)} is not an HTTP token`);
    if (value.length > RESPONSE_RULES.maxHeaderValueChars) bad(`the value of header ${excerpt(name)} is ${value.length} characters long (limit ${RESPONSE_RULES.maxHeaderValueChars})`);
    if (!FIELD_VALUE.test(value)) bad(`the value of header ${excerpt(name)} contains CR, LF, NUL, another control character or a character outside Latin-1`);
    bytes += name.length + value.length;
    if (bytes > RESPONSE_RULES.maxHeaderBytes) bad(`the headers exceed ${RESPONSE_RULES.maxHeaderBytes} bytes in total`);
    out.push([name, value.trim()]);
  }
  return out;
}

/** One step of a streamed body exactly as an engine copied it out of the guest, before any check. */
export interface RawStreamChunk {
  /** "chunk" (body holds the bytes), "end" (the guest closed its stream) or "error" (it errored; problem holds its text). */
  kind: unknown;
  body?: Uint8Array;
  problem?: string;
  /** With "end" and "error": the whole call's console lines and timings. */
  logs?: unknown;
  cpuMs?: unknown;
  wallMs?: unknown;
}

/** A streamed body's step after acceptChunk. */
export type StreamStep = { kind: "chunk"; bytes: Uint8Array } | { kind: "end" } | { kind: "error"; message: string };

/**
 * Checks one step of a streamed body (after `sent` bytes were handed on): a chunk must be
 * bytes and keep the body within `limits.responseBytes`, like a whole body. Throws a
 * `bad_response` AppError naming the problem; the caller cuts the stream there.
 */
export function acceptChunk(raw: RawStreamChunk, sent: number, limits: Pick<Limits, "responseBytes">): StreamStep {
  try {
    if (raw.kind === "end") return { kind: "end" };
    if (raw.kind === "error") return { kind: "error", message: typeof raw.problem === "string" ? raw.problem.slice(0, MAX_ERROR_CHARS) : "the stream failed" };
    if (raw.kind !== "chunk") bad("a streamed body step of an unknown kind");
    if (raw.problem) bad(raw.problem);
    const bytes = raw.body;
    if (!(bytes instanceof Uint8Array)) bad("a chunk of its body stream is not bytes");
    if (sent + bytes.byteLength > limits.responseBytes) bad(`the streamed body exceeds the limit of ${limits.responseBytes} bytes (${sent} bytes sent, the next chunk has ${bytes.byteLength})`);
    return { kind: "chunk", bytes };
  } catch (e) {
    throw failure("bad_response", (e as Error).message);
  }
}

/**
 * Normalises a call's captured console lines: at most `limits.logLines + 1` (the cap
 * notice), each with a known level, a string message (≤ 16 KiB) and a finite timestamp.
 */
export function acceptLogs(v: unknown, limits: Pick<Limits, "logLines">): GuestLogLine[] {
  if (!Array.isArray(v)) return [];
  const out: GuestLogLine[] = [];
  for (const l of v.slice(0, limits.logLines + 1)) {
    const line = (l && typeof l === "object" ? l : {}) as Record<string, unknown>;
    const message = typeof line.message === "string" ? line.message : "[a log line that is not text]";
    out.push({
      level: (LOG_LEVELS.has(line.level as string) ? line.level : "log") as GuestLogLine["level"],
      message: message.length > MAX_LOG_CHARS ? `${message.slice(0, MAX_LOG_CHARS)}… [truncated]` : message,
      at: typeof line.at === "number" && Number.isFinite(line.at) ? line.at : Date.now(),
    });
  }
  return out;
}

/** Checks a scheduled handler's outcome: `ok` must be a boolean; the error text is capped at 8 KiB. */
export function acceptScheduled(raw: RawScheduledResult, limits: Pick<Limits, "logLines">): ScheduledResult {
  const logs = acceptLogs(raw.logs, limits);
  const ok = raw.ok === true;
  let error: string | undefined;
  if (!ok) {
    error = typeof raw.error === "string" ? raw.error : raw.ok === false ? "the scheduled handler failed" : "the scheduled handler's result was malformed";
    if (error.length > MAX_ERROR_CHARS) error = `${error.slice(0, MAX_ERROR_CHARS)}… [truncated]`;
  }
  return { ok, ...(error === undefined ? {} : { error }), logs, cpuMs: finite(raw.cpuMs), wallMs: finite(raw.wallMs) };
}

/**
 * Parses and checks describe()'s JSON text: `{routes: [{method, path, summary?,
 * description?, input?, output?}], scheduled}` within DESCRIPTION_RULES. Throws a
 * `load_failed` AppError naming the problem (the bundle is refused, as if it had not loaded).
 */
export function acceptDescription(text: unknown): BackendDescription {
  const no = (problem: string): never => {
    throw failure("load_failed", `The backend's describe() returned an invalid description: ${problem}.`);
  };
  if (typeof text !== "string") return no("it is not text");
  if (text.length > DESCRIPTION_RULES.maxChars) no(`it is ${text.length} characters long (limit ${DESCRIPTION_RULES.maxChars})`);
  if (nestsDeeperThan(text, DESCRIPTION_RULES.maxDepth)) no(`it nests deeper than ${DESCRIPTION_RULES.maxDepth} levels`);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    no(`it is not JSON (starts ${excerpt(text)})`);
  }
  if (!v || typeof v !== "object" || Array.isArray(v)) return no(`it is ${excerpt(v)}, not an object`);
  const d = v as Record<string, unknown>;
  if (!Array.isArray(d.routes)) return no("routes is not a list");
  if (d.routes.length > DESCRIPTION_RULES.maxRoutes) no(`${d.routes.length} routes (limit ${DESCRIPTION_RULES.maxRoutes})`);
  const text4k = (x: unknown, what: string) => {
    if (x === undefined || x === null) return undefined;
    if (typeof x !== "string" || x.length > DESCRIPTION_RULES.maxTextChars) no(`${what} is not a string of at most ${DESCRIPTION_RULES.maxTextChars} characters`);
    return x as string;
  };
  const routes = d.routes.map((r: unknown) => {
    if (!r || typeof r !== "object" || Array.isArray(r)) return no(`a route is ${excerpt(r)}`);
    const x = r as Record<string, unknown>;
    if (typeof x.method !== "string" || !TOKEN.test(x.method) || x.method.length > 16) no(`a route's method is ${excerpt(x.method)}`);
    if (typeof x.path !== "string" || !x.path.startsWith("/") || x.path.length > DESCRIPTION_RULES.maxPathChars) no(`a route's path is ${excerpt(x.path)}`);
    const route: BackendDescription["routes"][number] & { description?: string } = { method: x.method as string, path: x.path as string };
    const summary = text4k(x.summary, "a route's summary");
    const description = text4k(x.description, "a route's description");
    if (summary !== undefined) route.summary = summary;
    if (description !== undefined) route.description = description;
    if (x.input !== undefined) route.input = x.input;
    if (x.output !== undefined) route.output = x.output;
    return route;
  });
  return { routes, scheduled: d.scheduled === true };
}

function finite(n: unknown): number {
  return typeof n === "number" && Number.isFinite(n) && n >= 0 ? n : 0;
}
