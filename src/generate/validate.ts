/**
 * Validation in the real sandbox: load the candidate bundle, run every worked example and
 * every invalid-input probe, check statuses, expected properties and the declared output
 * schemas. The report names each failure precisely, because it goes back to the model.
 */
import { checkSchema } from "../lib/json-schema";
import type { BackendDescription, BundleRef, GuestResponse, SandboxRuntime } from "../runtime/types";
import type { Example, Expectation, Spec } from "./spec";

export interface CheckResult {
  name: string;
  kind: "load" | "example" | "invalid_input" | "schema";
  ok: boolean;
  request?: { method: string; path: string; body?: unknown };
  status?: number;
  response?: unknown;
  errors: string[];
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
  if (e.equals !== undefined && JSON.stringify(value) !== JSON.stringify(e.equals)) return `${where} should equal ${JSON.stringify(e.equals)}, got ${JSON.stringify(value)}`;
  if (e.contains !== undefined) {
    const has = Array.isArray(value) ? value.some((v) => JSON.stringify(v) === JSON.stringify(e.contains)) : typeof value === "string" && value.includes(String(e.contains));
    if (!has) return `${where} should contain ${JSON.stringify(e.contains)}, got ${JSON.stringify(value)}`;
  }
  if (e.gte !== undefined && !(typeof value === "number" && value >= e.gte)) return `${where} should be >= ${e.gte}, got ${JSON.stringify(value)}`;
  if (e.lte !== undefined && !(typeof value === "number" && value <= e.lte)) return `${where} should be <= ${e.lte}, got ${JSON.stringify(value)}`;
  return null;
}

function toRequest(r: Example["request"]) {
  const hasBody = r.body !== undefined && !["GET", "HEAD"].includes(r.method.toUpperCase());
  return {
    method: r.method.toUpperCase(),
    url: `http://candidate.cantrip.internal${r.path.startsWith("/") ? r.path : "/" + r.path}`,
    headers: [["content-type", "application/json"], ...Object.entries(r.headers ?? {})] as [string, string][],
    body: hasBody ? new TextEncoder().encode(JSON.stringify(r.body)) : null,
  };
}

function parse(res: GuestResponse): unknown {
  const text = new TextDecoder().decode(res.body);
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function routeFor(described: BackendDescription, method: string, path: string) {
  const clean = path.split("?")[0]!;
  return described.routes.find((r) => {
    if (r.method.toUpperCase() !== method.toUpperCase()) return false;
    const re = new RegExp("^" + r.path.replace(/:[A-Za-z0-9_]+/g, "[^/]+").replace(/\/$/, "") + "/?$");
    return re.test(clean);
  });
}

export async function validateBundle(runtime: SandboxRuntime, ref: BundleRef, spec: Pick<Spec, "examples" | "invalidInputs">): Promise<ValidationReport> {
  const checks: CheckResult[] = [];
  let described: BackendDescription = { routes: [], scheduled: false };
  try {
    described = await runtime.check(ref);
    checks.push({ name: "module loads", kind: "load", ok: true, errors: [] });
  } catch (e) {
    checks.push({ name: "module loads", kind: "load", ok: false, errors: [(e as Error).message] });
    return finish(checks, described);
  }
  for (const ex of spec.examples) {
    const req = toRequest(ex.request);
    const c: CheckResult = { name: ex.name, kind: "example", ok: true, request: { method: req.method, path: ex.request.path, body: ex.request.body }, errors: [] };
    try {
      const res = await runtime.fetch(ref, req);
      const body = parse(res);
      c.status = res.status;
      c.response = body;
      if (res.status !== ex.expect.status) c.errors.push(`expected status ${ex.expect.status}, got ${res.status}`);
      for (const p of ex.expect.properties ?? []) {
        const err = checkExpectation(body, p);
        if (err) c.errors.push(err);
      }
      const route = routeFor(described, req.method, ex.request.path);
      if (res.status >= 200 && res.status < 300 && route?.output) {
        for (const i of checkSchema(route.output, body)) c.errors.push(`output ${i.path} ${i.message} (declared output schema)`);
      }
    } catch (e) {
      c.errors.push(`platform error: ${(e as Error).message}`);
    }
    c.ok = c.errors.length === 0;
    checks.push(c);
  }
  for (const probe of spec.invalidInputs) {
    const req = toRequest(probe.request);
    const c: CheckResult = { name: probe.name, kind: "invalid_input", ok: true, request: { method: req.method, path: probe.request.path, body: probe.request.body }, errors: [] };
    try {
      const res = await runtime.fetch(ref, req);
      c.status = res.status;
      c.response = parse(res);
      if (res.status !== probe.expectStatus) c.errors.push(`invalid input should be rejected with ${probe.expectStatus}, got ${res.status}`);
    } catch (e) {
      c.errors.push(`platform error: ${(e as Error).message}`);
    }
    c.ok = c.errors.length === 0;
    checks.push(c);
  }
  return finish(checks, described);
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

/** The failures as text for the repair prompt. */
export function describeFailures(report: ValidationReport): string {
  return report.checks
    .filter((c) => !c.ok)
    .map((c) => {
      const req = c.request ? ` ${c.request.method} ${c.request.path}${c.request.body !== undefined ? " body=" + JSON.stringify(c.request.body) : ""}` : "";
      const got = c.status !== undefined ? `\n  got status ${c.status}, body ${JSON.stringify(c.response)?.slice(0, 600)}` : "";
      return `- [${c.kind}] ${c.name}:${req}${got}\n  ${c.errors.join("\n  ")}`;
    })
    .join("\n");
}
