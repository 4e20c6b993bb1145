/**
 * waitFor: resolves with a job's row once it reaches a terminal status. Listens to this
 * process's events and also re-reads the row on an interval, because another process (or
 * another queue on the same file) may be the one that finishes it.
 */
import type { JobStore } from "./store";
import { TERMINAL_STATUSES, type JobRow, type JobStatus } from "./types";

export function waitForJob(store: JobStore, jobId: string, timeoutMs: number, checkMs: number): Promise<JobRow> {
  return new Promise((resolve, reject) => {
    const check = () =>
      store.get(jobId).then(
        (job) => {
          if (job && TERMINAL_STATUSES.includes(job.status as JobStatus)) {
            cleanup();
            resolve(job);
          }
        },
        (e) => {
          // e.g. the database was closed under us: stop polling instead of throwing from a timer.
          cleanup();
          reject(e);
        },
      );
    const unsubscribe = store.bus.subscribe(jobId, (e) => {
      if (e.type === "status") check();
    });
    const interval = setInterval(check, checkMs);
    const deadline = setTimeout(async () => {
      cleanup();
      const status = await store.get(jobId).then((j) => j?.status, () => undefined);
      reject(new Error(status ? `job ${jobId} still ${status} after ${timeoutMs} ms` : `job ${jobId} not found`));
    }, timeoutMs);
    function cleanup() {
      unsubscribe();
      clearInterval(interval);
      clearTimeout(deadline);
    }
    void check();
  });
}
