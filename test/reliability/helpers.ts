/**
 * Helpers for the crash tests: read the SQLite file directly (integrity check, the things a
 * crash must never lose: platform tokens, agent keys, credentials, versions), wait for the
 * job queue to settle after a restart, and seed a "keeper" agent whose state every fault
 * scenario checks is intact afterwards. Reads use their own connection with a busy timeout,
 * so they work while the server process is running (WAL) and right after it was killed.
 */
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { trivialBackend } from "../../bench/lib/backends";
import { api, deployTrivial, type CantripProcess } from "../../bench/lib/cantrip-process";

export function openDb(dataDir: string): Database {
  const db = new Database(join(dataDir, "cantrip.db"));
  db.exec("PRAGMA busy_timeout = 5000");
  return db;
}

export function integrity(dataDir: string): string {
  const db = openDb(dataDir);
  try {
    return db.query<{ integrity_check: string }, []>("PRAGMA integrity_check").all().map((r) => r.integrity_check).join("; ");
  } finally {
    db.close();
  }
}

/** What must survive any crash: rows keyed by id with the fields that must not change. */
export interface Snapshot {
  tokens: Map<string, string>;
  keys: Map<string, string>;
  secrets: Map<string, string>;
  versions: Map<string, string>;
  agents: Map<string, { live: number | null; status: string }>;
}

export function snapshot(dataDir: string): Snapshot {
  const db = openDb(dataDir);
  try {
    const map = (sql: string) => new Map(db.query<{ id: string; v: string }, []>(sql).all().map((r) => [r.id, r.v]));
    return {
      tokens: map("SELECT id, token_hash || ':' || coalesce(revoked_at, '') AS v FROM platform_tokens"),
      keys: map("SELECT id, agent_id || ':' || key_hash || ':' || status AS v FROM api_keys"),
      secrets: map("SELECT id, name || ':' || ciphertext AS v FROM secrets"),
      versions: map("SELECT id, agent_id || ':' || number || ':' || coalesce(hash, '') AS v FROM versions"),
      agents: new Map(
        db
          .query<{ id: string; live: number | null; status: string }, []>("SELECT id, live_version AS live, status FROM agents")
          .all()
          .map((r) => [r.id, { live: r.live, status: r.status }]),
      ),
    };
  } finally {
    db.close();
  }
}

/** Everything in `before` is still in `after`, unchanged. Returns the problems found. */
export function lostOrChanged(before: Snapshot, after: Snapshot): string[] {
  const problems: string[] = [];
  for (const k of ["tokens", "keys", "secrets", "versions"] as const) {
    for (const [id, v] of before[k]) {
      if (!after[k].has(id)) problems.push(`${k}: ${id} lost`);
      else if (after[k].get(id) !== v) problems.push(`${k}: ${id} changed`);
    }
  }
  for (const id of before.agents.keys()) if (!after.agents.has(id)) problems.push(`agents: ${id} lost`);
  return problems;
}

/** Request ids of every invocation row in the file. */
export function invocationRequestIds(dataDir: string): string[] {
  const db = openDb(dataDir);
  try {
    return db.query<{ request_id: string }, []>("SELECT request_id FROM invocations WHERE request_id IS NOT NULL").all().map((r) => r.request_id);
  } finally {
    db.close();
  }
}

export interface JobRowLite {
  id: string;
  kind: string;
  status: string;
  attempts: number;
  failure: string | null;
}

export function jobRows(dataDir: string): JobRowLite[] {
  const db = openDb(dataDir);
  try {
    return db.query<JobRowLite, []>("SELECT id, kind, status, attempts, failure FROM jobs ORDER BY id").all();
  } finally {
    db.close();
  }
}

/** Waits until no job is queued or running; returns the jobs still active at the timeout (none when settled). */
export async function settleJobs(dataDir: string, timeoutMs: number): Promise<JobRowLite[]> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const active = jobRows(dataDir).filter((j) => j.status === "queued" || j.status === "running");
    if (!active.length || Date.now() > end) return active;
    await Bun.sleep(100);
  }
}

/** Failed jobs must say why: a code and a message. */
export function unexplainedFailures(jobs: JobRowLite[]): JobRowLite[] {
  return jobs.filter((j) => j.status === "failed" && !(j.failure && /"message":"[^"]+"/.test(j.failure)));
}

export async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000, everyMs = 25): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(everyMs);
  }
}

