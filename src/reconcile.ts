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
      // id until the agent exists; only settle agents with no active job of any kind.
      await db.tx((tx) => markFailed(tx, a.id, { code: "interrupted", message: "The generation was interrupted and could not resume." }));
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
