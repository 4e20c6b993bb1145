/**
 * The guest prelude, evaluated once per pre-created interpreter before any agent code:
 * installs the Web globals, parks the SDK where the "cantrip" module picks it up, and
 * leaves `__cantripEntry` for the worker to take (and delete) — the functions the host
 * calls to configure, describe and invoke a backend.
 */
import { settleRequest } from "./shims/host";
import "./shims/lockdown";
import { Headers } from "./shims/headers";
import { installUrlGlobals } from "./shims/url";
import { Request, Response, canonicalParts } from "./shims/body";
import { TextDecoder, TextEncoder, atob, btoa } from "./shims/encoding";
import { console, setTimeout } from "./shims/misc";
import { clearTimer, performance, queueMicrotask, setInterval } from "./shims/timing";
import { structuredClone } from "./shims/clone";
import { CryptoKey, crypto } from "./shims/crypto";
import { Blob, File } from "./shims/blob";
import { FormData } from "./shims/formdata";
import { AbortController, AbortSignal, DOMException, Event, EventTarget } from "./shims/events";
import { fetch } from "./shims/fetch";
import { installStreamGlobals } from "./shims/streams";
import { installIntl } from "./shims/intl";
import { JsonText, defineBackend, leanHandler, rejectWith, toErrorResponse } from "./sdk/backend";
import { HttpError } from "./sdk/errors";
import { t } from "./sdk/schema";
import { bindCall, config, enterCall, makeContext } from "./sdk/context";

/** Every global the guest gets beyond ECMAScript's own — keep in step with sandbox/sdk/cantrip.d.ts, README and the code prompt. */
const globals = {
  Headers, Request, Response, FormData, Blob, File,
  TextEncoder, TextDecoder, atob, btoa, structuredClone, crypto, CryptoKey,
  AbortController, AbortSignal, DOMException, Event, EventTarget,
  console, setTimeout, clearTimeout: clearTimer, setInterval, clearInterval: clearTimer, queueMicrotask, performance, fetch,
};
for (const [k, v] of Object.entries(globals)) {
  // The prelude is minified: give each Web constructor/function its standard name back.
  if (typeof v === "function" && v.name !== k) Object.defineProperty(v, "name", { value: k, configurable: true });
  Object.defineProperty(globalThis, k, { value: v, writable: true, configurable: true, enumerable: false });
}

// URL and URLSearchParams: evaluated now unless the engine asked for them lazily (shims/url.ts).
const g = globalThis as { __cantripLazyLibs?: unknown };
installUrlGlobals(g.__cantripLazyLibs === true);
delete g.__cantripLazyLibs;
installStreamGlobals();
installIntl();

Object.defineProperty(globalThis, "__cantripSdk", { value: { defineBackend, t, HttpError, route: <T>(r: T) => r }, configurable: true });

type Backend = { __cantrip?: number; fetch?: (req: Request, ...rest: unknown[]) => unknown; scheduled?: (...a: unknown[]) => unknown; describe?: () => unknown };

function asBackend(b: unknown): Backend {
  if (!b || typeof b !== "object" || typeof (b as Backend).fetch !== "function") {
    throw new TypeError("The module's default export must be defineBackend({ routes: ... }) (or an object with a fetch(request) method).");
  }
  return b as Backend;
}

/** Streamed response bodies waiting for the host's pulls, by call id (see dispatch). */
const bodies = new Map<number, ReadableStreamDefaultReader<unknown>>();

/**
 * The host's [metadata, body] for a handler's Response (both calling conventions). Everything
 * here reads guest-controlled objects (getters, replaced methods): the host checks whatever
 * comes out (src/runtime/guest-values.ts); a throw here is reported, not fatal.
 */
