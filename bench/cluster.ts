/**
 * bench/cluster.ts — cluster mode on this box: N real `cantrip serve` processes on one
 * PostgreSQL database (a throwaway server, test/pg/cluster.ts; nodes from
 * test/cluster/nodes.ts), each figure next to a same-run baseline.
 *
 * 1. Invoke throughput (POST /v1/invoke/{slug}, trivial JSON backend, wrk when installed):
 *    one node on SQLite (the baseline), one node on PostgreSQL, two nodes on PostgreSQL with
 *    the load spread over both (wrk threads pointed at each node). On a 2-core box two nodes
 *    share the same cores as one, so the 2-node figure shows the cost of the extra process
 *    and the shared database, not a gain from more hardware.
 * 2. Control-plane latency, medians over rounds:
 *    - deploy on A → first 2xx of the new agent served by B, against → first 2xx on A;
 *    - key revoked on A → first refusal by B, measured from the moment the revoke call
 *      returned (and the calls B still accepted in between), against the same on A.
 * Prints the load average before and after (the box is shared).
 *
 *   bun bench/cluster.ts [--seconds 5] [--rounds 3] [--connections 50] [--cp-rounds 10]
 */
import { loadavg } from "node:os";
import { startPgCluster } from "../test/pg/cluster";
import { client, startNode, stopAllNodes, type ClusterNode } from "../test/cluster/nodes";
import { deployTrivial, startCantrip, type CantripProcess } from "./lib/cantrip-process";
import { fmt, median, runLoad, type LoadResult, type LoadSpec } from "./lib/load";
import { processCpuSeconds } from "./lib/proc-cpu";
import { numberOpt } from "./lib/args";

const seconds = numberOpt("seconds", 5);
const rounds = numberOpt("rounds", 3);
const connections = numberOpt("connections", 50);
const cpRounds = numberOpt("cp-rounds", 10);

const TRIVIAL = `
import { defineBackend, t } from "cantrip";
export default defineBackend({
  routes: { "POST /": { input: t.Object({ n: t.Optional(t.Number()) }), handle: async (input) => ({ ok: true, n: input.n ?? 0 }) } },
});
`;
const load = () => loadavg().map((l) => l.toFixed(2)).join(" ");

/** The slice of a node bench/lib/cantrip-process.ts's deployTrivial needs. */
const asProcess = (n: ClusterNode, token: string) => ({ url: n.url, token }) as CantripProcess;

interface Row {
  name: string;
  runs: (LoadResult & { cpuUs: number })[];
}

async function measure(spec: LoadSpec, pids: number[]): Promise<LoadResult & { cpuUs: number }> {
  const before = pids.map(processCpuSeconds);
  const r = await runLoad(spec);
  const used = pids.reduce((s, p, i) => s + processCpuSeconds(p) - before[i]!, 0);
  return { ...r, cpuUs: (used * 1e6) / Math.max(1, r.requests) };
}

const invokeSpec = (url: string, slug: string, key: string, also: string[] = []): LoadSpec => ({
  url: `${url}/v1/invoke/${slug}`,
  alsoUrls: also.map((u) => `${u}/v1/invoke/${slug}`),
  method: "POST",
  body: JSON.stringify({ n: 1 }),
  headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
  connections,
  seconds,
});

