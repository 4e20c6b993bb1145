/**
 * Deployments: a deploy request creates a `deploying` deployment and its job in one
 * transaction; the job loads the version's bundle in the sandbox once, and only if that
 * works moves the agent's live pointer (old version keeps serving until then, and keeps
 * serving if the load fails). Rollback is a pointer move to an existing version whose warm
 * instances are reused (instances are keyed by version id). Stop takes the agent offline
 * and keeps its versions.
 */
import type { LimitPolicy } from "../agents/limits";
import { and, desc, eq, ne } from "drizzle-orm";
import type { Db, Tx } from "../db";
import { agents, deployments, versions } from "../db/schema";
import { AppError } from "../errors";
import { newId } from "../lib/ids";
import { iso } from "../lib/time";
import type { BundleRef, SandboxRuntime } from "../runtime/types";
import type { AgentRow } from "../agents/view";
import { agentById, goLive, isDeployable, lockAgent, lockedAgent, settle, startDeploying, takeOffline } from "../agents/lifecycle";
import { getVersion } from "./versions";
import { runtimeConfigFor } from "./runtime-config";
import type { LiveCache } from "../gateway/live-cache";

export type DeploymentRow = typeof deployments.$inferSelect;

/** Creates the deploy job inside the caller's transaction; returns its id. */
export type EnqueueDeploy = (tx: Tx, payload: { deploymentId: string }, meta: { workspaceId: string; agentId: string }) => Promise<string>;

export function deploymentView(d: DeploymentRow | undefined | null) {
  if (!d) return null;
  return {
    id: d.id,
    agentId: d.agentId,
    version: d.version,
    kind: d.kind,
    status: d.status,
    jobId: d.jobId,
    error: d.error ?? null,
    createdAt: iso(d.createdAt),
    updatedAt: iso(d.updatedAt),
  };
}

export class Deployer {
  enqueue: EnqueueDeploy = () => {
    throw new Error("deploy queue not wired");
  };

  /** `live`: the gateway's live cache, handed each new live entry as its deploy commits. */
  constructor(private deps: { db: Db; runtime: SandboxRuntime; serverLimits?: LimitPolicy; live?: Pick<LiveCache, "mark" | "put"> }) {}

  /** POST /v1/deploy/{agentId}: deploys the agent's newest version (or `version`). */
  async request(agent: AgentRow, version?: number) {
    const { db } = this.deps;
    const result = await db.tx(async (tx) => {
      // Under the agent's lock: two requests at once (on any nodes) see each other's deployment.
      const fresh = await lockedAgent(tx, agent.id);
      if (!isDeployable(fresh.status) || fresh.latestVersion === null)
        throw new AppError("agent_not_ready", `The agent is ${fresh.status}; it can be deployed once it is ready.`, {
          details: { agentStatus: fresh.status },
        });
      const running = (await tx
        .select({ id: deployments.id })
        .from(deployments)
        .where(and(eq(deployments.agentId, agent.id), eq(deployments.status, "deploying")))
        .limit(1))[0];
      if (running || fresh.status === "deploying")
        throw new AppError("deploy_in_progress", undefined, { details: { deploymentId: running?.id ?? null } });
      const target = version ?? fresh.latestVersion;
      await getVersion(tx, agent.id, target);
      const deploymentId = newId("dep");
      await tx.insert(deployments).values({ id: deploymentId, agentId: agent.id, version: target, status: "deploying", kind: "deploy" });
      const jobId = await this.enqueue(tx, { deploymentId }, { workspaceId: fresh.workspaceId, agentId: agent.id });
      await tx.update(deployments).set({ jobId }).where(eq(deployments.id, deploymentId));
      await startDeploying(tx, agent.id);
      return { deploymentId, jobId };
    });
    return { ...result, agentId: agent.id, status: "deploying" as const, endpointUrl: null };
  }

  /**
   * Deploys inside the caller's job (generation with autoDeploy): same checks and the same
   * load-then-switch as a deploy job, without queueing another job.
   */
  async deployNow(agent: AgentRow, version: number): Promise<void> {
    const { db } = this.deps;
    const deploymentId = await db.tx(async (tx) => {
      await lockAgent(tx, agent.id);
      const running = (await tx
        .select({ id: deployments.id })
        .from(deployments)
        .where(and(eq(deployments.agentId, agent.id), eq(deployments.status, "deploying")))
        .limit(1))[0];
      if (running) throw new AppError("deploy_in_progress", undefined, { details: { deploymentId: running.id } });
      const id = newId("dep");
      await tx.insert(deployments).values({ id, agentId: agent.id, version, status: "deploying", kind: "deploy" });
      await startDeploying(tx, agent.id);
      return id;
    });
    await this.execute(deploymentId);
  }

