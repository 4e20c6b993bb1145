/**
 * The invoke gateway: from an incoming call to a warm sandbox instance and back. Order of
 * checks follows the invoke contract: key present and well-formed, key known and active,
 * agent exists, key scoped to it, agent deployed, rate limits, body. Every call (including
 * refused ones that reached an agent) gets a row in the invocation log.
 */
import { AppError, isAppError, statusOf, type ErrorCode } from "../errors";
import { failure } from "../runtime/failures";
import { nestsDeeperThan } from "../lib/json-nesting";
import { scanJson } from "../lib/json-scan";
import { callerError, failureLogLines } from "./caller-error";
import { AGENT_KEY_PREFIX, type AgentKeys } from "../auth";
import type { GuestLogLine, GuestRequest, GuestResponse, GuestStreamResponse, SandboxRuntime, StreamCutReason } from "../runtime/types";
import type { InvocationLog } from "./invocation-log";
import type { LiveCache, LiveEntry } from "./live-cache";
import { clientBucket, type RateLimiter } from "./rate-limit";
import { appRequestHeaders, appResponse, type AppOrigin } from "./app-headers";

export interface GatewayOptions {
  rateLimitPerKey: number;
  rateLimitPerAgent: number;
  /** Anonymous calls to public apps, per client address (IPv6 per /64). 0 = unlimited. */
  rateLimitAnonClient?: number;
  /** Anonymous calls to one public app, all clients together. 0 = unlimited. */
  rateLimitAnonAgent?: number;
}

export interface AppCall {
  slug: string;
  method: string;
  /** Path inside the app, starting with "/", plus the query string. */
  pathAndQuery: string;
  headers: Headers;
  body: Uint8Array | null;
  requestId: string;
  /**
   * The caller's network address (for the anonymous rate limit), or how to read it: read
   * only for an anonymous call (reading the peer address costs ~0.65 µs, issue 15).
   */
  clientAddress?: ClientAddress;
  /** Which origin the browser sees this app on; decides the header policy (app-headers.ts). */
  origin: AppOrigin;
  /** Invocation-log source (default "app"; the per-app MCP server says "mcp"). */
  source?: string;
}

/** A caller's network address, or a function that reads it when it is needed. */
export type ClientAddress = string | null | (() => string | null);

/** Who calls when no agent key is involved: a workspace member (platform token), for its own agents. */
export interface WorkspaceCaller {
  workspaceId: string;
}

/** An admitted call: its agent's live entry and the key it came with (null: none). */
type Admitted = { entry: LiveEntry; keyId: string | null };

export class Gateway {
  constructor(
    private deps: { keys: AgentKeys; live: LiveCache; runtime: SandboxRuntime; log: InvocationLog; limiter: RateLimiter },
    private opts: GatewayOptions,
  ) {}

  /**
   * POST /v1/invoke/{slug}: JSON in, the invocation envelope `{status, ok, latencyMs, response}`
   * out, with the backend's answer parsed (the MCP tool's result). The HTTP route uses
   * invokeEnvelope, which never parses a large answer on the main thread.
   */
  async invoke(slug: string, authorization: string | null, rawBody: string, requestId: string, caller?: WorkspaceCaller) {
    return this.invokeWith(slug, authorization, rawBody, requestId, caller, decodeBody);
  }

  /**
   * The same call as invoke, answered as the envelope's JSON text `{"data":{status, ok,
   * latencyMs, response}}`. An answer up to ENVELOPE_EXACT_BYTES is parsed and re-serialised
   * (exactly invoke's envelope); a longer JSON answer is checked without building anything
   * (src/lib/json-scan.ts, in slices that yield to the event loop) and spliced in as the
   * backend wrote it (issue 15: a 16 MB answer held the main thread for ~300 ms per call).
   */
  async invokeEnvelope(slug: string, authorization: string | null, rawBody: string, requestId: string, caller?: WorkspaceCaller): Promise<string | Uint8Array> {
    const d = await this.invokeWith(slug, authorization, rawBody, requestId, caller, envelopeJson);
    const head = `{"data":{"status":${d.status},"ok":${d.ok},"latencyMs":${d.latencyMs},"response":`;
    if (typeof d.response === "string") return `${head}${d.response}}}`;
    // The answer's own UTF-8 bytes between the envelope's: no 16 MB string is made or encoded here.
    const headBytes = utf8.encode(head);
    const out = new Uint8Array(headBytes.byteLength + d.response.byteLength + 2);
    out.set(headBytes);
    out.set(d.response, headBytes.byteLength);
    out.set(CLOSE, headBytes.byteLength + d.response.byteLength);
    return out;
  }

