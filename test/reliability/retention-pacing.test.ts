/**
 * Issue 15, found under sustained load: at ~25,000 invocations/s a retention pass deletes
 * ~1.5 million rows a minute, and on SQLite every delete batch and vacuum step runs on the
 * main thread. With only a setImmediate between batches the pass took the main thread for
 * ~3.6 s back to back: calls answered in those seconds fell to ~40% and their p99 rose from
 * 7 ms to 35–150 ms (`bench/retention-load.ts`). A pass now pauses after each step at least
 * as long as the step took (pruner.ts `paceAfter`), and vacuums in small steps. Paced, such a
 * pass takes seconds, so a server that stops ends it after the batch under way
 * (`Pruner.stop`) instead of waiting for the rest.
 * Real SQLite file, real Pruner; only the write transactions are timed, by a wrapper.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { openDatabase, type Db, type OpenedDatabase } from "../../src/db";
import { Pruner } from "../../src/retention/pruner";
import { tempDir, testDialect } from "../harness";

const ROWS = 20_000;
const KEPT = 100;

let opened: OpenedDatabase;
/** Adds ROWS invocation rows of agt_pace. */
let addRows: () => void;
/** Each write transaction's [start, end] (ms, performance.now()), in order. */
const spans: [number, number][] = [];
let db: Db;

const onSqlite = testDialect === "sqlite";

beforeAll(() => {
  if (!onSqlite) return;
  opened = openDatabase(join(tempDir(), "pacing.db"));
  const raw = opened.sqlite;
  raw.exec("INSERT INTO workspaces (id, name) VALUES ('ws_pace', 'pace')");
  raw.exec("INSERT INTO agents (id, workspace_id, slug, name, status) VALUES ('agt_pace', 'ws_pace', 'pace', 'pace', 'deployed')");
  const insert = raw.prepare("INSERT INTO invocations (agent_id, version, key_id, source, method, path, status, latency_ms, request_id, at) VALUES ('agt_pace', 1, 'key_pace', 'invoke', 'POST', '/', 200, 1, ?, ?)");
  addRows = raw.transaction(() => {
    for (let i = 0; i < ROWS; i++) insert.run(`req_${i.toString().padStart(16, "0")}`, Date.now());
  });
  addRows();
  const timed = Object.create(opened.db) as Db;
  timed.tx = async (fn) => {
    const started = performance.now();
    try {
      return await opened.db.tx(fn);
    } finally {
      spans.push([started, performance.now()]);
    }
  };
  db = timed;
});

afterAll(() => opened?.close());

test.skipIf(!onSqlite)("a pass pauses after every delete batch and vacuum step at least as long as the step took", async () => {
  const pruner = new Pruner(db, { maxAgeDays: 0, maxInvocations: KEPT, maxLogLines: 0, maxLogBytes: 0 });
  const r = await pruner.prune();
  expect(r.invocations).toBe(ROWS - KEPT);
  expect(r.pagesFreed).toBeGreaterThan(0);
  const left = opened.sqlite.query("SELECT count(*) AS n FROM invocations").get() as { n: number };
  expect(left.n).toBe(KEPT);
  // 40 delete batches of 500 rows, then the vacuum's steps.
  expect(spans.length).toBeGreaterThan(40);
  const short: string[] = [];
  for (let i = 1; i < spans.length; i++) {
    const [prevStart, prevEnd] = spans[i - 1]!;
    const gap = spans[i]![0] - prevEnd;
    // (A timer may fire a fraction of a millisecond early.)
    if (gap < prevEnd - prevStart - 0.25) short.push(`step ${i - 1} took ${(prevEnd - prevStart).toFixed(2)} ms, the next began ${gap.toFixed(2)} ms after it`);
  }
  expect(short).toEqual([]);
});

test.skipIf(!onSqlite)("stop() ends a pass in progress after the batch under way, and later passes do nothing", async () => {
  addRows();
  const before = (opened.sqlite.query("SELECT count(*) AS n FROM invocations").get() as { n: number }).n;
  const pruner = new Pruner(db, { maxAgeDays: 0, maxInvocations: KEPT, maxLogLines: 0, maxLogBytes: 0 });
  spans.length = 0;
  const pass = pruner.prune();
  while (spans.length < 3) await Bun.sleep(1);
  pruner.stop();
  const r = await pass;
  // The batch running when stop() was called commits; nothing starts after it.
  expect(spans.length).toBeLessThanOrEqual(4);
  expect(r.invocations).toBeLessThanOrEqual(4 * 500);
  expect(r.pagesFreed).toBe(0);
  const after = (opened.sqlite.query("SELECT count(*) AS n FROM invocations").get() as { n: number }).n;
  expect(after).toBe(before - r.invocations);
  expect(await pruner.prune()).toEqual({ invocations: 0, logs: 0, jobs: 0, versions: 0, pagesFreed: 0 });
  expect(spans.length).toBeLessThanOrEqual(4);
});
