/**
 * bench/peer.ts — cantrip next to a peer: the same trivial JSON backend served by workerd
 * (Cloudflare's open-source Workers runtime, V8 isolates, npm `workerd`) on a loopback
 * socket and by cantrip's invoke path (QuickJS in WebAssembly), measured in one run with
 * the same load generator. Figures (medians): warm throughput and p50/p99; memory per
 * loaded backend (RSS delta over N backends each loaded by one call: N workerd services in
 * one config vs N cantrip agents; and the second half's delta alone, without start-up and
 * warm-up); cold start (workerd: process start → first 2xx; cantrip:
 * deploy request → first 2xx, plus process restart → first 2xx). Ratios are cantrip/workerd.
 *
 *   bun bench/peer.ts [--seconds 5] [--rounds 3] [--connections 50] [--backends 50] [--cold 7] [--compiled] [--only warm|memory|cold] [--root DIR]
 * `--only X` runs that part alone (with its workerd baseline). `--root DIR` runs cantrip from
 * another checkout's source (e.g. an older commit exported with `git archive`, sharing this
 * checkout's node_modules) for a before/after against the same workerd figures.
 */
import { rmSync } from "node:fs";
import { trivialBackend, workerdTrivialModule } from "./lib/backends";
import { api, deployTrivial, startCantrip, type CantripProcess } from "./lib/cantrip-process";
import { cpus, loadavg } from "node:os";
import { fmt, median, pairedRatiosText, runLoad, type LoadResult } from "./lib/load";
import { mb, rssBytes } from "./lib/rss";
import { settled } from "./lib/proc-cpu";
import { startWorkerd } from "./lib/workerd";
import { flag, numberOpt, stringOpt } from "./lib/args";

const seconds = numberOpt("seconds", 5);
const rounds = numberOpt("rounds", 3);
const connections = numberOpt("connections", 50);
const backends = numberOpt("backends", 50);
const coldSamples = numberOpt("cold", 7);
const compiled = flag("compiled");
const only = stringOpt("only");
const root = stringOpt("root");
if (only !== undefined && !["warm", "memory", "cold"].includes(only)) throw new Error(`--only takes warm, memory or cold, not ${only}`);
const body = JSON.stringify({ n: 1 });
const cantripEnv = { CANTRIP_LOG_REQUESTS: "false" };

/** Median of a few RSS readings after a short settle, so one GC pause does not decide. */
async function settledRss(pid: number): Promise<number> {
  await Bun.sleep(1000);
  const xs: number[] = [];
  for (let i = 0; i < 5; i++) {
    xs.push(rssBytes(pid));
    await Bun.sleep(200);
  }
  return median(xs);
}

async function invokeUntilOk(p: CantripProcess, slug: string, key: string, timeoutMs = 30_000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (performance.now() < end) {
    const r = await fetch(`${p.url}/v1/invoke/${slug}`, { method: "POST", body, headers: { authorization: `Bearer ${key}`, "content-type": "application/json" } });
    await r.arrayBuffer();
    if (r.ok) return;
    await Bun.sleep(1);
  }
  throw new Error(`${slug} never answered 2xx`);
}

// 1. Warm throughput, alternating rounds.
async function throughput() {
  const w = await startWorkerd({ services: 1, module: workerdTrivialModule, body });
  // One agent takes all the connections: its queue must hold them all (default 8 running + 32
  // waiting), or the surplus is answered 429 and the figure measures refusals (as bench/invoke.ts).
  const c = await startCantrip({ env: { ...cantripEnv, CANTRIP_SANDBOX_AGENT_QUEUE: String(Math.max(32, connections * 2)) }, compiled, root });
  try {
    const { slug, key } = await deployTrivial(c, "peer trivial", trivialBackend(1));
    const wSpec = { url: w.urls[0]!, method: "POST", body, headers: { "content-type": "application/json" }, connections, seconds };
    const cSpec = { url: `${c.url}/v1/invoke/${slug}`, method: "POST", body, headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, connections, seconds };
    await runLoad({ ...wSpec, seconds: 1 });
    await runLoad({ ...cSpec, seconds: 1 });
    const wr: LoadResult[] = [];
    const cr: LoadResult[] = [];
    // The two take turns going first, each left to go quiet before the other runs (see
    // lib/load.ts pairedRatios: the one measured second in a round did worse in A/A runs).
    for (let r = 0; r < rounds; r++) {
      const workerdSide = async () => (wr.push(await runLoad(wSpec)), await settled(w.pid));
      const cantripSide = async () => (cr.push(await runLoad(cSpec)), await settled(c.child.pid!));
      for (const side of r % 2 === 0 ? [workerdSide, cantripSide] : [cantripSide, workerdSide]) await side();
    }
    return { wr, cr };
  } finally {
    await w.stop();
    await c.stop();
    rmSync(c.dataDir, { recursive: true, force: true });
  }
}