  private async invokeWith<T>(slug: string, authorization: string | null, rawBody: string, requestId: string, caller: WorkspaceCaller | undefined, decode: (res: GuestResponse) => T | Promise<T>) {
    const started = performance.now();
    const admitted = this.admit(slug, authorization, true, caller);
    const { entry, keyId } = admitted instanceof Promise ? await admitted : admitted;
    let body: Uint8Array | null = null;
    try {
      const empty = rawBody.trim() === "";
      if (!empty) JSON.parse(rawBody);
      body = utf8.encode(empty ? "{}" : rawBody);
    } catch {
      this.logRefusal(entry, keyId, "POST", "/", "invalid_json", started, requestId, "invoke");
      throw new AppError("invalid_json");
    }
    const req: GuestRequest = {
      method: "POST",
      url: `http://${slug}.cantrip.internal/`,
      headers: [["content-type", "application/json"], ["x-request-id", requestId]],
      body,
    };
    let response!: T;
    const res = await this.call(entry, keyId, req, started, requestId, caller ? "mcp" : "invoke", "/", (r) => {
      const d = decode(r);
      if (!(d instanceof Promise)) response = d;
      else return d.then((v) => void (response = v));
    });
    return {
      status: res.status,
      ok: res.status >= 200 && res.status < 300,
      latencyMs: Math.round(performance.now() - started),
      response,
    };
  }

  /** /apps/{slug}/...: any method and path, the backend's response passed through. */
  async app(call: AppCall): Promise<Response> {
    const started = performance.now();
    const admitted = this.admit(call.slug, call.headers.get("authorization"), false, undefined, call.clientAddress);
    const { entry, keyId } = admitted instanceof Promise ? await admitted : admitted;
    const headers = appRequestHeaders(call.headers, call);
    headers.push(["x-request-id", call.requestId]);
    const req: GuestRequest = { method: call.method, url: `http://${call.slug}.cantrip.internal${call.pathAndQuery}`, headers, body: call.body };
    const path = call.pathAndQuery.split("?")[0]!;
    const source = call.source ?? "app";
    let res: GuestResponse | GuestStreamResponse;
    try {
      res = await this.deps.runtime.fetchStream(entry.ref!, req);
    } catch (e) {
      throw this.failed(e, entry, keyId, req.method, path, started, call.requestId, source);
    }
    if (!(res.body instanceof ReadableStream)) {
      this.served(entry, keyId, req.method, path, res.status, null, started, call.requestId, source, (res as GuestResponse).logs);
      return appResponse(res.body, res.status, res.headers, { origin: call.origin, slug: call.slug });
    }
    // A streamed body: the client gets the head and each chunk as the guest produces it; the
    // invocation row is written once, when the stream has ended (latency = the whole stream).
    void (res as GuestStreamResponse).finished.then((end) => {
      const lines = end.cut ? [...end.logs, { level: "error" as const, message: `[cantrip] the streamed response was cut after ${end.bytes} bytes (${end.cut.reason}): ${end.cut.message}`, at: Date.now() }] : end.logs;
      this.served(entry, keyId, req.method, path, res.status, end.cut ? streamCutCode(end.cut.reason) : null, started, call.requestId, source, lines);
    });
    return appResponse(res.body, res.status, res.headers, { origin: call.origin, slug: call.slug });
  }

  /** The agent (for the app docs page), after the same key check as a call. */
  async entryFor(slug: string, authorization: string | null, clientAddress?: ClientAddress): Promise<LiveEntry> {
    return (await this.admit(slug, authorization, false, undefined, clientAddress)).entry;
  }