console.log(`cores ${navigator.hardwareConcurrency}, load average ${load()} (start)`);
const pg = startPgCluster();
let lite: CantripProcess | undefined;
try {
  // Every node's agent queue must hold all the connections (as in bench/invoke.ts).
  const env = { CANTRIP_SANDBOX_AGENT_QUEUE: String(Math.max(32, connections * 2)), CANTRIP_DB_POOL_MAX: "10" };
  lite = await startCantrip({ env });
  const a = await startNode({ databaseUrl: pg.url, name: "a", env });
  const token = a.adminToken()!;
  const b = await startNode({ databaseUrl: pg.url, name: "b", env });

  // ---- 1. invoke throughput
  const liteAgent = await deployTrivial(lite, "bench trivial", TRIVIAL);
  const pgAgent = await deployTrivial(asProcess(a, token), "bench trivial", TRIVIAL);
  const targets: { row: Row; spec: LoadSpec; pids: number[] }[] = [
    { row: { name: "1 node, SQLite (baseline)", runs: [] }, spec: invokeSpec(lite.url, liteAgent.slug, liteAgent.key), pids: [lite.child.pid!] },
    { row: { name: "1 node, PostgreSQL", runs: [] }, spec: invokeSpec(a.url, pgAgent.slug, pgAgent.key), pids: [a.child.pid] },
    { row: { name: "2 nodes, PostgreSQL (load on both)", runs: [] }, spec: invokeSpec(a.url, pgAgent.slug, pgAgent.key, [b.url]), pids: [a.child.pid, b.child.pid] },
  ];
  for (const t of targets) await runLoad({ ...t.spec, seconds: 1 }); // warm: JIT, sandbox instances, pools
  for (let r = 0; r < rounds; r++) for (const t of targets) t.row.runs.push(await measure(t.spec, t.pids));
  const base = targets[0]!.row.runs;
  console.log(`invoke: ${base[0]!.tool}, ${connections} connections, ${seconds}s x ${rounds} rounds (medians)`);
  for (const { row } of targets) {
    const rps = median(row.runs.map((x) => x.rps));
    console.log(
      `${row.name.padEnd(36)} ${fmt(rps, 0).padStart(7)} req/s  ${fmt((rps / median(base.map((x) => x.rps))) * 100, 0).padStart(4)}% of baseline   p50 ${fmt(median(row.runs.map((x) => x.p50))).padStart(6)} ms   p99 ${fmt(median(row.runs.map((x) => x.p99))).padStart(6)} ms   server CPU ${fmt(median(row.runs.map((x) => x.cpuUs)), 0).padStart(4)} µs/req   errors ${row.runs.reduce((n, x) => n + x.errors + x.non2xx, 0)}`,
    );
  }
  console.log(`load average ${load()} (after the invoke rounds)`);

  // ---- 2. control-plane latency
  const onA = client(a, token);
  const callOn = async (n: ClusterNode, slug: string, key: string) =>
    (await fetch(`${n.url}/v1/invoke/${slug}`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: "{}" })).status;
  /** Polls `n` every ~1 ms until `ok(status)`; returns ms since t0 and the calls made. */
  const pollUntil = async (n: ClusterNode, slug: string, key: string, ok: (s: number) => boolean, t0: number) => {
    let calls = 0;
    for (;;) {
      calls++;
      if (ok(await callOn(n, slug, key))) return { ms: performance.now() - t0, calls };
      if (performance.now() - t0 > 60_000) throw new Error(`no change on ${n.name} within 60 s`);
      await Bun.sleep(1);
    }
  };
  const deployTo: Record<"A" | "B", number[]> = { A: [], B: [] };
  const revokeTo: Record<"A" | "B", { ms: number[]; accepted: number[] }> = { A: { ms: [], accepted: [] }, B: { ms: [], accepted: [] } };
  for (let r = 0; r < cpRounds; r++) {
    for (const [label, served] of [["A", a], ["B", b]] as const) {
      const created = await onA("POST", "/v1/agents", { name: `cp ${r} ${label}`, files: { "index.ts": TRIVIAL }, entrypoint: "index.ts" });
      const { id, slug } = created.body.data.agent;
      const key = (await onA("POST", `/v1/agents/${id}/api-keys`, { name: "cp" })).body.data.key as string;
      if ((await callOn(served, slug, key)) !== 409) throw new Error("expected not_deployed before the deploy");
      const t0 = performance.now();
      if ((await onA("POST", `/v1/deploy/${id}`)).status !== 202) throw new Error("deploy refused");
      deployTo[label].push((await pollUntil(served, slug, key, (s) => s === 200, t0)).ms);

      const k = (await onA("POST", `/v1/agents/${id}/api-keys`, { name: "doomed" })).body.data;
      if ((await callOn(served, slug, k.key)) !== 200) throw new Error("key not accepted before the revoke");
      const rv = await onA("POST", `/v1/agents/${id}/api-keys/${k.apiKey.id}/revoke`);
      const returned = performance.now();
      if (rv.status !== 200) throw new Error("revoke refused");
      const refused = await pollUntil(served, slug, k.key, (s) => s === 401, returned);
      revokeTo[label].ms.push(refused.ms);
      revokeTo[label].accepted.push(refused.calls - 1);
    }
  }
  console.log(`control plane: ${cpRounds} rounds (medians; max in brackets), every change made on A`);
  const mx = (xs: number[]) => Math.max(...xs);
  for (const label of ["A", "B"] as const) {
    console.log(`deploy on A → first 2xx on ${label}:        ${fmt(median(deployTo[label]), 1).padStart(7)} ms  [${fmt(mx(deployTo[label]), 1)}]`);
  }
  for (const label of ["A", "B"] as const) {
    const v = revokeTo[label];
    console.log(
      `revoke returned on A → refused by ${label}:   ${fmt(median(v.ms), 1).padStart(7)} ms  [${fmt(mx(v.ms), 1)}] (the first refused call's answer; calls still accepted: ${v.accepted.reduce((s, x) => s + x, 0)} in ${cpRounds} rounds)`,
    );
  }
  console.log(`ratio: deploy → served by B / by A: ${fmt(median(deployTo.B) / median(deployTo.A), 2)}x`);
} finally {
  await stopAllNodes();
  await lite?.stop();
  pg.stop();
  console.log(`load average ${load()} (end)`);
}