async function answer(res: unknown, method: string, m: { call?: number; stream?: boolean }): Promise<[string, string | ArrayBuffer | null]> {
  if (!(res instanceof Response)) return [JSON.stringify({ bad: `the fetch handler returned ${res === null ? "null" : typeof res}, not a Response` }), null];
  if (m.stream === true && typeof m.call === "number" && method !== "HEAD") {
    // The host asked for the body as it is produced (/apps): hand over the head now and
    // keep the reader for pull(); the host checks the head and every chunk (guest-values.ts).
    try {
      const reader = res._streamReader();
      if (reader) {
        const meta = JSON.stringify({ status: res.status, headers: res.headers instanceof Headers ? res.headers._list() : [...res.headers], stream: true });
        bodies.set(m.call, reader);
        return [meta, null];
      }
    } catch {
      return [JSON.stringify({ bad: "reading the Response's status, headers or body threw" }), null];
    }
  }
  // Everything below reads guest-controlled objects (getters, replaced methods): the host
  // checks whatever comes out (src/runtime/guest-values.ts); a throw here is reported, not fatal.
  let raw: string | Uint8Array | null;
  try {
    // A stream body is read to its end here: /v1/invoke and /apps get the whole body.
    raw = await res._rawAsync();
  } catch (e) {
    return [JSON.stringify({ bad: `reading the Response's body stream failed: ${String((e as Error)?.message ?? e).slice(0, 200)}` }), null];
  }
  try {
    const out = raw === null || typeof raw === "string" ? raw : raw.byteOffset === 0 && raw.byteLength === raw.buffer.byteLength ? (raw.buffer as ArrayBuffer) : (raw.slice().buffer as ArrayBuffer);
    return [JSON.stringify({ status: res.status, headers: res.headers instanceof Headers ? res.headers._list() : [...res.headers] }), method === "HEAD" ? null : out];
  } catch {
    return [JSON.stringify({ bad: "reading the Response's status, headers or body threw" }), null];
  }
}

type RequestMeta = { method: string; url: string; headers: [string, string][]; call?: number; stream?: boolean };

/**
 * The host's request metadata: its JSON form, or the flat form (first character 1, or 2
 * when a streamed body is asked for; then method, url, call id and header names and values,
 * cut at "\n"; the host's protocol.ts requestMeta writes it).
 */
function readMeta(meta: string): RequestMeta {
  const kind = meta.charCodeAt(0);
  if (kind !== 1 && kind !== 2) return JSON.parse(meta) as RequestMeta;
  const f = meta.split("\n");
  const headers: [string, string][] = [];
  for (let i = 3; i + 1 < f.length; i += 2) headers.push([f[i]!, f[i + 1]!]);
  const m: RequestMeta = { method: f[0]!.slice(1), url: f[1]!, headers, call: Number(f[2]) };
  if (kind === 2) m.stream = true;
  return m;
}

/** What a JSON result's Response.json would give the host as metadata (the same code makes it, once). */
const JSON_RESULT_META = JSON.stringify({ status: 200, headers: Response.json(null).headers._list() });

/** What dispatch answers the host: the response's metadata text and its body. */
type Dispatched = [string, string | ArrayBuffer | null];

/** The lean path's answer for the host: a JSON result as it is, a Response read by answer(). */
function leanAnswer(out: Response | JsonText, method: string, m: RequestMeta): Dispatched | Promise<Dispatched> {
  return out instanceof JsonText ? [JSON_RESULT_META, out.text] : answer(out, method, m);
}

/** The full calling convention: the backend's fetch(request) with a Request made for it. */
async function dispatchFull(b: unknown, m: RequestMeta, method: string, stored: string | Uint8Array | null): Promise<Dispatched> {
  const req = Request._incoming(m.url, method, m.headers, stored);
  if (typeof m.call === "number") bindCall(req, m.call);
  const backend = asBackend(b);
  let res: unknown;
  try {
    res = backend.__cantrip ? await backend.fetch!(req) : await backend.fetch!(req, config.env, makeContext(req));
  } catch (e) {
    res = toErrorResponse(e);
  }
  return answer(res, method, m);
}