export async function invoke(p: CantripProcess, slug: string, key: string, body: unknown = { n: 1 }): Promise<{ status: number; body: any }> {
  const r = await fetch(`${p.url}/v1/invoke/${slug}`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: r.status, body: await r.json().catch(() => null) };
}

export interface Keeper {
  agentId: string;
  slug: string;
  key: string;
  revokedKey: string;
}

/** A deployed agent with an active and a revoked key, plus a stored credential. */
export async function seedKeeper(p: CantripProcess, name = "keeper"): Promise<Keeper> {
  const { agentId, slug, key } = await deployTrivial(p, name, trivialBackend(1));
  const second = await api(p, "POST", `/v1/agents/${agentId}/api-keys`, { name: "to revoke" });
  await api(p, "POST", `/v1/agents/${agentId}/api-keys/${second.data.apiKey.id}/revoke`);
  const cred = await api(p, "POST", "/api/v1/credentials", { name: `${name.toUpperCase().replace(/\W/g, "_")}_TOKEN`, value: "s3cret-value-for-crash-test", hosts: ["example.com"] });
  if (cred.status !== 201) throw new Error(`credential: ${JSON.stringify(cred)}`);
  return { agentId, slug, key, revokedKey: second.data.key };
}

/** The keeper still answers with its active key (from its live version) and still refuses the revoked one. */
export async function keeperProblems(p: CantripProcess, k: Keeper): Promise<string[]> {
  const problems: string[] = [];
  const live = (await api(p, "GET", `/v1/agents/${k.agentId}`)).data?.liveVersion;
  const ok = await invoke(p, k.slug, k.key);
  if (ok.status !== 200 || typeof live !== "number" || ok.body?.data?.response?.version !== live)
    problems.push(`keeper invoke (live version ${live}): ${ok.status} ${JSON.stringify(ok.body)}`);
  const revoked = await invoke(p, k.slug, k.revokedKey);
  if (revoked.status !== 401 || revoked.body?.error?.code !== "agent_api_key_revoked") problems.push(`revoked key: ${revoked.status} ${JSON.stringify(revoked.body)}`);
  return problems;
}

/**
 * Writes `rows` invocation rows of `agentId` into the server's file from a connection of its
 * own, in one transaction (so the WAL grows by their whole size: ~120 MB for 300,000).
 */
export function seedInvocations(dataDir: string, agentId: string, rows: number): void {
  const db = openDb(dataDir);
  try {
    const insert = db.prepare(
      "INSERT INTO invocations (agent_id, version, key_id, source, method, path, status, latency_ms, request_id, at) VALUES (?, 1, 'key_x', 'invoke', 'POST', ?, 200, 1, ?, ?)",
    );
    const pad = "/" + "x".repeat(200);
    db.transaction(() => {
      for (let i = 0; i < rows; i++) insert.run(agentId, pad, `req_seed_${i}`, Date.now());
    })();
  } finally {
    db.close();
  }
}

/** The invocation rows `agentId` has in the file and the file's free pages, read directly. */
export function invocationsAndFreePages(dataDir: string, agentId: string): { rows: number; free: number } {
  const db = openDb(dataDir);
  try {
    const rows = (db.query("SELECT count(*) AS n FROM invocations WHERE agent_id = ?").get(agentId) as { n: number }).n;
    const free = (db.query("PRAGMA freelist_count").get() as { freelist_count: number }).freelist_count;
    return { rows, free };
  } finally {
    db.close();
  }
}

/**
 * Runs `work` and measures the event loop meanwhile: the longest stretch (ms) in which a
 * zero-delay timer chain did not get to run, i.e. how long `work` held the loop in one piece.
 */
export async function longestLoopStall<T>(work: () => Promise<T>): Promise<{ result: T; ms: number; stallMs: number }> {
  let last = performance.now();
  let worst = 0;
  let ticking = true;
  const tick = () => {
    const now = performance.now();
    worst = Math.max(worst, now - last);
    last = now;
    if (ticking) setTimeout(tick, 0);
  };
  setTimeout(tick, 0);
  await Bun.sleep(5);
  const started = performance.now();
  const result = await work();
  const ms = performance.now() - started;
  await Bun.sleep(5);
  ticking = false;
  return { result, ms, stallMs: worst };
}
