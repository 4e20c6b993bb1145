/**
 * createRuntime: the SandboxRuntime the rest of cantrip uses. Wires an engine (QuickJS in
 * a worker pool by default), the scheduler (fair per-agent admission and worker lanes,
 * scheduler.ts), the warm-instance pool and the host bridges (kv, egress, secrets).
 * Load-checks run on the load lane and leave no instance behind. A call whose worker was
 * killed for another call's sake is re-run on a fresh instance through its host-call
 * journal (replay.ts). Backend-level errors are ordinary responses; platform failures are
 * thrown AppErrors (see failures.ts).
 */
import type { CallBridge, EngineFactory, EngineInstance } from "./engine";
import type { AgentRuntimeConfig, BundleRef, GuestLogLine, GuestResponse, GuestStreamResponse, KvStore, SandboxRuntime, SecretResolver } from "./types";
import { quickjsEngine } from "./quickjs/engine";
import { InstancePool } from "./instance-pool";
import { makeBridgeFactory } from "./bridges";
import { createEgress, type EgressOptions, type EgressRequest } from "./egress";
import { defaultLimits } from "./types";
import { failureLogs, failureReason } from "./failures";
import { Journal } from "./replay";
import { defaultSchedulerOptions, Scheduler, type SchedulerOptions } from "./scheduler";
import { ScratchWorlds } from "./scratch";
import { EGRESS_SLOTS, EgressSlots } from "./egress-slots";
import { AppError } from "../errors";

export interface RuntimeOptions {
  /** Sandbox workers that run calls (default: 2, about one per core); split into lanes (lanes.ts). */
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
  /** The SQLite file `kv` writes, for sandbox workers to answer kv reads from (EngineFactoryOptions.kvReadFile); unset on PostgreSQL. */
  kvReadFile?: string;
  /** Hold the heavy lane's workers back until `startDeferredWorkers()` (or that lane's first call); see EngineFactoryOptions.deferHeavy. */
  deferHeavyWorkers?: boolean;
  /**
   * Per-agent admission limits, the heavy-lane threshold and the workspace share (defaults:
   * defaultSchedulerOptions); the share bounds a workspace's part of the memory budget and
   * of the outbound-request slots (egress-slots.ts) too.
   */
  scheduling?: Partial<Omit<SchedulerOptions, "workers">>;
}

/** How many times a bystander of worker kills is re-run before it fails. */
const MAX_REPLAYS = 2;
/**
 * Bundles at least this large always run in the heavy lane: compiling one is a single long
 * native call (~0.3–1 s for 860 KB here) that would stall a light worker on every reload.
 */
export const LARGE_BUNDLE_BYTES = 512 * 1024;
/**
 * Killed workers whose thread still runs that one agent may leave (engine.zombies). Below
 * the bound nothing changes: after one kill the agent serves again at once (the contract
 * tests' promise). At the bound, the agent's next call waits up to ZOMBIE_WAIT_MS for one
 * of those threads to end, then is refused (429 rate_limited); checked before and again
 * after the scheduler admits the call. So however long its guest's native calls are, an
 * agent keeps at most this many such threads (at nice 19), plus at most one per other
 * worker its calls were already running on when the bound was reached.
 */
export const ZOMBIES_PER_AGENT = 2;
/** How long a call waits for its agent's killed thread to end before it is refused (a plain runaway loop's thread ends within ms). */
export const ZOMBIE_WAIT_MS = 250;