  /**
   * Awaits the database only on a cache miss: a warm call reads the live and key caches in
   * memory and is admitted synchronously (no promise; issue 15), else the answer is a
   * promise of the same. Throws (or rejects with) the same AppErrors either way.
   */
  private admit(slug: string, authorization: string | null, keyAlways: boolean, caller?: WorkspaceCaller, clientAddress?: ClientAddress): Admitted | Promise<Admitted> {
    const peeked = this.deps.live.peek(slug);
    if (peeked === undefined) return this.deps.live.get(slug).then((entry) => this.admitEntry(entry, authorization, keyAlways, caller, clientAddress));
    return this.admitEntry(peeked, authorization, keyAlways, caller, clientAddress);
  }

  private admitEntry(entry: LiveEntry | null, authorization: string | null, keyAlways: boolean, caller?: WorkspaceCaller, clientAddress?: ClientAddress): Admitted | Promise<Admitted> {
    if (caller) {
      // A workspace member calls its own agents without a key; another workspace's agent does not exist for it.
      if (!entry || entry.agent.workspaceId !== caller.workspaceId) throw new AppError("agent_not_found");
      if (!entry.ref) throw new AppError("not_deployed");
      this.deps.limiter.take(`a:${entry.agent.id}`, this.opts.rateLimitPerAgent);
      return { entry, keyId: null };
    }
    // A public app needs no key, but a caller who presents one is a keyed caller (its limits, its row).
    const needsKey = keyAlways || !entry?.agent.public || (authorization ?? "").includes(AGENT_KEY_PREFIX);
    if (needsKey) {
      // Key checks first, so an unauthenticated caller learns nothing about which slugs exist.
      const verified = this.deps.keys.verify(authorization, entry?.agent.id ?? "\u0000unknown");
      if (verified instanceof Promise) return verified.then((key) => this.limit(entry, key.id, clientAddress));
      return this.limit(entry, verified.id, clientAddress);
    }
    return this.limit(entry, null, clientAddress);
  }

  /** The rest of admit once the key (if any) is known: the agent deployed, then the rate limits. */
  private limit(entry: LiveEntry | null, keyId: string | null, clientAddress?: ClientAddress): Admitted {
    if (!entry) throw new AppError("agent_not_found");
    if (!entry.ref) throw new AppError("not_deployed");
    if (keyId) this.deps.limiter.take(`k:${keyId}`, this.opts.rateLimitPerKey);
    else {
      // Anonymous (public app): limited by default, per client and per app.
      this.deps.limiter.take(`c:${clientBucket(typeof clientAddress === "function" ? clientAddress() : clientAddress)}`, this.opts.rateLimitAnonClient ?? 0);
      this.deps.limiter.take(`p:${entry.agent.id}`, this.opts.rateLimitAnonAgent ?? 0);
    }
    this.deps.limiter.take(`a:${entry.agent.id}`, this.opts.rateLimitPerAgent);
    return { entry, keyId };
  }

  /**
   * One call into the sandbox, logged. `accept` may refuse the response (throwing a
   * failure) before it is logged as served. A failure is logged with the guest's console
   * lines and the runtime's full message, and reaches the caller as callerError() made it.
   */
  private async call(entry: LiveEntry, keyId: string | null, req: GuestRequest, started: number, requestId: string, source: string, path: string, accept?: (res: GuestResponse) => Promise<void> | void): Promise<GuestResponse> {
    try {
      const res = await this.deps.runtime.fetch(entry.ref!, req);
      const accepted = accept?.(res);
      if (accepted) await accepted;
      this.served(entry, keyId, req.method, path, res.status, null, started, requestId, source, res.logs);
      return res;
    } catch (e) {
      throw this.failed(e, entry, keyId, req.method, path, started, requestId, source);
    }
  }

  /** Logs a failed call (with the guest's console lines) and returns the error for the caller. */
  private failed(e: unknown, entry: LiveEntry, keyId: string | null, method: string, path: string, started: number, requestId: string, source: string): unknown {
    const code = isAppError(e) ? e.code : "internal_error";
    this.logRefusal(entry, keyId, method, path, code, started, requestId, source, failureLogLines(e));
    return callerError(e);
  }

