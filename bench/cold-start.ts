/**
 * bench/cold-start.ts — cantrip's cold start against older code and workerd, in one run
 * (issue 15). For this tree and `--against REF` (an exported commit sharing this checkout's
 * node_modules), alternating side by side, sample by sample:
 *   - deploy request → first 2xx of the deployed agent (one long-lived server per side; each
 *     sample uploads an agent and creates a key first, then times the deploy alone);
 *   - process start → first 2xx of an agent deployed before the restart (the data dir of that
 *     server; the client retries every 2 ms from spawn on, refused connections included);
 *   - process start → /readyz 200 (a second restart; what an orchestrator waits for).
 * With the CPU each side's process had used when its first 2xx arrived (main thread, sandbox
 * workers, the rest; from /proc schedstat), steadier than time on a shared machine.
 * Plus workerd's process start → first 2xx as the peer baseline (bench/lib/workerd.ts).
 * Medians, every sample, ratios this/REF and this/workerd, and the 1-minute load average.
 *
 *   bun bench/cold-start.ts [--against main] [--samples 5] [--compiled]
 * `--compiled` builds both trees' executables (scripts/build.ts) and starts those.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { trivialBackend, workerdTrivialModule } from "./lib/backends";
import { api, deployTrivial, exportCommit, freePort, type CantripProcess } from "./lib/cantrip-process";
import { fmt, median } from "./lib/load";
import { startWorkerd } from "./lib/workerd";
import { flag, numberOpt, stringOpt } from "./lib/args";
import { threadCpuMs } from "./lib/proc-cpu";

const ROOT = join(import.meta.dir, "..");
const against = stringOpt("against") ?? "main";
const samples = numberOpt("samples", 5);
const compiled = flag("compiled");
const body = JSON.stringify({ n: 1 });
const env = { CANTRIP_LOG_REQUESTS: "false" };

interface Side {
  name: string;
  root: string;
  cmd: string[];
  deployMs: number[];
  restartMs: number[];
  /** The process's CPU (ms, per thread group) when its first 2xx arrived, one per restart sample. */
  restartCpu: ReturnType<typeof threadCpuMs>[];
  readyMs: number[];
  server?: CantripProcess;
  kept?: { slug: string; key: string };
}

function build(root: string): void {
  const r = spawnSync(process.execPath, ["scripts/build.ts"], { cwd: root, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`build in ${root} failed: ${r.stderr}`);
}

function side(name: string, root: string): Side {
  if (compiled) build(root);
  const cmd = compiled ? [join(root, "dist", "cantrip")] : [process.execPath, join(root, "src", "main.ts")];
  return { name, root, cmd, deployMs: [], restartMs: [], restartCpu: [], readyMs: [] };
}

const invoke = (url: string, k: { slug: string; key: string }) =>
  fetch(`${url}/v1/invoke/${k.slug}`, { method: "POST", body, headers: { authorization: `Bearer ${k.key}`, "content-type": "application/json" } });

/** Retries `probe` every `everyMs` until it answers true; throws after `timeoutMs`. */
async function until(probe: () => Promise<boolean>, everyMs: number, timeoutMs = 30_000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (performance.now() < end) {
    try {
      if (await probe()) return;
    } catch {}
    await Bun.sleep(everyMs);
  }
  throw new Error("no answer in time");
}

/** One deploy sample on the side's running server: upload + key (untimed), then deploy → first 2xx. */
async function deploySample(s: Side, i: number): Promise<void> {
  const c = s.server!;
  const created = await api(c, "POST", "/v1/agents", { name: `cold ${i}`, files: { "index.ts": trivialBackend(1) }, entrypoint: "index.ts" });
  if (created.status !== 201) throw new Error(`${s.name}: upload: ${JSON.stringify(created)}`);
  const { id, slug } = created.data.agent;
  const key = (await api(c, "POST", `/v1/agents/${id}/api-keys`, { name: "cold" })).data.key;
  await Bun.sleep(200); // let the upload's own work settle, as between two operator actions
  const t0 = performance.now();
  const dep = await api(c, "POST", `/v1/deploy/${id}`);
  if (dep.status !== 202) throw new Error(`${s.name}: deploy: ${JSON.stringify(dep)}`);
  await until(async () => {
    const r = await invoke(c.url, { slug, key });
    await r.arrayBuffer();
    return r.ok;
  }, 1);
  s.deployMs.push(performance.now() - t0);
}

/** Process start → the first `probe` that answers true (the process is stopped after). */
async function restartSample(s: Side, dataDir: string, probe: (url: string) => Promise<boolean>, cpu?: ReturnType<typeof threadCpuMs>[]): Promise<number> {
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(s.cmd[0]!, [...s.cmd.slice(1), "serve", "--port", String(port), "--data-dir", dataDir, "--log-requests", "false"], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "ignore", "ignore"],
  });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  try {
    await until(() => probe(`http://127.0.0.1:${port}`), 2);
    const ms = performance.now() - t0;
    cpu?.push(threadCpuMs(child.pid!));
    return ms;
  } finally {
    child.kill("SIGTERM");
    await exited;
  }
}

