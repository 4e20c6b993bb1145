/**
 * The invocation log's write path (issue 12 §2): constraint failures drop and report only
 * the rows that break them; a busy database keeps the batch for a bounded number of flushes.
 */
import { afterEach, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase, type OpenedDatabase } from "../db";
import { InvocationLog, type InvocationInsert } from "./invocation-log";

let opened: OpenedDatabase;
let other: Database;
let dir: string;
afterEach(() => {
  other?.close();
  opened?.close();
  rmSync(dir, { recursive: true, force: true });
});

function setup(busyTimeoutMs = 30) {
  dir = mkdtempSync(join(tmpdir(), "cantrip-log-"));
  const file = join(dir, "log.db");
  opened = openDatabase(file, { busyTimeoutMs });
  opened.sqlite.exec("INSERT INTO workspaces (id, name) VALUES ('ws_1', 'w')");
  for (const id of ["agent_a", "agent_b"]) opened.sqlite.query("INSERT INTO agents (id, workspace_id, slug, name, status) VALUES (?, 'ws_1', ?, ?, 'ready')").run(id, id, id);
  other = new Database(file);
  const dropped: { rows: number; reason: string }[] = [];
  const log = new InvocationLog(opened.db, { onDropped: (rows, reason) => dropped.push({ rows, reason }) });
  return { log, dropped };
}

const row = (agentId: string, n: number): InvocationInsert => ({ agentId, source: "invoke", method: "POST", path: "/", status: 200, latencyMs: 1, requestId: `r${n}`, at: Date.now() });
const count = () => (opened.sqlite.query("SELECT count(*) AS n FROM invocations").get() as { n: number }).n;

test("rows of a deleted agent are dropped and reported; the others are written", () => {
  const { log, dropped } = setup();
  log.record(row("agent_a", 1), [{ level: "info", message: "a", at: 1 }]);
  log.record(row("agent_b", 2), [{ level: "info", message: "b", at: 1 }]);
  opened.sqlite.exec("DELETE FROM agents WHERE id = 'agent_b'");
  expect(log.flush()).toBe(1);
  expect(count()).toBe(1);
  expect(dropped).toEqual([{ rows: 2, reason: expect.stringContaining("FOREIGN KEY") }]);
  expect(log.pending).toBe(0);
});

test("forgetAgent discards the agent's buffered rows (the delete path), so the flush meets no foreign key", () => {
  const { log, dropped } = setup();
  log.record(row("agent_a", 1));
  log.record(row("agent_b", 2), [{ level: "info", message: "b", at: 1 }]);
  opened.sqlite.exec("DELETE FROM agents WHERE id = 'agent_b'");
  log.forgetAgent("agent_b");
  expect(log.flush()).toBe(1);
  expect(dropped).toEqual([]);
});

test("a busy database keeps the batch for later (bounded attempts), without trying row by row", () => {
  const { log, dropped } = setup(30);
  for (let i = 0; i < 50; i++) log.record(row("agent_a", i));
  other.exec("BEGIN IMMEDIATE");
  const t0 = performance.now();
  expect(log.flush()).toBe(0);
  expect(performance.now() - t0).toBeLessThan(1000); // one busy wait, not fifty
  expect(log.pending).toBe(50);
  other.exec("COMMIT");
  expect(log.flush()).toBe(50);
  expect(count()).toBe(50);

  log.record(row("agent_a", 99));
  other.exec("BEGIN IMMEDIATE");
  log.flush();
  log.flush();
  expect(log.pending).toBe(1);
  log.flush(); // third failure: out of attempts
  other.exec("COMMIT");
  expect(log.pending).toBe(0);
  expect(dropped).toEqual([{ rows: 1, reason: expect.stringMatching(/locked|busy/i) }]);
});