// 2. Memory per loaded backend: `rounds` rounds, each a fresh workerd pair and a fresh cantrip.
async function memory() {
  const rs: Awaited<ReturnType<typeof memoryRound>>[] = [];
  for (let r = 0; r < rounds; r++) rs.push(await memoryRound());
  return rs;
}

/** Half the backends: the marginal figure is the second half's RSS delta (no process start-up or warm-up in it). */
const half = Math.floor(backends / 2);

async function memoryRound() {
  const w1 = await startWorkerd({ services: 1, module: workerdTrivialModule, body });
  const wBase = await settledRss(w1.pid);
  await w1.stop();
  const wH = await startWorkerd({ services: half + 1, module: workerdTrivialModule, body });
  const wHalf = await settledRss(wH.pid);
  await wH.stop();
  const wN = await startWorkerd({ services: backends + 1, module: workerdTrivialModule, body });
  const wLoaded = await settledRss(wN.pid);
  await wN.stop();

  const c = await startCantrip({ env: cantripEnv, compiled, root });
  try {
    const first = await deployTrivial(c, "mem 0", trivialBackend(1));
    await invokeUntilOk(c, first.slug, first.key);
    const cBase = await settledRss(c.child.pid!);
    const more: { slug: string; key: string }[] = [];
    let cHalf = NaN;
    for (let i = 1; i <= backends; i++) {
      more.push(await deployTrivial(c, `mem ${i}`, trivialBackend(1)));
      // A deploy warms one instance of the new version (deployer.ts), so these are loaded already.
      if (i === half) cHalf = await settledRss(c.child.pid!);
    }
    const cDeployed = await settledRss(c.child.pid!);
    for (const a of more) await invokeUntilOk(c, a.slug, a.key);
    const cLoaded = await settledRss(c.child.pid!);
    return { wBase, wHalf, wLoaded, cBase, cHalf, cDeployed, cLoaded };
  } finally {
    await c.stop();
    rmSync(c.dataDir, { recursive: true, force: true });
  }
}

// 3. Cold start.
async function coldStart() {
  const wMs: number[] = [];
  for (let i = 0; i < coldSamples; i++) {
    const w = await startWorkerd({ services: 1, module: workerdTrivialModule, body });
    wMs.push(w.firstOkMs);
    await w.stop();
  }
  const c = await startCantrip({ env: cantripEnv, compiled, root });
  const deployMs: number[] = [];
  const uploadMs: number[] = [];
  let keep: { slug: string; key: string } | undefined;
  try {
    for (let i = 0; i < coldSamples; i++) {
      const t0 = performance.now();
      const created = await api(c, "POST", "/v1/agents", { name: `cold ${i}`, files: { "index.ts": trivialBackend(1) }, entrypoint: "index.ts" });
      if (created.status !== 201) throw new Error(`upload: ${JSON.stringify(created)}`);
      const { id, slug } = created.data.agent;
      const key = (await api(c, "POST", `/v1/agents/${id}/api-keys`, { name: "cold" })).data.key;
      const t1 = performance.now();
      const dep = await api(c, "POST", `/v1/deploy/${id}`);
      if (dep.status !== 202) throw new Error(`deploy: ${JSON.stringify(dep)}`);
      await invokeUntilOk(c, slug, key);
      const t2 = performance.now();
      deployMs.push(t2 - t1);
      uploadMs.push(t2 - t0);
      keep = { slug, key };
    }
  } finally {
    await c.stop();
  }
  // cantrip process start → first 2xx of an agent deployed before the restart.
  const restartMs: number[] = [];
  try {
    for (let i = 0; i < coldSamples; i++) {
      const t0 = performance.now();
      // Polls the kept agent's invoke itself (not /healthz, which waits for the control plane).
      const invokeOk = async (url: string) => {
        const res = await fetch(`${url}/v1/invoke/${keep!.slug}`, { method: "POST", body, headers: { authorization: `Bearer ${keep!.key}`, "content-type": "application/json" } });
        await res.arrayBuffer();
        return res.ok;
      };
      const r = await startCantrip({ env: cantripEnv, compiled, root, dataDir: c.dataDir, pollMs: 2, ready: invokeOk });
      restartMs.push(performance.now() - t0);
      await r.stop();
    }
  } finally {
    rmSync(c.dataDir, { recursive: true, force: true });
  }
  return { wMs, deployMs, uploadMs, restartMs };
}

const loadBefore = loadavg()[0]!;
const tp = only === undefined || only === "warm" ? await throughput() : null;
const mem = only === undefined || only === "memory" ? await memory() : null;
const cold = only === undefined || only === "cold" ? await coldStart() : null;

