/**
 * The hot path's messages between the main thread and a sandbox worker as one string each
 * (issue 15): a call's request (`F…`) and its response (`R…`). Bun posts a string between
 * threads much more cheaply than an object holding arrays or typed arrays (measured here:
 * a request/response round trip of one string each cost 3–4 µs of CPU against 11–13 µs
 * for the nested objects it replaces). Both threads are host code; the guest never sees
 * these strings, only the metadata text inside them, which is the same text as before.
 *
 * Layout: a tag letter, space-separated decimal header fields, "\n", then the variable
 * parts back to back, each cut by the length its header field gives (UTF-16 code units).
 * A call whose body is not UTF-8 text (request) or not a string of at most
 * WIRE_TEXT_MAX code units (response) takes the structured messages in protocol.ts instead,
 * with its bytes transferred or cloned as before.
 */
import type { GuestLogLine } from "../types";
import type { RawGuestResponse } from "../guest-values";

/** Longest response body (UTF-16 code units) sent as text; longer ones move as a transferred buffer. */
export const WIRE_TEXT_MAX = 64 * 1024;

/** A call's request as the worker needs it: the metadata text the guest's dispatch reads, and the body. */
export interface WireFetch {
  id: number;
  inst: number;
  /** `JSON.stringify({method, url, headers, call})`, exactly what the prelude's dispatch parses. */
  meta: string;
  /** The body as text; "" when there is none (the guest then gets `undefined`, as for an empty body). */
  text: string;
  /** The call's kv reads go through the main thread's bridge (a re-run: replay.ts), not the worker's own connection. */
  bridgedReads?: boolean;
}

/** A call's response as the worker reports it. `text` is the body (a string the guest returned). */
export interface WireResponse {
  id: number;
  memoryBytes: number;
  dropped: boolean;
  cpuMs: number;
  wallMs: number;
  meta: string | null;
  problem?: string;
  logs: GuestLogLine[];
  text: string;
}

/** Cuts `s` after the header line into parts of the given lengths (the last takes the rest). */
function parts(s: string): { head: string[]; at: number } {
  const nl = s.indexOf("\n");
  return { head: s.slice(1, nl).split(" "), at: nl + 1 };
}

export function encodeFetch(m: WireFetch): string {
  return `F${m.id} ${m.inst} ${m.meta.length}${m.bridgedReads ? " 1" : ""}\n${m.meta}${m.text}`;
}

export function decodeFetch(s: string): WireFetch {
  const { head, at } = parts(s);
  const metaLen = Number(head[2]);
  return { id: Number(head[0]), inst: Number(head[1]), meta: s.slice(at, at + metaLen), text: s.slice(at + metaLen), bridgedReads: head[3] === "1" };
}

export function encodeResponse(m: WireResponse): string {
  const logs = m.logs.length ? JSON.stringify(m.logs) : "";
  const problem = m.problem ?? "";
  const meta = m.meta ?? "";
  return `R${m.id} ${m.memoryBytes} ${m.dropped ? 1 : 0} ${m.cpuMs} ${m.wallMs} ${m.meta === null ? -1 : meta.length} ${problem.length} ${logs.length}\n${meta}${problem}${logs}${m.text}`;
}

export function decodeResponse(s: string): WireResponse {
  // The eight header fields read in place (issue 15: a split and a map per reply cost ~0.5 µs).
  let at = 1;
  const nl = s.indexOf("\n");
  const next = (last: boolean) => {
    const end = last ? nl : s.indexOf(" ", at);
    const v = Number(s.slice(at, end));
    at = end + 1;
    return v;
  };
  const id = next(false), memoryBytes = next(false), dropped = next(false), cpuMs = next(false), wallMs = next(false);
  const metaLen = next(false), problemLen = next(false), logsLen = next(true);
  let p = at;
  const meta = metaLen < 0 ? null : s.slice(p, (p += metaLen));
  const problem = s.slice(p, (p += problemLen));
  const logs = s.slice(p, (p += logsLen));
  return {
    id,
    memoryBytes,
    dropped: dropped === 1,
    cpuMs,
    wallMs,
    meta,
    ...(problem ? { problem } : {}),
    logs: logs ? (JSON.parse(logs) as GuestLogLine[]) : [],
    text: s.slice(p),
  };
}

/** Whether a message from a worker is a wire string (else a structured protocol.ts message). */
export const isWire = (m: unknown): m is string => typeof m === "string";

