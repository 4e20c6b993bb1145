/**
 * The agent keys' last-used times are written every 5 s (src/auth/agent-keys.ts
 * `flushUsage`, a background loop). They were written in one transaction of one UPDATE per
 * key used since the last flush: on SQLite that runs on the main thread in one piece, and a
 * workspace may hold any number of keys, so 5,000 keys used within 5 s held the event loop
 * ~75 ms every 5 s (10,000: ~150 ms) (the same kind of fault as retention's and the error-rate monitor's
 * unpaced passes: test/reliability/retention-paced, monitor-paced). Real SQLite file,
 * real AgentKeys: the keys are made and used through its own methods.
 */
import { afterAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { openDatabase } from "../../src/db";
import { AgentKeys } from "../../src/auth/agent-keys";
import { apiKeys } from "../../src/db/schema";
import { tempDir, testDialect } from "../harness";
import { longestLoopStall } from "./helpers";

const KEYS = 10_000;
const dir = tempDir("cantrip-key-usage-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test.skipIf(testDialect !== "sqlite")("writing 10,000 keys' last-used times does not hold the event loop for long, and writes every one", async () => {
  const opened = openDatabase(join(dir, "keys.db"));
  try {
    opened.sqlite.exec("INSERT INTO workspaces (id, name) VALUES ('ws_1', 'w')");
    opened.sqlite.query("INSERT INTO agents (id, workspace_id, slug, name, status) VALUES ('agent_a', 'ws_1', 'a', 'a', 'ready')").run();
    const keys = new AgentKeys(opened.db);
    const made: { key: string; id: string }[] = [];
    for (let i = 0; i < KEYS; i++) {
      const { key, apiKey } = await keys.create("ws_1", "agent_a", `k${i}`);
      made.push({ key, id: apiKey.id });
    }
    const before = Date.now();
    for (const k of made) await keys.verify(`Bearer ${k.key}`, "agent_a");
    const { result, ms, stallMs } = await longestLoopStall(() => keys.flushUsage());
    console.log(`${result} last-used times in ${ms.toFixed(0)} ms; longest event-loop stall ${stallMs.toFixed(0)} ms`);
    expect(result).toBe(KEYS);
    const unwritten = (await opened.db.select({ id: apiKeys.id, at: apiKeys.lastUsedAt }).from(apiKeys).where(eq(apiKeys.agentId, "agent_a"))).filter((r) => r.at === null || r.at < before);
    expect(unwritten).toEqual([]);
    expect(stallMs).toBeLessThan(60); // (the old code: ~75 ms at 5,000 keys, ~150 at 10,000)
  } finally {
    opened.close();
  }
}, 120_000);
