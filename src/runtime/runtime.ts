/**
 * createRuntime: the SandboxRuntime the rest of cantrip uses. Wires an engine (QuickJS in
 * a worker pool by default), the warm-instance pool and the host bridges (kv, egress,
 * secrets). Backend-level errors are ordinary responses; platform failures are thrown
 * AppErrors (see failures.ts).
 */
import type { EngineFactory } from "./engine";
import type { AgentRuntimeConfig, GuestLogLine, KvStore, SandboxRuntime, SecretResolver } from "./types";
import { quickjsEngine } from "./quickjs/engine";
import { InstancePool } from "./instance-pool";
import { makeBridgeFactory } from "./bridges";
import { createEgress, type EgressOptions, type EgressRequest } from "./egress";
import { defaultLimits } from "./types";
import { ScratchWorlds } from "./scratch";
import { failureLogs } from "./failures";

export interface RuntimeOptions {
  /** Sandbox workers (default: 2, about one per core). */
  workers?: number;
  /** Total sandbox memory, busy instances counted at their memory limit (default 2 GiB); see InstancePool. */
  memoryBudgetBytes?: number;
  kv: KvStore;
  secrets: SecretResolver;
  egress: EgressOptions;
  /** Every call's captured guest log lines (also returned in GuestResponse.logs). */
  onLog?: (agentId: string, lines: GuestLogLine[]) => void;
  /** The engine; QuickJS-in-workers unless a test or a second engine says otherwise. */
  engine?: EngineFactory;
}

export function createRuntime(opts: RuntimeOptions): SandboxRuntime {
  const engine = (opts.engine ?? quickjsEngine)({ workers: opts.workers ?? 2, memoryBytes: defaultLimits.memoryBytes });
  const scratch = new ScratchWorlds();
  const serveScratch = (config: AgentRuntimeConfig, req: EgressRequest, body: Uint8Array | undefined) => {
    const w = scratch.get(config.scratch!.namespace);
    if (!w) throw new Error(`fetch: scratch world ${config.scratch!.namespace} is not open`);
    return w.serve(config, req, body);
  };
  const egressFor = createEgress(opts.egress, opts.secrets, serveScratch);
  const bridges = makeBridgeFactory({ kv: opts.kv, egress: egressFor, scratch });
  const pool = new InstancePool(engine, opts.memoryBudgetBytes ?? 2 * 1024 ** 3, bridges);
  const logsOf = (agentId: string, lines: GuestLogLine[] | undefined) => {
    if (opts.onLog && lines?.length) opts.onLog(agentId, lines);
  };

  return {
    async check(ref) {
      return (await pool.loadFresh(ref)).inst.description;
    },
    async fetch(ref, req) {
      const e = await pool.acquire(ref);
      try {
        const res = await e.inst.fetch(req);
        logsOf(ref.agentId, res.logs);
        return res;
      } catch (err) {
        logsOf(ref.agentId, failureLogs(err));
        throw err;
      } finally {
        pool.release(e);
      }
    },
    async scheduled(ref) {
      const e = await pool.acquire(ref);
      try {
        const r = await e.inst.scheduled();
        logsOf(ref.agentId, r.logs);
        return r;
      } catch (err) {
        logsOf(ref.agentId, failureLogs(err));
        throw err;
      } finally {
        pool.release(e);
      }
    },
    openScratch(namespace) {
      return scratch.open(namespace);
    },
    evict(agentId, bundleId) {
      pool.evict(agentId, bundleId);
    },
    stats() {
      return { workers: engine.workers(), instances: pool.count(), memoryBytes: pool.memoryBytes(), loads: pool.loads, evictions: pool.evictions };
    },
    async close() {
      pool.clear();
      await engine.close();
    },
  };
}
