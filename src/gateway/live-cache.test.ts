/**
 * The live cache follows the change bus (issue 17): a write that announces `agent.live` or
 * `agent.deleted` drops the agent's entry once it commits (not before, not on a rollback),
 * a resync clears everything, and a fill whose database read started before an
 * invalidation is not kept (so a load racing a deploy cannot put the old version back).
 * A real SQLite file; the entries are read through the same path the gateway uses.
 */
import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { openDatabase, type OpenedDatabase } from "../db";
import { agents } from "../db/schema";
import { LiveCache } from "./live-cache";

let opened: OpenedDatabase;
let dir: string;
afterEach(() => {
  opened?.close();
  rmSync(dir, { recursive: true, force: true });
});

function setup() {
  dir = mkdtempSync(join(tmpdir(), "cantrip-live-"));
  opened = openDatabase(join(dir, "live.db"));
  opened.sqlite.exec("INSERT INTO workspaces (id, name) VALUES ('ws_1', 'w')");
  opened.sqlite.exec("INSERT INTO agents (id, workspace_id, slug, name, status) VALUES ('agent_a', 'ws_1', 'a', 'A', 'ready')");
  return new LiveCache(opened.db);
}

/** Renames the agent in a transaction that announces (or not) the change, and may roll back. */
const rename = (name: string, opts: { announce: boolean; fail?: boolean }) =>
  opened.db
    .tx(async (t) => {
      await t.update(agents).set({ name }).where(eq(agents.id, "agent_a"));
      if (opts.announce) t.publish("agent.live", { agentId: "agent_a" });
      if (opts.fail) throw new Error("rolled back");
    })
    .catch(() => {});

test("a warm entry is answered from memory (peek), until a committed change is announced", async () => {
  const live = setup();
  expect(live.peek("a")).toBeUndefined();
  expect((await live.get("a"))?.agent.name).toBe("A");
  expect(live.peek("a")?.agent.name).toBe("A");
  await rename("B", { announce: false }); // a write nobody announced: the cache cannot know
  expect(live.peek("a")?.agent.name).toBe("A");
  await rename("C", { announce: true, fail: true }); // announced, but rolled back: nothing to drop
  expect(live.peek("a")?.agent.name).toBe("A");
  await rename("D", { announce: true });
  expect(live.peek("a")).toBeUndefined(); // dropped before the writer's tx() resolved
  expect((await live.get("a"))?.agent.name).toBe("D");
});

test("agent.deleted drops the entry; a resync drops everything", async () => {
  const live = setup();
  await live.get("a");
  await opened.db.tx(async (t) => {
    await t.delete(agents).where(eq(agents.id, "agent_a"));
    t.publish("agent.deleted", { agentId: "agent_a" });
  });
  expect(live.peek("a")).toBeUndefined();
  expect(await live.get("a")).toBeNull();
  opened.sqlite.exec("INSERT INTO agents (id, workspace_id, slug, name, status) VALUES ('agent_b', 'ws_1', 'b', 'B', 'ready')");
  await live.get("b");
  expect(live.peek("b")).toBeDefined();
  opened.db.resync();
  expect(live.peek("b")).toBeUndefined();
});

test("a fill whose read began before an invalidation is answered but not kept", async () => {
  const live = setup();
  const pending = live.get("a"); // a miss: the read is under way
  opened.db.resync(); // what a LISTEN reconnect (or any invalidation) does meanwhile
  expect((await pending)?.agent.name).toBe("A");
  expect(live.peek("a")).toBeUndefined(); // the next call reads again
  await live.get("a");
  expect(live.peek("a")?.agent.name).toBe("A");
});

test("put: a writer's entry is kept when its own announcement was the agent's only one since its mark", async () => {
  const live = setup();
  const before = (await live.get("a"))!;
  const mark = live.mark("agent_a");
  let kept: boolean | undefined;
  await opened.db.tx(async (t) => {
    await t.update(agents).set({ name: "Put" }).where(eq(agents.id, "agent_a"));
    t.publish("agent.live", { agentId: "agent_a" });
    t.onCommit(() => (kept = live.put({ ...before, agent: { ...before.agent, name: "Put" } }, mark)));
  });
  expect(kept).toBe(true);
  expect(live.peek("a")?.agent.name).toBe("Put");
  await rename("Later", { announce: true }); // a later change still drops it
  expect(live.peek("a")).toBeUndefined();
});

test("put: another writer's change delivered around the writer's own, or a resync, wins over its entry", async () => {
  const live = setup();
  const before = (await live.get("a"))!;
  // Two transactions on the agent delivered before the writer's hook runs (PostgreSQL runs them concurrently).
  const mark = live.mark("agent_a");
  await rename("Other", { announce: true });
  await rename("Mine", { announce: true });
  expect(live.put({ ...before, agent: { ...before.agent, name: "Mine" } }, mark)).toBe(false);
  expect(live.peek("a")).toBeUndefined();
  // A resync between the mark and the put.
  const mark2 = live.mark("agent_a");
  await rename("Mine again", { announce: true });
  opened.db.resync();
  expect(live.put({ ...before, agent: { ...before.agent, name: "Mine again" } }, mark2)).toBe(false);
  expect(live.peek("a")).toBeUndefined();
  // Without any announcement of its own (a put that is not from a committing writer).
  expect(live.put(before, live.mark("agent_a"))).toBe(false);
  expect((await live.get("a"))?.agent.name).toBe("Mine again");
});
