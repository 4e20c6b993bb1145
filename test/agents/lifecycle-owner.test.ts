/**
 * The agent's lifecycle has one owner (issue 17): `agents.status` is written, and agent
 * rows are inserted, only in src/agents/lifecycle.ts. The scan reads every source file like
 * a reviewer would: a Drizzle `update(agents)` whose statement sets `status`, any
 * `insert(agents)`, or raw SQL that updates/inserts agents, anywhere else fails the test.
 * The transitions themselves are checked on a real SQLite file.
 */
import { describe, expect, test } from "bun:test";
import { join, relative } from "node:path";
import { readFileSync } from "node:fs";
import { eq } from "drizzle-orm";
import { openDatabase, type Tx } from "../../src/db";
import { agents, workspaces } from "../../src/db/schema";
import {
  beginWork,
  goLive,
  insertAgent,
  markFailed,
  restingStatus,
  settle,
  startDeploying,
  takeOffline,
  versionAdded,
} from "../../src/agents/lifecycle";
import { tempDir } from "../harness";

const ROOT = join(import.meta.dir, "../..");
const OWNER = "src/agents/lifecycle.ts";

/** Places in `text` that write agents.status or insert an agent row, as "line: snippet". */
function statusWrites(text: string): string[] {
  const found: string[] = [];
  const lineOf = (i: number) => text.slice(0, i).split("\n").length;
  for (const m of text.matchAll(/\.update\(\s*(?:schema\.)?agents\s*\)/g)) {
    // The statement runs from `update(agents)` to the first call that executes it; a
    // `.set({...})` in between names the columns it writes.
    const rest = text.slice(m.index!);
    const setAt = rest.search(/\.set\(/);
    // (or, awaited, the end of the expression: `;` or the closing of a tx callback)
    const endMatch = /\.(run|get|all|returning|execute)\s*\(|;|\)\);|\)\),/.exec(rest);
    const statement = rest.slice(0, endMatch ? endMatch.index : 400);
    if (setAt >= 0 && /\bstatus\b/.test(statement)) found.push(`${lineOf(m.index!)}: ${statement.slice(0, 120).replace(/\s+/g, " ")}`);
  }
  for (const m of text.matchAll(/\.insert\(\s*(?:schema\.)?agents\s*\)/g)) found.push(`${lineOf(m.index!)}: insert(agents)`);
  for (const m of text.matchAll(/\b(update\s+"?agents"?\s+set\b[^`;]*\bstatus\b|insert\s+into\s+"?agents"?\b)/gi))
    found.push(`${lineOf(m.index!)}: ${m[0].slice(0, 120)}`);
  return found;
}

describe("one owner of agents.status", () => {
  test("the scan recognises the shapes that used to be spread over six modules", () => {
    // Verbatim from the code before lifecycle.ts (reconcile.ts, deployer.ts, turns.ts, service.ts).
    expect(statusWrites(`db.update(agents).set({ status: a.liveVersion !== null ? "deployed" : "ready" }).where(eq(agents.id, a.id)).run();`)).toHaveLength(1);
    expect(
      statusWrites(`tx.update(agents)
          .set({ status: agent.liveVersion !== null ? "deployed" : "ready", updatedAt: Date.now() })
          .where(eq(agents.id, agent.id))
          .run();`),).toHaveLength(1);
    expect(statusWrites(`const s = "deployed";\ntx.update(agents).set({ latestVersion: n, status, updatedAt: Date.now() }).where(eq(agents.id, agent.id)).run();`)).toHaveLength(1);
    expect(statusWrites(`const row = tx\n  .insert(agents)\n  .values({ id, status: "generating" })`)).toHaveLength(1);
    expect(statusWrites(`sqlite.run("UPDATE agents SET status = 'ready' WHERE id = ?", [id])`)).toHaveLength(1);
    // Writes of other columns are not lifecycle writes (limits, service key).
    expect(statusWrites(`this.deps.db.update(agents).set({ serviceKeyId: apiKey.id }).where(eq(agents.id, agent.id)).run();\nconst status = 1;`)).toEqual([]);
    expect(statusWrites(`db.update(agents).set({ limits: null, updatedAt: Date.now() }).where(eq(agents.id, agent.id)).returning().get();`)).toEqual([]);
  });

  test("no file under src/ but the lifecycle module writes agents.status or inserts an agent", () => {
    const offenders: string[] = [];
    let scanned = 0;
    for (const file of new Bun.Glob("src/**/*.{ts,tsx}").scanSync({ cwd: ROOT })) {
      if (file === OWNER || file.startsWith("src/db/migrations/") || file.endsWith(".test.ts")) continue;
      scanned++;
      for (const w of statusWrites(readFileSync(join(ROOT, file), "utf8"))) offenders.push(`${relative(ROOT, join(ROOT, file))}:${w}`);
    }
    expect(scanned).toBeGreaterThan(100);
    expect(offenders).toEqual([]);
    // The owner itself is recognised by the scan (so the scan is not blind to its own shapes).
    expect(statusWrites(readFileSync(join(ROOT, OWNER), "utf8")).length).toBeGreaterThan(0);
  });
});

describe("transitions", () => {
  const opened = openDatabase(join(tempDir(), "lifecycle.db"));
  const { db } = opened;
  opened.sqlite.run("INSERT INTO workspaces (id, name) VALUES ('ws_1', 'w')");
  const row = async (id: string) => (await db.select().from(agents).where(eq(agents.id, id)).limit(1))[0]!;
  const fresh = (status: "ready" | "generating" = "generating") => db.tx((t) => insertAgent(t, { workspaceId: "ws_1", name: "Lead Scorer", status }, Infinity));
  /** Runs one transition in a transaction of its own. */
  const step = (fn: (t: Tx) => Promise<unknown>) => db.tx(fn);

  test("insertAgent refuses a workspace's agent past maxAgents with 409 agent_limit_reached and writes nothing", async () => {
    opened.sqlite.run("INSERT INTO workspaces (id, name) VALUES ('ws_cap', 'capped')");
    const add = () => db.tx((t) => insertAgent(t, { workspaceId: "ws_cap", name: "Capped", status: "ready" }, 2));
    await add();
    await add();
    expect(add()).rejects.toMatchObject({ code: "agent_limit_reached", status: 409 });
    await Bun.sleep(10);
    expect((await db.select().from(agents).where(eq(agents.workspaceId, "ws_cap"))).length).toBe(2);
    // Another workspace is not affected.
    expect((await db.tx((t) => insertAgent(t, { workspaceId: "ws_1", name: "Other", status: "ready" }, 2))).workspaceId).toBe("ws_1");
  });

  test("insertAgent makes a unique slug from the name", async () => {
    const a = await fresh();
    const b = await fresh();
    expect(a.slug).toBe("lead-scorer");
    expect(b.slug).toBe("lead-scorer-2");
    expect(a.status).toBe("generating");
  });

  test("the idle rule: deployed when live, else ready (or the given fallback)", () => {
    expect(restingStatus({ liveVersion: 3 })).toBe("deployed");
    expect(restingStatus({ liveVersion: null })).toBe("ready");
    expect(restingStatus({ liveVersion: null }, "failed")).toBe("failed");
  });

  test("generate → validate → version saved → deploying → deployed → offline", async () => {
    const a = await fresh();
    await step((t) => beginWork(t, a.id, "validating"));
    expect((await row(a.id)).status).toBe("validating");
    await step((t) => t.update(agents).set({ failure: { code: "internal_error", message: "old" } }).where(eq(agents.id, a.id)));
    const r1 = await row(a.id);
    await step((t) => versionAdded(t, r1, 1, { allowedHosts: ["api.example.com"], clearFailure: true }));
    expect(await row(a.id)).toMatchObject({ status: "ready", latestVersion: 1, allowedHosts: ["api.example.com"], failure: null });
    await step((t) => startDeploying(t, a.id));
    // A version stored while a deploy runs keeps the agent deploying.
    const r2 = await row(a.id);
    await step((t) => versionAdded(t, r2, 2));
    expect(await row(a.id)).toMatchObject({ status: "deploying", latestVersion: 2 });
    await step((t) => goLive(t, a.id, 2));
    expect(await row(a.id)).toMatchObject({ status: "deployed", liveVersion: 2 });
    const r3 = await row(a.id);
    await step((t) => takeOffline(t, r3));
    expect(await row(a.id)).toMatchObject({ status: "ready", liveVersion: null });
  });

  test("a failed deploy or generation rests by the idle rule; a live agent keeps showing deployed", async () => {
    const a = await fresh();
    await step((t) => markFailed(t, a.id, { code: "validation_failed", message: "no", stage: "validate" }));
    expect(await row(a.id)).toMatchObject({ status: "failed", failure: { code: "validation_failed", stage: "validate" } });
    await step((t) => goLive(t, a.id, 1));
    expect((await row(a.id)).failure).toBeNull();
    await step((t) => beginWork(t, a.id, "generating"));
    await step((t) => markFailed(t, a.id, { code: "cancelled", message: "stop" }));
    expect((await row(a.id)).status).toBe("deployed");
    await step((t) => startDeploying(t, a.id));
    const ra = await row(a.id);
    await step((t) => settle(t, ra));
    expect((await row(a.id)).status).toBe("deployed");
    const b = await fresh("ready");
    await step((t) => startDeploying(t, b.id));
    const rb = await row(b.id);
    await step((t) => settle(t, rb));
    expect((await row(b.id)).status).toBe("ready");
    // Builder heal: a non-live agent keeps what it shows.
    await step((t) => beginWork(t, b.id, "validating"));
    const rb2 = await row(b.id);
    await step((t) => settle(t, rb2, rb2.status));
    expect((await row(b.id)).status).toBe("validating");
    await step((t) => markFailed(t, "agent_gone", { code: "internal_error", message: "y" }));
  });
});
