/**
 * The composition root's server half: builds every I/O client from the config (database,
 * verifier, HTTP app) and starts listening. `src/main.ts` calls it for `serve`; tests call
 * it to get a real server on a random port with a fresh SQLite file.
 */
import { existsSync, mkdirSync, accessSync, constants } from "node:fs";
import { join, resolve } from "node:path";
import pkg from "../package.json" with { type: "json" };
import { bootstrapWorkspace, PlatformTokenVerifier, writeSecretFile } from "./auth";
import type { Config } from "./config";
import { isMigrated, openDatabase } from "./db";
import { createApp, createHandler, createLogger, type Logger } from "./http";

export const VERSION: string = pkg.version;

export interface Cantrip {
  url: string;
  port: number;
  config: Config;
  adminTokenFile: string;
  /** The admin token minted by this start, if the database was empty. */
  bootstrapToken: string | null;
  stop(): Promise<void>;
}

export interface BootOptions {
  logger?: Logger;
  /** Print the bootstrap token banner (the CLI does; tests do not). */
  announce?: (line: string) => void;
}

export class StartupError extends Error {}

function checkDataDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new StartupError(`data dir ${dir} is not writable (${why}); set CANTRIP_DATA_DIR or --data-dir to a writable directory`);
  }
}

export async function boot(config: Config, opts: BootOptions = {}): Promise<Cantrip> {
  const logger = opts.logger ?? createLogger(config.logFormat);
  const dataDir = resolve(config.dataDir);
  checkDataDir(dataDir);
  let opened;
  try {
    opened = openDatabase(join(dataDir, "cantrip.db"));
  } catch (e) {
    throw new StartupError(`cannot open database in ${dataDir}: ${(e as Error).message}`);
  }
  const { db, sqlite } = opened;

  const adminTokenFile = join(dataDir, "admin-token");
  const created = bootstrapWorkspace(db);
  if (created) {
    writeSecretFile(adminTokenFile, created.token + "\n");
    opts.announce?.(`Created workspace and admin token (also written to ${adminTokenFile}, mode 0600):\n\n    ${created.token}\n\nIt is shown only once.`);
  } else if (!existsSync(adminTokenFile)) {
    logger.warn("admin token file missing; mint a new token with `cantrip token create --name NAME`", { file: adminTokenFile });
  }

  const verifier = new PlatformTokenVerifier(db);
  let baseUrl = config.publicUrl.replace(/\/+$/, "");
  const app = createApp({
    db,
    sqlite,
    config,
    get baseUrl() {
      return baseUrl;
    },
    version: VERSION,
    logger,
    verifier,
    ready: async () => {
      const checks: Record<string, { ok: boolean; detail?: string }> = {};
      try {
        sqlite.query("SELECT 1").get();
        checks.database = { ok: isMigrated(sqlite), detail: isMigrated(sqlite) ? "migrated" : "migrations pending" };
      } catch (e) {
        checks.database = { ok: false, detail: (e as Error).message };
      }
      return { ok: Object.values(checks).every((c) => c.ok), checks };
    },
  });
  const fetch = createHandler((req) => app.handle(req), {
    bodyLimitBytes: config.bodyLimitBytes,
    logger,
    logRequests: config.logRequests,
  });
  const server = Bun.serve({
    hostname: config.host,
    port: config.port,
    fetch,
    // Bun's own cap answers in plain text; ours (in createHandler) answers JSON, so Bun's is a backstop.
    maxRequestBodySize: config.bodyLimitBytes * 4 + 1024 * 1024,
    idleTimeout: 120,
    development: false,
  });
  const port = server.port!;
  const shownHost = config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host;
  if (!baseUrl) baseUrl = `http://${shownHost.includes(":") ? `[${shownHost}]` : shownHost}:${port}`;

  return {
    url: `http://${shownHost.includes(":") ? `[${shownHost}]` : shownHost}:${port}`,
    port,
    config,
    adminTokenFile,
    bootstrapToken: created?.token ?? null,
    async stop() {
      await server.stop(true);
      sqlite.close();
    },
  };
}
