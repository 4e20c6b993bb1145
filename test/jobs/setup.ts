/** Shared setup for job-queue tests: fresh SQLite files, queues with fast timings, cleanup. */
import { afterEach } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { openDatabase, type OpenedDatabase } from "../../src/db";
import { createQueue, type JobKind, type Queue, type QueueOptions } from "../../src/jobs";
import { tempDir } from "../harness";

const queues: Queue[] = [];
const dbs: OpenedDatabase[] = [];
const dirs: string[] = [];

afterEach(async () => {
  while (queues.length) await queues.pop()!.stop({ timeoutMs: 0 });
  while (dbs.length) dbs.pop()!.close();
  while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true });
});

export function dbFile(): string {
  const dir = tempDir("cantrip-jobs-");
  dirs.push(dir);
  return join(dir, "jobs.db");
}

export function open(file: string): OpenedDatabase {
  const opened = openDatabase(file);
  dbs.push(opened);
  return opened;
}

export type TestQueue = Omit<Queue, "register"> & {
  file: string;
  sqlite: OpenedDatabase["sqlite"];
  register(def: JobKind<any, any>): TestQueue;
};

/** A queue on its own connection to `file` (a fresh file when omitted). */
export function queueOn(file = dbFile(), opts: Partial<QueueOptions> = {}): TestQueue {
  const { db, sqlite } = open(file);
  const q = createQueue({ db, workerId: `w-${queues.length}`, concurrency: 3, pollMs: 20, leaseMs: 2_000, heartbeatMs: 50, onError: () => {}, ...opts });
  queues.push(q);
  const t: TestQueue = Object.assign({}, q, { file, sqlite, register: (def: JobKind<any, any>) => (q.register(def), t) });
  return t;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 5_000, label = "condition"): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${label}`);
    await sleep(10);
  }
}

/** Resolves when the signal aborts (what a well-behaved long handler awaits). */
export function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
}

export async function statuses(q: Pick<Queue, "events">, jobId: string): Promise<string[]> {
  return (await q.events(jobId)).filter((e) => e.type === "status").map((e) => e.message ?? "");
}
