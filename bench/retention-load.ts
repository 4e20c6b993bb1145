/**
 * bench/retention-load.ts — invoke throughput and latency under sustained load while the
 * retention passes delete what the load adds (issue 15). One trivial backend takes all the
 * connections for `--seconds` (wrk, windows of 5 s); at ~25,000 calls/s the per-agent row
 * cap (default 10,000) makes each pass delete ~25,000 rows per second of the interval. The
 * baseline, in the same run: the same tree with the row cap off (CANTRIP_RETENTION_INVOCATIONS=0,
 * so no pass deletes anything); with `--against REF`, also that commit with the cap on.
 * Prints, per target, the median window's throughput and p99, the worst window's, and the
 * worst window against the baseline's median. Targets run one after another, `--rounds` times.
 *
 *   bun bench/retention-load.ts [--seconds 65] [--interval 20] [--rounds 1] [--connections 50] [--against REF]
 */
import { rmSync } from "node:fs";
import { numberOpt, stringOpt } from "./lib/args";
import { deployTrivial, exportCommit, startCantrip } from "./lib/cantrip-process";
import { fmt, median, runLoad } from "./lib/load";

const seconds = numberOpt("seconds", 65);
const interval = numberOpt("interval", 20);
const rounds = numberOpt("rounds", 1);
const connections = numberOpt("connections", 50);
const against = stringOpt("against");
const WINDOW_S = 5;

const TRIVIAL = `
import { defineBackend, t } from "cantrip";
export default defineBackend({
  routes: { "POST /": { input: t.Object({ n: t.Optional(t.Number()) }), handle: async (input) => ({ ok: true, n: input.n ?? 0 }) } },
});
`;

interface Target {
  name: string;
  root?: string;
  env: Record<string, string>;
  windows: { rps: number; p99: number }[];
}

/** One sustained run of `t` on a fresh server: its 5-second windows. */
async function sustained(t: Target): Promise<void> {
  const proc = await startCantrip({ root: t.root, env: { CANTRIP_SANDBOX_AGENT_QUEUE: String(Math.max(32, connections * 2)), CANTRIP_RETENTION_INTERVAL_S: String(interval), ...t.env } });
  try {
    const { slug, key } = await deployTrivial(proc, "bench retention", TRIVIAL);
    const spec = { url: `${proc.url}/v1/invoke/${slug}`, method: "POST", body: JSON.stringify({ n: 1 }), headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, connections, seconds: WINDOW_S };
    for (let s = 0; s < seconds; s += WINDOW_S) {
      const r = await runLoad(spec);
      t.windows.push({ rps: r.rps, p99: r.p99 });
    }
  } finally {
    await proc.stop();
  }
}

const refDir = against ? exportCommit(against) : null;
try {
  const targets: Target[] = [
    { name: "row cap off (baseline)", env: { CANTRIP_RETENTION_INVOCATIONS: "0" }, windows: [] },
    { name: "this tree", env: {}, windows: [] },
  ];
  if (refDir) targets.push({ name: `${against}`, root: refDir, env: {}, windows: [] });
  for (let r = 0; r < rounds; r++) for (const t of targets) await sustained(t);
  const base = median(targets[0]!.windows.map((w) => w.rps));
  console.log(`load: wrk, ${connections} connections, ${seconds}s per run in ${WINDOW_S}s windows, retention every ${interval}s, ${rounds} round(s)`);
  for (const t of targets) {
    const rps = t.windows.map((w) => w.rps);
    const p99 = t.windows.map((w) => w.p99);
    const worst = Math.min(...rps);
    console.log(
      `${t.name.padEnd(24)} median window ${fmt(median(rps), 0).padStart(7)} req/s p99 ${fmt(median(p99)).padStart(6)} ms   worst window ${fmt(worst, 0).padStart(7)} req/s (${fmt(worst / base, 2)}x the baseline's median) p99 ${fmt(Math.max(...p99)).padStart(7)} ms   windows: ${rps.map((x) => fmt(x / 1000, 1)).join(" ")}k`,
    );
  }
} finally {
  if (refDir) rmSync(refDir, { recursive: true, force: true });
}
