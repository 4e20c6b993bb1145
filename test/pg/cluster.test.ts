/**
 * The throwaway PostgreSQL server used by tests and CI (test/pg/cluster.ts,
 * scripts/pg-throwaway.ts, test/pg/shared.ts): when PostgreSQL tests may skip, that the
 * script runs a command against a server and removes it after, that a killed test process
 * does not leave a server behind, and that template clones are independent databases.
 */
import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { SQL } from "bun";
import { openPostgres } from "../../src/db/pg-driver";
import { findPgBin, startPgCluster } from "./cluster";
import { describePg, freshDatabase, pgServer, pgSkipReason } from "./shared";

const root = join(import.meta.dir, "../..");

test("PostgreSQL tests skip only when the binaries are absent and CI is unset", () => {
  const absent = { CANTRIP_PG_BIN: "/nonexistent/pg/bin" };
  expect(findPgBin(absent)).toBeNull();
  expect(pgSkipReason(absent)).toContain("PostgreSQL is not installed");
  expect(pgSkipReason({ ...absent, CI: "true" })).toBeNull();
  expect(pgSkipReason({ ...absent, CANTRIP_TEST_DATABASE_URL: "postgres://u@db/x" })).toBeNull();
  expect(() => startPgCluster({ env: absent })).toThrow("scripts/ci-prepare.sh");
});

/** Resolves true once nothing answers on `url` (the server is gone). */
async function refused(url: string, ms = 8000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await Bun.sleep(200)) {
    const probe = new SQL({ url, max: 1, connectionTimeout: 2 });
    try {
      await probe`select 1`;
    } catch {
      return true;
    } finally {
      probe.close().catch(() => {});
    }
  }
  return false;
}

describePg("throwaway PostgreSQL server", () => {
  test("scripts/pg-throwaway.ts runs a command against a fresh server, passes its exit status through, and removes the server after", async () => {
    const probe = `const { SQL } = require("bun"); const s = new SQL(process.env.CANTRIP_TEST_DATABASE_URL);
      const [r] = await s\`select current_user as u, current_setting('fsync') as fsync, current_setting('data_directory') as dir\`;
      console.log(JSON.stringify({ url: process.env.CANTRIP_TEST_DATABASE_URL, ...r })); await s.close(); process.exit(3);`;
    const run = Bun.spawn([process.execPath, "scripts/pg-throwaway.ts", "--", process.execPath, "-e", probe], { cwd: root, stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await Promise.all([new Response(run.stdout).text(), new Response(run.stderr).text(), run.exited]);
    expect(code).toBe(3);
    expect(err).toMatch(/PostgreSQL up at postgres:\/\/cantrip@127\.0\.0\.1:\d+\/cantrip in \d+ ms/);
    const seen = JSON.parse(out.trim().split("\n").pop()!);
    expect(seen).toMatchObject({ u: "cantrip", fsync: "off" });
    expect(seen.dir).toMatch(/cantrip-pg-/);
    expect(existsSync(seen.dir)).toBe(false);
    expect(await refused(seen.url)).toBe(true);
  });

  test("a test process killed outright leaves no server behind (the watchdog stops it and removes its dir)", async () => {
    const child = Bun.spawn(
      [process.execPath, "-e", `const { startPgCluster } = require("./test/pg/cluster"); const c = startPgCluster(); console.log(JSON.stringify({ url: c.url, dir: c.dir })); setInterval(() => {}, 1000);`],
      { cwd: root, stdout: "pipe", stderr: "inherit" },
    );
    const reader = child.stdout.getReader();
    let text = "";
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    const { url, dir } = JSON.parse(text);
    const up = new SQL({ url, max: 1 });
    expect((await up`select 1 as one`)[0].one).toBe(1);
    await up.close();
    // The Unix socket in the temp dir answers too, through the driver's libpq-style socket URL.
    const viaSocket = openPostgres(`postgres://cantrip@/cantrip?host=${dir}&port=${new URL(url).port}`, { poolMax: 1 });
    expect((await viaSocket.client`select inet_server_addr() as addr`)[0].addr).toBeNull(); // null: not TCP
    await viaSocket.close();
    child.kill("SIGKILL");
    await child.exited;
    expect(await refused(url)).toBe(true);
    for (const end = Date.now() + 5000; existsSync(dir) && Date.now() < end; ) await Bun.sleep(100);
    expect(existsSync(dir)).toBe(false);
  });

  test("each fresh database is a migrated, independent clone of the template", async () => {
    const [a, b] = await Promise.all([freshDatabase(), freshDatabase()]);
    const [sa, sb] = [new SQL({ url: a.url, max: 1 }), new SQL({ url: b.url, max: 1 })];
    try {
      await sa`insert into workspaces (id, name) values ('ws_a', 'a')`;
      expect(await sb`select id from workspaces`).toHaveLength(0);
      const [{ n }] = await sb`select count(*)::int as n from drizzle.__drizzle_migrations`;
      expect(n).toBeGreaterThan(0);
    } finally {
      await Promise.all([sa.close(), sb.close()]);
      await Promise.all([a.drop(), b.drop()]);
    }
    const { admin } = await pgServer();
    expect(await admin`select datname from pg_database where datname in (${a.name}, ${b.name})`).toHaveLength(0);
  });
});
