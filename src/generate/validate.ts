/**
 * Validation in the real sandbox, in a scratch world: the bundle runs with its own
 * throw-away kv namespace and upstream fixtures instead of the agent's kv and the network
 * (src/runtime/scratch.ts), so neither validation nor QA ever writes live data. Examples run
 * in order and share that world (create, then read, change, delete), and a later example
 * may quote an earlier response (`{{examples.NAME.body.PATH}}`, see templates.ts); the
 * invalid-input probes run after them in the same world. Each check records status, body,
 * the backend's own log lines and its outbound requests; the report names each failure
 * precisely and says when the sandbox's environment (no fixture, undeclared host or secret)
 * refused something rather than the code, because it goes back to the model.
 */
import { checkSchema } from "../lib/json-schema";
import { nestsDeeperThan } from "../lib/json-nesting";
import { newId } from "../lib/ids";
import { routePathMatches } from "../lib/route-paths";
import { failureLogs } from "../runtime/failures";
import type { BackendDescription, BundleRef, EgressEvent, GuestLogLine, GuestRequest, GuestResponse, SandboxRuntime, ScratchWorld } from "../runtime/types";
import { assertionsOf, type Example, type Expectation, type Spec } from "./spec";
import { resolveTemplates, TemplateError, type Responses } from "./templates";

export interface CheckResult {
  name: string;
  kind: "load" | "example" | "invalid_input" | "schema";
  ok: boolean;
  request?: { method: string; path: string; body?: unknown };
  status?: number;
  response?: unknown;
  errors: string[];
  /** The backend's own log lines during this check (at most 20). */
  logs?: string[];
  /** Outbound requests the backend made during this check, with the fixture outcome. */
  upstream?: EgressEvent[];
  /** Refusals by the sandbox's environment (no fixture, undeclared host/secret), not the code. */
  environment?: string[];
}

export interface ValidationReport {
  ok: boolean;
  passed: number;
  failed: number;
  checks: CheckResult[];
  routes: { method: string; path: string }[];
  at: string;
}

export function getPath(value: unknown, path: string): { found: boolean; value: unknown } {
  if (path === "" || path === "$") return { found: true, value };
  let cur: unknown = value;
  for (const part of path.replace(/^\$\.?/, "").split(".")) {
    if (cur === null || typeof cur !== "object" || !(part in (cur as object))) return { found: false, value: undefined };
    cur = (cur as Record<string, unknown>)[part];
  }
  return { found: true, value: cur };
}

/**
 * A value as quoted in a check's error: its JSON text, cut at 300 characters. The plan
 * decides how many assertions quote a value and the backend how large it is; quoted whole,
 * 40 assertions on a 2 MB body put 80 MB into the report and stalled the loop for seconds.
 */
function quote(value: unknown): string {
  const t = jsonText(value) ?? String(value);
  return t.length > 300 ? `${t.slice(0, 300)}… (${t.length} characters)` : t;
}

/** Characters of a request or response body a check keeps in the report (stored with the job and the version). */
const MAX_KEPT_RESPONSE_CHARS = 64 * 1024;

/** The body as the report keeps it: whole when small, else an excerpt of its JSON text. */
function kept(body: unknown): unknown {
  const t = typeof body === "string" ? body : JSON.stringify(body);
  if (t === undefined || t.length <= MAX_KEPT_RESPONSE_CHARS) return body;
  return `${t.slice(0, MAX_KEPT_RESPONSE_CHARS)}… (${t.length} characters; cut for the report)`;
}

/**
 * JSON texts computed once per response value, across a check's assertions: a plan may put
 * 50 assertions on one 5 MB body, and serialising it (or each of its 2.5 million items)
 * per assertion held the event loop for seconds.
 */
const texts = new WeakMap<object, string>();
const itemTexts = new WeakMap<unknown[], Set<string>>();

