/**
 * Test harness: a real cantrip server on a random loopback port with a fresh data dir
 * (real SQLite file), plus a small fetch helper that sends the admin token.
 *
 * With `CANTRIP_TEST_DB=postgres` (the second CI run) every server keeps its state in a
 * fresh PostgreSQL database instead (test/pg/shared.ts: a clone of the migrated template on
 * the test process's throwaway server), as `CANTRIP_DATABASE_URL` would in production. A
 * server restarted on the same data dir (opts.dataDir) gets the same database back.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { boot, type Cantrip } from "../src/boot";
import { loadConfig } from "../src/config";
import { silentLogger } from "../src/http";
import type { Db } from "../src/db";
import type { TestDatabase } from "./pg/shared";

/** The database the suite runs on: `CANTRIP_TEST_DB=postgres` selects PostgreSQL. */
export const testDialect: "sqlite" | "postgres" = process.env.CANTRIP_TEST_DB === "postgres" ? "postgres" : "sqlite";

/** One PostgreSQL database per data dir, so a restart on the same dir finds its state. */
const pgByDataDir = new Map<string, TestDatabase>();
/** The secret key every PostgreSQL test server shares (cluster mode requires one). */
export const TEST_SECRET_KEY = Buffer.alloc(32, 7).toString("base64");

/** In PostgreSQL mode, the settings that point a server with `dataDir` at its database. */
async function databaseEnv(dataDir: string): Promise<Record<string, string>> {
  if (testDialect !== "postgres") return {};
  let tdb = pgByDataDir.get(dataDir);
  if (!tdb) {
    const { freshDatabase } = await import("./pg/shared");
    pgByDataDir.set(dataDir, (tdb = await freshDatabase()));
  }
  return { CANTRIP_DATABASE_URL: tdb.url, CANTRIP_SECRET_KEY: TEST_SECRET_KEY, CANTRIP_DB_POOL_MAX: "4" };
}

/** Drops the PostgreSQL database of `dataDir` (PostgreSQL mode; nothing otherwise). */
async function dropDatabase(dataDir: string): Promise<void> {
  const tdb = pgByDataDir.get(dataDir);
  pgByDataDir.delete(dataDir);
  await tdb?.drop();
}

export interface TestServer {
  app: Cantrip;
  url: string;
  token: string;
  dataDir: string;
  /**
   * The server's own data layer (SQLite or PostgreSQL, whichever it runs on), for tests that
   * set up or inspect rows directly: drizzle queries or src/db `queryRows/execute` work on both.
   */
  db: Db;
  /**
   * The database settings the server runs with (`CANTRIP_DATABASE_URL` and the secret key in
   * PostgreSQL mode, nothing on SQLite), for a CLI child process that must open the same database.
   */
  dbEnv: Record<string, string>;
  /** fetch relative to the server, with the admin token unless headers.authorization is given. */
  req(path: string, init?: RequestInit & { json?: unknown }): Promise<Response>;
  json<T = any>(path: string, init?: RequestInit & { json?: unknown }): Promise<{ status: number; body: T; res: Response }>;
  stop(): Promise<void>;
}

export function tempDir(prefix = "cantrip-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function startServer(env: Record<string, string> = {}, opts: { dataDir?: string; keep?: boolean } = {}): Promise<TestServer> {
  const dataDir = opts.dataDir ?? tempDir();
  const dbEnv = await databaseEnv(dataDir);
  const config = loadConfig({ CANTRIP_PORT: "0", CANTRIP_DATA_DIR: dataDir, CANTRIP_LOG_REQUESTS: "false", ...dbEnv, ...env });
  const app = await boot(config, { logger: silentLogger });
  const token = readFileSync(app.adminTokenFile, "utf8").trim();
  const req = (path: string, init: RequestInit & { json?: unknown } = {}) => {
    const headers = new Headers(init.headers);
    if (!headers.has("authorization")) headers.set("authorization", `Bearer ${token}`);
    let body = init.body;
    if (init.json !== undefined) {
      body = JSON.stringify(init.json);
      if (!headers.has("content-type")) headers.set("content-type", "application/json");
    }
    return fetch(app.url + path, { ...init, headers, body });
  };
  return {
    app,
    url: app.url,
    token,
    dataDir,
    db: app.internals.store.db,
    dbEnv,
    req,
    async json(path, init) {
      const res = await req(path, init);
      const text = await res.text();
      let body: any = text;
      try {
        body = JSON.parse(text);
      } catch {}
      return { status: res.status, body, res };
    },
    async stop() {
      await app.stop();
      if (!opts.keep) {
        rmSync(dataDir, { recursive: true, force: true });
        await dropDatabase(dataDir);
      }
    },
  };
}
