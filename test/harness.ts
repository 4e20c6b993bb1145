/**
 * Test harness: a real cantrip server on a random loopback port with a fresh data dir
 * (real SQLite file), plus a small fetch helper that sends the admin token.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { boot, type Cantrip } from "../src/boot";
import { loadConfig } from "../src/config";
import { silentLogger } from "../src/http";

export interface TestServer {
  app: Cantrip;
  url: string;
  token: string;
  dataDir: string;
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
  const config = loadConfig({ CANTRIP_PORT: "0", CANTRIP_DATA_DIR: dataDir, CANTRIP_LOG_REQUESTS: "false", ...env });
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
      if (!opts.keep) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
