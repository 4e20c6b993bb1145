/**
 * bench/noisy-neighbor.ts — issue 13 §3: a light agent's latency alone and while a heavy
 * agent saturates everything the scheduler allows it, in the same run, through the real
 * server (`POST /v1/invoke`). Each round measures the light agent quiet (baseline), then
 * starts the heavy agent — `--heavy` concurrent callers (default 48: its 8 running + 32
 * queued calls, and more that are refused), each call burning ~950 ms of CPU inside the
 * 1 s limit — lets it settle, and measures the light agent again. Prints per-round and
 * median p50/p99, the ratio noisy/quiet p99 (target ≤ 3x), the light agent's failures
 * (target 0), what the heavy agent got, and the load average.
 *
 * Then the tenant phase: another workspace's five agents send 8 calls each that only wait
 * on a 9 s timer (40 calls, more than the light lane's 32 slots with 2 workers), and the
 * light agent, in the first workspace, is measured again while they wait. Its failures
 * there count against the same target (before the workspace share, every one of its calls
 * waited 5 s and got 503 sandbox_busy).
 *
 * `--against REF` first runs everything on commit REF (exported; e.g. `main`), then on this
 * checkout, in the same run, and prints both.
 *
 *   bun bench/noisy-neighbor.ts [--seconds 5] [--rounds 3] [--light 2] [--heavy 48] [--against main] [--compiled]
 */
import { loadavg } from "node:os";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { deployTrivial, exportCommit, startCantrip, type CantripProcess } from "./lib/cantrip-process";
import { flag, numberOpt, stringOpt } from "./lib/args";
import { fmt, median } from "./lib/load";

const seconds = numberOpt("seconds", 5);
const rounds = numberOpt("rounds", 3);
const lightConns = numberOpt("light", 2);
const heavyConns = numberOpt("heavy", 48);

const LIGHT = `
import { defineBackend, t } from "cantrip";
export default defineBackend({ routes: { "POST /": { input: t.Object({ n: t.Number() }), handle: async ({ n }, ctx) => {
  const seen = ((await ctx.kv.get("seen")) ?? 0) + 1;
  await ctx.kv.set("seen", seen);
  return { double: n * 2, seen };
} } } });`;

const HEAVY = `
import { defineBackend, t } from "cantrip";
export default defineBackend({ routes: { "POST /": { input: t.Object({ ms: t.Number() }), handle: ({ ms }) => {
  const t0 = Date.now(); let n = 0;
  while (Date.now() - t0 < ms) n++;
  return { n };
} } } });`;

const SLEEPER = `
import { defineBackend } from "cantrip";
export default defineBackend({ routes: { "POST /": { handle: async () => { await new Promise((r) => setTimeout(r, 9000)); return { ok: true }; } } } });`;

const pct = (xs: number[], p: number) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]! : NaN);

interface Phase {
  p50: number;
  p99: number;
  n: number;
  failures: number;
}

async function callLoop(url: string, key: string, body: string, until: () => boolean, onDone: (ms: number, status: number) => void, pauseOnRefusal = 0): Promise<void> {
  while (!until()) {
    const t0 = performance.now();
    let status = 0;
    try {
      const r = await fetch(url, { method: "POST", body, headers: { authorization: `Bearer ${key}`, "content-type": "application/json" } });
      await r.arrayBuffer();
      status = r.status;
    } catch {
      status = 0;
    }
    onDone(performance.now() - t0, status);
    if (pauseOnRefusal && (status === 429 || status === 503)) await Bun.sleep(pauseOnRefusal);
  }
}

async function measureLight(url: string, key: string): Promise<Phase> {
  const lat: number[] = [];
  let failures = 0;
  const end = performance.now() + seconds * 1000;
  await Promise.all(Array.from({ length: lightConns }, () => callLoop(url, key, JSON.stringify({ n: 21 }), () => performance.now() > end, (ms, s) => (s === 200 ? lat.push(ms) : failures++))));
  return { p50: pct(lat, 50), p99: pct(lat, 99), n: lat.length, failures };
}

/** A second workspace with a platform token, made in the server's database (as `cantrip workspace create` does). */
async function secondWorkspace(p: CantripProcess): Promise<CantripProcess> {
  const { createWorkspace } = await import("../src/auth");
  const { openDatabase } = await import("../src/db");
  const { db, close } = openDatabase(join(p.dataDir, "cantrip.db"));
  try {
    const token = (await createWorkspace(db, "noisy bench tenant")).token.token;
    return { ...p, token };
  } finally {
    close();
  }
}

