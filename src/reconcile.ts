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
import { markFailed, settle } from "./agents/lifecycle";

const ACTIVE = ["queued", "running"];

export function reconcile(db: Db, queue: Queue, deployer: Deployer): { deployments: number; agents: number; conversations: number } {
  let fixedDeployments = 0;
  for (const d of db.select().from(deployments).where(eq(deployments.status, "deploying")).all()) {
    const job = d.jobId ? queue.get(d.jobId) : undefined;
    if (!job || !ACTIVE.includes(job.status)) {
      deployer.abandon(d.id, "The deployment was interrupted by a restart; the previous version kept serving.");
      fixedDeployments++;
    }
  }
  let fixedAgents = 0;
  const busy = db.select().from(agents).where(inArray(agents.status, ["generating", "validating", "deploying"])).all();
  for (const a of busy) {
    if (queue.hasActive(a.id)) continue;
    if (a.status === "deploying") {
      const open = db.select({ id: deployments.id }).from(deployments).where(and(eq(deployments.agentId, a.id), eq(deployments.status, "deploying"))).get();
      if (open) continue;
      settle(db, a);
    } else {
      // A conversation build owns its agent through builder.turn jobs, which carry no agent
      // id until the agent exists; only settle agents with no active job of any kind.
      markFailed(db, a.id, { code: "interrupted", message: "The generation was interrupted and could not resume." });
    }
    fixedAgents++;
  }
  // A conversation answers `processing` while its turn job may still run; once that job is
  // finished or gone, nothing will move it, so it ends failed and its callers stop polling.
  let fixedConversations = 0;
  for (const c of db.select({ id: conversations.id, jobId: conversations.jobId }).from(conversations).where(eq(conversations.status, "processing")).all()) {
    const job = c.jobId ? queue.get(c.jobId) : undefined;
    if (job && ACTIVE.includes(job.status)) continue;
    const code = job?.status === "cancelled" ? "cancelled" : job?.failure?.code === "timeout" ? "timeout" : "interrupted";
    if (abandonConversation(db, c.id, code, `the turn was interrupted and could not resume (its job is ${job ? job.status : "gone"}); start again or rebuild`)) fixedConversations++;
  }
  return { deployments: fixedDeployments, agents: fixedAgents, conversations: fixedConversations };
}
