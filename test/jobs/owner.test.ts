/**
 * The queue owns the jobs table (issue 17): the reads other modules need (an agent's
 * scheduled runs for the builder view, "has this agent a live job?" for start-up
 * reconciliation) are Queue methods, retention calls src/jobs/retention.ts, and no file
 * outside src/jobs/ names the table in Drizzle or SQL (a scan of src/, like a reviewer's grep).
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { echoJob } from "../../src/jobs";
import { cleanupAfterEach, queueOn, until } from "./setup";

cleanupAfterEach();

const ROOT = join(import.meta.dir, "../..");


/** Places in `text` that query the jobs table directly. */
function jobsSql(text: string): string[] {
  const out: string[] = [];
  const patterns = [
    /\b(?:from|update|insert|delete)\(\s*(?:schema\.)?jobs(?:Table)?\s*\)/g,
    /\bjobs\s+as\s+\w+\s*\}\s*from\s*"[^"]*db\/schema"/g,
    /\b(?:FROM|INTO|UPDATE)\s+"?jobs"?\b/g,
  ];
  for (const re of patterns) for (const m of text.matchAll(re)) out.push(m[0]);
  return out;
}

test("the scan recognises the queries that lived in boot.ts and reconcile.ts", () => {
  // Verbatim from before (boot.ts scheduleRuns, reconcile.ts).
  expect(jobsSql(`import { agents, jobs as jobsTable } from "./db/schema";\ndb.select().from(jobsTable).where(eq(jobsTable.agentId, agentId))`)).toHaveLength(2);
  expect(jobsSql(`const activeJob = db\n  .select({ id: jobs.id })\n  .from(jobs)\n  .where(and(eq(jobs.agentId, a.id)))`)).toHaveLength(1);
  expect(jobsSql("DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE kind = 'x')")).toHaveLength(2);
  expect(jobsSql(`deps.jobs.enqueueInTx(tx, "validate", {})\nqueue.list({ agentId })`)).toEqual([]);
});

test("no file outside src/jobs/ queries the jobs table (retention's pruning included)", () => {
  const found: Record<string, number> = {};
  for (const file of new Bun.Glob("src/**/*.ts").scanSync({ cwd: ROOT })) {
    if (file.startsWith("src/jobs/") || file.startsWith("src/db/") || file.endsWith(".test.ts")) continue;
    const hits = jobsSql(readFileSync(join(ROOT, file), "utf8"));
    if (hits.length) found[file] = hits.length;
  }
  expect(found).toEqual({});
});

test("Queue.list: an agent's jobs of one kind, newest first, bounded; hasActive follows their status", async () => {
  const q = (await queueOn()).register(echoJob);
  const a1 = await q.enqueue("echo", { message: "one" }, { agentId: "agent_a" });
  const a2 = await q.enqueue("echo", { message: "two" }, { agentId: "agent_a" });
  await q.enqueue("echo", { message: "other" }, { agentId: "agent_b" });
  expect((await q.list({ agentId: "agent_a" })).map((j) => j.id)).toEqual([a2.id, a1.id]);
  expect((await q.list({ agentId: "agent_a", limit: 1 })).map((j) => j.id)).toEqual([a2.id]);
  expect(await q.list({ agentId: "agent_a", kind: "schedule.run" })).toEqual([]);
  expect(await q.hasActive("agent_a")).toBe(true);
  expect(await q.hasActive("agent_none")).toBe(false);
  q.start();
  await until(async () => !await q.hasActive("agent_a") && !await q.hasActive("agent_b"), 10_000, "jobs finished");
  expect((await q.list({ agentId: "agent_a", kind: "echo" })).map((j) => j.status)).toEqual(["completed", "completed"]);
});