async function run(label: string, root?: string): Promise<void> {
  const cantrip = await startCantrip({ compiled: flag("compiled"), root });
  try {
    const light = await deployTrivial(cantrip, "noisy bench light", LIGHT);
    const heavy = await deployTrivial(cantrip, "noisy bench heavy", HEAVY);
    const lightUrl = `${cantrip.url}/v1/invoke/${light.slug}`;
    const heavyUrl = `${cantrip.url}/v1/invoke/${heavy.slug}`;
    // Warm the light agent's instance and the connection pool.
    await measureLight(lightUrl, light.key);

    const quiet: Phase[] = [];
    const noisy: Phase[] = [];
    const loads: number[] = [];
    for (let r = 0; r < rounds; r++) {
      quiet.push(await measureLight(lightUrl, light.key));
      let stop = false;
      const counts: Record<string, number> = {};
      const hogs = Array.from({ length: heavyConns }, () => callLoop(heavyUrl, heavy.key, JSON.stringify({ ms: 950 }), () => stop, (_, s) => (counts[s] = (counts[s] ?? 0) + 1), 100));
      await Bun.sleep(2000); // the heavy agent fills everything it may have
      noisy.push(await measureLight(lightUrl, light.key));
      loads.push(loadavg()[0]!);
      stop = true;
      await Promise.all(hogs);
      const q = quiet[r]!;
      const n = noisy[r]!;
      console.log(`[${label}] round ${r + 1}: quiet p50 ${fmt(q.p50)} ms p99 ${fmt(q.p99)} ms (${q.n} calls, ${q.failures} failed) | noisy p50 ${fmt(n.p50)} ms p99 ${fmt(n.p99)} ms (${n.n} calls, ${n.failures} failed) | heavy agent got ${JSON.stringify(counts)} | load ${fmt(loads[r]!)}`);
    }

    // The tenant phase: another workspace's calls that only wait on timers.
    const tenant = await secondWorkspace(cantrip);
    const sleepers = [];
    for (let i = 0; i < 5; i++) sleepers.push(await deployTrivial(tenant, `noisy bench sleeper ${i}`, SLEEPER));
    const sleep = (x: { slug: string; key: string }) => fetch(`${cantrip.url}/v1/invoke/${x.slug}`, { method: "POST", body: "{}", headers: { authorization: `Bearer ${x.key}`, "content-type": "application/json" } }).then((r) => r.status, () => 0);
    await Promise.all(sleepers.map(sleep)); // one call each first: no sleeper on probation
    const quietT = await measureLight(lightUrl, light.key);
    const parked = sleepers.flatMap((x) => Array.from({ length: 8 }, () => sleep(x)));
    await Bun.sleep(500);
    const waitT = await measureLight(lightUrl, light.key);
    const tenantLoad = loadavg()[0]!;
    const sleeperStatus: Record<string, number> = {};
    for (const st of await Promise.all(parked)) sleeperStatus[st] = (sleeperStatus[st] ?? 0) + 1;

    const m = (xs: Phase[], k: "p50" | "p99") => median(xs.map((x) => x[k]));
    const ratio = m(noisy, "p99") / m(quiet, "p99");
    const failures = noisy.reduce((n, x) => n + x.failures, 0) + quiet.reduce((n, x) => n + x.failures, 0);
    console.log(`\n[${label}] noisy neighbour — ${rounds} rounds × ${seconds} s, light agent ${lightConns} callers, heavy agent ${heavyConns} callers × 950 ms CPU (medians)`);
    console.log(`[${label}] light agent alone (baseline):  p50 ${fmt(m(quiet, "p50"))} ms  p99 ${fmt(m(quiet, "p99"))} ms`);
    console.log(`[${label}] light agent next to heavy:     p50 ${fmt(m(noisy, "p50"))} ms  p99 ${fmt(m(noisy, "p99"))} ms`);
    console.log(`[${label}] p99 ratio noisy/quiet: ${fmt(ratio)}x (target ≤ 3x) — light-agent failures: ${failures} (target 0)`);
    console.log(`[${label}] 1-minute load average during the noisy phases: ${loads.map((l) => fmt(l)).join(", ")} on ${navigator.hardwareConcurrency} cores`);
    console.log(`[${label}] tenant phase — another workspace's 40 calls waiting on 9 s timers: light agent alone p50 ${fmt(quietT.p50)} ms p99 ${fmt(quietT.p99)} ms (${quietT.n} calls); while they wait p50 ${fmt(waitT.p50)} ms p99 ${fmt(waitT.p99)} ms (${waitT.n} answered, ${waitT.failures} failed, target 0) | sleepers got ${JSON.stringify(sleeperStatus)} | load ${fmt(tenantLoad)}\n`);
  } finally {
    await cantrip.stop();
  }
}

const against = stringOpt("against");
if (against) {
  const dir = exportCommit(against);
  try {
    await run(against, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
await run(against ? "this checkout" : "cantrip");
