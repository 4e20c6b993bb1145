/**
 * bench/stalls.ts — where the invoke path's tail comes from on cantrip's main thread: while
 * wrk drives `POST /v1/invoke/{slug}` (the trivial backend of bench/invoke.ts) at N
 * connections, a probe preloaded into the server (bench/lib/loop-probe.ts) counts the turns
 * of the main thread's event loop in which the thread itself worked more than 3, 5 and 8 ms
 * (its own CPU time, so time spent descheduled on a busy machine does not count), and the
 * longest. With `--against <commit>` the older code runs in the same rounds, alternating.
 * Also prints each round's throughput, p99 and the main thread's and the workers' CPU per
 * request (from /proc, Linux).
 *
 *   bun bench/stalls.ts [--against main] [--rounds 3] [--seconds 5] [--connections 50]
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { threadCpuSeconds } from "./lib/proc-cpu";
import { deployTrivial, exportCommit, startCantrip, type CantripProcess } from "./lib/cantrip-process";
import { INVOKE_TRIVIAL } from "./lib/backends";
import { runLoad, type LoadSpec } from "./lib/load";
import { numberOpt, stringOpt } from "./lib/args";

const rounds = numberOpt("rounds", 3);
const seconds = numberOpt("seconds", 5);
const connections = numberOpt("connections", 50);
const against = stringOpt("against");

/** CPU ms so far of the process's main thread and of its threads named "Worker". */
function threadCpu(pid: number): { main: number; workers: number } {
  const t = threadCpuSeconds(pid);
  return { main: t.main * 1000, workers: t.workers * 1000 };
}

const dir = mkdtempSync(join(tmpdir(), "cantrip-stalls-"));
const refDir = against ? exportCommit(against) : null;
const probe = join(import.meta.dir, "lib", "loop-probe.ts");
const servers: { name: string; proc: CantripProcess; out: string; spec: LoadSpec; rows: string[] }[] = [];
try {
  const roots: [string, string | undefined][] = [["this tree", undefined], ...(refDir ? ([[`${against}`, refDir]] as [string, string][]) : [])];
  for (const [name, root] of roots) {
    const out = join(dir, `${servers.length}.json`);
    // The agent's queue must hold every connection (see bench/invoke.ts).
    const env = { CANTRIP_SANDBOX_AGENT_QUEUE: String(Math.max(32, connections * 2)), BUN_OPTIONS: `--preload ${probe}`, CANTRIP_LOOP_PROBE_OUT: out };
    const proc = await startCantrip({ root, env });
    const { slug, key } = await deployTrivial(proc, "bench stalls", INVOKE_TRIVIAL);
    const spec = { url: `${proc.url}/v1/invoke/${slug}`, method: "POST", body: JSON.stringify({ n: 1 }), headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, connections, seconds };
    servers.push({ name, proc, out, spec, rows: [] });
    await runLoad({ ...spec, seconds: 1 }); // warm
  }
  for (let r = 0; r < rounds; r++) {
    for (const s of servers) {
      const pid = s.proc.child.pid!;
      process.kill(pid, "SIGUSR2"); // start the probe's window
      await Bun.sleep(20);
      const before = threadCpu(pid);
      const load = await runLoad(s.spec);
      const after = threadCpu(pid);
      process.kill(pid, "SIGUSR2"); // write it
      await Bun.sleep(100);
      const p = JSON.parse(readFileSync(s.out, "utf8"));
      const us = (ms: number) => ((ms * 1000) / Math.max(1, load.requests)).toFixed(0);
      s.rows.push(`round ${r + 1}: turns with own CPU > 3 / 5 / 8 ms: ${p.cpuOver3} / ${p.cpuOver5} / ${p.cpuOver8}, longest ${p.cpuMax.toFixed(1)} ms; ${load.rps.toFixed(0)} req/s, p99 ${load.p99.toFixed(1)} ms; CPU per request: main thread ${us(after.main - before.main)} µs, workers ${us(after.workers - before.workers)} µs${load.errors + load.non2xx ? `; errors ${load.errors + load.non2xx}` : ""}${p.precise === false ? " (the probe had no exact thread clock: its CPU moves in scheduler ticks, so the turn counts are coarse)" : ""}`);
    }
  }
  console.log(`wrk, ${connections} connections, ${seconds} s per round; main-thread event-loop turns by the thread's own CPU time`);
  for (const s of servers) {
    console.log(s.name);
    for (const row of s.rows) console.log(`  ${row}`);
  }
} finally {
  for (const s of servers) await s.proc.stop();
  if (refDir) rmSync(refDir, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
}