const loadBefore = loadavg()[0]!;
const refRoot = exportCommit(against);
const sides = [side("this tree", ROOT), side(against, refRoot)];
const workerdMs: number[] = [];
try {
  for (const s of sides) {
    s.server = await startServer(s);
    s.kept = await deployTrivial(s.server, "cold start kept", trivialBackend(1));
  }
  for (let i = 0; i < samples; i++) {
    const order = i % 2 === 0 ? sides : [...sides].reverse();
    for (const s of order) await deploySample(s, i);
  }
  for (const s of sides) await s.server!.stop();
  for (let i = 0; i < samples; i++) {
    const w = await startWorkerd({ services: 1, module: workerdTrivialModule, body });
    workerdMs.push(w.firstOkMs);
    await w.stop();
    const order = i % 2 === 0 ? sides : [...sides].reverse();
    for (const s of order) {
      s.restartMs.push(
        await restartSample(s, s.server!.dataDir, async (url) => {
          const r = await invoke(url, s.kept!);
          await r.arrayBuffer();
          return r.ok;
        }, s.restartCpu),
      );
      s.readyMs.push(await restartSample(s, s.server!.dataDir, async (url) => (await fetch(`${url}/readyz`)).status === 200));
    }
  }
} finally {
  for (const s of sides) {
    await s.server?.stop().catch(() => {});
    if (s.server) rmSync(s.server.dataDir, { recursive: true, force: true });
  }
  rmSync(refRoot, { recursive: true, force: true });
}

/** The side's server (source or executable) on a fresh data dir, as startCantrip starts it. */
async function startServer(s: Side): Promise<CantripProcess> {
  if (!existsSync(s.cmd[s.cmd.length - 1]!)) throw new Error(`${s.cmd.join(" ")}: missing`);
  const dataDir = mkdtempSync(join(tmpdir(), "cantrip-bench-"));
  const port = await freePort();
  const child = spawn(s.cmd[0]!, [...s.cmd.slice(1), "serve", "--port", String(port), "--data-dir", dataDir, "--log-requests", "false"], { env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "ignore"] });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const url = `http://127.0.0.1:${port}`;
  await until(async () => (await fetch(`${url}/healthz`)).ok, 20);
  const token = readFileSync(join(dataDir, "admin-token"), "utf8").trim();
  const stop = async () => {
    if (child.exitCode === null) child.kill("SIGTERM");
    await exited;
  };
  return { url, port, dataDir, token, child, stderr: () => "", stop, kill9: stop };
}

const w = median(workerdMs);
const [me, ref] = sides as [Side, Side];
const line = (label: string, pick: (s: Side) => number[]) => {
  const a = median(pick(me));
  const b = median(pick(ref));
  console.log(`${label.padEnd(34)} this ${fmt(a, 1).padStart(7)} ms   ${against} ${fmt(b, 1).padStart(7)} ms   this/${against} ${fmt(a / b, 2)}x   this/workerd ${fmt(a / w, 2)}x`);
  console.log(`${"".padEnd(34)} samples this [${pick(me).map((x) => fmt(x, 0)).join(" ")}]  ${against} [${pick(ref).map((x) => fmt(x, 0)).join(" ")}]`);
};
console.log(`\nmachine: ${cpus().length} cores; 1-min load average ${fmt(loadBefore)} before, ${fmt(loadavg()[0]!)} after`);
console.log(`cold start, ${compiled ? "compiled executables" : "bun src/main.ts"}, medians of ${samples} alternating samples`);
console.log(`workerd (peer)  process start → first 2xx   ${fmt(w, 1)} ms   [${workerdMs.map((x) => fmt(x, 0)).join(" ")}]`);
line("deploy request → first 2xx", (s) => s.deployMs);
line("process start → first 2xx", (s) => s.restartMs);
line("process start → /readyz 200", (s) => s.readyMs);
// CPU is steadier than time on a shared machine: what each side had spent when its first 2xx arrived.
const cpuLine = (s: Side) => {
  const m = (pick: (c: ReturnType<typeof threadCpuMs>) => number) => fmt(median(s.restartCpu.map(pick)), 1);
  return `main ${m((c) => c.main)} + workers ${m((c) => c.workers)} + other ${m((c) => c.other)} = ${m((c) => c.main + c.workers + c.other)} ms (main thread waited for a CPU ${m((c) => c.mainWaitMs)} ms)`;
};
console.log(`CPU at the first 2xx after a start, medians:\n  this            ${cpuLine(me)}\n  ${against.padEnd(15)} ${cpuLine(ref)}`);
process.exit(0);