function jsonText(v: unknown): string | undefined {
  if (v === null || typeof v !== "object") return JSON.stringify(v);
  let t = texts.get(v);
  if (t === undefined) texts.set(v, (t = JSON.stringify(v)));
  return t;
}

/** True when an item of `arr` is `want` as JSON (for JSON values, === on primitives is the same test). */
function arrayContains(arr: unknown[], want: unknown): boolean {
  if (want === null || typeof want !== "object") return arr.includes(want);
  let set = itemTexts.get(arr);
  if (!set) itemTexts.set(arr, (set = new Set(arr.map((v) => JSON.stringify(v) ?? ""))));
  return set.has(JSON.stringify(want));
}

export function checkExpectation(body: unknown, e: Expectation): string | null {
  const { found, value } = getPath(body, e.path);
  const where = e.path || "(body)";
  if (e.exists === false) return found ? `${where} should be absent` : null;
  if (!found) return `${where} is missing`;
  if (e.type) {
    const t = value === null ? "null" : Array.isArray(value) ? "array" : typeof value;
    const ok = e.type === t || (e.type === "integer" && Number.isInteger(value)) || (e.type === "number" && typeof value === "number");
    if (!ok) return `${where} should be ${e.type}, got ${t}`;
  }
  if (e.equals !== undefined && jsonText(value) !== JSON.stringify(e.equals)) return `${where} should equal ${quote(e.equals)}, got ${quote(value)}`;
  if (e.contains !== undefined) {
    const has = Array.isArray(value) ? arrayContains(value, e.contains) : typeof value === "string" && value.includes(String(e.contains));
    if (!has) return `${where} should contain ${quote(e.contains)}, got ${quote(value)}`;
  }
  if (e.gte !== undefined && !(typeof value === "number" && value >= e.gte)) return `${where} should be >= ${e.gte}, got ${quote(value)}`;
  if (e.lte !== undefined && !(typeof value === "number" && value <= e.lte)) return `${where} should be <= ${e.lte}, got ${quote(value)}`;
  return null;
}

/**
 * An example's request as callers send it: `rawBody` as is (with `contentType`, default
 * text/plain) for webhooks and forms, else `body` as JSON. A Content-Type among the
 * example's own headers wins over both defaults, and is sent once.
 */
function toRequest(r: Example["request"]): GuestRequest {
  const method = r.method.toUpperCase();
  const bodyless = ["GET", "HEAD"].includes(method);
  const raw = r.rawBody !== undefined && !bodyless;
  const json = !raw && r.body !== undefined && !bodyless;
  const headers = Object.entries(r.headers ?? {}) as [string, string][];
  if (!headers.some(([k]) => k.toLowerCase() === "content-type")) headers.unshift(["content-type", r.contentType ?? (raw ? "text/plain;charset=UTF-8" : "application/json")]);
  return {
    method,
    url: `http://candidate.cantrip.internal${r.path.startsWith("/") ? r.path : "/" + r.path}`,
    headers,
    body: raw ? new TextEncoder().encode(r.rawBody) : json ? new TextEncoder().encode(JSON.stringify(r.body)) : null,
  };
}

/** Levels of JSON a response may nest to be read as JSON; deeper text stays text (it overflows the stack when re-serialised into the report). */
const MAX_BODY_DEPTH = 64;

/** Issues of the declared output schema quoted per check (the rest are counted). */
const MAX_SCHEMA_ISSUES = 20;

