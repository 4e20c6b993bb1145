/**
 * Issue 12 §2, the job runner as a background loop: a heartbeat or a final write that the
 * database refuses is reported through the queue's onError (which cantrip logs and counts
 * as `job-runner:<where>`), never thrown from a timer or a promise callback; the slot is
 * freed and the queue keeps running jobs. Faults are injected with triggers on the real file.
 */
import { expect, test } from "bun:test";
import { Type } from "@sinclair/typebox";
import { defineJobKind } from "../../src/jobs";
import { queueOn, sleep, until } from "./setup";

const waits = defineJobKind({
  kind: "waits",
  payload: Type.Object({ ms: Type.Integer() }),
  timeoutMs: 5_000,
  maxAttempts: 1,
  backoff: { baseMs: 10, maxMs: 10 },
  async handler({ payload }) {
    await sleep(payload.ms);
    return { waited: payload.ms };
  },
});

test("a refused heartbeat is reported and the job still completes; a refused final write frees the slot", async () => {
  const errors: string[] = [];
  const q = queueOn(undefined, { heartbeatMs: 30, onError: (e, where) => errors.push(`${where}: ${(e as Error).message}`) }).register(waits);
  q.sqlite.exec("CREATE TRIGGER no_renew BEFORE UPDATE OF lease_until ON jobs WHEN OLD.status = 'running' AND NEW.status = 'running' BEGIN SELECT RAISE(ABORT, 'injected heartbeat fault'); END");
  q.start();
  const a = await q.enqueue("waits", { ms: 200 });
  await until(() => errors.some((e) => e.startsWith("heartbeat: injected heartbeat fault")), 5_000, "heartbeat error");
  q.sqlite.exec("DROP TRIGGER no_renew");
  expect((await q.waitFor(a.id, 5_000)).status).toBe("completed");

  q.sqlite.exec("CREATE TRIGGER no_finish BEFORE UPDATE OF status ON jobs WHEN NEW.status = 'completed' BEGIN SELECT RAISE(ABORT, 'injected finalize fault'); END");
  const b = await q.enqueue("waits", { ms: 10 });
  await until(() => errors.some((e) => e.startsWith("finalize: injected finalize fault")), 5_000, "finalize error");
  expect(q.running()).toEqual([]); // the slot is free although the outcome was not written
  expect((await q.get(b.id))!.status).toBe("running"); // reclaimed once its lease expires, like a crashed worker's job
  q.sqlite.exec("DROP TRIGGER no_finish");
  const c = await q.enqueue("waits", { ms: 10 });
  expect((await q.waitFor(c.id, 5_000)).status).toBe("completed");
});
