/**
 * Helpers for the host-robustness tests: deploy a small backend over the HTTP API of any
 * running cantrip (in-process test server or a spawned process) and get an agent key; a
 * direct connection to the data dir's SQLite file for fault injection with triggers.
 */
import { expect } from "bun:test";
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { count, eq, sql } from "drizzle-orm";
import { execute, type Db } from "../../src/db";
import { kv } from "../../src/db/schema";

export interface Target {
  url: string;
  token: string;
}

export async function call(t: Target, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const r = await fetch(t.url + path, {
    method,
    headers: { authorization: `Bearer ${t.token}`, ...(body !== undefined ? { "content-type": "application/json" } : {}), ...headers },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await r.text();
  let parsed: any = text;
  try {
    parsed = JSON.parse(text);
  } catch {}
  return { status: r.status, body: parsed, headers: r.headers };
}

/** Uploads, deploys and waits until live; returns the agent id, slug and a fresh agent key. */
export async function deploy(t: Target, name: string, code: string, extra: Record<string, unknown> = {}): Promise<{ id: string; slug: string; key: string }> {
  const created = await call(t, "POST", "/v1/agents", { name, files: { "index.ts": code }, entrypoint: "index.ts", autoDeploy: true, ...extra });
  if (created.status !== 201) throw new Error(`upload failed: ${JSON.stringify(created.body)}`);
  const { id, slug } = created.body.data.agent;
  for (let i = 0; i < 400; i++) {
    const st = await call(t, "GET", `/v1/deploy/${id}/status`);
    const d = st.body.data.deployment;
    if (d?.status === "deployed") break;
    if (d?.status === "failed") throw new Error(`deploy failed: ${JSON.stringify(d)}`);
    await Bun.sleep(25);
  }
  const key = (await call(t, "POST", `/v1/agents/${id}/api-keys`, { name: "test" })).body.data.key as string;
  return { id, slug, key };
}

export function invoke(t: Target, slug: string, key: string, body: unknown = {}) {
  return call(t, "POST", `/v1/invoke/${slug}`, body, { authorization: `Bearer ${key}` });
}


/**
 * A bystander for stall tests: invokes `agent` back to back (body `{n: 1}`) until `stop()`,
 * recording each call's latency in `ms` (milliseconds, in call order). Every call must answer
 * 200; `stop()` ends the loop and rethrows the first failed expectation.
 */
export function keepInvoking(t: Target, agent: { slug: string; key: string }): { ms: number[]; stop(): Promise<void> } {
  const ms: number[] = [];
  let done = false;
  const loop = (async () => {
    while (!done) {
      const t0 = performance.now();
      const r = await invoke(t, agent.slug, agent.key, { n: 1 });
      ms.push(performance.now() - t0);
      expect(r.status).toBe(200);
    }
  })();
  return {
    ms,
    async stop() {
      done = true;
      await loop;
    },
  };
}
/** A second connection to the server's database file (WAL), for triggers that inject faults. */
export function openFile(dataDir: string): Database {
  const db = new Database(join(dataDir, "cantrip.db"));
  db.exec("PRAGMA busy_timeout = 5000");
  return db;
}

/**
 * Folds the whole WAL into the database file through `db` (`wal_checkpoint(TRUNCATE)`),
 * retrying while another connection's checkpoint — the server's background one
 * (src/db/checkpointer.ts) — holds the checkpoint lock: SQLite then answers busy at once,
 * without its busy handler, and copies nothing. Throws after ~5 s of busy answers.
 */
export async function foldWal(db: Database): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const r = db.query("PRAGMA wal_checkpoint(TRUNCATE)").get() as { busy: number };
    if (r.busy === 0) return;
    await Bun.sleep(10);
  }
  throw new Error("the WAL checkpoint stayed busy for 5 s");
}

/**
 * Writes `n` small kv rows ("k0" … `"k" + (n-1)`, value `1`, size = key bytes + 1) for
 * `agentId` in one transaction of the server's own data layer, on SQLite or PostgreSQL (a
 * recursive CTE both dialects run): the state a backend reaches with `n` ordinary
 * `ctx.kv.set` calls, without making them.
 */
export async function seedKv(db: Db, agentId: string, n: number): Promise<void> {
  await db.tx((t) =>
    execute(
      t,
      sql`WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < ${n - 1})
          INSERT INTO kv (agent_id, key, value, size, updated_at)
          SELECT ${agentId}, 'k' || cast(i AS text), '1', 2 + length(cast(i AS text)), 0 FROM seq`,
    ),
  );
}

/** How many kv rows `agentId` holds. */
export async function kvRowCount(db: Db, agentId: string): Promise<number> {
  return (await db.select({ n: count() }).from(kv).where(eq(kv.agentId, agentId)))[0]!.n;
}

/** Polls `check` until it returns true or `ms` pass; returns the last result. */
export async function until(check: () => boolean | Promise<boolean>, ms = 10_000, stepMs = 50): Promise<boolean> {
  const end = performance.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (performance.now() > end) return false;
    await Bun.sleep(stepMs);
  }
}

/** A backend that answers after `waitMs` of wall time (awaiting a timer, not burning CPU). */
export function slowAnswerBackend(waitMs: number): string {
  return `
import { defineBackend } from "cantrip";
export default defineBackend({ routes: { "POST /": { handle: async () => { await new Promise((r) => setTimeout(r, ${waitMs})); return { ok: true }; } } } });
`;
}

/** A backend that writes `lines` console lines of `bytes` characters per call, then answers. */
export function chattyBackend(lines: number, bytes: number): string {
  return `
import { defineBackend } from "cantrip";
export default defineBackend({ routes: { "GET /": { handle: async () => { for (let i = 0; i < ${lines}; i++) console.log(String(i).padEnd(${bytes}, "x")); return { ok: true }; } } } });
`;
}
