/**
 * Test harness for the sandbox runtime: a real SQLite file in a temp dir with agent rows,
 * a runtime on the given engine, esbuild-bundled guest sources, and small call helpers.
 */
import { setDefaultTimeout } from "bun:test";
import * as esbuild from "esbuild";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isBusyError, openDatabase, type OpenedDatabase } from "../../src/db";
import { createRuntime, createSqliteKv, defaultLimits, type BundleRef, type EngineFactory, type GuestResponse, type KvStore, type Limits, type SandboxRuntime, type SecretGrant } from "../../src/runtime";
import type { EgressOptions, RuntimeOptions } from "../../src/runtime";

// Sandboxes start real workers; on a busy 2-core box that can take longer than bun's 5 s default.
setDefaultTimeout(30_000);

export async function bundle(source: string): Promise<string> {
  const out = await esbuild.build({
    stdin: { contents: source, loader: "ts", resolveDir: process.cwd(), sourcefile: "backend.ts" },
    bundle: true, format: "esm", platform: "neutral", target: "es2023", external: ["cantrip"], write: false, logLevel: "silent",
  });
  return out.outputFiles[0]!.text;
}

export interface Harness {
  /** How the guest is called (makeHarness's `dispatch` option): the lean convention unless "full". */
  dispatch: "lean" | "full";
  runtime: SandboxRuntime;
  db: OpenedDatabase;
  secrets: Map<string, string>;
  ref(agentId: string, code: string, opts?: { limits?: Partial<Limits>; allowedHosts?: string[]; secrets?: SecretGrant[]; env?: Record<string, string>; bundleId?: string; workspaceId?: string }): BundleRef;
  agent(id: string): string;
  close(): Promise<void>;
}

let seq = 0;

/**
 * `dispatch`: every ref's AgentRuntimeConfig.dispatch ("full": the guest always builds the
 * Request first). `workerKvReads`: the sandbox workers answer kv.get from their own
 * connection to the file, as the server runs (RuntimeOptions.kvReadFile; default true).
 * `kv`: wraps the kv store the runtime gets (to observe what reaches it).
 */
export function makeHarness(engine: EngineFactory, egress: EgressOptions = {}, opts: { memoryBudgetBytes?: number; workers?: number; scheduling?: RuntimeOptions["scheduling"]; dispatch?: "full"; workerKvReads?: boolean; kv?: (store: KvStore) => KvStore } = {}): Harness {
  const dir = mkdtempSync(join(tmpdir(), "cantrip-rt-"));
  const db = openDatabase(join(dir, "test.db"));
  db.sqlite.run("INSERT INTO workspaces (id, name) VALUES ('ws', 'test')");
  const secrets = new Map<string, string>();
  const kv = createSqliteKv(db.db);
  const runtime = createRuntime({ workers: opts.workers ?? 2, scheduling: opts.scheduling, memoryBudgetBytes: opts.memoryBudgetBytes, kv: opts.kv ? opts.kv(kv) : kv, kvReadFile: opts.workerKvReads === false ? undefined : join(dir, "test.db"), secrets: (agentId, name) => secrets.get(`${agentId}/${name}`) ?? null, egress, engine });
  const made = new Set<string>();
  const agent = (id: string) => {
    if (!made.has(id)) {
      // The writer connection has busy_timeout 0 (the gate retries asynchronously; this
      // synchronous helper cannot): on a crowded machine a sandbox worker (re)opening its read
      // connection to the file held its lock for a moment and the INSERT failed SQLITE_BUSY.
      for (let attempt = 0; ; attempt++) {
        try {
          db.sqlite.run("INSERT INTO agents (id, workspace_id, slug, name, status) VALUES (?, 'ws', ?, ?, 'deployed')", [id, id, id]);
          break;
        } catch (e) {
          if (!isBusyError(e) || attempt >= 400) throw e;
          Bun.sleepSync(5);
        }
      }
      made.add(id);
    }
    return id;
  };
  return {
    dispatch: opts.dispatch ?? "lean",
    runtime, db, secrets, agent,
    ref(agentId, code, o = {}) {
      agent(agentId);
      return {
        agentId, code, bundleId: o.bundleId ?? `b${++seq}`,
        config: { agentId, workspaceId: o.workspaceId, limits: { ...defaultLimits, cpuMs: 1000, wallMs: 5000, ...o.limits }, allowedHosts: o.allowedHosts ?? [], secrets: o.secrets ?? [], env: o.env, ...(opts.dispatch ? { dispatch: opts.dispatch } : {}) },
      };
    },
    async close() {
      await runtime.close();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function req(method: string, path: string, body?: unknown, headers: [string, string][] = []): Parameters<SandboxRuntime["fetch"]>[1] {
  const b = body === undefined ? null : new TextEncoder().encode(typeof body === "string" ? body : JSON.stringify(body));
  return { method, url: `http://agent.cantrip.internal${path}`, headers: [["content-type", "application/json"], ...headers], body: b };
}

export const text = (r: GuestResponse) => new TextDecoder().decode(r.body);
export const json = (r: GuestResponse) => JSON.parse(text(r));

/** Runs fn expecting a platform failure; returns the AppError's code, reason and elapsed ms. */
export async function failureOf(fn: () => Promise<unknown>): Promise<{ code: string; reason: string; message: string; ms: number }> {
  const t0 = performance.now();
  try {
    const r = await fn();
    throw new Error(`expected a platform failure, got ${JSON.stringify(r && typeof r === "object" && "status" in r ? { status: (r as GuestResponse).status, body: text(r as GuestResponse).slice(0, 300) } : r)}`);
  } catch (e) {
    const err = e as { code?: string; details?: { reason?: string }; message: string };
    if (!err.code) throw e;
    return { code: err.code, reason: err.details?.reason ?? "", message: err.message, ms: performance.now() - t0 };
  }
}
