/**
 * Issue 12 §7: `cantrip backup` and `POST /v1/admin/backup` take consistent snapshots
 * while invokes (each writing kv and an invocation row) and jobs keep running; the
 * snapshot passes integrity_check and, restored with `cantrip restore`, serves the same
 * agents with the same keys. Restore refuses a running server's data dir and files that
 * are damaged or from a newer schema. Real server, real HTTP, real CLI processes.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { copyFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startServer, tempDir, testDialect, type TestServer } from "../harness";
import { cli, deployed, invoke } from "./helpers";

let s: TestServer;
let a: Awaited<ReturnType<typeof deployed>>;
let b: Awaited<ReturnType<typeof deployed>>;
const dataDir = tempDir("cantrip-backup-");
const out = tempDir("cantrip-backup-out-");
const cliBackup = join(out, "cli.db");
const httpBackup = join(out, "http.db");
let agentsAtBackup: string[] = [];
/** Backup and restore copy the SQLite file; on PostgreSQL they refuse, naming pg_dump (test/ops/postgres-cli.test.ts). */
const onSqlite = test.skipIf(testDialect === "postgres");

beforeAll(async () => {
  s = await startServer({}, { dataDir, keep: true });
  a = await deployed(s, "Backup A");
  b = await deployed(s, "Backup B");
});
afterAll(async () => {
  await s?.stop().catch(() => {});
  for (const d of [dataDir, out]) rmSync(d, { recursive: true, force: true });
});

/** Invokes both agents from `n` loops until stopped; counts answers by status. */
function load(n: number) {
  let running = true;
  const statuses: number[] = [];
  const loops = Array.from({ length: n }, async (_, i) => {
    while (running) {
      const t = i % 2 ? a : b;
      statuses.push((await invoke(s.url, t.slug, t.key)).status);
    }
  });
  return {
    statuses,
    async stop() {
      running = false;
      await Promise.all(loops);
      return statuses;
    },
  };
}

onSqlite("a backup via the CLI and one via the admin route, both under invoke load, pass integrity_check", async () => {
  const l = load(6);
  // Every loop has written kv at least once before the snapshots start (a fixed sleep was not enough under load).
  for (let i = 0; l.statuses.length < 12 && i < 800; i++) await Bun.sleep(25);
  expect(l.statuses.length).toBeGreaterThanOrEqual(12);
  const before = l.statuses.length;
  // A deploy job runs at the same time (jobs continue too).
  const redeploy = s.json(`/v1/deploy/${a.id}`, { method: "POST" });
  const [c, h] = await Promise.all([
    cli(["backup", cliBackup, "--data-dir", dataDir]),
    s.req("/v1/admin/backup", { method: "POST" }).then(async (r) => ({ status: r.status, type: r.headers.get("content-type"), bytes: new Uint8Array(await r.arrayBuffer()) })),
  ]);
  const during = l.statuses.length - before;
  await Bun.sleep(200);
  const statuses = await l.stop();
  expect((await redeploy).status).toBe(202);
  // The deploy job that ran alongside finished normally.
  for (let i = 0; ; i++) {
    const st = (await s.json(`/v1/deploy/${a.id}/status`)).body.data;
    if (st.deployment?.status !== "deploying") {
      expect(st.deployment.status).toBe("deployed");
      break;
    }
    if (i > 400) throw new Error("the deploy during the backup did not finish");
    await Bun.sleep(25);
  }

  expect(c.stderr).toBe("");
  expect(c.code).toBe(0);
  expect(c.stdout).toContain("integrity ok");
  expect(h.status).toBe(200);
  expect(h.type).toBe("application/vnd.sqlite3");
  writeFileSync(httpBackup, h.bytes);

  // Serving went on: calls completed while the snapshots were taken, and none failed.
  expect(during).toBeGreaterThan(0);
  expect(statuses.filter((x) => x !== 200)).toEqual([]);
  expect(statStatus(cliBackup)).toBe(0o600);
  // The route's temporary file is gone from the data dir.
  expect(readdirSync(join(dataDir, "backups"))).toEqual([]);

  for (const f of [cliBackup, httpBackup]) {
    const db = new Database(f, { readonly: true });
    expect(db.query("PRAGMA integrity_check").all()).toEqual([{ integrity_check: "ok" }]);
    expect(db.query("PRAGMA foreign_key_check").all()).toEqual([]);
    const names = (db.query("SELECT name FROM agents ORDER BY name").all() as { name: string }[]).map((r) => r.name);
    expect(names).toEqual(["Backup A", "Backup B"]);
    const n = db.query("SELECT value FROM kv WHERE agent_id = ? AND key = 'n'").get(a.id) as { value: string };
    expect(Number(JSON.parse(n.value))).toBeGreaterThan(0);
    db.close();
  }
  agentsAtBackup = ["Backup A", "Backup B"];
});

