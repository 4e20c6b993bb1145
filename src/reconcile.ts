/**
 * Start-up reconciliation, after the queue has recovered its own jobs: rows whose
 * status depends on a job that can no longer finish are settled, so nothing stays
 * "deploying" or "generating" (or a conversation "processing") forever after a crash. The live version is never touched:
 * an agent serves exactly the version it served before the crash.
 */
import { and, eq, inArray } from "drizzle-orm";
import type { Db } from "./db";
import { agents, conversations, deployments } from "./db/schema";
import { abandonConversation } from "./builder/conversations";
import type { Deployer } from "./deploy";
import type { Queue } from "./jobs";
import { lockAgent, markFailed, settle } from "./agents/lifecycle";

const ACTIVE = ["queued", "running"];

export async function reconcile(db: Db, queue: Queue, deployer: Deployer): Promise<{ deployments: number; agents: number; conversations: number }> {
  let fixedDeployments = 0;
  for (const d of (await db.select().from(deployments).where(eq(deployments.status, "deploying")))) {
    const job = d.jobId ? await queue.get(d.jobId) : undefined;
    if (!job || !ACTIVE.includes(job.status)) {
      await deployer.abandon(d.id, "The deployment was interrupted by a restart; the previous version kept serving.");
      fixedDeployments++;
    }
  }
  let fixedAgents = 0;
  const busy = await db.select().from(agents).where(inArray(agents.status, ["generating", "validating", "deploying"]));
  for (const a of busy) {
    if (await queue.hasActive(a.id)) continue;
    if (a.status === "deploying") {
      const open = (await db.select({ id: deployments.id }).from(deployments).where(and(eq(deployments.agentId, a.id), eq(deployments.status, "deploying"))).limit(1))[0];
      if (open) continue;
      await db.tx(async (tx) => {
        await lockAgent(tx, a.id);
        const now = (await tx.select().from(agents).where(eq(agents.id, a.id)).limit(1))[0];
        if (now?.status === "deploying") await settle(tx, now);
      });
    } else {
      // A conversation build owns its agent through builder.turn jobs, which carry no agent
      // id until the agent exists: an agent whose conversation's turn is still queued or
      // running (in cluster mode, possibly on another node right now) is left to that turn.
      const owner = (await db.select({ jobId: conversations.jobId }).from(conversations).where(and(eq(conversations.agentId, a.id), eq(conversations.status, "processing"))).limit(1))[0];
      const turn = owner?.jobId ? await queue.get(owner.jobId) : undefined;
      if (turn && ACTIVE.includes(turn.status)) continue;
      // Read again under the agent's lock: on PostgreSQL a peer may have finished the
      // generation since the scan (a `ready` agent must not become `failed`).
      const failed = await db.tx(async (tx) => {
        await lockAgent(tx, a.id);
        const now = (await tx.select({ status: agents.status }).from(agents).where(eq(agents.id, a.id)).limit(1))[0];
        if (!now || !["generating", "validating"].includes(now.status)) return false;
        await markFailed(tx, a.id, { code: "interrupted", message: "The generation was interrupted and could not resume." });
        return true;
      });
      if (!failed) continue;
    }
    fixedAgents++;
  }
  // A conversation answers `processing` while its turn job may still run; once that job is
  // finished or gone, nothing will move it, so it ends failed and its callers stop polling.
  let fixedConversations = 0;
  for (const c of await db.select({ id: conversations.id, jobId: conversations.jobId }).from(conversations).where(eq(conversations.status, "processing"))) {
    const job = c.jobId ? await queue.get(c.jobId) : undefined;
    if (job && ACTIVE.includes(job.status)) continue;
    const code = job?.status === "cancelled" ? "cancelled" : job?.failure?.code === "timeout" ? "timeout" : "interrupted";
    if (await abandonConversation(db, c.id, code, `the turn was interrupted and could not resume (its job is ${job ? job.status : "gone"}); start again or rebuild`)) fixedConversations++;
  }
  return { deployments: fixedDeployments, agents: fixedAgents, conversations: fixedConversations };
}
