/**
 * workerd (Cloudflare's open-source Workers runtime, npm `workerd`) as the peer in
 * bench/peer.ts: writes a minimal Cap'n Proto config with N services running the same
 * module, each on its own loopback socket, starts `workerd serve` and waits until every
 * socket answers. Reports the time from process start to the first successful response
 * (its cold start) and exposes the pid for RSS readings.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./cantrip-process";

const ROOT = join(import.meta.dir, "..", "..");

export function workerdBinary(): string {
  for (const p of [join(ROOT, "node_modules", "@cloudflare", "workerd-linux-64", "bin", "workerd"), join(ROOT, "node_modules", ".bin", "workerd")])
    if (existsSync(p)) return p;
  throw new Error("workerd is not installed: run `bun add --exact -d workerd`");
}

export interface WorkerdProcess {
  urls: string[];
  pid: number;
  /** ms from spawn to the first 2xx from the first service. */
  firstOkMs: number;
  stop(): Promise<void>;
}

export function workerdConfig(services: number, ports: number[], moduleFile: string, compatibilityDate = "2024-09-01"): string {
  const idx = Array.from({ length: services }, (_, i) => i);
  return [
    `using Workerd = import "/workerd/workerd.capnp";`,
    `const config :Workerd.Config = (`,
    `  services = [ ${idx.map((i) => `(name = "s${i}", worker = .w${i})`).join(", ")} ],`,
    `  sockets = [ ${idx.map((i) => `(name = "h${i}", address = "127.0.0.1:${ports[i]}", http = (), service = "s${i}")`).join(", ")} ],`,
    `);`,
    ...idx.map((i) => `const w${i} :Workerd.Worker = ( modules = [ (name = "worker", esModule = embed ${JSON.stringify(moduleFile)}) ], compatibilityDate = "${compatibilityDate}" );`),
    "",
  ].join("\n");
}

async function firstOk(url: string, body: string, deadline: number, exited: () => boolean): Promise<void> {
  while (performance.now() < deadline) {
    if (exited()) throw new Error("workerd exited before serving");
    try {
      const r = await fetch(url, { method: "POST", body, headers: { "content-type": "application/json" } });
      await r.arrayBuffer();
      if (r.ok) return;
    } catch {}
    await Bun.sleep(2);
  }
  throw new Error(`workerd did not answer on ${url}`);
}

export interface WorkerdOptions {
  services: number;
  module: string;
  body?: string;
  timeoutMs?: number;
}

/** Starts workerd; retries with fresh ports when another process took one between probe and bind. */
export async function startWorkerd(opts: WorkerdOptions): Promise<WorkerdProcess> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts);
    } catch (e) {
      if (attempt >= 3 || !/Address already in use/.test((e as Error).message)) throw e;
    }
  }
}

async function startOnce(opts: WorkerdOptions): Promise<WorkerdProcess> {
  const dir = mkdtempSync(join(tmpdir(), "workerd-peer-"));
  writeFileSync(join(dir, "worker.js"), opts.module);
  const taken = new Set<number>();
  while (taken.size < opts.services) taken.add(await freePort());
  const ports = [...taken];
  writeFileSync(join(dir, "config.capnp"), workerdConfig(opts.services, ports, "worker.js"));
  const body = opts.body ?? "{}";
  const t0 = performance.now();
  const child = spawn(workerdBinary(), ["serve", join(dir, "config.capnp")], { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (d) => (stderr += d));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const urls = ports.map((p) => `http://127.0.0.1:${p}/`);
  const deadline = t0 + (opts.timeoutMs ?? 30_000);
  try {
    await firstOk(urls[0]!, body, deadline, () => child.exitCode !== null);
  } catch (e) {
    child.kill("SIGKILL");
    throw new Error(`${(e as Error).message}: ${stderr.slice(0, 2000)}`);
  }
  const firstOkMs = performance.now() - t0;
  for (const u of urls.slice(1)) await firstOk(u, body, deadline, () => child.exitCode !== null);
  return {
    urls,
    pid: child.pid!,
    firstOkMs,
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(t);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
