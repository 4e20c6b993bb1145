/**
 * bench/soak.ts — does cantrip keep working and lose nothing under sustained load? Runs
 * invoke traffic (loopback, bounded in time) over N agents with a deploy of a new version
 * and a rollback in the middle, samples the server's RSS every second, and after a graceful
 * stop matches the invocation log against every 2xx response the generator counted. The
 * baseline for memory is the same run's second third (after warm-up). Exit code 1 when a
 * platform 5xx, a lost log row, a wrong-version answer or a failed switch was seen.
 *
 *   bun bench/soak.ts [--seconds 60] [--agents 20] [--connections 50] [--compiled]
 */
import { cpus, loadavg } from "node:os";
import { fmt } from "./lib/load";
import { mb } from "./lib/rss";
import { runSoak } from "./lib/soak-run";
import { flag, numberOpt } from "./lib/args";

const seconds = numberOpt("seconds", 60);
const agents = numberOpt("agents", 20);
const connections = numberOpt("connections", 50);

const loadBefore = loadavg()[0]!;
const r = await runSoak({ seconds, agents, connections, compiled: flag("compiled"), log: (l) => console.log(l) });
const l = r.load;
console.log(`\nmachine: ${cpus().length} cores; 1-min load average ${fmt(loadBefore)} before, ${fmt(loadavg()[0]!)} after (figures are only comparable on a quiet machine)`);
console.log(`soak: ${agents} agents, ${connections} connections, ${fmt(l.seconds, 1)} s, in-repo counting generator`);
console.log(`requests ${l.requests}  ${fmt(l.rps, 0)} req/s  p50 ${fmt(l.p50)} ms  p99 ${fmt(l.p99)} ms`);
console.log(`responses: 2xx ${l.ok}  4xx ${l.c4xx}  5xx ${l.c5xx}  network errors ${l.netErrors}`);
for (const f of l.failures.slice(0, 5)) console.log(`  ${f.status} ${f.target}: ${f.text}`);
const s = r.switchover;
console.log(`switch: deploy v2 ${fmt(s.deployMs, 0)} ms (upload → live, under load); rollback ${fmt(s.rollbackMs, 1)} ms; v2 answers ${s.v2Answers}; v1 after rollback ${s.v1AfterRollback}; wrong-version answers ${s.wrongVersion}`);
for (const e of s.errors) console.log(`  switch error: ${e}`);
const il = r.invocationLog;
console.log(`invocation log: ${il.okResponses} 2xx responses, ${il.rowsForRun} rows, matched ${il.matched}, missing ${il.missing}, extra ${il.extraRows}`);
console.log(
  `rss: ${r.rss.samples} samples, median second third ${fmt(mb(r.rss.secondThirdMedian), 1)} MB, last third ${fmt(mb(r.rss.lastThirdMedian), 1)} MB, ` +
    `ratio last/second ${fmt(r.rss.lastThirdMedian / r.rss.secondThirdMedian, 3)} (growth ${fmt(r.rss.growthPct, 1)}%), max ${fmt(mb(r.rss.maxBytes), 1)} MB`,
);
console.log(`rss samples (MB): ${r.rssSamples.map((b) => fmt(mb(b), 0)).join(" ")}`);
const failed = l.c5xx > 0 || l.netErrors > 0 || il.missing > 0 || s.wrongVersion > 0 || s.errors.length > 0 || s.v2Answers === 0;
console.log(failed ? "RESULT: FAIL" : "RESULT: ok (zero 5xx, zero network errors, log complete, switches exact)");
process.exit(failed ? 1 : 0);
