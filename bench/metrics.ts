/**
 * What recording metrics costs on the invoke path: per call, cantrip records one HTTP
 * response (counter + histogram) and one invocation (histogram with the agent label),
 * against a same-run baseline of the same loop calling an empty function. Prints µs per
 * call, medians of --rounds rounds. The absolute cost matters next to the ~140–290 µs of
 * server CPU an invoke costs (issue 15's profile).
 *
 *   bun bench/metrics.ts [--calls 200000] [--rounds 5]
 */
import { loadavg } from "node:os";
import { Metrics } from "../src/metrics";
import { numberOpt } from "./lib/args";

const calls = numberOpt("calls", 200_000);
const rounds = numberOpt("rounds", 5);
const metrics = new Metrics({}, { processMetrics: false });
const agents = Array.from({ length: 60 }, (_, i) => `agent_${i}`);

function time(fn: (i: number) => void): number {
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) fn(i);
  return ((performance.now() - t0) * 1000) / calls;
}

let sink = 0;
const baseline = (i: number) => {
  sink += i & 1;
};
const recorded = (i: number) => {
  metrics.http("/v1/invoke/x", 200, 0.004);
  const a = agents[i % agents.length]!;
  metrics.invocation(a, () => a, "invoke", "ok", 0.003);
};

const base: number[] = [];
const rec: number[] = [];
for (let r = 0; r < rounds; r++) {
  base.push(time(baseline));
  rec.push(time(recorded));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`cores ${navigator.hardwareConcurrency}, load average ${loadavg().map((l) => l.toFixed(2)).join(" ")}, ${calls} calls x ${rounds} rounds (sink ${sink % 2})`);
console.log(`baseline (empty loop): ${median(base).toFixed(3)} µs/call`);
console.log(`metrics.http + metrics.invocation: ${median(rec).toFixed(3)} µs/call (+${(median(rec) - median(base)).toFixed(3)} µs over baseline)`);
