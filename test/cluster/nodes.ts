/**
 * Real cluster nodes for the cluster tests and bench/cluster.ts: each node is its own
 * `bun src/main.ts serve` process on a random loopback port with its own data dir, pointed at
 * one PostgreSQL database (`CANTRIP_DATABASE_URL`) with the cluster's `CANTRIP_SECRET_KEY`.
 *
 * Cleanup: every node is registered until it exits; `stopAllNodes()` (call it in afterAll)
 * kills the ones left, and a detached watchdog per node SIGKILLs it within a second of the
 * test process's exit however that ends (`bun test` emits no process "exit" event, and a
 * killed run would otherwise leave servers behind).
 */
import { spawn as spawnChild } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";

const ROOT = join(import.meta.dir, "..", "..");

/** The secret key the tests' clusters share (32 bytes, base64). */
export const CLUSTER_SECRET = Buffer.alloc(32, 11).toString("base64");

/** A running `cantrip serve` process. */
export interface ClusterNode {
  name: string;
  url: string;
  port: number;
  dataDir: string;
  /** The node id (`<data-dir>/node-id`): the prefix of the lease owner of the jobs it runs. */
  nodeId(): string;
  /** The admin token, when this node bootstrapped the workspace (null otherwise). */
  adminToken(): string | null;
  /** Everything the process wrote so far. */
  stdout(): string;
  stderr(): string;
  child: Subprocess;
  /** Exit code (or 128 + signal number) once it has exited. */
  exited: Promise<number>;
  /** SIGTERM, then SIGKILL after 10 s; removes the data dir. */
  stop(): Promise<void>;
  /** SIGKILL now (the data dir stays for inspection until stop()). */
  kill9(): Promise<void>;
}

const live = new Set<ClusterNode>();

/** A port that was free a moment ago (the kernel's pick for port 0). */
export function freePort(): number {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}

/** Kills `pid` when this process exits (a detached shell polling both pids twice a second). */
function watchdog(pid: number): void {
  const script = `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${pid} 2>/dev/null; do sleep 0.5; done; kill -9 ${pid} 2>/dev/null`;
  spawnChild("sh", ["-c", script], { detached: true, stdio: "ignore" }).unref();
}

async function collect(stream: ReadableStream<Uint8Array>, into: { text: string }): Promise<void> {
  const decoder = new TextDecoder();
  for await (const chunk of stream) into.text += decoder.decode(chunk, { stream: true });
}

export interface NodeOptions {
  databaseUrl: string;
  name?: string;
  secretKey?: string;
  env?: Record<string, string>;
  /** Wait for GET /readyz to answer 200 (default true). */
  waitReady?: boolean;
  /** Pre-seeds `<data-dir>/node-id` (e.g. a data dir copied from another node). */
  nodeId?: string;
  /** How long to wait for readiness (ms, default 30 s). */
  readyTimeoutMs?: number;
}

/**
 * Spawns one node and (by default) waits until /readyz answers 200. Throws with the node's
 * output when it exits first or never becomes ready (and kills it).
 */
export async function startNode(opts: NodeOptions): Promise<ClusterNode> {
  const dataDir = mkdtempSync(join(tmpdir(), `cantrip-node-${opts.name ?? "x"}-`));
  const port = freePort();
  if (opts.nodeId !== undefined) writeFileSync(join(dataDir, "node-id"), opts.nodeId + "\n", { mode: 0o600 });
  const child = Bun.spawn([process.execPath, join(ROOT, "src", "main.ts"), "serve", "--port", String(port), "--data-dir", dataDir], {
    cwd: ROOT,
    env: {
      ...process.env,
      CANTRIP_DATABASE_URL: opts.databaseUrl,
      CANTRIP_SECRET_KEY: opts.secretKey ?? CLUSTER_SECRET,
      CANTRIP_LOG_REQUESTS: "false",
      CANTRIP_DB_POOL_MAX: "4",
      ...opts.env,
    },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  watchdog(child.pid);
  const out = { text: "" };
  const err = { text: "" };
  const reading = Promise.all([collect(child.stdout, out), collect(child.stderr, err)]).catch(() => {});
  const exited = child.exited.then(async (code) => {
    await reading;
    live.delete(node);
    return code;
  });
  const url = `http://127.0.0.1:${port}`;
  const node: ClusterNode = {
    name: opts.name ?? `node-${port}`,
    url,
    port,
    dataDir,
    nodeId: () => readFileSync(join(dataDir, "node-id"), "utf8").trim(),
    adminToken: () => (existsSync(join(dataDir, "admin-token")) ? readFileSync(join(dataDir, "admin-token"), "utf8").trim() : null),
    stdout: () => out.text,
    stderr: () => err.text,
    child,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const t = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(t);
      }
      await exited;
      rmSync(dataDir, { recursive: true, force: true });
    },
    async kill9() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
  live.add(node);
  if (opts.waitReady === false) return node;
  const deadline = performance.now() + (opts.readyTimeoutMs ?? 30_000);
  let last = "";
  while (performance.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) break;
    try {
      const r = await fetch(`${url}/readyz`);
      if (r.status === 200) return node;
      last = `readyz ${r.status}: ${await r.text()}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await Bun.sleep(50);
  }
  await node.stop();
  throw new Error(`node ${node.name} did not become ready (${last}); exit ${child.exitCode ?? child.signalCode}\nstdout:\n${out.text.slice(-3000)}\nstderr:\n${err.text.slice(-3000)}`);
}

/** Stops every node still running (afterAll). */
export async function stopAllNodes(): Promise<void> {
  await Promise.all([...live].map((n) => n.stop()));
}

/** A JSON API client for one node with a bearer token. */
export function client(node: ClusterNode, token: string) {
  return async function call<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: T }> {
    const r = await fetch(node.url + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { "content-type": "application/json" } : {}), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    let parsed: any = text;
    try {
      parsed = JSON.parse(text);
    } catch {}
    return { status: r.status, body: parsed };
  };
}

/** POST /v1/invoke/{slug} on `node` with an API key; returns the status and parsed body. */
export function invoke(node: ClusterNode, slug: string, key: string, body: unknown = {}): Promise<{ status: number; body: any }> {
  return client(node, key)("POST", `/v1/invoke/${slug}`, body);
}

/**
 * Polls `probe` until it returns true or `timeoutMs` passes; returns the milliseconds it took
 * (from the call) and how many probes ran, or throws with the last value seen.
 */
export async function until(probe: () => Promise<boolean>, timeoutMs: number, what: string, intervalMs = 2): Promise<{ ms: number; probes: number }> {
  const t0 = performance.now();
  let probes = 0;
  for (;;) {
    probes++;
    if (await probe()) return { ms: performance.now() - t0, probes };
    if (performance.now() - t0 > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms (${probes} probes)`);
    await Bun.sleep(intervalMs);
  }
}
