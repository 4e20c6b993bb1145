/**
 * Route table: compiles `"METHOD /path/:param"` keys into matchers. Matching is on the
 * URL pathname only; a trailing slash is ignored.
 */
import type { Schema } from "./schema";

export interface RouteDef {
  summary?: string;
  description?: string;
  input?: Schema;
  output?: Schema;
  handle: (input: any, ctx: any) => unknown;
}

export interface Route {
  method: string;
  path: string;
  def: RouteDef;
  re: RegExp;
  names: string[];
  /** Object.keys of the params object a match makes (names deduplicated, as assignment leaves them), listed once. */
  keys: string[];
  /** For a path without parameters: the two pathnames `re` matches (the path, and with a trailing slash); else null. */
  exact: [string, string] | null;
  /**
   * The route's handler as compiled when it cannot read a second argument (ctxFree), else
   * null: while `def.handle` is still this function, a call makes no ctx for it.
   */
  ctxFreeHandle: RouteDef["handle"] | null;
}

// Captured before any backend code runs: a module that replaces them cannot change what ctxFree reads.
const functionSource = Function.prototype.toString;
const apply = Reflect.apply;
/**
 * An arrow function whose parameter list is empty or one plain identifier, as its source
 * text starts (ECMA-262 ArrowFunction / AsyncArrowFunction). Anything else (a default value,
 * a rest or destructured parameter, a comment, a non-ASCII name) does not match.
 */
const SIMPLE_ARROW = /^(?:async\s*)?(?:\(\s*(?:[A-Za-z_$][\w$]*\s*)?\)|[A-Za-z_$][\w$]*)\s*=>/;

/**
 * Whether `fn` provably never sees a second argument: an arrow function (it has no
 * `arguments` of its own; ECMA-262 FunctionDeclarationInstantiation) that declares at most
 * one parameter, with no default, rest or pattern. Such a handler cannot reach the ctx it
 * would be passed, so none is made (issue 15: a ctx costs ~2.5 µs per call in QuickJS).
 * A bound function, a method, a `function`, a proxy or a source that cannot be read: false.
 */
export function ctxFree(fn: Function): boolean {
  try {
    return SIMPLE_ARROW.test(apply(functionSource, fn, []) as string);
  } catch {
    return false;
  }
}

const METHODS = new Set(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]);

export function compileRoutes(routes: Record<string, RouteDef | RouteDef["handle"]>): Route[] {
  return Object.keys(routes).map((key) => {
    const m = /^([A-Za-z]+)\s+(\/\S*)$/.exec(key.trim());
    if (!m || !METHODS.has(m[1]!.toUpperCase())) throw new Error(`defineBackend: route key "${key}" must look like "GET /path/:id"`);
    const raw = routes[key]!;
    const def: RouteDef = typeof raw === "function" ? { handle: raw } : raw;
    // Read once: a getter (or proxy) could give ctxFree one function and ctxFreeHandle another.
    const handle = def.handle;
    if (typeof handle !== "function") throw new Error(`defineBackend: route "${key}" has no handle function`);
    const names: string[] = [];
    const path = m[2]!.length > 1 ? m[2]!.replace(/\/$/, "") : m[2]!;
    const pattern = path
      .split("/")
      .map((seg) => (seg.startsWith(":") ? (names.push(seg.slice(1)), "([^/]+)") : seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
      .join("/");
    const shape: Record<string, string> = {};
    for (const n of names) shape[n] = "";
    const re = new RegExp(`^${pattern === "" ? "/" : pattern}/?$`);
    return { method: m[1]!.toUpperCase(), path, def, names, keys: Object.keys(shape), re, exact: names.length === 0 ? [path, `${path}/`] : null, ctxFreeHandle: ctxFree(handle) ? handle : null };
  });
}

const NO_CAPTURES: string[] = [];

export function matchRoute(routes: Route[], method: string, pathname: string): { route?: Route; params: Record<string, string>; allowed: string[] } {
  const allowed: string[] = [];
  for (const r of routes) {
    // A path without parameters is compared as text (what its pattern matches; no RegExp run per route and call).
    const m = r.exact !== null ? (pathname === r.exact[0] || pathname === r.exact[1] ? NO_CAPTURES : null) : r.re.exec(pathname);
    if (!m) continue;
    if (r.method === method || (method === "HEAD" && r.method === "GET")) {
      const params: Record<string, string> = {};
      for (let i = 0; i < r.names.length; i++) params[r.names[i]!] = safeDecode(m[i + 1]!);
      return { route: r, params, allowed };
    }
    allowed.push(r.method);
  }
  return { params: {}, allowed };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
