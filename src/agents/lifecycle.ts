/**
 * The agent's lifecycle, in one place: the statuses an agent row can be in, the rule for
 * what an idle agent shows, and every write of `agents.status` (a test fails on a write
 * anywhere else: test/agents/lifecycle-owner.test.ts). Callers name the transition
 * (`beginWork`, `startDeploying`, `goLive`, `settle`, `markFailed`, …) instead of setting a
 * status, so a new state or a change to the idle rule has one place to go.
 *
 * Transitions (who calls them):
 *   insertAgent        → ready (uploaded source) | generating (generation, builder)
 *   beginWork          → generating | validating        (generate/pipeline)
 *   versionAdded       → resting, or stays deploying    (pipeline, agents/service)
 *   startDeploying     → deploying                      (deploy/deployer)
 *   goLive             → deployed, live pointer moves   (deploy/deployer)
 *   settle             → resting                        (deployer on a failed/abandoned
 *                                                         deploy, reconcile, builder heal)
 *   takeOffline        → ready (keeps its status before its first version)  (deployer.stop)
 *   markFailed         → deployed if live, else failed  (generate/job, reconcile)
 * "Resting" is the idle rule: `deployed` when a version is live, else `ready` (or `failed`
 * after a failed generation). Every write also stamps `updatedAt`.
 */
import { count, eq } from "drizzle-orm";
import type { DbOrTx, Tx } from "../db";
import { agents } from "../db/schema";
import { AppError } from "../errors";
import { newId } from "../lib/ids";
import { uniqueSlug } from "./slug";
import type { JobFailureCode } from "../jobs/failure-codes";
import type { Limits } from "../runtime/types";
import type { AgentRow } from "./view";

/** Every status an agent row can hold (the `agents.status` column is typed with it). */
export type AgentStatus = "generating" | "validating" | "ready" | "deploying" | "deployed" | "failed";
export const AGENT_STATUSES: readonly AgentStatus[] = ["generating", "validating", "ready", "deploying", "deployed", "failed"];

/** Statuses in which the agent has no buildable version to deploy yet (409 agent_not_ready). */
const NOT_DEPLOYABLE: ReadonlySet<AgentStatus> = new Set(["generating", "validating", "failed"]);

/** Why an agent failed, as stored in `agents.failure` and shown to clients. */
export interface AgentFailure {
  code: JobFailureCode;
  message: string;
  stage?: string;
  /** The last validation report of a failed generation. */
  report?: unknown;
}

/**
 * The idle-status rule: an agent that is not busy shows `deployed` when it has a live
 * version, else `otherwise` (`ready` by default; `failed` after a failed generation).
 */
export function restingStatus(agent: Pick<AgentRow, "liveVersion">, otherwise: AgentStatus = "ready"): AgentStatus {
  return agent.liveVersion !== null ? "deployed" : otherwise;
}

/** True when a deploy may start from `status` (the agent has a finished version). */
export function isDeployable(status: AgentStatus): boolean {
  return !NOT_DEPLOYABLE.has(status);
}

/**
 * Takes the agent's cluster-wide lock for the rest of the transaction (`t.lock("agent:" +
 * id)`; a no-op on SQLite, whose write gate already runs one writer at a time). A
 * transaction that reads the agent (or its deployments) and writes on what it read takes it
 * before the read: on PostgreSQL transactions run concurrently, and two deploy requests
 * would otherwise both see "no deploy in progress".
 */
export async function lockAgent(tx: Tx, id: string): Promise<void> {
  await tx.lock(`agent:${id}`);
}

/** The agent's row read under its lock (lockAgent): the state a transition decides on. 404 agent_not_found. */
export async function lockedAgent(tx: Tx, id: string): Promise<AgentRow> {
  await lockAgent(tx, id);
  return agentById(tx, id);
}

/** Loads an agent by id (unscoped: callers already hold the id); 404 agent_not_found otherwise. */
export async function agentById(db: DbOrTx, id: string): Promise<AgentRow> {
  const a = (await db.select().from(agents).where(eq(agents.id, id)).limit(1))[0];
  if (!a) throw new AppError("agent_not_found");
  return a;
}

/** What a new agent row needs; the slug is derived from `name` and made unique here. */
export interface NewAgent {
  id?: string;
  workspaceId: string;
  name: string;
  status: Extract<AgentStatus, "ready" | "generating">;
  prompt?: string | null;
  model?: string | null;
  region?: string;
  public?: boolean;
  allowedHosts?: string[];
  env?: Record<string, string> | null;
  limits?: Partial<Limits> | null;
  jobType?: string | null;
  engine?: string;
  latestVersion?: number | null;
}

