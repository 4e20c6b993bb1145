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
import type { Db, DbOrTx } from "../db";
import { agents, deployments, versions } from "../db/schema";
import { AppError } from "../errors";
import { newId } from "../lib/ids";
import { iso } from "../lib/time";
import type { BundleRef, SandboxRuntime } from "../runtime/types";
import type { AgentRow } from "../agents/view";
import { agentById, goLive, isDeployable, settle, startDeploying, takeOffline } from "../agents/lifecycle";
import { getVersion } from "./versions";
import { runtimeConfigFor } from "./runtime-config";

export type DeploymentRow = typeof deployments.$inferSelect;

/** Creates the deploy job inside the caller's transaction; returns its id. */
export type EnqueueDeploy = (tx: DbOrTx, payload: { deploymentId: string }, meta: { workspaceId: string; agentId: string }) => string;

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
  /** Called after the live pointer of an agent moved (the gateway drops its cache entry). */
  onLiveChange: (agentId: string) => void = () => {};
  enqueue: EnqueueDeploy = () => {
    throw new Error("deploy queue not wired");
  };

  constructor(private deps: { db: Db; runtime: SandboxRuntime; serverLimits?: LimitPolicy }) {}

  /** POST /v1/deploy/{agentId}: deploys the agent's newest version (or `version`). */
  request(agent: AgentRow, version?: number) {
    const { db } = this.deps;
    const result = db.transaction((tx) => {
      const fresh = agentById(tx, agent.id);
      if (!isDeployable(fresh.status) || fresh.latestVersion === null)
        throw new AppError("agent_not_ready", `The agent is ${fresh.status}; it can be deployed once it is ready.`, {
          details: { agentStatus: fresh.status },
        });
      const running = tx
        .select({ id: deployments.id })
        .from(deployments)
        .where(and(eq(deployments.agentId, agent.id), eq(deployments.status, "deploying")))
        .get();
      if (running || fresh.status === "deploying")
        throw new AppError("deploy_in_progress", undefined, { details: { deploymentId: running?.id ?? null } });
      const target = version ?? fresh.latestVersion;
      getVersion(tx, agent.id, target);
      const deploymentId = newId("dep");
      tx.insert(deployments).values({ id: deploymentId, agentId: agent.id, version: target, status: "deploying", kind: "deploy" }).run();
      const jobId = this.enqueue(tx, { deploymentId }, { workspaceId: fresh.workspaceId, agentId: agent.id });
      tx.update(deployments).set({ jobId }).where(eq(deployments.id, deploymentId)).run();
      startDeploying(tx, agent.id);
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
    const deploymentId = db.transaction((tx) => {
      const running = tx
        .select({ id: deployments.id })
        .from(deployments)
        .where(and(eq(deployments.agentId, agent.id), eq(deployments.status, "deploying")))
        .get();
      if (running) throw new AppError("deploy_in_progress", undefined, { details: { deploymentId: running.id } });
      const id = newId("dep");
      tx.insert(deployments).values({ id, agentId: agent.id, version, status: "deploying", kind: "deploy" }).run();
      startDeploying(tx, agent.id);
      return id;
    });
    await this.execute(deploymentId);
  }

  /** The deploy job: load once in the sandbox, then move the live pointer. */
  async execute(deploymentId: string): Promise<{ version: number }> {
    const { db, runtime } = this.deps;
    const dep = db.select().from(deployments).where(eq(deployments.id, deploymentId)).get();
    // Not a caller's mistake: the deploy job's own row is gone (the job fails internal_error).
    if (!dep) throw new Error(`deployment ${deploymentId} not found`);
    if (dep.status !== "deploying") return { version: dep.version };
    const agent = agentById(db, dep.agentId);
    const v = getVersion(db, agent.id, dep.version);
    let ref: BundleRef;
    try {
      if (!v.bundle) throw new AppError("endpoint_unreachable", "The version has no bundle.");
      ref = { agentId: agent.id, bundleId: v.id, code: v.bundle, config: runtimeConfigFor(db, agent, this.deps.serverLimits) };
      await runtime.check(ref);
    } catch (e) {
      const error = { code: e instanceof AppError ? e.code : "internal_error", message: (e as Error).message };
      db.transaction((tx) => {
        tx.update(deployments).set({ status: "failed", error, updatedAt: Date.now() }).where(eq(deployments.id, deploymentId)).run();
        settle(tx, agent);
      });
      throw e;
    }
    this.goLive(agent.id, dep.version, deploymentId);
    // The first call after the switch finds an instance loaded (or loading) with the live config.
    runtime.warm(ref);
    return { version: dep.version };
  }

  /** A deployment whose job ended without running (cancelled, or failed before execute). */
  abandon(deploymentId: string, message: string): void {
    const { db } = this.deps;
    db.transaction((tx) => {
      const dep = tx.select().from(deployments).where(eq(deployments.id, deploymentId)).get();
      if (!dep || dep.status !== "deploying") return;
      tx.update(deployments).set({ status: "failed", error: { code: "internal_error", message }, updatedAt: Date.now() }).where(eq(deployments.id, deploymentId)).run();
      const agent = tx.select().from(agents).where(eq(agents.id, dep.agentId)).get();
      if (agent?.status === "deploying") settle(tx, agent);
    });
  }

  /** Instant: a pointer move to an existing version. */
  rollback(agent: AgentRow, version: number) {
    const { db } = this.deps;
    getVersion(db, agent.id, version);
    const running = db.select({ id: deployments.id }).from(deployments).where(and(eq(deployments.agentId, agent.id), eq(deployments.status, "deploying"))).get();
    if (running) throw new AppError("deploy_in_progress", undefined, { details: { deploymentId: running.id } });
    const id = newId("dep");
    db.insert(deployments).values({ id, agentId: agent.id, version, status: "deploying", kind: "rollback" }).run();
    this.goLive(agent.id, version, id);
    return deploymentView(db.select().from(deployments).where(eq(deployments.id, id)).get());
  }

  /** Takes the agent offline; versions and keys are kept. */
  stop(agent: AgentRow): void {
    const { db } = this.deps;
    db.transaction((tx) => {
      tx.update(deployments).set({ status: "stopped", updatedAt: Date.now() }).where(and(eq(deployments.agentId, agent.id), eq(deployments.status, "deployed"))).run();
      takeOffline(tx, agent);
    });
    this.onLiveChange(agent.id);
    this.deps.runtime.evict(agent.id);
  }

  latest(agentId: string): DeploymentRow | undefined {
    return this.deps.db.select().from(deployments).where(eq(deployments.agentId, agentId)).orderBy(desc(deployments.id)).limit(1).get();
  }

  private goLive(agentId: string, version: number, deploymentId: string): void {
    const { db } = this.deps;
    db.transaction((tx) => {
      tx.update(deployments)
        .set({ status: "superseded", updatedAt: Date.now() })
        .where(and(eq(deployments.agentId, agentId), eq(deployments.status, "deployed"), ne(deployments.id, deploymentId)))
        .run();
      tx.update(deployments).set({ status: "deployed", updatedAt: Date.now() }).where(eq(deployments.id, deploymentId)).run();
      goLive(tx, agentId, version);
    });
    this.onLiveChange(agentId);
  }
}

export function versionIdOf(db: Db, agentId: string, number: number): string | undefined {
  return db.select({ id: versions.id }).from(versions).where(and(eq(versions.agentId, agentId), eq(versions.number, number))).get()?.id;
}
