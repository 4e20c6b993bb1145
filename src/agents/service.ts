/**
 * Agent lifecycle for code the user brings: bundle the files, load the bundle once in the
 * sandbox to learn its routes (a bundle that cannot load is refused, nothing is stored),
 * then store the agent and its version in one transaction. Generated agents reuse
 * `addVersion` from the pipeline.
 */
import { applyLimitInput, type LimitPolicy } from "./limits";
import { eq } from "drizzle-orm";
import type { Db, Tx } from "../db";
import { agents, versions } from "../db/schema";
import { AppError } from "../errors";
import { newId } from "../lib/ids";
import type { BackendDescription, EngineName, SandboxRuntime } from "../runtime/types";
import { runtimeConfigFor } from "../deploy/runtime-config";
import { agentById, assertAgentRoom, insertAgent, lockedAgent, takeOffline, versionAdded } from "./lifecycle";
import { purgeKvBatch } from "../runtime/kv-sqlite";
import type { AgentRow } from "./view";

export interface BundlerLike {
  bundle(input: { files: Record<string, string>; entrypoint: string }): Promise<{ code: string; hash: string; warnings: unknown[] }>;
}

export interface SourceInput {
  files: Record<string, string>;
  entrypoint: string;
}

export interface NewAgentInput extends SourceInput {
  name: string;
  public?: boolean;
  allowedHosts?: string[];
  env?: Record<string, string>;
  /** Public-unit limits from the request (validated here against the operator's maxima). */
  limits?: unknown;
  jobType?: string | null;
  engine?: EngineName;
}

export interface BuiltSource {
  code: string;
  hash: string;
  warnings: unknown[];
  described: BackendDescription;
}

/**
 * Caches learn of this service's changes from the bus: `agent.live` when an agent's limits
 * change or it goes offline, `agent.deleted` in the transaction that deletes the row.
 */
export class AgentService {

  /** `maxAgents`: agents one workspace may have (CANTRIP_WORKSPACE_MAX_AGENTS); unlimited when absent. */
  constructor(private deps: { db: Db; bundler: BundlerLike; runtime: SandboxRuntime; serverLimits?: LimitPolicy; defaultEngine?: EngineName; maxAgents?: number }) {}

  /** Bundles and load-checks source for an agent (existing or about to be created). */
  async build(agent: Pick<AgentRow, "id"> & Partial<AgentRow>, src: SourceInput): Promise<BuiltSource> {
    const out = await this.deps.bundler.bundle(src);
    const probe = { allowedHosts: [], env: null, limits: null, ...agent } as AgentRow;
    let described: BackendDescription;
    try {
      described = await this.deps.runtime.check({
        agentId: agent.id,
        bundleId: `cand_${out.hash.slice(0, 24)}`,
        code: out.code,
        config: await runtimeConfigFor(this.deps.db, probe, this.deps.serverLimits),
      });
    } catch (e) {
      throw new AppError("build_failed", `The bundle does not load: ${(e as Error).message}`, {
        details: { stage: "load", diagnostics: [{ file: src.entrypoint, line: 0, column: 0, message: (e as Error).message, severity: "error" }] },
        cause: e,
      });
    }
    return { ...out, described };
  }

  async create(workspaceId: string, input: NewAgentInput): Promise<AgentRow> {
    const id = newId("agent");
    const engine = input.engine ?? this.deps.defaultEngine ?? "quickjs";
    // Limits are checked before the bundle is built, so a bad value answers 400 at once.
    const limits = input.limits === undefined || input.limits === null ? null : applyLimitInput(null, input.limits, this.deps.serverLimits);
    // Before the build too, so a workspace at its cap does not spend the load worker's time.
    await assertAgentRoom(this.deps.db, workspaceId, this.deps.maxAgents ?? Infinity);
    const built = await this.build({ id, workspaceId, allowedHosts: input.allowedHosts ?? [], env: input.env ?? null, engine, limits }, input);
    return this.deps.db.tx(async (tx) => {
      const row = await insertAgent(tx, {
        id,
        workspaceId,
        name: input.name,
        status: "ready",
        public: input.public ?? false,
        allowedHosts: input.allowedHosts ?? [],
        env: input.env ?? null,
        limits: limits && Object.keys(limits).length ? limits : null,
        jobType: input.jobType ?? null,
        engine,
        latestVersion: 1,
      }, this.deps.maxAgents ?? Infinity);
      await insertVersion(tx, id, 1, "upload", input, built);
      return row;
    });
  }