export function createRuntime(opts: RuntimeOptions): SandboxRuntime {
  const workers = opts.workers ?? 2;
  const engine = (opts.engine ?? quickjsEngine)({ workers, memoryBytes: defaultLimits.memoryBytes, deferHeavy: opts.deferHeavyWorkers, kvReadFile: opts.kvReadFile });
  const scratch = new ScratchWorlds();
  const serveScratch = (config: AgentRuntimeConfig, req: EgressRequest, body: Uint8Array | undefined) => {
    const w = scratch.get(config.scratch!.namespace);
    if (!w) throw new Error(`fetch: scratch world ${config.scratch!.namespace} is not open`);
    return w.serve(config, req, body);
  };
  const schedOpts = { workers, ...defaultSchedulerOptions, ...opts.scheduling };
  const egressFor = createEgress({ slots: new EgressSlots(EGRESS_SLOTS, schedOpts.workspaceShare), ...opts.egress }, opts.secrets, serveScratch);
  const bridges = makeBridgeFactory({ kv: opts.kv, egress: egressFor, scratch });
  const pool = new InstancePool(engine, opts.memoryBudgetBytes ?? 2 * 1024 ** 3, bridges, schedOpts.workspaceShare);
  const sched = new Scheduler(schedOpts);
  let replays = 0;
  let zombieRefused = 0;
  /** Holds, then refuses, a call of an agent that has ZOMBIES_PER_AGENT killed threads still running. */
  async function zombieGate(agentId: string): Promise<void> {
    const until = Date.now() + ZOMBIE_WAIT_MS;
    while (engine.zombies(agentId) >= ZOMBIES_PER_AGENT) {
      if (Date.now() >= until) {
        zombieRefused++;
        throw new AppError("rate_limited", "This agent's previous call was stopped for exceeding its limits and its sandbox thread is still winding down; retry shortly.", { headers: { "retry-after": "1" } });
      }
      await Bun.sleep(10);
    }
  }
  const logsOf = (agentId: string, lines: GuestLogLine[] | undefined) => {
    if (opts.onLog && lines?.length) opts.onLog(agentId, lines);
  };

  /** One call: admitted by the scheduler, run on a warm instance of its lane, re-run if a kill took it. */
  async function invoke<T extends { cpuMs: number; logs: GuestLogLine[] }>(ref: BundleRef, run: (inst: EngineInstance, bridge: CallBridge) => Promise<T>): Promise<T> {
    if (ref.code.length >= LARGE_BUNDLE_BYTES) sched.markHeavy(ref.agentId);
    if (engine.zombies(ref.agentId) >= ZOMBIES_PER_AGENT) await zombieGate(ref.agentId);
    return sched.run(ref.agentId, async (lane) => {
      // Again once admitted: a call that queued while another of the agent's calls was killed.
      if (engine.zombies(ref.agentId) >= ZOMBIES_PER_AGENT) await zombieGate(ref.agentId);
      const journal = new Journal(bridges(ref.config));
      for (let attempt = 0; ; attempt++) {
        const e = pool.acquireNow(ref, lane) ?? (await pool.acquire(ref, lane));
        try {
          const out = await journal.guard(run(e.inst, journal.bridge()));
          sched.record(ref.agentId, out.cpuMs);
          logsOf(ref.agentId, out.logs);
          return out;
        } catch (err) {
          const reason = failureReason(err);
          if (reason === "worker_restarted" && attempt < MAX_REPLAYS) {
            replays++;
            continue;
          }
          if (reason === "cpu_timeout") sched.record(ref.agentId, ref.config.limits.cpuMs);
          logsOf(ref.agentId, failureLogs(err));
          throw err;
        } finally {
          pool.release(e);
        }
      }
    }, ref.config.limits.cpuMs, ref.config.workspaceId);
  }

  return {
    async check(ref) {
      return sched.runLoad(ref.agentId, async () => {
        for (let attempt = 0; ; attempt++) {
          try {
            return await pool.check(ref);
          } catch (err) {
            if (failureReason(err) === "worker_restarted" && attempt < MAX_REPLAYS) continue;
            throw err;
          }
        }
      }, ref.config.workspaceId);
    },
    fetch(ref, req) {
      return invoke(ref, (inst, bridge) => inst.fetch(req, bridge));
    },
    fetchStream(ref, req) {
      // The head goes back as soon as it is checked; the call (scheduler slot, instance,
      // bridge) is held until the stream has ended, so the instance stays owned by it.
      return new Promise((resolve, reject) => {
        invoke(ref, async (inst, bridge) => {
          const res = await inst.fetchStream(req, bridge);
          resolve(res);
          if (!(res.body instanceof ReadableStream)) return res as GuestResponse;
          const end = await (res as GuestStreamResponse).finished;
          return { cpuMs: end.cpuMs, logs: end.logs };
        }).catch(reject);
      });
    },
    scheduled(ref) {
      return invoke(ref, (inst, bridge) => inst.scheduled(bridge));
    },
    openScratch(namespace) {
      return scratch.open(namespace);
    },
    warm(ref) {
      // Light-lane agents only: a large bundle's first call runs in the heavy lane anyway.
      if (ref.code.length >= LARGE_BUNDLE_BYTES) return;
      pool.acquire(ref, "light").then(
        (e) => pool.release(e),
        () => {},
      );
    },
    evict(agentId, bundleId) {
      pool.evict(agentId, bundleId);
    },
    startDeferredWorkers() {
      engine.startDeferred();
    },
    stats() {
      return { workers: engine.workers(), instances: pool.count(), memoryBytes: pool.memoryBytes(), loads: pool.loads, evictions: pool.evictions, replays, lanes: sched.stats(), refused: sched.refused + zombieRefused, watchdogKills: engine.watchdogKills(), zombieThreads: engine.zombies() };
    },
    async close() {
      pool.clear();
      await engine.close();
    },
  };
}