const med = (rs: LoadResult[], k: "rps" | "p50" | "p99") => median(rs.map((x) => x[k]));
const row = (name: string, rs: LoadResult[]) =>
  `${name.padEnd(30)} ${fmt(med(rs, "rps"), 0).padStart(9)} req/s   p50 ${fmt(med(rs, "p50")).padStart(6)} ms   p99 ${fmt(med(rs, "p99")).padStart(6)} ms   errors ${rs.reduce((n, x) => n + x.errors + x.non2xx, 0)}`;
console.log(`\nmachine: ${cpus().length} cores; 1-min load average ${fmt(loadBefore)} before, ${fmt(loadavg()[0]!)} after (figures are only comparable on a quiet machine)`);
console.log(`peer benchmark: cantrip ${compiled ? "(compiled executable)" : "(bun src/main.ts)"} vs workerd (one process, one thread of JS), same machine, loopback`);
if (tp) {
  console.log(`\nwarm throughput — load: ${tp.cr[0]!.tool}, ${connections} connections, ${seconds}s x ${rounds} rounds (medians)`);
  console.log(row("workerd (baseline)", tp.wr));
  console.log(row("cantrip POST /v1/invoke", tp.cr));
  console.log(`ratio cantrip/workerd: throughput ${fmt(med(tp.cr, "rps") / med(tp.wr, "rps"), 2)}x, p50 ${fmt(med(tp.cr, "p50") / med(tp.wr, "p50"), 2)}x, p99 ${fmt(med(tp.cr, "p99") / med(tp.wr, "p99"), 2)}x`);
  console.log(`throughput cantrip/workerd per round: ${tp.cr.map((x, i) => fmt(x.rps / tp.wr[i]!.rps, 2) + "x").join(" ")} (workerd first in rounds 1, 3, …); per pair of rounds (both orders): ${pairedRatiosText(tp.cr, tp.wr)}`);
}
if (mem) {
  const wPer = mem.map((m) => (m.wLoaded - m.wBase) / backends);
  const cPer = mem.map((m) => (m.cLoaded - m.cBase) / backends);
  const cDep = mem.map((m) => (m.cDeployed - m.cBase) / backends);
  const mbs = (xs: number[]) => xs.map((x) => fmt(mb(x), 2)).join(" ");
  const last = mem[mem.length - 1]!;
  console.log(`\nmemory per loaded backend — RSS delta over ${backends} backends, each loaded by one call (each reading the median of 5); medians of ${rounds} rounds`);
  console.log(`workerd (baseline)  1 service ${fmt(mb(last.wBase), 1)} MB → ${backends + 1} services ${fmt(mb(last.wLoaded), 1)} MB   = ${fmt(mb(median(wPer)), 2)} MB per backend (rounds: ${mbs(wPer)})`);
  console.log(`cantrip             1 agent ${fmt(mb(last.cBase), 1)} MB → ${backends + 1} agents ${fmt(mb(last.cLoaded), 1)} MB   = ${fmt(mb(median(cPer)), 2)} MB per backend (rounds: ${mbs(cPer)}; deployed, not yet called: ${fmt(mb(median(cDep)), 2)} MB)`);
  console.log(`ratio cantrip/workerd: memory per backend ${fmt(median(cPer) / median(wPer), 2)}x (per round: ${cPer.map((c, i) => fmt(c / wPer[i]!, 2)).join(" ")})`);
  // The second half alone: what one more backend costs once both processes are warm.
  const wMarg = mem.map((m) => (m.wLoaded - m.wHalf) / (backends - half));
  const cMarg = mem.map((m) => (m.cDeployed - m.cHalf) / (backends - half));
  console.log(`marginal, backends ${half + 1}–${backends}: workerd ${fmt(mb(median(wMarg)), 2)} MB (rounds: ${mbs(wMarg)}), cantrip ${fmt(mb(median(cMarg)), 2)} MB (deployed, each warmed by its deploy; rounds: ${mbs(cMarg)}); ratio ${fmt(median(cMarg) / median(wMarg), 2)}x`);
}

if (cold) {
  console.log(`\ncold start — median of ${coldSamples}`);
  console.log(`workerd (baseline)  process start → first 2xx           ${fmt(median(cold.wMs), 1)} ms   (samples ${cold.wMs.map((x) => fmt(x, 0)).join(" ")})`);
  console.log(`cantrip             deploy request → first 2xx          ${fmt(median(cold.deployMs), 1)} ms   (samples ${cold.deployMs.map((x) => fmt(x, 0)).join(" ")})`);
  console.log(`cantrip             upload + key + deploy → first 2xx   ${fmt(median(cold.uploadMs), 1)} ms`);
  console.log(`cantrip             process start → first 2xx           ${fmt(median(cold.restartMs), 1)} ms`);
  console.log(`ratio cantrip/workerd: cold start (deploy → first 2xx vs process start → first 2xx) ${fmt(median(cold.deployMs) / median(cold.wMs), 2)}x; process start vs process start ${fmt(median(cold.restartMs) / median(cold.wMs), 2)}x`);
}
