/**
 * Starts cantrip as its own process (source or the compiled executable) on a random
 * loopback port with a temp data dir, for benchmarks and fault tests; returns its URL,
 * admin token and a handle to stop or kill it.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, symlinkSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface CantripProcess {
  url: string;
  port: number;
  dataDir: string;
  token: string;
  child: ChildProcess;
  /** What the process wrote to stderr so far (empty where the bench does not capture it). */
  stderr(): string;
  stop(): Promise<void>;
  kill9(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const ROOT = join(import.meta.dir, "..", "..");

/**
 * Starts cantrip. `root` runs another checkout's source (default: this one), e.g. an
 * exported older commit for a same-run before/after comparison. `ready` is what is polled
 * (every `pollMs`) before it returns: by default GET /healthz answering 2xx, which waits for
 * the control plane (src/boot.ts builds it after the listeners open); a restart measured to
 * its first invoke polls that invoke instead. `execArgv` are Bun's flags before the script
 * (from source only), `cwd` the working directory, `ipc` opens an IPC channel to the child,
 * `bun` the path Bun is started by (e.g. a link to it; default: this process's executable).
 */
export async function startCantrip(opts: { env?: Record<string, string>; unsetEnv?: string[]; dataDir?: string; compiled?: boolean; port?: number; pollMs?: number; root?: string; ready?: (url: string) => Promise<boolean>; execArgv?: string[]; cwd?: string; ipc?: boolean; bun?: string } = {}): Promise<CantripProcess> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), "cantrip-bench-"));
  const port = opts.port ?? (await freePort());
  const exe = join(ROOT, "dist", "cantrip");
  const cmd = opts.compiled && existsSync(exe) ? [exe] : [opts.bun ?? process.execPath, ...(opts.execArgv ?? []), join(opts.root ?? ROOT, "src", "main.ts")];
  const child = spawn(cmd[0]!, [...cmd.slice(1), "serve", "--port", String(port), "--data-dir", dataDir, "--log-requests", "false"], {
    env: withoutKeys({ ...process.env, ...opts.env }, opts.unsetEnv ?? []),
    cwd: opts.cwd,
    stdio: opts.ipc ? ["ignore", "pipe", "pipe", "ipc"] : ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (d) => (stderr += d));
  child.stdout?.resume();
  // Registered before any await, so an early exit is never missed by stop()/kill9().
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = performance.now() + 15_000;
  while (performance.now() < deadline) {
    try {
      if (opts.ready ? await opts.ready(url) : (await fetch(`${url}/healthz`)).ok) break;
    } catch {}
    if (child.exitCode !== null) throw new Error(`cantrip exited: ${stderr}`);
    await Bun.sleep(opts.pollMs ?? 50);
  }
  const token = readFileSync(join(dataDir, "admin-token"), "utf8").trim();
  return {
    url,
    port,
    dataDir,
    token,
    child,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
    },
    async kill9() {
      if (child.exitCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
}

function withoutKeys(env: Record<string, string | undefined>, keys: string[]): Record<string, string | undefined> {
  for (const k of keys) delete env[k];
  return env;
}

/** JSON request helper with the admin token. */
export async function api(p: CantripProcess, method: string, path: string, body?: unknown, token = p.token): Promise<any> {
  const r = await fetch(p.url + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  try {
    return { status: r.status, ...JSON.parse(text) };
  } catch {
    return { status: r.status, text };
  }
}

export async function deployTrivial(p: CantripProcess, name: string, code: string): Promise<{ agentId: string; slug: string; key: string }> {
  const created = await api(p, "POST", "/v1/agents", { name, files: { "index.ts": code }, entrypoint: "index.ts", autoDeploy: true });
  if (created.status !== 201) throw new Error(`upload failed: ${JSON.stringify(created)}`);
  const { id, slug } = created.data.agent;
  for (let i = 0; i < 200; i++) {
    const st = await api(p, "GET", `/v1/deploy/${id}/status`);
    if (st.data.deployment?.status === "deployed") break;
    if (st.data.deployment?.status === "failed") throw new Error(`deploy failed: ${JSON.stringify(st.data.deployment)}`);
    await Bun.sleep(25);
  }
  const key = (await api(p, "POST", `/v1/agents/${id}/api-keys`, { name: "bench" })).data.key;
  return { agentId: id, slug, key };
}

/**
 * Exports commit `ref` of this repository into a temporary directory that shares this
 * checkout's node_modules, for running the older code next to the current one. Returns the
 * directory (the caller removes it).
 */
export function exportCommit(ref: string): string {
  const dir = mkdtempSync(join(tmpdir(), "cantrip-ref-"));
  const r = spawnSync("sh", ["-c", `git -C "$0" archive "$1" | tar -x -C "$2"`, ROOT, ref, dir], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`cannot export ${ref}: ${r.stderr}`);
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  return dir;
}
