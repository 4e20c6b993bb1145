/**
 * The smallest job kind, for newcomers to copy: a payload schema, a timeout and retry
 * policy, and a handler that reports progress, logs, honours its abort signal, and
 * returns a result (stored as jobs.result). `failTimes` makes the first attempts throw,
 * to show the retry policy at work.
 */
import { Type } from "@sinclair/typebox";
import { defineJobKind } from "../types";
import { NonRetriableError } from "../errors";

export const echoJob = defineJobKind({
  kind: "echo",
  payload: Type.Object({
    message: Type.String({ minLength: 1, maxLength: 1000 }),
    delayMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 60_000 })),
    failTimes: Type.Optional(Type.Integer({ minimum: 0, maximum: 10 })),
  }),
  timeoutMs: 30_000,
  maxAttempts: 3,
  backoff: { baseMs: 1_000, maxMs: 30_000 },
  async handler({ payload, attempt, signal, log, progress }) {
    if (payload.message === "forbidden") throw new NonRetriableError("invalid_message", "this message is never echoed", "check");
    progress(10, "check");
    if (attempt <= (payload.failTimes ?? 0)) throw new Error(`planned failure on attempt ${attempt}`);
    if (payload.delayMs) {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(resolve, payload.delayMs);
        signal.addEventListener("abort", () => (clearTimeout(t), reject(signal.reason)), { once: true });
      });
    }
    log("info", `echoing ${payload.message.length} characters`);
    progress(100, "echo");
    return { echoed: payload.message, attempt };
  },
});
