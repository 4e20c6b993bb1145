/**
 * The invocation log attacked by a review (issue 15, of a "steady trickle" version that was
 * measured and not kept: README, "Performance"). Each test names the promise it checks; the
 * ones that found a fault in the batch log kept here (a throwing onDropped made flush() reject,
 * and a row-by-row retry whose COMMIT failed requeued rows twice, so they were written twice)
 * fail on a29a14c; the others guard promises any version of the log must keep.
 */
import { afterEach, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { type OpenedDatabase } from "../db";
import { agents } from "../db/schema";
import { InvocationLog, type InvocationLogOptions } from "./invocation-log";
import { invocationRow as row, openLogTestDb } from "../../test/fixtures/invocation-log-db";

let opened: OpenedDatabase;
let other: Database;
let dir: string;
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
  other?.close();
  opened?.close();
  rmSync(dir, { recursive: true, force: true });
});

function setup(busyTimeoutMs = 30, opts: InvocationLogOptions = {}) {
  ({ dir, opened, other } = openLogTestDb("cantrip-logfaults-", busyTimeoutMs));
  const dropped: { rows: number; reason: string }[] = [];
  const log = new InvocationLog(opened.db, { onDropped: (rows, reason) => dropped.push({ rows, reason }), ...opts });
  return { log, dropped };
}

const committed = () => (other.query("SELECT count(*) AS n FROM invocations").get() as { n: number }).n;
const turn = () => new Promise<void>((r) => setImmediate(r));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** "resolved", "rejected" or "pending" after `ms`. */
const within = (p: Promise<unknown>, ms: number) =>
  Promise.race([p.then(() => "resolved" as const, () => "rejected" as const), sleep(ms).then(() => "pending" as const)]);

/** Counts the BEGINs on the log's connection until the returned function is called. */
function countBegins() {
  const exec = opened.sqlite.exec.bind(opened.sqlite);
  let begins = 0;
  opened.sqlite.exec = ((q: string) => (q.startsWith("BEGIN") && begins++, exec(q))) as typeof opened.sqlite.exec;
  const stop = () => ((opened.sqlite.exec = exec as typeof opened.sqlite.exec), begins);
  cleanups.push(stop);
  return stop;
}

// ---------------------------------------------------------------------------------------
// A callback that throws: onDropped.

/**
 * Runs `body` (the text of an async function body that may use `opened`, `other`, `row`,
 * `sleep`, `within` and `InvocationLog`, and returns an object) in a child Bun process, where
 * an unhandled rejection of the log's own run does not end the test (bun test fails a test at
 * the first one); returns that object with the unhandled rejections seen.
 */
async function inChild(body: string): Promise<unknown> {
  const script = `
    import { rmSync } from "node:fs";
    import { invocationRow as row, openLogTestDb } from ${JSON.stringify(join(import.meta.dir, "../../test/fixtures/invocation-log-db"))};
    import { InvocationLog } from ${JSON.stringify(join(import.meta.dir, "invocation-log"))};
    const unhandled = [];
    process.on("unhandledRejection", (e) => unhandled.push(String(e)));
    const uncaught = [];
    process.on("uncaughtException", (e) => uncaught.push(String(e)));
    const { dir, opened, other } = openLogTestDb("cantrip-logfaults-child-", 30);
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    const within = (p, ms) => Promise.race([p.then(() => "resolved", () => "rejected"), sleep(ms).then(() => "pending")]);
    const result = await (async () => { ${body} })();
    console.log(JSON.stringify({ ...result, unhandled, uncaught }));
    other.close();
    opened.close();
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  `;
  const path = join(dir, "child.ts");
  await Bun.write(path, script);
  const p = Bun.spawn([process.execPath, path], { stdout: "pipe", stderr: "pipe" });
  const out = await new Response(p.stdout).text();
  await p.exited;
  const last = out.trim().split("\n").pop()!;
  return JSON.parse(last);
}

