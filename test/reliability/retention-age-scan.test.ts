/**
 * Found by an attack on the paced retention pass (a71b1dc, e6dbc92; src/retention/pruner.ts `threshold`,
 * src/lib/pacing.ts): reads now count toward the pacing and the log-bytes window sum is bounded
 * by the row cap, but the age read for logs, `SELECT max(id) FROM agent_logs WHERE agent_id = ?
 * AND at < cutoff`, is still one statement whose cost is every line the agent wrote since the
 * cutoff: `agent_logs` has no index on `at` (only agent_logs_agent (agent_id, id)), so SQLite
 * walks the agent's lines newest first, reading each row's `at`, until one is older than the
 * cutoff (with a 7-day limit: all of them). On SQLite that read runs on the main thread in one
 * piece, before any delete of the pass. A chatty agent writing ~25,000 lines/s (README issue 15's
 * rate, e.g. 2,500 calls/s logging 10 lines each) has ~1.5 million lines by the next pass, and
 * the pass holds every other tenant's calls for that one read, every minute (131 ms for the read
 * alone at 1 million lines, 2-core machine). The bound is the one the change's own test uses
 * (test/reliability/retention-unpaced-scan.test.ts, 100 ms). Measured: 225 ms; the same pass with
 * maxAgeDays 0 (no age read) stalls 9 ms, so the age read is the block. The age read now looks
 * only above the row cap's id (everything at or below it goes anyway): at most maxRows lines.
 * Real SQLite file (checkpoints on their own thread, as the server opens it), real Pruner with
 * the server's default policy.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { openDatabase, type OpenedDatabase } from "../../src/db";
import { Pruner } from "../../src/retention/pruner";
import { tempDir, testDialect } from "../harness";
import { longestLoopStall } from "./helpers";

const LINES = 1_500_000; // one minute of one chatty agent at ~25,000 lines/s
const onSqlite = testDialect === "sqlite";
const dir = tempDir("cantrip-age-scan-");
let opened: OpenedDatabase;
const now = Date.now();

beforeAll(() => {
  if (!onSqlite) return;
  opened = openDatabase(join(dir, "age.db"), { checkpointInBackground: { onFailure() {} } });
  const raw = opened.sqlite;
  raw.exec("INSERT INTO workspaces (id, name) VALUES ('ws_chat', 'chat')");
  raw.exec("INSERT INTO agents (id, workspace_id, slug, name, status) VALUES ('agt_chatty', 'ws_chat', 'chatty', 'chatty', 'deployed')");
  const line = raw.prepare("INSERT INTO agent_logs (agent_id, level, message, at) VALUES ('agt_chatty', 'info', ?, ?)");
  raw.transaction(() => {
    for (let i = 0; i < LINES; i++) line.run(`handled request ${i}`, now - 60_000 + Math.floor((i * 60_000) / LINES));
  })();
});

afterAll(() => {
  opened?.close();
  rmSync(dir, { recursive: true, force: true });
});

test.skipIf(!onSqlite)("a pass over one agent with a minute of chatty logs does not hold the event loop for long", async () => {
  const pruner = new Pruner(opened.db, { maxAgeDays: 7, maxInvocations: 10_000, maxLogLines: 5_000, maxLogBytes: 4 * 1024 * 1024, maxVersions: 50 }, { now: () => now });
  const { result: r, ms, stallMs: worst } = await longestLoopStall(() => pruner.prune());
  expect(r.logs).toBe(LINES - 5_000); // the pass did its job: only the row cap's newest 5,000 stay
  console.log(`pass ${ms.toFixed(0)} ms; longest event-loop stall ${worst.toFixed(0)} ms`);
  expect(worst).toBeLessThan(100);
}, 180_000);
