/**
 * Issue 12 §6: the data dir is 0700 and every file cantrip writes in it 0600 (the
 * extracted esbuild binary stays 0755, in a 0700 folder), both on a fresh start and when
 * an existing data dir has looser modes (tightened, with a warning naming the path).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync, existsSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { boot } from "../../src/boot";
import { extractBinary } from "../../src/bundle/binary";
import { loadConfig } from "../../src/config";
import type { Logger } from "../../src/http";
import { startServer, tempDir, testDialect } from "../harness";

const modeOf = (p: string) => statSync(p).mode & 0o777;
const root = tempDir("cantrip-modes-");
let umask = 0;
beforeAll(() => {
  umask = process.umask(0o022); // the common default, under which SQLite would create 0644 files
});
afterAll(() => {
  process.umask(umask);
  rmSync(root, { recursive: true, force: true });
});

/** The modes of the SQLite file and its -wal/-shm; on PostgreSQL the data dir holds no database. */
const onSqlite = test.skipIf(testDialect === "postgres");
const FILES = ["cantrip.db", "cantrip.db-wal", "cantrip.db-shm", "admin-token", "secret.key", "node-id"];

async function writeSomething(s: Awaited<ReturnType<typeof startServer>>) {
  const r = await s.json("/v1/agents", {
    method: "POST",
    json: { name: "modes", files: { "index.ts": 'import { defineBackend } from "cantrip";\nexport default defineBackend({ routes: { "GET /": () => ({}) } });\n' }, entrypoint: "index.ts" },
  });
  expect(r.status).toBe(201);
}

onSqlite("a fresh data dir is 0700 and the database, its -wal/-shm and the key files are 0600", async () => {
  const dataDir = join(root, "fresh", "data");
  const s = await startServer({}, { dataDir, keep: true });
  try {
    await writeSomething(s);
    expect(modeOf(dataDir)).toBe(0o700);
    for (const f of FILES) {
      expect(existsSync(join(dataDir, f))).toBe(true);
      expect([f, modeOf(join(dataDir, f))]).toEqual([f, 0o600]);
    }
    // Nothing else in the dir is readable by group or others either.
    for (const f of readdirSync(dataDir)) expect([f, modeOf(join(dataDir, f)) & 0o077]).toEqual([f, 0]);
  } finally {
    await s.stop();
  }
});

onSqlite("an existing data dir with 0755/0644 modes is tightened at start, with a warning per path", async () => {
  const dataDir = join(root, "loose");
  const first = await startServer({}, { dataDir, keep: true });
  await writeSomething(first);
  await first.stop();
  chmodSync(dataDir, 0o755);
  for (const f of FILES) if (existsSync(join(dataDir, f))) chmodSync(join(dataDir, f), 0o644);
  writeFileSync(join(dataDir, "cantrip.db-wal"), "", { flag: "a", mode: 0o644 });
  chmodSync(join(dataDir, "cantrip.db-wal"), 0o644);

  const warnings: { msg: string; fields?: Record<string, unknown> }[] = [];
  const logger: Logger = { info() {}, error() {}, warn: (msg, fields) => void warnings.push({ msg, fields }) };
  const app = await boot(loadConfig({ CANTRIP_PORT: "0", CANTRIP_DATA_DIR: dataDir, CANTRIP_LOG_REQUESTS: "false" }), { logger });
  try {
    expect(modeOf(dataDir)).toBe(0o700);
    for (const f of FILES) if (existsSync(join(dataDir, f))) expect([f, modeOf(join(dataDir, f))]).toEqual([f, 0o600]);
    const warned = warnings.map((w) => w.fields?.path);
    expect(warned).toContain(dataDir);
    for (const f of ["cantrip.db", "cantrip.db-wal", "admin-token", "secret.key", "node-id"]) expect(warned).toContain(join(dataDir, f));
    expect(warnings.find((w) => w.fields?.path === dataDir)?.fields).toMatchObject({ from: "0755", to: "0700" });
    // It still serves from the same database.
    const token = (await Bun.file(app.adminTokenFile).text()).trim();
    const list = await fetch(`${app.url}/v1/agents`, { headers: { authorization: `Bearer ${token}` } });
    expect((await list.json()).data.map((a: { name: string }) => a.name)).toEqual(["modes"]);
  } finally {
    await app.stop();
  }
});

test("the extracted esbuild binary stays executable (0755) inside a private bin folder", async () => {
  const dataDir = join(root, "bin-data");
  const source = join(root, "fake-esbuild");
  writeFileSync(source, "#!/bin/sh\necho ok\n");
  const r = await extractBinary(source, dataDir, "0.0.0");
  expect(modeOf(join(dataDir, "bin"))).toBe(0o700);
  expect(modeOf(r.path)).toBe(0o755);
  chmodSync(join(dataDir, "bin"), 0o755);
  await extractBinary(source, dataDir, "0.0.0");
  expect(modeOf(join(dataDir, "bin"))).toBe(0o700);
});