/** Throws 409 `agent_limit_reached` when `workspaceId` already has `maxAgents` agents. */
export async function assertAgentRoom(db: DbOrTx, workspaceId: string, maxAgents: number): Promise<void> {
  if (maxAgents === Infinity) return;
  const have = (await db.select({ n: count() }).from(agents).where(eq(agents.workspaceId, workspaceId)))[0]?.n ?? 0;
  if (have >= maxAgents) throw new AppError("agent_limit_reached", `The workspace has ${have} agents, the most one workspace may have (${maxAgents}); delete one first.`, { details: { agents: have, limit: maxAgents } });
}

/**
 * Inserts an agent row (call inside the transaction that also writes its version or job).
 * `maxAgents`: the most agents one workspace may have (CANTRIP_WORKSPACE_MAX_AGENTS); at
 * that count it throws 409 `agent_limit_reached` and writes nothing. Counted in the same
 * transaction as the insert, under the workspace's lock (the gate on SQLite), so concurrent
 * creations cannot pass it.
 */
export async function insertAgent(tx: Tx, input: NewAgent, maxAgents: number): Promise<AgentRow> {
  // PostgreSQL: the count and the slug are read and then written on, so concurrent creations
  // take the workspace's lock (its agent count) and the slug lock (slugs are unique per
  // instance), always in this order.
  await tx.lock(`workspace-agents:${input.workspaceId}`);
  await tx.lock("agent-slugs");
  await assertAgentRoom(tx, input.workspaceId, maxAgents);
  const { id = newId("agent"), ...rest } = input;
  return (await tx
    .insert(agents)
    .values({ ...rest, id, slug: await uniqueSlug(tx, input.name) })
    .returning())[0]!;
}

async function write(db: Tx, id: string, set: Partial<typeof agents.$inferInsert>): Promise<void> {
  await db.update(agents)
    .set({ ...set, updatedAt: Date.now() })
    .where(eq(agents.id, id));
}

/** A generation step starts (`generating`, then `validating` once a bundle builds). */
export async function beginWork(db: Tx, id: string, status: Extract<AgentStatus, "generating" | "validating">): Promise<void> {
  await write(db, id, { status });
}

/** A deployment of the agent was created (deploy request or autoDeploy). */
export async function startDeploying(db: Tx, id: string): Promise<void> {
  await write(db, id, { status: "deploying" });
}

/** A deployment succeeded: `version` serves traffic and any earlier failure is cleared. */
export async function goLive(db: Tx, id: string, version: number): Promise<void> {
  await write(db, id, { liveVersion: version, status: "deployed", failure: null });
}

/**
 * The agent's work ended without a new outcome (a deploy failed or was abandoned, a crash
 * interrupted it): it rests by the idle rule. `otherwise` is the status when nothing is
 * live (default `ready`).
 */
export async function settle(db: Tx, agent: Pick<AgentRow, "id" | "liveVersion">, otherwise: AgentStatus = "ready"): Promise<void> {
  await write(db, agent.id, { status: restingStatus(agent, otherwise) });
}

/**
 * Version `number` was stored for the agent (`fresh`: its row read in the same
 * transaction): the agent rests by the idle rule, except that a running deploy keeps
 * `deploying`. `allowedHosts` and `clearFailure` come with a generated version.
 */
export async function versionAdded(db: Tx, fresh: AgentRow, number: number, extra: { allowedHosts?: string[]; clearFailure?: boolean } = {}): Promise<void> {
  await write(db, fresh.id, {
    latestVersion: number,
    status: fresh.status === "deploying" ? "deploying" : restingStatus(fresh),
    ...(extra.allowedHosts ? { allowedHosts: extra.allowedHosts } : {}),
    ...(extra.clearFailure ? { failure: null } : {}),
  });
}

/** The agent is taken offline: no live version; `ready` once it has a version. */
export async function takeOffline(db: Tx, agent: Pick<AgentRow, "id" | "latestVersion" | "status">): Promise<void> {
  await write(db, agent.id, { liveVersion: null, status: agent.latestVersion === null ? agent.status : "ready" });
}

/**
 * A generation failed (or was cancelled or interrupted): the failure is stored and the
 * agent shows `failed`, unless it still serves a live version (then `deployed`).
 * A deleted agent is ignored.
 */
export async function markFailed(db: Tx, agentId: string, failure: AgentFailure): Promise<void> {
  await lockAgent(db, agentId);
  const a = (await db.select().from(agents).where(eq(agents.id, agentId)).limit(1))[0];
  if (!a) return;
  await write(db, agentId, { status: restingStatus(a, "failed"), failure });
}
