/** The echo kind's test: the pattern for testing a job kind on a real queue and SQLite file. */
import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase, type OpenedDatabase } from "../../db";
import { createQueue, type Queue } from "..";
import { echoJob } from "./echo";

let opened: OpenedDatabase, queue: Queue, dir: string;

function setup() {
  dir = mkdtempSync(join(tmpdir(), "cantrip-echo-"));
  opened = openDatabase(join(dir, "echo.db"));
  // Shrink the kind's backoff so the retry case stays fast.
  queue = createQueue({ db: opened.db, pollMs: 10 }).register({ ...echoJob, backoff: { baseMs: 5, maxMs: 5 } });
  queue.start();
}

afterEach(async () => {
  await queue.stop({ timeoutMs: 0 });
  opened.close();
  rmSync(dir, { recursive: true, force: true });
});

test("echo returns its message", async () => {
  setup();
  const job = await queue.waitFor((await queue.enqueue("echo", { message: "hi" })).id, 2_000);
  expect(job).toMatchObject({ status: "completed", result: { echoed: "hi", attempt: 1 } });
});

test("echo retries planned failures, and refuses 'forbidden' without retrying", async () => {
  setup();
  expect((await queue.waitFor((await queue.enqueue("echo", { message: "x", failTimes: 2 })).id, 2_000)).result).toEqual({ echoed: "x", attempt: 3 });
  const refused = await queue.waitFor((await queue.enqueue("echo", { message: "forbidden" })).id, 2_000);
  expect(refused).toMatchObject({ status: "failed", attempts: 1, failure: { code: "invalid_message" } });
});