test("flush() settles when onDropped throws (a passing failure's third attempt drops the row): no waiter is stranded", async () => {
  dir = mkdtempSync(join(tmpdir(), "cantrip-logfaults-"));
  const r = await inChild(`
    const log = new InvocationLog(opened.db, { onDropped: () => { throw new Error("metrics sink down"); } });
    log.record(row("agent_a", 1));
    other.exec("BEGIN IMMEDIATE");
    await log.flush().catch(() => {});
    await log.flush().catch(() => {});
    const thirdFlush = log.flush(); // out of attempts: the row is dropped, onDropped throws
    const third = await within(thirdFlush, 1000);
    other.exec("COMMIT");
    // A later flush with nothing buffered resolves at once; the third must be settled by then.
    const next = await within(log.flush(), 500);
    const thirdAfterNext = await within(thirdFlush, 500);
    return { third, next, thirdAfterNext, pending: log.pending };
  `);
  // a29a14c: the third flush rejects (flush() "never throws" is broken there too), the next resolves.
  // 006432e: the run's promise rejects unhandled and its waiters stay in the list: the third flush never settles.
  // Now: it resolves, and the callback's error goes to the process's last resort.
  expect(r).toMatchObject({ third: "resolved", next: "resolved", thirdAfterNext: "resolved", unhandled: [], uncaught: [expect.stringContaining("metrics sink down")] });
});

// ---------------------------------------------------------------------------------------
// maxBuffer.

test("maxBuffer: 0 (flush on every record) does not run empty transactions forever once the buffer is empty (no spinning when idle)", async () => {
  const { log } = setup(30, { maxBuffer: 0 });
  for (let i = 0; i < 10; i++) log.record(row("agent_a", i));
  await log.flush();
  await sleep(20);
  expect(log.pending).toBe(0);
  expect(committed()).toBe(10);
  const begins = countBegins();
  await sleep(100); // idle: nothing recorded
  expect(begins()).toBe(0);
});

// ---------------------------------------------------------------------------------------
// Bounded memory with other writers queuing every turn.

/** `n` writers that keep queueing for the gate, each transaction holding it across one turn (a deploy, a job claim that awaits a read); stop() ends them. */
function writersAlwaysWaiting(n: number) {
  let on = true;
  let txs = 0;
  const loop = async () => {
    while (on)
      await opened.db.tx(async (t) => {
        await t.update(agents).set({ name: `n${txs++}` }).where(eq(agents.id, "agent_b"));
        await turn();
      });
  };
  const done = Promise.all(Array.from({ length: n }, loop));
  return { txs: () => txs, stop: async () => ((on = false), await done) };
}

/*
 * 006432e handed the gate over after one piece (256 rows+lines with a writer waiting) and
 * then queued behind every writer that waits: with writers whose transactions span a turn,
 * the log wrote at most 256 rows (and as many lines) per 1 + (turns the writers hold the
 * gate) turns, ~85 rows a turn with two such writers. The batch log writes up to ROWS_PER_TX
 * rows per acquisition (and keeps up in each case below).
 */
for (const [calls, lines, writers] of [
  [100, 0, 2],
  [70, 0, 3],
  [2, 80, 1],
] as const)
  test(`the log keeps up: ${calls} calls a turn with ${lines} console lines each while ${writers} writer(s) whose transactions span a turn always wait for the gate`, async () => {
    const { log } = setup(30);
    const w = writersAlwaysWaiting(writers);
    const pending: number[] = [];
    for (let t = 0, k = 0; t < 1200; t++, await turn()) {
      for (let j = 0; j < calls; j++, k++) log.record(row("agent_a", k), Array.from({ length: lines }, (_, m) => ({ level: "info" as const, message: `l${k}_${m}`, at: k })));
      if (t % 200 === 199) pending.push(log.pending);
    }
    await w.stop();
    await log.flush();
    console.log(`${calls} calls/turn × ${lines} lines, ${writers} writer(s): pending every 200 turns`, pending.join(", "));
    expect(committed()).toBe(1200 * calls);
    // Bounded: 006432e's backlog grows by the same amount every 200 turns (e.g. 3104, 6208, … 17856).
    expect(pending.at(-1)!).toBeLessThan(2 * 2048 + 256 * lines);
  });