/** A host call the worker answered itself (a kv.get read from its own connection), with the JSON it answered: for the call's replay journal. */
export interface ReadRecord {
  t: "host-read";
  inst: number;
  call: number;
  op: string;
  args: string;
  json: string;
}

/**
 * A ReadRecord as a wire string: `K`, then instance, call and the lengths of op and args,
 * then op, args and the JSON answered back to back. Sent on its own or in a host request's
 * `reads` (protocol.ts), a string either way (a structured message cost the main thread ~10 µs
 * more per read).
 */
export function encodeRead(m: Omit<ReadRecord, "t">): string {
  return `K${m.inst} ${m.call} ${m.op.length} ${m.args.length}\n${m.op}${m.args}${m.json}`;
}

/** Whether a worker's wire string is a read record (encodeRead) rather than a response. */
export const isReadRecord = (s: string): boolean => s.charCodeAt(0) === 75; // "K"

export function decodeRead(s: string): ReadRecord {
  const { head, at } = parts(s);
  const opEnd = at + Number(head[2]);
  const argsEnd = opEnd + Number(head[3]);
  return { t: "host-read", inst: Number(head[0]), call: Number(head[1]), op: s.slice(at, opEnd), args: s.slice(opEnd, argsEnd), json: s.slice(argsEnd) };
}

/**
 * A guest's host request without bytes (kv; fetch and Web Crypto carry a body and stay
 * structured: protocol.ts), as the worker posts it: `reads` are the read records (encodeRead)
 * of the worker's own kv answers that came before it, which the main thread records first.
 */
export interface WireHostRequest {
  hid: number;
  inst: number;
  call: number;
  op: string;
  args: string;
  reads: string[];
}

/**
 * `H`, then hid, instance, call, the lengths of op and args and of each read record, then
 * op, args and the records back to back. One string each way (with encodeHostResult) instead
 * of an object (issue 15: the hot path's messages are flat).
 */
export function encodeHostRequest(m: WireHostRequest): string {
  let head = `H${m.hid} ${m.inst} ${m.call} ${m.op.length} ${m.args.length}`;
  for (const r of m.reads) head += ` ${r.length}`;
  return `${head}\n${m.op}${m.args}${m.reads.join("")}`;
}

/** Whether a worker's wire string is a host request (encodeHostRequest). */
export const isHostRequest = (s: string): boolean => s.charCodeAt(0) === 72; // "H"

export function decodeHostRequest(s: string): WireHostRequest {
  const { head, at } = parts(s);
  let p = at;
  const take = (n: number) => s.slice(p, (p += n));
  const op = take(Number(head[3]));
  const args = take(Number(head[4]));
  const reads: string[] = [];
  for (let i = 5; i < head.length; i++) reads.push(take(Number(head[i])));
  return { hid: Number(head[0]), inst: Number(head[1]), call: Number(head[2]), op, args, reads };
}

/** A host request's answer without bytes: `h`, hid and 1 (the result's JSON follows) or 0 (the failure's message follows). */
export function encodeHostResult(hid: number, ok: boolean, text: string): string {
  return `h${hid} ${ok ? 1 : 0}\n${text}`;
}

/** Whether a main-thread wire string is a host request's answer (encodeHostResult) rather than a fetch. */
export const isHostResult = (s: string): boolean => s.charCodeAt(0) === 104; // "h"

export function decodeHostResult(s: string): { hid: number; ok: boolean; text: string } {
  const { head, at } = parts(s);
  return { hid: Number(head[0]), ok: head[1] === "1", text: s.slice(at) };
}

const encoder = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * A request body as text when it is valid UTF-8 (lossless both ways, so the guest needs no
 * decode step), "" when there is none, or null when it is other bytes.
 */
export function bodyText(b: Uint8Array | null): string | null {
  if (!b || b.byteLength === 0) return "";
  try {
    return strictUtf8.decode(b);
  } catch {
    return null;
  }
}

/** The engine-neutral shape the host's validation point takes (guest-values.ts). */
export function rawResponseOf(m: WireResponse): RawGuestResponse {
  return { meta: m.meta, body: m.text ? encoder.encode(m.text) : new Uint8Array(0), ...(m.problem ? { problem: m.problem } : {}), logs: m.logs, cpuMs: m.cpuMs, wallMs: m.wallMs };
}
