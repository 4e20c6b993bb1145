/**
 * Issue 12 §2, the job runner as a background loop: a heartbeat or a final write that the
 * database refuses is reported through the queue's onError (which cantrip logs and counts
 * as `job-runner:<where>`), never thrown from a timer or a promise callback; the slot is
 * freed and the queue keeps running jobs. Faults are injected with triggers on the real file.
 */
import { expect, test } from "bun:test";
import { Type } from "@sinclair/typebox";
import { defineJobKind } from "../../src/jobs";
import { cleanupAfterEach, exec, onPostgres, queueOn, sleep, until } from "./setup";

cleanupAfterEach();

/**
 * Makes UPDATEs of `column` on jobs fail with `message` when `when` holds (over OLD/NEW): a
 * trigger in the run's dialect. Returns the statement that removes it.
 */
function faultTrigger(name: string, column: string, when: string, message: string): { create: string; drop: string } {
  if (!onPostgres)
    return {
      create: `CREATE TRIGGER ${name} BEFORE UPDATE OF ${column} ON jobs WHEN ${when} BEGIN SELECT RAISE(ABORT, '${message}'); END`,
      drop: `DROP TRIGGER ${name}`,
    };
  return {
    create: `CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '${message}'; END $$;
             CREATE TRIGGER ${name} BEFORE UPDATE OF ${column} ON jobs FOR EACH ROW WHEN (${when}) EXECUTE FUNCTION ${name}()`,
    drop: `DROP TRIGGER ${name} ON jobs; DROP FUNCTION ${name}()`,
  };
}

/** The database's own words in an error (drizzle wraps a failed query; the cause carries the server's message). */
const reason = (e: unknown): string => {
  const cause = (e as { cause?: unknown }).cause;
  return cause instanceof Error ? cause.message : (e as Error).message;
};

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
  const q = (await queueOn(undefined, { heartbeatMs: 30, onError: (e, where) => errors.push(`${where}: ${reason(e)}`) })).register(waits);
  const noRenew = faultTrigger("no_renew", "lease_until", "OLD.status = 'running' AND NEW.status = 'running'", "injected heartbeat fault");
  await exec(q.db, noRenew.create);
  q.start();
  const a = await q.enqueue("waits", { ms: 200 });
  await until(() => errors.some((e) => e.startsWith("heartbeat: injected heartbeat fault")), 5_000, "heartbeat error");
  await exec(q.db, noRenew.drop);
  expect((await q.waitFor(a.id, 5_000)).status).toBe("completed");

  const noFinish = faultTrigger("no_finish", "status", "NEW.status = 'completed'", "injected finalize fault");
  await exec(q.db, noFinish.create);
  const b = await q.enqueue("waits", { ms: 10 });
  await until(() => errors.some((e) => e.startsWith("finalize: injected finalize fault")), 5_000, "finalize error");
  expect(q.running()).toEqual([]); // the slot is free although the outcome was not written
  expect((await q.get(b.id))!.status).toBe("running"); // reclaimed once its lease expires, like a crashed worker's job
  await exec(q.db, noFinish.drop);
  const c = await q.enqueue("waits", { ms: 10 });
  expect((await q.waitFor(c.id, 5_000)).status).toBe("completed");
});
