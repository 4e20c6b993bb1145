/**
 * Scratch worlds: where validation, QA and self-heal run a backend without touching the
 * live agent. A world is opened per run and discarded after it; a bundle whose runtime
 * config names it (`AgentRuntimeConfig.scratch.namespace`) reads and writes this world's
 * in-memory kv instead of the agent's kv table, and its outbound requests are answered by
 * the world's upstream fixtures instead of the network (no DNS, no secret values). Every
 * outbound request is recorded so a diagnostic can name what the backend asked for and
 * whether the sandbox's environment (no fixture, undeclared host or secret) refused it.
 */
import type { EgressRequest, EgressResponse } from "./egress";
import type { AgentRuntimeConfig, KvStore, Limits } from "./types";
import { secretMayGo } from "./host-patterns";

/**
 * One upstream call the backend is expected to make, and the answer to give it. `path`
 * is the URL path, with the query when it matters (`/v1/current?city=Oslo`: then the query
 * must match too). `headers` lists only the headers that must be present with exactly
 * that value; a secret is written as its placeholder, e.g. `Bearer {{secret:WEATHER_KEY}}`.
 */
export interface UpstreamFixture {
  host: string;
  request: { method: string; path: string; headers?: Record<string, string> };
  response: { status: number; body?: unknown; headers?: Record<string, string> };
}

/** One outbound request made inside a scratch world; `problem` set when it was refused. */
export interface EgressEvent {
  method: string;
  url: string;
  /** The fixture's index in the current list, when one answered. */
  fixture?: number;
  status?: number;
  /** Why the sandbox's environment refused the request (no fixture, undeclared host/secret). */
  problem?: string;
}

export interface ScratchWorld {
  readonly namespace: string;
  readonly kv: KvStore;
  /** Replaces the fixtures served from now on (e.g. the next worked example's). */
  useFixtures(fixtures: UpstreamFixture[]): void;
  /** The outbound requests recorded since the last call, oldest first. */
  takeEvents(): EgressEvent[];
  /** Answers one outbound request from the fixtures, recording it; throws when none matches. */
  serve(config: AgentRuntimeConfig, req: EgressRequest, body: Uint8Array | undefined): EgressResponse;
  /** Records a request the egress proxy refused before the fixtures were consulted. */
  refused(req: EgressRequest, problem: string): void;
  /** Drops the kv data and fixtures; the namespace can be opened again fresh. */
  discard(): void;
}

/** Keeps the open worlds of one runtime by namespace. */
export class ScratchWorlds {
  private worlds = new Map<string, ScratchWorld>();

  /** Opens a fresh world (an existing one of that name is discarded first). */
  open(namespace: string): ScratchWorld {
    this.worlds.get(namespace)?.discard();
    const w = createWorld(namespace, () => this.worlds.delete(namespace));
    this.worlds.set(namespace, w);
    return w;
  }

  get(namespace: string): ScratchWorld | undefined {
    return this.worlds.get(namespace);
  }

  count(): number {
    return this.worlds.size;
  }
}