  /** The invocation row of a call that produced a response (errorCode: a streamed body cut short). */
  private served(entry: LiveEntry, keyId: string | null, method: string, path: string, status: number, errorCode: ErrorCode | null, started: number, requestId: string, source: string, lines: GuestLogLine[]): void {
    this.deps.log.record(
      { agentId: entry.agent.id, version: entry.version, keyId, source, method, path, status, latencyMs: Math.round(performance.now() - started), errorCode, requestId, at: Date.now() },
      lines,
    );
  }

  private logRefusal(entry: LiveEntry, keyId: string | null, method: string, path: string, code: ErrorCode, started: number, requestId: string, source: string, lines: GuestLogLine[] = []) {
    const status = statusOf(code);
    this.deps.log.record({
      agentId: entry.agent.id,
      version: entry.version,
      keyId,
      source,
      method,
      path,
      status,
      latencyMs: Math.round(performance.now() - started),
      errorCode: code,
      requestId,
      at: Date.now(),
    }, lines);
  }
}

/**
 * The catalogue code an invocation row carries for a streamed body cut short: the code the
 * same failure has on a whole response (failures.ts); a client that went away is not an
 * error of the backend's (null); a stream the guest errored is the backend's bad response.
 */
function streamCutCode(reason: StreamCutReason): ErrorCode | null {
  if (reason === "client_closed") return null;
  if (reason === "stream_error") return "bad_response";
  return failure(reason, "").code as ErrorCode;
}

/** JSON nesting the invoke envelope can carry (re-serialising deeper JSON overflows the host's stack). */
const MAX_ENVELOPE_DEPTH = 512;

/** Longest answer (bytes) the HTTP envelope parses and re-serialises; longer JSON is spliced in as written. */
export const ENVELOPE_EXACT_BYTES = 64 * 1024;

const tooDeep = () => failure("bad_response", `The backend returned something that is not a valid HTTP response: its JSON body nests deeper than ${MAX_ENVELOPE_DEPTH} levels, more than the invoke envelope carries.`);

const isJsonType = (res: GuestResponse) => (res.headers.find(([k]) => k.toLowerCase() === "content-type")?.[1] ?? "").includes("json");

const utf8 = new TextEncoder();
const CLOSE = utf8.encode("}}");

/**
 * The envelope's `response` as JSON (text, or UTF-8 bytes to splice): what
 * JSON.stringify(decodeBody(res)) gives, for an answer up to ENVELOPE_EXACT_BYTES; past
 * that, a valid JSON answer in well-formed UTF-8 is its own bytes (the same value; whitespace
 * and number spelling as the backend wrote them), other UTF-8 (a leading BOM, replaced
 * sequences) is decoded as decodeBody decodes it and spliced as that text's bytes, and
 * anything that is not JSON is the text as a JSON string, as decodeBody makes it. Same
 * failures as decodeBody.
 */
function envelopeJson(res: GuestResponse): string | Promise<string | Uint8Array> {
  // A short answer synchronously (no promise per call; issue 15).
  if (res.body.byteLength <= ENVELOPE_EXACT_BYTES) return JSON.stringify(decodeBody(res));
  return longEnvelopeJson(res);
}

async function longEnvelopeJson(res: GuestResponse): Promise<string | Uint8Array> {
  const json = isJsonType(res);
  if (json) {
    const scan = await scanJson(res.body, MAX_ENVELOPE_DEPTH);
    if (scan === "ok") return res.body;
    if (scan === "deep") throw tooDeep();
  }
  const text = new TextDecoder().decode(res.body);
  if (json) {
    // Not JSON as sent: decodeBody's depth check covers the whole decoded text before it tries to parse it.
    if (nestsDeeperThan(text, MAX_ENVELOPE_DEPTH)) throw tooDeep();
    const bytes = utf8.encode(text);
    const scan = await scanJson(bytes, MAX_ENVELOPE_DEPTH);
    if (scan === "ok") return bytes;
    if (scan === "deep") throw tooDeep();
  }
  return JSON.stringify(text);
}

const utf8Decoder = new TextDecoder();

function decodeBody(res: GuestResponse): unknown {
  if (!res.body.byteLength) return null;
  const text = utf8Decoder.decode(res.body);
  if (isJsonType(res)) {
    if (nestsDeeperThan(text, MAX_ENVELOPE_DEPTH)) throw tooDeep();
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}