const entry = {
  configure(json: string): void {
    Object.assign(config, JSON.parse(json));
  },
  describe(b: unknown): string {
    const backend = asBackend(b);
    const d = backend.__cantrip && backend.describe ? backend.describe() : { routes: [], scheduled: typeof backend.scheduled === "function" };
    return JSON.stringify(d);
  },
  /**
   * `body`: the request body as bytes, or as a string when the host already decoded it (valid
   * UTF-8). The [metadata, body] pair at once when the lean path's handler answered
   * synchronously (the host reads a non-promise as fulfilled), else a promise of it; never
   * throws (a throw is a rejected promise, as from the async function this was).
   */
  dispatch(b: unknown, meta: string, body: ArrayBuffer | string | undefined): Dispatched | Promise<Dispatched> {
    try {
      const m = readMeta(meta);
      const method = m.method.toUpperCase();
      const hasBody = body !== undefined && body !== null && method !== "GET" && method !== "HEAD";
      const stored = hasBody ? (typeof body === "string" ? body : new Uint8Array(body)) : null;
      // The lean calling convention (issue 15): an SDK backend gets the request's parts and
      // builds its Request only if the handler reads ctx.request; anything unusual (HEAD, a URL
      // not in serialized form, a replaced fetch, dispatch "full") takes the full path below.
      const lean = method !== "HEAD" && config.dispatch !== "full" && b && typeof b === "object" ? leanHandler(b) : undefined;
      const parts = lean ? canonicalParts(m.url) : null;
      if (!lean || !parts) return dispatchFull(b, m, method, stored);
      const done = (a: Response | JsonText) => leanAnswer(a, method, m);
      try {
        return lean({ method, url: m.url, parts, headers: m.headers, body: stored, call: typeof m.call === "number" ? m.call : undefined }, done);
      } catch (e) {
        return done(toErrorResponse(e));
      }
    } catch (e) {
      return rejectWith(e);
    }
  },
  /**
   * The next chunk of call `call`'s streamed body: ["c", bytes] or ["e", null] at its end.
   * Rejects with the stream's own error, or a TypeError for a chunk that is not a Uint8Array.
   */
  async pull(call: number): Promise<[string, ArrayBuffer | null]> {
    const reader = bodies.get(call);
    if (!reader) throw new Error("this call has no streamed body");
    let r: Awaited<ReturnType<typeof reader.read>>;
    try {
      r = await reader.read();
    } catch (e) {
      bodies.delete(call);
      throw e;
    }
    if (r.done) {
      bodies.delete(call);
      return ["e", null];
    }
    const v = r.value;
    if (!(v instanceof Uint8Array)) {
      bodies.delete(call);
      reader.cancel(new TypeError("body stream chunks must be Uint8Arrays")).catch(() => {});
      throw new TypeError("The response body stream produced a chunk that is not a Uint8Array");
    }
    return ["c", v.byteOffset === 0 && v.byteLength === v.buffer.byteLength ? (v.buffer as ArrayBuffer) : (v.slice().buffer as ArrayBuffer)];
  },
  /** The host stopped reading call `call`'s streamed body (client gone, limit, deadline): cancel the guest's stream. */
  cancelBody(call: number, reason: string): void {
    const reader = bodies.get(call);
    bodies.delete(call);
    if (reader) reader.cancel(reason).catch(() => {});
  },
  /**
   * The host answers a `host.send` request (shims/host.ts settleRequest: `head`, `text`) and
   * gets `result` back: the waiting call's dispatch promise, whose answer the host reads
   * after running the jobs this unblocks, in the same crossing (QuickJS: dispatch-entry.ts).
   */
  settle<T>(result: T, head: string, text: string | undefined): T {
    settleRequest(head, text);
    return result;
  },
  /** `call`: the host's id of this run, so the ctx the handler gets names it. */
  async scheduled(b: unknown, call?: number): Promise<void> {
    const backend = asBackend(b);
    if (typeof backend.scheduled !== "function") throw new Error("This backend has no scheduled handler.");
    const run = () => (backend.__cantrip ? backend.scheduled!() : backend.scheduled!(makeContext(null), config.env));
    await (typeof call === "number" ? enterCall(call, run) : run());
  },
};

Object.defineProperty(globalThis, "__cantripEntry", { value: entry, configurable: true });