// ---------------------------------------------------------------------------------------
// Nothing written twice after a requeue.

const requestIds = () => (other.query("SELECT request_id AS r FROM invocations ORDER BY id").all() as { r: string }[]).map((x) => x.r);

test("a row-by-row retry that requeues rows after a passing error, then fails to COMMIT, requeues them once, not twice (nothing written twice)", async () => {
  const { log } = setup(30, { maxBuffer: 1e9 });
  opened.sqlite.exec("DELETE FROM agents WHERE id = 'agent_b'"); // with SQL: no agent.deleted, so the batch meets the foreign key
  // A row that fails for a passing reason (SQLITE_ERROR, not a constraint) while the trigger exists.
  opened.sqlite.exec("CREATE TRIGGER boom BEFORE INSERT ON invocations WHEN NEW.path = '/boom' BEGIN SELECT abs(-9223372036854775808); END");
  log.record(row("agent_a", 0));
  log.record(row("agent_b", 1)); // breaks the foreign key: the batch falls back to row by row
  log.record({ ...row("agent_a", 2), path: "/boom" }); // passing failure in the row-by-row pass: r2, r3 requeued
  log.record(row("agent_a", 3));
  // …and that transaction's COMMIT fails for a passing reason (the database busy past the timeout).
  const exec = opened.sqlite.exec.bind(opened.sqlite);
  let armed = true;
  opened.sqlite.exec = ((q: string) => {
    if (q === "COMMIT" && armed) throw Object.assign(new Error("database is locked"), { code: "SQLITE_BUSY" });
    return exec(q);
  }) as typeof opened.sqlite.exec;
  cleanups.push(() => (opened.sqlite.exec = exec as typeof opened.sqlite.exec));
  await log.flush();
  armed = false;
  opened.sqlite.exec("DROP TRIGGER boom");
  await log.flush();
  await log.flush();
  expect(log.pending).toBe(0);
  const ids = requestIds();
  expect(ids.filter((r, i) => ids.indexOf(r) !== i)).toEqual([]); // no request id twice
  expect(ids.sort()).toEqual(["r0", "r2", "r3"]);
});

// ---------------------------------------------------------------------------------------
// The same row object recorded twice.

test("a row object recorded twice: flush() still resolves only after every row recorded before it is committed", async () => {
  // Not done by the gateway or the scheduler (each call builds a fresh object), but nothing
  // in record()'s contract forbids it (the trickle version numbered rows by object: recorded
  // again, an object was renumbered and a flush() in progress resolved early).
  const { log } = setup(30, { maxBuffer: 1e9 });
  for (let i = 0; i < 32; i++) log.record(row("agent_a", i));
  const first = log.flush();
  const reused = row("agent_a", 100);
  log.record(reused);
  log.record(row("agent_a", 101));
  const second = log.flush(); // must wait for r100 and r101
  log.record(reused); // the same object again (renumbered after `second`'s mark)
  await first;
  await second;
  const ids = requestIds();
  expect(ids).toContain("r101");
});

// ---------------------------------------------------------------------------------------
// Checks that held (kept as evidence; they pass on 006432e and on the batch log).

test("held: flush() with an empty buffer while the log's transaction is open resolves only after that transaction commits", async () => {
  const { log } = setup(30, { maxBuffer: 600 });
  for (let k = 0; k < 600; k++) log.record(row("agent_a", k)); // record() starts the flush (no reader waits)
  const inTx = () => (opened.sqlite.query("SELECT count(*) AS n FROM invocations").get() as { n: number }).n; // the writer sees its open transaction
  // The buffer empty, and the transaction holding rows not yet committed (between its pieces).
  for (let i = 0; i < 1000 && !(log.pending === 0 && inTx() > committed()); i++) await turn();
  expect(log.pending === 0 && inTx() > committed()).toBe(true);
  await log.flush();
  expect(committed()).toBe(600);
});

test("held: once traffic stops, no transaction runs (no spinning when idle), default options", async () => {
  const { log } = setup(30);
  for (let t = 0, k = 0; t < 100; t++, await turn()) for (let j = 0; j < 20; j++, k++) log.record(row("agent_a", k));
  await log.flush();
  await sleep(50);
  const begins = countBegins();
  await sleep(100);
  expect(begins()).toBe(0);
  expect(log.pending).toBe(0);
});

