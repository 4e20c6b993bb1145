/**
 * The soak scenario shared by `bench/soak.ts` (full: 60 s, 20 agents, 50 connections) and
 * `test/reliability/soak.test.ts` (bounded CI form): cantrip as its own process, N trivial
 * agents, sustained invoke traffic from the counting generator, a deploy of a new version
 * of one agent and a rollback in the middle, RSS sampled every second. After a graceful
 * stop the invocation log in the SQLite file is matched, request id by request id, against
 * every 2xx response the generator saw. Returns figures only; callers decide what passes.
 */
import { Database } from "bun:sqlite";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { trivialBackend } from "./backends";
import { api, deployTrivial, startCantrip, type CantripProcess } from "./cantrip-process";
import { runCountingLoad, type CountingResult, type LoadTarget, type Sent } from "./counting-load";
import { rssTrend, sampleRss, type RssTrend } from "./rss";

export interface SoakOptions {
  seconds: number;
  agents: number;
  connections: number;
  /** Fractions of the run at which the new version is deployed and then rolled back. */
  deployAt?: number;
  rollbackAt?: number;
  env?: Record<string, string>;
  compiled?: boolean;
  log?: (line: string) => void;
}

export interface SoakReport {
  load: Omit<CountingResult, "okIds">;
  rss: RssTrend;
  rssSamples: number[];
  invocationLog: { okResponses: number; rowsForRun: number; matched: number; missing: number; extraRows: number };
  switchover: {
    deployMs: number;
    rollbackMs: number;
    /** Responses of the switched agent sent after a switch completed that still came from the other version. */
    wrongVersion: number;
    v2Answers: number;
    v1AfterRollback: number;
    errors: string[];
  };
  setupMs: number;
}

async function waitDeployed(p: CantripProcess, agentId: string, timeoutMs: number): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (performance.now() < end) {
    const st = await api(p, "GET", `/v1/deploy/${agentId}/status`);
    const d = st.data?.deployment;
    if (d?.status === "deployed") return;
    if (d?.status === "failed") throw new Error(`deploy failed: ${JSON.stringify(d.error)}`);
    await Bun.sleep(20);
  }
  throw new Error(`deploy of ${agentId} did not finish in ${timeoutMs} ms`);
}

export async function runSoak(opts: SoakOptions): Promise<SoakReport> {
  const log = opts.log ?? (() => {});
  const deployAt = opts.deployAt ?? 0.4;
  const rollbackAt = opts.rollbackAt ?? 0.6;
  const t0 = performance.now();
  const p = await startCantrip({ env: opts.env, compiled: opts.compiled });
  try {
    const agents: { agentId: string; slug: string; key: string }[] = [];
    for (let i = 0; i < opts.agents; i++) agents.push(await deployTrivial(p, `soak agent ${i}`, trivialBackend(1)));
    const targets: LoadTarget[] = agents.map((a) => ({
      name: a.slug,
      url: `${p.url}/v1/invoke/${a.slug}`,
      body: JSON.stringify({ n: 1 }),
      headers: { authorization: `Bearer ${a.key}`, "content-type": "application/json" },
    }));
    const setupMs = performance.now() - t0;
    log(`setup: ${opts.agents} agents deployed in ${(setupMs / 1000).toFixed(1)} s; load for ${opts.seconds} s on ${opts.connections} connections`);

    // The switched agent: v2 goes live at deployAt, v1 comes back by rollback at rollbackAt.
    const switched = agents[0]!;
    const sw = { deployMs: NaN, rollbackMs: NaN, wrongVersion: 0, v2Answers: 0, v1AfterRollback: 0, errors: [] as string[] };
    let deployedAt = Infinity;
    let rollbackRequestedAt = Infinity;
    let rolledBackAt = Infinity;
    const inspect = (s: Sent) => {
      if (s.target.name !== switched.slug || s.status !== 200) return;
      const version = (JSON.parse(s.text) as { data: { response: { version: number } } }).data.response.version;
      if (version === 2) sw.v2Answers++;
      if (s.startedAt > deployedAt && s.endedAt < rollbackRequestedAt && version !== 2) sw.wrongVersion++;
      if (s.startedAt > rolledBackAt) {
        if (version === 1) sw.v1AfterRollback++;
        else sw.wrongVersion++;
      }
    };
    const loadStart = performance.now();
    const actions = (async () => {
      await Bun.sleep(opts.seconds * 1000 * deployAt);
      const d0 = performance.now();
      const put = await api(p, "PUT", `/v1/agents/${switched.agentId}/source`, { files: { "index.ts": trivialBackend(2) }, entrypoint: "index.ts" });
      if (put.status !== 200) throw new Error(`upload v2: ${JSON.stringify(put)}`);
      const dep = await api(p, "POST", `/v1/deploy/${switched.agentId}`);
      if (dep.status !== 202) throw new Error(`deploy v2: ${JSON.stringify(dep)}`);
      await waitDeployed(p, switched.agentId, 30_000);
      deployedAt = performance.now();
      sw.deployMs = deployedAt - d0;
      log(`t+${((deployedAt - loadStart) / 1000).toFixed(1)} s: version 2 of ${switched.slug} live (${sw.deployMs.toFixed(0)} ms from upload)`);
      // On a loaded box the deploy can eat the planned window: roll back only once version 2 has
      // answered (or 1 s before the load ends), so the run sees both switches.
      const loadEnd = loadStart + opts.seconds * 1000;
      while (sw.v2Answers === 0 && performance.now() < loadEnd - 1000) await Bun.sleep(20);
      await Bun.sleep(Math.max(0, loadStart + opts.seconds * 1000 * rollbackAt - performance.now()));
      rollbackRequestedAt = performance.now();
      const rb = await api(p, "POST", `/v1/agents/${switched.agentId}/rollback`, { version: 1 });
      if (rb.status !== 200) throw new Error(`rollback: ${JSON.stringify(rb)}`);
      rolledBackAt = performance.now();
      sw.rollbackMs = rolledBackAt - rollbackRequestedAt;
      log(`t+${((rolledBackAt - loadStart) / 1000).toFixed(1)} s: rolled back to version 1 (${sw.rollbackMs.toFixed(1)} ms)`);
    })().catch((e: unknown) => void sw.errors.push((e as Error).message));

    const sampler = sampleRss(p.child.pid!, 1000);
    const load = await runCountingLoad({ targets, connections: opts.connections, seconds: opts.seconds, idPrefix: `soak-${Date.now().toString(36)}`, inspect });
    const rssSamples = sampler.stop();
    await actions;

    // Graceful stop flushes the batched invocation log; then read the file directly.
    await p.stop();
    const db = new Database(join(p.dataDir, "cantrip.db"), { readonly: true });
    const prefix = load.okIds[0]?.id.replace(/-\d+$/, "") ?? "none";
    const rows = db
      .query<{ request_id: string }, [string]>("SELECT request_id FROM invocations WHERE source = 'invoke' AND status BETWEEN 200 AND 299 AND request_id LIKE ?")
      .all(`${prefix}-%`);
    db.close();
    const seen = new Set(rows.map((r) => r.request_id));
    const matched = load.okIds.filter((o) => seen.has(o.id)).length;
    const { okIds, ...rest } = load;
    return {
      load: rest,
      rss: rssTrend(rssSamples),
      rssSamples,
      invocationLog: { okResponses: okIds.length, rowsForRun: rows.length, matched, missing: okIds.length - matched, extraRows: rows.length - matched },
      switchover: sw,
      setupMs,
    };
  } finally {
    await p.kill9();
    rmSync(p.dataDir, { recursive: true, force: true });
  }
}