  /** PUT /v1/agents/{id}/source: the next version of an existing agent. */
  async addSourceVersion(agent: AgentRow, src: SourceInput): Promise<number> {
    const built = await this.build(agent, src);
    return this.deps.db.tx(async (tx) => {
      // Under the agent's lock: two uploads at once get versions n and n + 1.
      const fresh = await lockedAgent(tx, agent.id);
      const n = (fresh.latestVersion ?? 0) + 1;
      await insertVersion(tx, agent.id, n, "upload", src, built);
      await versionAdded(tx, fresh, n);
      return n;
    });
  }

  /**
   * PATCH /v1/agents/{id} `limits`: merges public-unit values over the agent's own (null
   * resets one to the server default), checked against the operator's maxima (400
   * invalid_request otherwise). Warm instances, which were loaded with the old limits,
   * retire once their in-flight calls end, and the live cache forgets the agent, so the
   * next call runs with the new limits.
   */
  async setLimits(agent: AgentRow, input: unknown): Promise<AgentRow> {
    const next = applyLimitInput(agent.limits, input, this.deps.serverLimits);
    // Nothing changed: keep the warm instances.
    if (JSON.stringify(next) === JSON.stringify(agent.limits ?? {})) return agent;
    const row = await this.deps.db.tx(async (tx) => {
      const r = (await tx
        .update(agents)
        .set({ limits: Object.keys(next).length ? next : null, updatedAt: Date.now() })
        .where(eq(agents.id, agent.id))
        .returning())[0];
      if (r) tx.publish("agent.live", { agentId: agent.id });
      return r;
    });
    if (!row) throw new AppError("agent_not_found");
    this.deps.runtime.evict(agent.id);
    return row;
  }

  /**
   * Deletes an agent and everything it owns. It goes offline at once (no new calls reach
   * it); its kv rows, the one store a backend can fill without bound within its byte limit
   * (millions of small keys), are removed in batches of 5,000 with a yield between them, so
   * other tenants are served meanwhile; then the row goes, and with it (cascade) versions,
   * keys, schedule, invocations and logs, which retention keeps small. A crash in between
   * leaves the agent offline and deletable again.
   */
  async delete(agent: AgentRow): Promise<void> {
    await this.deps.db.tx(async (tx) => {
      await takeOffline(tx, await lockedAgent(tx, agent.id));
      tx.publish("agent.live", { agentId: agent.id });
    });
    this.deps.runtime.evict(agent.id);
    while ((await purgeKvBatch(this.deps.db, agent.id, 5000)) === 5000) await Bun.sleep(0);
    // `agent.deleted` is delivered after COMMIT and before the gate lets the next write in,
    // so the invocation log drops the agent's buffered rows before any flush could insert
    // them (the cascade removed the rows already written; a late row would break the foreign key).
    await this.deps.db.tx(async (tx) => {
      await tx.delete(agents).where(eq(agents.id, agent.id));
      tx.publish("agent.deleted", { agentId: agent.id });
    });
    this.deps.runtime.evict(agent.id);
  }
}

export async function insertVersion(
  db: Tx,
  agentId: string,
  number: number,
  origin: string,
  src: SourceInput,
  built: BuiltSource,
  extra: Pick<typeof versions.$inferInsert, "spec" | "validation" | "transcript"> = {},
): Promise<string> {
  const id = newId("ver");
  await db.insert(versions)
    .values({
      id,
      agentId,
      number,
      origin,
      files: src.files,
      entrypoint: src.entrypoint,
      bundle: built.code,
      hash: built.hash,
      described: built.described,
      diagnostics: built.warnings,
      spec: extra.spec ?? null,
      validation: extra.validation ?? null,
      transcript: extra.transcript ?? null,
    });
  return id;
}