function parse(res: GuestResponse): unknown {
  const text = new TextDecoder().decode(res.body);
  if (nestsDeeperThan(text, MAX_BODY_DEPTH)) return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function routeFor(described: BackendDescription, method: string, path: string) {
  return described.routes.find((r) => r.method.toUpperCase() === method.toUpperCase() && routePathMatches(r.path, path));
}

/** What validation needs of a spec (a stored spec may lack the newer fields). */
export type ValidationSpec = Pick<Spec, "examples" | "invalidInputs"> & Partial<Pick<Spec, "externalHosts" | "secrets">>;

/**
 * The scratch copy of `ref`: its own owner identity and bundle id (so its warm instances
 * never mix with the agent's), the spec's declared hosts and secrets (secrets stay
 * placeholders, matched against fixtures), and the world's namespace.
 */
export function scratchRef(ref: BundleRef, spec: ValidationSpec, namespace: string): BundleRef {
  const hosts = [...new Set([...(spec.externalHosts ?? []), ...ref.config.allowedHosts])];
  const secrets = [...ref.config.secrets, ...(spec.secrets ?? []).filter((s) => !ref.config.secrets.some((g) => g.name === s.name)).map((s) => ({ name: s.name, hosts: [s.host] }))];
  return { agentId: namespace, bundleId: namespace, code: ref.code, config: { ...ref.config, allowedHosts: hosts, secrets, scratch: { namespace } } };
}

/**
 * Loads `ref`'s code in a fresh scratch world and runs the spec's examples and probes
 * against it; the world (kv and fixtures) and its instances are discarded afterwards,
 * whatever happens. `ref.config` supplies limits, engine and env; the live agent's kv and
 * network are never used.
 */
export async function validateBundle(runtime: SandboxRuntime, ref: BundleRef, spec: ValidationSpec): Promise<ValidationReport> {
  const namespace = newId("scratch");
  const world = runtime.openScratch(namespace);
  const sref = scratchRef(ref, spec, namespace);
  try {
    return await runChecks(runtime, sref, world, spec);
  } finally {
    runtime.evict(namespace);
    world.discard();
  }
}

async function runChecks(runtime: SandboxRuntime, ref: BundleRef, world: ScratchWorld, spec: ValidationSpec): Promise<ValidationReport> {
  const checks: CheckResult[] = [];
  let described: BackendDescription = { routes: [], scheduled: false };
  try {
    described = await runtime.check(ref);
    checks.push({ name: "module loads", kind: "load", ok: true, errors: [] });
  } catch (e) {
    checks.push({ name: "module loads", kind: "load", ok: false, errors: [(e as Error).message], logs: logLines(failureLogs(e)) });
    return finish(checks, described);
  }
  const responses: Responses = new Map();
  for (const raw of spec.examples) {
    const c: CheckResult = { name: raw.name, kind: "example", ok: true, errors: [] };
    checks.push(c);
    let ex: Example;
    try {
      ex = resolveTemplates(raw, responses);
    } catch (e) {
      if (!(e instanceof TemplateError)) throw e;
      c.errors.push(`plan error: ${e.message}`);
      c.ok = false;
      continue;
    }
    const req = toRequest(ex.request);
    c.request = { method: req.method, path: ex.request.path, body: kept(ex.request.rawBody ?? ex.request.body) };
    world.useFixtures(ex.upstream ?? []);
    const res = await call(runtime, ref, req, c, world);
    if (res) {
      const body = parse(res);
      c.status = res.status;
      c.response = kept(body);
      responses.set(raw.name, { status: res.status, body });
      if (res.status !== ex.expect.status) c.errors.push(`expected status ${ex.expect.status}, got ${res.status}`);
      for (const p of assertionsOf(ex)) {
        const err = checkExpectation(body, p);
        if (err) c.errors.push(err);
      }
      const route = routeFor(described, req.method, ex.request.path);
      if (res.status >= 200 && res.status < 300 && route?.output) {
        const issues = checkSchema(route.output, body);
        for (const i of issues.slice(0, MAX_SCHEMA_ISSUES)) c.errors.push(`output ${i.path} ${i.message} (declared output schema)`);
        if (issues.length > MAX_SCHEMA_ISSUES) c.errors.push(`output: ${issues.length - MAX_SCHEMA_ISSUES} more issue(s) against the declared output schema`);
      }
      const unused = (ex.upstream ?? []).filter((_f, i) => !c.upstream?.some((u) => u.fixture === i));
      if (unused.length && c.errors.length) c.errors.push(`the example's upstream fixture(s) were never requested: ${unused.map((f) => `${f.request.method.toUpperCase()} ${f.host}${f.request.path}`).join("; ")}`);
    }
    c.ok = c.errors.length === 0;
  }
  for (const probe of spec.invalidInputs) {
    const c: CheckResult = { name: probe.name, kind: "invalid_input", ok: true, errors: [] };
    checks.push(c);
    let request: Example["request"];
    try {
      request = resolveTemplates(probe.request, responses);
    } catch (e) {
      if (!(e instanceof TemplateError)) throw e;
      c.errors.push(`plan error: ${e.message}`);
      c.ok = false;
      continue;
    }
    const req = toRequest(request);
    c.request = { method: req.method, path: request.path, body: kept(request.rawBody ?? request.body) };
    world.useFixtures([]);
    const res = await call(runtime, ref, req, c, world);
    if (res) {
      c.status = res.status;
      c.response = kept(parse(res));
      if (res.status !== probe.expectStatus) c.errors.push(`invalid input should be rejected with ${probe.expectStatus}, got ${res.status}`);
    }
    c.ok = c.errors.length === 0;
  }
  return finish(checks, described);
}

/** One call; records logs, outbound requests and environment refusals on `c`. */
async function call(runtime: SandboxRuntime, ref: BundleRef, req: GuestRequest, c: CheckResult, world: ScratchWorld): Promise<GuestResponse | null> {
  world.takeEvents();
  let res: GuestResponse | null = null;
  try {
    res = await runtime.fetch(ref, req);
    c.logs = logLines(res.logs);
  } catch (e) {
    c.errors.push(`platform error: ${(e as Error).message}`);
    c.logs = logLines(failureLogs(e));
  }
  c.upstream = world.takeEvents();
  c.environment = c.upstream.filter((u) => u.problem).map((u) => u.problem!);
  return res;
}

function logLines(lines: GuestLogLine[] | undefined): string[] | undefined {
  if (!lines?.length) return undefined;
  return lines.slice(-20).map((l) => `[${l.level}] ${l.message.slice(0, 300)}`);
}

function finish(checks: CheckResult[], described: BackendDescription): ValidationReport {
  const failed = checks.filter((c) => !c.ok).length;
  return {
    ok: failed === 0,
    passed: checks.length - failed,
    failed,
    checks,
    routes: described.routes.map((r) => ({ method: r.method, path: r.path })),
    at: new Date().toISOString(),
  };
}

/**
 * The failures as text for the repair prompt: each failing check with its request, what
 * came back, the errors, refusals by the sandbox's environment (marked as such, so the model
 * does not "fix" them by faking data) and the backend's own log lines.
 */
export function describeFailures(report: ValidationReport): string {
  return report.checks
    .filter((c) => !c.ok)
    .map((c) => {
      const req = c.request ? ` ${c.request.method} ${c.request.path}${c.request.body !== undefined ? " body=" + quote(c.request.body) : ""}` : "";
      const got = c.status !== undefined ? `\n  got status ${c.status}, body ${JSON.stringify(c.response)?.slice(0, 600)}` : "";
      const env = c.environment?.length
        ? `\n  sandbox environment (not the code itself): ${c.environment.join("\n    ")}\n    During validation outbound requests are answered only by the example's upstream fixtures; call exactly the fixture's method, host, path and headers.`
        : "";
      const up = c.upstream?.some((u) => !u.problem) ? `\n  upstream calls answered by fixtures: ${c.upstream.filter((u) => !u.problem).map((u) => `${u.method} ${u.url} -> ${u.status}`).join("; ")}` : "";
      const logs = c.logs?.length ? `\n  backend log:\n    ${c.logs.join("\n    ")}` : "";
      return `- [${c.kind}] ${c.name}:${req}${got}\n  ${c.errors.join("\n  ")}${env}${up}${logs}`;
    })
    .join("\n");
}