  /** The deploy job: load once in the sandbox, then move the live pointer. */
  async execute(deploymentId: string): Promise<{ version: number }> {
    const { db, runtime } = this.deps;
    const dep = (await db.select().from(deployments).where(eq(deployments.id, deploymentId)).limit(1))[0];
    // Not a caller's mistake: the deploy job's own row is gone (the job fails internal_error).
    if (!dep) throw new Error(`deployment ${deploymentId} not found`);
    if (dep.status !== "deploying") return { version: dep.version };
    const agent = await agentById(db, dep.agentId);
    const v = await getVersion(db, agent.id, dep.version);
    let ref: BundleRef;
    try {
      if (!v.bundle) throw new AppError("endpoint_unreachable", "The version has no bundle.");
      ref = { agentId: agent.id, bundleId: v.id, code: v.bundle, config: await runtimeConfigFor(db, agent, this.deps.serverLimits) };
      await runtime.check(ref);
    } catch (e) {
      const error = { code: e instanceof AppError ? e.code : "internal_error", message: (e as Error).message };
      await db.tx(async (tx) => {
        await lockAgent(tx, agent.id);
        await tx.update(deployments).set({ status: "failed", error, updatedAt: Date.now() }).where(eq(deployments.id, deploymentId));
        // Read under the lock (a deleted agent has nothing to settle).
        const now = (await tx.select().from(agents).where(eq(agents.id, agent.id)).limit(1))[0];
        if (now) await settle(tx, now);
      });
      throw e;
    }
    // The code passed its check: a light-lane instance starts loading now, beside the switch,
    // so the first call after it finds the live entry cached and an instance loaded (or
    // loading) with the live config.
    runtime.warm(ref);
    const live = await this.goLive(agent.id, dep.version, deploymentId, ref);
    if (live && live !== ref) runtime.warm(live); // its runtime config changed since the check
    return { version: dep.version };
  }

  /** A deployment whose job ended without running (cancelled, or failed before execute). */
  async abandon(deploymentId: string, message: string): Promise<void> {
    const { db } = this.deps;
    await db.tx(async (tx) => {
      const dep = (await tx.select().from(deployments).where(eq(deployments.id, deploymentId)).limit(1))[0];
      if (!dep) return;
      await lockAgent(tx, dep.agentId);
      // Read again under the lock: the deploy may have finished meanwhile.
      const still = (await tx.select({ status: deployments.status }).from(deployments).where(eq(deployments.id, deploymentId)).limit(1))[0];
      if (still?.status !== "deploying") return;
      await tx.update(deployments).set({ status: "failed", error: { code: "internal_error", message }, updatedAt: Date.now() }).where(eq(deployments.id, deploymentId));
      const agent = (await tx.select().from(agents).where(eq(agents.id, dep.agentId)).limit(1))[0];
      if (agent?.status === "deploying") await settle(tx, agent);
    });
  }

  /** Instant: a pointer move to an existing version. */
  async rollback(agent: AgentRow, version: number) {
    const { db } = this.deps;
    await getVersion(db, agent.id, version);
    const id = newId("dep");
    // The check and the insert in one transaction, so two rollbacks cannot both pass the check.
    await db.tx(async (tx) => {
      await lockAgent(tx, agent.id);
      const running = (await tx.select({ id: deployments.id }).from(deployments).where(and(eq(deployments.agentId, agent.id), eq(deployments.status, "deploying"))).limit(1))[0];
      if (running) throw new AppError("deploy_in_progress", undefined, { details: { deploymentId: running.id } });
      await tx.insert(deployments).values({ id, agentId: agent.id, version, status: "deploying", kind: "rollback" });
      await this.goLive(agent.id, version, id);
    });
    return deploymentView((await db.select().from(deployments).where(eq(deployments.id, id)).limit(1))[0]!);
  }

  /** Takes the agent offline; versions and keys are kept. */
  async stop(agent: AgentRow): Promise<void> {
    const { db } = this.deps;
    await db.tx(async (tx) => {
      const now = await lockedAgent(tx, agent.id);
      await tx.update(deployments).set({ status: "stopped", updatedAt: Date.now() }).where(and(eq(deployments.agentId, agent.id), eq(deployments.status, "deployed")));
      await takeOffline(tx, now);
      tx.publish("agent.live", { agentId: agent.id });
    });
    this.deps.runtime.evict(agent.id);
  }

  async latest(agentId: string): Promise<DeploymentRow | undefined> {
    return (await this.deps.db.select().from(deployments).where(eq(deployments.agentId, agentId)).orderBy(desc(deployments.id)).limit(1))[0];
  }

  /**
   * Moves the live pointer; the gateway's cache drops the agent when this commits (`agent.live`).
   * With `checked` (the bundle a deploy just load-checked), the new live entry is read in the
   * same transaction and handed to the cache as it commits; returns its bundle ref (the
   * checked one, unless the agent's runtime config changed since the check).
   */
  private async goLive(agentId: string, version: number, deploymentId: string, checked?: BundleRef): Promise<BundleRef | undefined> {
    const { db, live, serverLimits } = this.deps;
    return db.tx(async (tx) => {
      await lockAgent(tx, agentId);
      // After the lock: writers that take it cannot commit between this mark and this commit.
      const mark = checked && live ? live.mark(agentId) : undefined;
      await tx.update(deployments)
        .set({ status: "superseded", updatedAt: Date.now() })
        .where(and(eq(deployments.agentId, agentId), eq(deployments.status, "deployed"), ne(deployments.id, deploymentId)));
      await tx.update(deployments).set({ status: "deployed", updatedAt: Date.now() }).where(eq(deployments.id, deploymentId));
      await goLive(tx, agentId, version);
      tx.publish("agent.live", { agentId });
      if (!checked || !live || !mark) return undefined;
      const agent = await agentById(tx, agentId);
      const config = await runtimeConfigFor(tx, agent, serverLimits);
      // The same config object as the check's keeps one instance key for the warm-up and the calls.
      const ref = JSON.stringify(config) === JSON.stringify(checked.config) ? checked : { ...checked, config };
      // Registered after publish: the bus drops the old entry first, then this one goes in
      // (unless another transaction on the agent was delivered meanwhile: put's mark check).
      tx.onCommit(() => live.put({ agent, ref, version }, mark));
      return ref;
    });
  }
}

export async function versionIdOf(db: Db, agentId: string, number: number): Promise<string | undefined> {
  return (await db.select({ id: versions.id }).from(versions).where(and(eq(versions.agentId, agentId), eq(versions.number, number))).limit(1))[0]?.id;
}
