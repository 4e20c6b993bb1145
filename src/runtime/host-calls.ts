/**
 * The one place a guest's host-call arguments (ctx.kv, fetch, timers) become typed values
 * (threat model, promise 2). The guest sends an op name and JSON text it built itself, so
 * nothing about them is trusted: sizes are checked before parsing, nesting before anything
 * re-serialises the value, and every field's type and range after. A bad call throws an
 * Error whose message the guest sees as a rejected promise; the host is never affected.
 * Console lines are the fourth kind of host call: each engine's Call.log takes only a known
 * level and a string (QuickJS reads the guest's value as a string; the V8 sidecar coerces).
 */
import type { EgressRequest } from "./egress";
import type { Limits } from "./types";
import { nestsDeeperThan } from "../lib/json-nesting";
import { parseWebCall, type WebCall } from "./web-bridge";

export const HOST_CALL_RULES = {
  maxKeyChars: 512,
  /** kv values nest at most this deep (re-serialising deeper JSON overflows the host's stack slowly). */
  maxDepth: 256,
  maxListLimit: 1000,
  maxUrlChars: 16 * 1024,
  maxHeaders: 256,
  maxHeaderBytes: 64 * 1024,
  /** Argument text beyond the kv value limit (key, field names, a request's URL and headers). */
  overheadChars: 128 * 1024,
} as const;

export type HostCall =
  | { op: "kv.get"; key: string }
  | { op: "kv.set"; key: string; value: unknown }
  | { op: "kv.delete"; key: string }
  | { op: "kv.list"; prefix: string | undefined; limit: number; cursor: string | undefined }
  | { op: "fetch"; request: EgressRequest; body: Uint8Array | undefined }
  | WebCall;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * Parses one host call from the guest: `op` names it, `argsJson` is the guest's JSON text,
 * `bytes` an optional body. Throws an Error naming the problem (unknown op, arguments too
 * large or too deep, a field of the wrong type or out of range).
 */
export function parseHostCall(op: unknown, argsJson: unknown, bytes: unknown, limits: Pick<Limits, "kvValueBytes">): HostCall {
  if (typeof op !== "string") throw new Error("host call: the operation is not a string");
  if (typeof argsJson !== "string") throw new Error(`${op}: arguments are not text`);
  const maxChars = limits.kvValueBytes + HOST_CALL_RULES.overheadChars;
  if (argsJson.length > maxChars) throw new Error(`${op}: arguments are ${argsJson.length} characters long (limit ${maxChars})`);
  if (nestsDeeperThan(argsJson, HOST_CALL_RULES.maxDepth)) throw new Error(`${op}: the value nests deeper than ${HOST_CALL_RULES.maxDepth} levels`);
  let parsed: unknown;
  try {
    parsed = argsJson === "" ? null : JSON.parse(argsJson);
  } catch {
    throw new Error(`${op}: arguments are not JSON`);
  }
  const args = (parsed && typeof parsed === "object" && !Array.isArray(parsed) ? parsed : {}) as Record<string, unknown>;
  switch (op) {
    case "kv.get":
    case "kv.delete":
      return { op, key: key(args.key) };
    case "kv.set":
      if (args.value === undefined) throw new Error("kv: value must be JSON-serializable");
      return { op, key: key(args.key), value: args.value };
    case "kv.list": {
      const n = args.limit === undefined || args.limit === null ? 100 : Number(args.limit);
      return {
        op,
        prefix: optionalText(args.prefix, "kv.list: prefix"),
        limit: Number.isFinite(n) ? Math.min(HOST_CALL_RULES.maxListLimit, Math.max(1, Math.floor(n))) : 100,
        cursor: optionalText(args.cursor, "kv.list: cursor"),
      };
    }
    case "fetch":
      return { op, request: egressRequest(args), body: body(bytes) };
    case "web.subtle":
      return parseWebCall(op, args, body(bytes));
    default:
      throw new Error(`unknown host operation ${op.slice(0, 40)}`);
  }
}

/**
 * A guest timer's delay in whole ms (setTimeout's second argument, as the guest's shim
 * passed it to host.timer): a number > 0 is rounded up, so a timer never fires early;
 * anything else (0, negative, NaN, not a number) is 0. Never clamped: a delay past the
 * call's wall deadline (Infinity included) means the timer is never armed and the deadline
 * ends the call as a wall timeout (504). The V8 sidecar's Call.timer (sandbox/v8-sidecar/
 * call.mjs, plain JS in Node) applies the same rule.
 */
export function timerDelay(arg: unknown): number {
  return typeof arg === "number" && arg > 0 ? Math.ceil(arg) : 0;
}

function key(k: unknown): string {
  if (typeof k !== "string" || k.length === 0 || k.length > HOST_CALL_RULES.maxKeyChars) {
    throw new Error(`kv: key must be a non-empty string of at most ${HOST_CALL_RULES.maxKeyChars} characters`);
  }
  return k;
}

function optionalText(v: unknown, what: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string" || v.length > HOST_CALL_RULES.maxKeyChars) throw new Error(`${what} must be a string of at most ${HOST_CALL_RULES.maxKeyChars} characters`);
  return v;
}

function egressRequest(a: Record<string, unknown>): EgressRequest {
  if (typeof a.url !== "string" || a.url.length > HOST_CALL_RULES.maxUrlChars) throw new Error(`fetch: the URL must be a string of at most ${HOST_CALL_RULES.maxUrlChars} characters`);
  const method = a.method === undefined ? "GET" : a.method;
  if (typeof method !== "string" || method.length > 16 || !TOKEN.test(method)) throw new Error("fetch: the method is not an HTTP token");
  const list = a.headers === undefined ? [] : a.headers;
  if (!Array.isArray(list) || list.length > HOST_CALL_RULES.maxHeaders) throw new Error(`fetch: headers must be a list of at most ${HOST_CALL_RULES.maxHeaders} [name, value] pairs`);
  let total = 0;
  const headers: [string, string][] = [];
  for (const pair of list) {
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== "string" || typeof pair[1] !== "string") throw new Error("fetch: each header must be a [name, value] pair of strings");
    const [name, value] = pair as [string, string];
    if (!TOKEN.test(name)) throw new Error(`fetch: header name ${JSON.stringify(name.slice(0, 40))} is not an HTTP token`);
    if (!FIELD_VALUE.test(value)) throw new Error(`fetch: the value of header ${name} contains CR, LF, NUL or a character outside Latin-1`);
    total += name.length + value.length;
    if (total > HOST_CALL_RULES.maxHeaderBytes) throw new Error(`fetch: headers exceed ${HOST_CALL_RULES.maxHeaderBytes} bytes in total`);
    headers.push([name, value]);
  }
  return { url: a.url, method, headers };
}

function body(b: unknown): Uint8Array | undefined {
  if (b === undefined || b === null) return undefined;
  if (!(b instanceof Uint8Array)) throw new Error("fetch: the body is not bytes");
  return b;
}
