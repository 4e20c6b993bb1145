/**
 * Issue 18: the operator commands against a cluster's PostgreSQL database. With
 * `--database-url` or `CANTRIP_DATABASE_URL` (and the nodes' CANTRIP_SECRET_KEY), `cantrip
 * token create` and `cantrip workspace create|ls` work on that database from any machine, with
 * no SQLite file in the data dir; the backup commands, which copy the SQLite file, refuse with
 * one line naming pg_dump / pg_restore, and `POST /v1/admin/backup` answers
 * `501 backup_not_supported`. A real server runs on the same database; the CLI is the real
 * entry point as a child process.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { startServer, tempDir, TEST_SECRET_KEY, type TestServer } from "../harness";
import { describePg, freshDatabase, type TestDatabase } from "../pg/shared";
import { cli } from "./helpers";

describePg("operator commands on a PostgreSQL database", () => {
  let d: TestDatabase;
  let s: TestServer;
  /** The operator's own machine: a data dir with no database in it. */
  let elsewhere: string;
  beforeAll(async () => {
    d = await freshDatabase();
    s = await startServer({ CANTRIP_DATABASE_URL: d.url, CANTRIP_SECRET_KEY: TEST_SECRET_KEY, CANTRIP_DB_POOL_MAX: "4" });
    elsewhere = tempDir();
  });
  afterAll(async () => {
    await s?.stop();
    await d?.drop();
    rmSync(elsewhere, { recursive: true, force: true });
  });

  const agents = async (token: string) => (await s.json("/v1/agents", { headers: { authorization: `Bearer ${token}` } })).status;

  test("token create --database-url mints a token the server accepts; no SQLite file is made", async () => {
    const r = await cli(["token", "create", "--name", "ops", "--database-url", d.url, "--data-dir", elsewhere], { CANTRIP_SECRET_KEY: TEST_SECRET_KEY });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    const token = r.stdout.trim();
    expect(token).toMatch(/^ctp_pt_[A-Za-z0-9]{32}$/);
    expect(await agents(token)).toBe(200);
    expect(await agents("ctp_pt_" + "A".repeat(32))).toBe(401); // the check is real
    expect(existsSync(join(elsewhere, "cantrip.db"))).toBe(false);
  });

  test("workspace create and ls through CANTRIP_DATABASE_URL", async () => {
    const env = { CANTRIP_DATABASE_URL: d.url, CANTRIP_SECRET_KEY: TEST_SECRET_KEY, CANTRIP_DATA_DIR: elsewhere };
    const created = await cli(["workspace", "create", "team-pg"], env);
    expect(created.code).toBe(0);
    expect(await agents(created.stdout.trim())).toBe(200);
    const ls = await cli(["workspace", "ls"], env);
    expect(ls.code).toBe(0);
    expect(ls.stdout.trim().split("\n").map((l) => l.split("\t")[1])).toEqual(["default", "team-pg"]);
  });

  test("a URL without the cluster's secret key is a one-line settings error (exit 2)", async () => {
    const r = await cli(["token", "create", "--name", "x", "--database-url", d.url, "--data-dir", elsewhere], { CANTRIP_SECRET_KEY: "" });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("CANTRIP_SECRET_KEY");
  });

  test("backup and restore refuse with one line naming pg_dump / pg_restore; nothing is written", async () => {
    const out = join(elsewhere, "snap.db");
    const backup = await cli(["backup", out, "--data-dir", elsewhere], { CANTRIP_DATABASE_URL: d.url });
    expect(backup.code).toBe(1);
    expect(backup.stderr.trim().split("\n")).toHaveLength(1);
    expect(backup.stderr).toContain("pg_dump");
    expect(existsSync(out)).toBe(false);
    const restore = await cli(["restore", out, "--database-url", d.url, "--data-dir", elsewhere]);
    expect(restore.code).toBe(1);
    expect(restore.stderr.trim().split("\n")).toHaveLength(1);
    expect(restore.stderr).toContain("pg_restore");
    expect(readdirSync(elsewhere)).toEqual([]);
  });

  test("POST /v1/admin/backup answers 501 backup_not_supported in the envelope", async () => {
    const r = await s.json("/v1/admin/backup", { method: "POST" });
    expect({ status: r.status, code: r.body.error?.code }).toEqual({ status: 501, code: "backup_not_supported" });
    expect(r.body.error.message).toContain("pg_dump");
    expect(r.body.error.requestId).toMatch(/\S/);
  });
});