const statStatus = (f: string) => statSync(f).mode & 0o777;

test("the admin route is for the operator's workspace only; another workspace's token gets 403 forbidden", async () => {
  const ws = await cli(["workspace", "create", "tenant-b", "--data-dir", dataDir], s.dbEnv);
  expect(ws.code).toBe(0);
  const other = ws.stdout.trim();
  expect(other).toMatch(/^ctp_pt_/);
  const r = await s.json("/v1/admin/backup", { method: "POST", headers: { authorization: `Bearer ${other}` } });
  expect(r.status).toBe(403);
  expect(r.body.error.code).toBe("forbidden");
  const none = await s.json("/v1/admin/backup", { method: "POST", headers: { authorization: "Bearer nope" } });
  expect(none.status).toBe(401);
});

onSqlite("restore refuses while the server runs, then restores the backup: same agents, same keys", async () => {
  // Something to undo: agent A is deleted after the backup.
  expect((await s.json(`/v1/agents/${a.id}`, { method: "DELETE" })).status).toBe(200);
  const refused = await cli(["restore", cliBackup, "--data-dir", dataDir]);
  expect(refused.code).not.toBe(0);
  expect(refused.stderr).toContain("is using");
  await s.stop();

  const r = await cli(["restore", cliBackup, "--data-dir", dataDir]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  expect(statStatus(join(dataDir, "cantrip.db"))).toBe(0o600);
  expect(readdirSync(dataDir).some((f) => f.startsWith("cantrip.db.pre-restore-"))).toBe(true);

  s = await startServer({}, { dataDir, keep: true });
  const list = await s.json("/v1/agents");
  expect(list.body.data.map((x: { name: string }) => x.name).sort()).toEqual(agentsAtBackup);
  for (const t of [a, b]) {
    const res = await invoke(s.url, t.slug, t.key);
    expect(res.status).toBe(200);
    expect(res.body.data.response.n).toBeGreaterThan(1);
  }
});

onSqlite("restore refuses a damaged file, a file that is not a cantrip database, and one from a newer schema", async () => {
  await s.stop();
  const damaged = join(out, "damaged.db");
  copyFileSync(httpBackup, damaged);
  const bytes = new Uint8Array(await Bun.file(damaged).arrayBuffer());
  // Overwrite most pages after the first with garbage (the header stays valid).
  for (let i = 4096; i < bytes.length - 4096; i++) bytes[i] = (i * 7) & 0xff;
  writeFileSync(damaged, bytes);
  const notDb = join(out, "not.db");
  writeFileSync(notDb, "hello");
  const newer = join(out, "newer.db");
  copyFileSync(httpBackup, newer);
  const db = new Database(newer);
  db.exec("INSERT INTO __drizzle_migrations (hash, created_at) VALUES ('future', 9999999999999)");
  db.close();
  const kept = () => readdirSync(dataDir).filter((f) => f.includes(".pre-restore-")).length;
  const before = kept();
  for (const [f, why] of [[damaged, /integrity_check failed|malformed|not a SQLite/], [notDb, /not a SQLite|cannot open/], [newer, /newer version/]] as const) {
    const r = await cli(["restore", f, "--data-dir", dataDir]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(why);
  }
  // Nothing was replaced: no database moved aside, no temporary copy left, same agents served.
  expect(kept()).toBe(before);
  expect(readdirSync(dataDir).filter((f) => f.includes(".restore-"))).toEqual([]);
  s = await startServer({}, { dataDir, keep: true });
  expect((await s.json("/v1/agents")).body.data.map((x: { name: string }) => x.name).sort()).toEqual(agentsAtBackup);
});