function createWorld(namespace: string, onDiscard: () => void): ScratchWorld {
  const data = new Map<string, { text: string; size: number }>();
  let fixtures: UpstreamFixture[] = [];
  let events: EgressEvent[] = [];
  const kv: KvStore = {
    get: (_owner, key) => {
      const v = data.get(key);
      return v ? JSON.parse(v.text) : undefined;
    },
    set(_owner, key, value, limits: Pick<Limits, "kvValueBytes" | "kvTotalBytes">) {
      const text = JSON.stringify(value);
      if (text === undefined) throw new Error("kv: value must be JSON-serializable");
      const size = Buffer.byteLength(text) + Buffer.byteLength(key);
      if (size > limits.kvValueBytes) throw new Error(`kv: value for ${key} is ${size} bytes, over the limit of ${limits.kvValueBytes} bytes`);
      let others = 0;
      for (const [k, v] of data) if (k !== key) others += v.size;
      if (others + size > limits.kvTotalBytes) throw new Error(`kv: storing ${key} would use ${others + size} bytes, over this agent's limit of ${limits.kvTotalBytes} bytes`);
      data.set(key, { text, size });
    },
    delete: (_owner, key) => data.delete(key),
    list(_owner, opts) {
      const prefix = opts.prefix ?? "";
      const limit = opts.limit ?? 100;
      const after = opts.cursor ?? "";
      const all = [...data.keys()].filter((k) => k > after && k.startsWith(prefix)).sort();
      const keys = all.slice(0, limit);
      return { keys, cursor: all.length > limit ? keys[keys.length - 1]! : null };
    },
  };
  return {
    namespace,
    kv,
    useFixtures(f) {
      fixtures = f;
    },
    takeEvents() {
      const out = events;
      events = [];
      return out;
    },
    refused(req, problem) {
      events.push({ method: req.method.toUpperCase(), url: req.url, problem });
    },
    serve(config, req, body) {
      const url = new URL(req.url);
      const method = req.method.toUpperCase();
      const host = url.hostname.toLowerCase();
      const event: EgressEvent = { method, url: req.url };
      events.push(event);
      const scheme = url.protocol === "https:" ? "https" : "http";
      const secretProblem = undeclaredSecret(config, req.headers, scheme, host, url.port || (scheme === "https" ? "443" : "80"));
      if (secretProblem) {
        event.problem = secretProblem;
        throw recorded(`fetch: ${secretProblem}`);
      }
      const i = fixtures.findIndex((f) => matches(f, method, host, url, req.headers));
      if (i < 0) {
        event.problem = `no fixture matched ${method} ${url.href}${describeHeaders(req.headers)}; ${fixtures.length ? `fixtures for this example: ${fixtures.map(describeFixture).join("; ")}` : "this example declares no upstream fixtures"}`;
        throw recorded(`fetch: no fixture matched ${method} ${url.href} (validation answers outbound requests only from the example's upstream fixtures)`);
      }
      const f = fixtures[i]!.response;
      event.fixture = i;
      event.status = f.status;
      void body;
      const isText = typeof f.body === "string";
      const text = f.body === undefined ? "" : isText ? (f.body as string) : JSON.stringify(f.body);
      const headers: [string, string][] = Object.entries(f.headers ?? {});
      if (!headers.some(([k]) => k.toLowerCase() === "content-type") && f.body !== undefined) headers.push(["content-type", isText ? "text/plain" : "application/json"]);
      return { meta: { status: f.status, statusText: "", headers, url: url.href }, bytes: new TextEncoder().encode(text) };
    },
    discard() {
      data.clear();
      fixtures = [];
      events = [];
      onDiscard();
    },
  };
}

/** An error whose request the world already recorded (the bridge must not record it again). */
function recorded(message: string): Error {
  return Object.assign(new Error(message), { scratchRecorded: true });
}

function matches(f: UpstreamFixture, method: string, host: string, url: URL, headers: [string, string][]): boolean {
  if (f.request.method.toUpperCase() !== method || f.host.toLowerCase() !== host) return false;
  const want = f.request.path.startsWith("/") ? f.request.path : "/" + f.request.path;
  const [wantPath, wantQuery] = want.split("?", 2) as [string, string | undefined];
  if (wantPath !== url.pathname) return false;
  if (wantQuery !== undefined) {
    const expected = new URLSearchParams(wantQuery);
    for (const [k, v] of expected) if (url.searchParams.get(k) !== v) return false;
  }
  for (const [name, value] of Object.entries(f.request.headers ?? {})) {
    const got = headers.filter(([k]) => k.toLowerCase() === name.toLowerCase()).map(([, v]) => v);
    if (!got.includes(value)) return false;
  }
  return true;
}

const SECRET_REF = /\{\{secret:([A-Za-z0-9_.-]+)\}\}/g;

/** A secret placeholder the spec does not declare for this host, as a sentence; else null. */
function undeclaredSecret(config: AgentRuntimeConfig, headers: [string, string][], scheme: "http" | "https", host: string, port: string): string | null {
  for (const [, v] of headers) {
    for (const m of v.matchAll(SECRET_REF)) {
      const grant = config.secrets.find((s) => s.name === m[1]);
      if (!grant) return `secret ${m[1]} is not declared in the spec's secrets`;
      // The same rule as a real grant (host-patterns.ts): a bare host means https on 443.
      if (!secretMayGo(grant.hosts, scheme, host, port)) return `secret ${m[1]} is declared for ${grant.hosts.join(", ")}, not for ${scheme}://${host}:${port}`;
    }
  }
  return null;
}

function describeHeaders(headers: [string, string][]): string {
  const shown = headers.filter(([k]) => !/^(content-length|user-agent|accept-encoding)$/i.test(k));
  return shown.length ? ` with headers ${shown.map(([k, v]) => `${k}: ${v}`).join(", ")}` : "";
}

function describeFixture(f: UpstreamFixture): string {
  const h = Object.entries(f.request.headers ?? {});
  return `${f.request.method.toUpperCase()} https://${f.host}${f.request.path}${h.length ? ` with ${h.map(([k, v]) => `${k}: ${v}`).join(", ")}` : ""}`;
}