test("held: an agent deleted while the log's transaction is open and its calls keep coming: no foreign-key drop, none of its rows left", async () => {
  const { log, dropped } = setup(30, { maxBuffer: 1e9 });
  let k = 0;
  for (; k < 300; k++) log.record(row(k % 2 ? "agent_a" : "agent_b", k), [{ level: "info", message: `m${k}`, at: k }]);
  let deleted = false;
  let on = true;
  const traffic = (async () => {
    for (; on; await turn()) for (let j = 0; j < 8; j++, k++) log.record(row(j % 2 || deleted ? "agent_a" : "agent_b", k), [{ level: "info", message: `m${k}`, at: k }]);
  })();
  const flushed = log.flush();
  while (log.pending > 200) await turn(); // its transaction is open and writing
  await opened.db.tx(async (t) => {
    await t.delete(agents).where(eq(agents.id, "agent_b"));
    await turn(); // calls for agent_b still arrive while the delete holds the gate
    t.publish("agent.deleted", { agentId: "agent_b" });
  });
  deleted = true;
  for (let i = 0; i < 20; i++) await turn();
  on = false;
  await traffic;
  await flushed;
  await log.flush();
  expect(dropped).toEqual([]);
  expect(log.pending).toBe(0);
  expect((other.query("SELECT count(*) AS n FROM invocations WHERE agent_id = 'agent_b'").get() as { n: number }).n).toBe(0);
  expect((other.query("SELECT count(*) AS n FROM agent_logs WHERE agent_id = 'agent_b'").get() as { n: number }).n).toBe(0);
});

test("held: under steady traffic flushes complete and a writer queued behind the log's transaction waits well under 400 ms", async () => {
  const { log } = setup(30, { maxBuffer: 1e9 });
  let k = 0;
  for (; k < 100; k++) log.record(row("agent_a", k));
  let on = true;
  const traffic = (async () => {
    for (; on; await sleep(1)) log.record(row("agent_a", k++));
  })();
  const flushed = log.flush();
  while (committed() === 0 && (opened.sqlite.query("SELECT count(*) AS n FROM invocations").get() as { n: number }).n === 0) await turn();
  const t0 = performance.now();
  await opened.db.tx(async (t) => void (await t.update(agents).set({ name: "w" }).where(eq(agents.id, "agent_b"))));
  const waitedMs = performance.now() - t0;
  on = false;
  await traffic;
  await flushed;
  await log.flush();
  expect(committed()).toBe(k);
  expect(waitedMs).toBeLessThan(400);
});

test("held: waiters added at awkward moments settle — from onDropped during the final settle, from a resolved flush's continuation, while the transaction waits for the gate", async () => {
  let log!: InvocationLog;
  const fromOnDropped: Promise<number>[] = [];
  ({ log } = setup(30, { maxBuffer: 1e9, onDropped: () => void fromOnDropped.push(log.flush()) }));
  log.record(row("agent_a", 1));
  other.exec("BEGIN IMMEDIATE");
  await log.flush();
  await log.flush();
  const chained = log.flush().then(() => log.flush()); // third failure: dropped; onDropped flushes; a continuation flushes
  expect(await within(chained, 1000)).toBe("resolved");
  expect(fromOnDropped).toHaveLength(1);
  expect(await within(fromOnDropped[0]!, 1000)).toBe("resolved");
  other.exec("COMMIT");
  // A reader that arrives while the log's transaction waits for the gate.
  for (let i = 0; i < 10; i++) log.record(row("agent_a", 10 + i));
  let release!: () => void;
  const holding = opened.db.tx(() => new Promise<void>((r) => (release = r)));
  const first = log.flush();
  await turn();
  log.record(row("agent_a", 20));
  const second = log.flush();
  release();
  await holding;
  expect(await within(Promise.all([first, second]), 1000)).toBe("resolved");
  expect(committed()).toBe(11);
});
