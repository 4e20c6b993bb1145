/**
 * bench/zombie-threads.ts — what watchdog-killed QuickJS workers cost a bystander. A killed
 * worker's thread runs on until its guest reaches the next interrupt poll
 * (src/runtime/quickjs/worker-slot.ts); since the fix it runs at nice 19. Each round
 * measures a bystander agent's CPU-bound calls (one caller, back to back) for `--seconds`
 * with no zombie (baseline), then lets three other agents each run
 * `const a = new Array(1e6).fill(1); for (;;) a.indexOf(2);` into a watchdog kill (cpuMs
 * 1000; each leaves a thread that runs ~15-25 s at full speed) and measures the bystander
 * again at once. Prints calls/s and p50 per phase, the ratio with/without zombies, the
 * threads at nice 19 that used CPU in the window and their share, and the load average.
 *
 * `--against REF` first runs the same measurement on commit REF (exported), then on this
 * checkout, in the same run.
 *
 *   bun bench/zombie-threads.ts [--seconds 4] [--rounds 3] [--against main]
 */
import { loadavg } from "node:os";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { exportCommit } from "./lib/cantrip-process";
import { numberOpt, stringOpt } from "./lib/args";

const seconds = numberOpt("seconds", 4);
const rounds = numberOpt("rounds", 3);
const against = stringOpt("against");
const root = stringOpt("root") ?? join(import.meta.dir, "..");

if (against) {
  const dir = exportCommit(against);
  console.log(`== ${against} (exported to ${dir})`);
  spawnSync("bun", [import.meta.path, "--root", dir, "--seconds", String(seconds), "--rounds", String(rounds)], { stdio: "inherit", cwd: dir });
  console.log("== this checkout");
}

const { createRuntime, quickjsEngine, defaultLimits } = await import(join(root, "src/runtime"));
const esbuild = await import("esbuild");
const bundle = async (code: string) =>
  (await esbuild.build({ stdin: { contents: code, loader: "ts" }, bundle: true, format: "esm", write: false, external: ["cantrip"] })).outputFiles[0]!.text;
let seq = 0;
const ref = (code: string, limits = {}) => {
  const agentId = `z${++seq}`;
  return { agentId, bundleId: `b${seq}`, code, config: { agentId, limits: { ...defaultLimits, ...limits }, allowedHosts: [], secrets: [] } };
};
const kv = { get: async () => null, set: async () => {}, delete: async () => {}, list: async () => ({ keys: [] }) };
const rt = createRuntime({ workers: 2, memoryBudgetBytes: 2 * 1024 ** 3, kv, secrets: () => null, egress: {}, engine: quickjsEngine });
const post = () => ({ method: "POST", url: "http://agent.cantrip.internal/", headers: [["content-type", "application/json"]], body: new TextEncoder().encode("{}") });

/** Per-thread CPU ticks and nice value. */
function threads(): Map<string, { ticks: number; nice: number }> {
  const out = new Map<string, { ticks: number; nice: number }>();
  for (const t of readdirSync("/proc/self/task")) {
    try {
      const s = readFileSync(`/proc/self/task/${t}/stat`, "utf8");
      const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
      out.set(t, { ticks: Number(f[11]) + Number(f[12]), nice: Number(f[16]) });
    } catch {}
  }
  return out;
}

const bystander = ref(await bundle(`import { defineBackend } from "cantrip";
export default defineBackend({ routes: { "POST /": () => { let s = 0; for (let i = 0; i < 200000; i++) s = (s + i * 7) % 1000003; return { s }; } } });`));
const loop = await bundle(`import { defineBackend } from "cantrip";
export default defineBackend({ routes: { "POST /": () => { const a = new Array(1e6).fill(1); for (;;) a.indexOf(2); } } });`);

async function window(label: string): Promise<{ rate: number; p50: number }> {
  const a = threads();
  const lat: number[] = [];
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const t0 = performance.now();
    await rt.fetch(bystander, post());
    lat.push(performance.now() - t0);
  }
  const b = threads();
  const niced = [...b].filter(([t, v]) => v.nice === 19 && v.ticks - (a.get(t)?.ticks ?? v.ticks) > 0);
  const zticks = niced.reduce((n, [t, v]) => n + v.ticks - (a.get(t)?.ticks ?? v.ticks), 0);
  lat.sort((x, y) => x - y);
  const rate = lat.length / seconds;
  const p50 = lat[Math.floor(lat.length / 2)]!;
  const z = rt.stats().zombieThreads;
  console.log(`  ${label}: ${rate.toFixed(1)} calls/s, p50 ${p50.toFixed(1)} ms; nice-19 threads busy: ${niced.length} (${(zticks / seconds).toFixed(0)}% of a core)${z === undefined ? "" : `; zombieThreads now ${z}`}`);
  return { rate, p50 };
}

/** Waits until no thread but the bystander's keeps burning CPU (the zombies have ended). */
async function settle(): Promise<void> {
  for (let i = 0; i < 90; i++) {
    const a = threads();
    await Bun.sleep(1000);
    const busy = [...threads()].filter(([t, v]) => v.ticks - (a.get(t)?.ticks ?? v.ticks) > 20).length;
    if (busy === 0) return;
  }
}

for (let i = 0; i < 3; i++) await rt.fetch(bystander, post());
const ratios: number[] = [];
for (let r = 0; r < rounds; r++) {
  await settle();
  console.log(`round ${r + 1} (load ${loadavg().map((x) => x.toFixed(2)).join(" ")})`);
  const quiet = await window("no zombie   ");
  for (let i = 0; i < 3; i++) {
    const culprit = ref(loop, { cpuMs: 1000 });
    const e = await rt.fetch(culprit, post()).catch((e: { details?: { reason?: string }; message: string }) => e);
    if ((e as { details?: { reason?: string } }).details?.reason !== "cpu_timeout") console.log("  culprit ended unexpectedly:", (e as Error).message);
  }
  const noisy = await window("3 zombies   ");
  ratios.push(noisy.rate / quiet.rate);
}
ratios.sort((a, b) => a - b);
console.log(`bystander calls/s with 3 zombies / without, median of ${rounds}: ${ratios[Math.floor(ratios.length / 2)]!.toFixed(2)} (load ${loadavg().map((x) => x.toFixed(2)).join(" ")})`);
await settle();
await rt.close();
