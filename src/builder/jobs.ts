/** The `builder.turn` and `schedule.run` job kinds. */
import { Type as T } from "@sinclair/typebox";
import { defineJobKind, type JobContext } from "../jobs";
import { pipelineContext } from "../generate/job";
import type { Turns } from "./turns";
import { abandonConversation } from "./conversations";
import { runScheduled } from "./scheduler";

/** Attempts of one builder turn: a restart mid-turn runs it once more. */
const TURN_ATTEMPTS = 2;

export function builderTurnJob(turns: Turns) {
  return defineJobKind({
    kind: "builder.turn",
    payload: T.Object({ conversationId: T.String(), action: T.Union([T.Literal("intake"), T.Literal("build"), T.Literal("heal")]), evidence: T.Optional(T.Array(T.String())) }),
    timeoutMs: 30 * 60_000,
    // Each turn is a job: a restart mid-turn runs the turn again.
    maxAttempts: TURN_ATTEMPTS,
    backoff: { baseMs: 500, maxMs: 5000 },
    async handler(ctx) {
      const pctx = pipelineContext(ctx as JobContext<unknown>);
      try {
        if (ctx.payload.action === "heal") await turns.healLive(ctx.payload.conversationId, ctx.payload.evidence ?? [], pctx);
        else await turns.run(ctx.payload.conversationId, ctx.payload.action, pctx);
      } catch (e) {
        // A stopped turn is not retried when it was cancelled or was the last attempt: the
        // conversation must not stay `processing` with no job left to finish it. A lost lease
        // means another worker runs it now.
        const reason = ctx.signal.aborted ? String((ctx.signal.reason as Error | undefined)?.message ?? ctx.signal.reason) : "";
        if (reason && !reason.includes("lease_lost") && (ctx.attempt >= TURN_ATTEMPTS || reason.includes("cancelled"))) {
          const code = reason.includes("timed out") ? "timeout" : reason.includes("cancelled") ? "cancelled" : "interrupted";
          await abandonConversation(turns.db, ctx.payload.conversationId, code, `the turn was ${code === "timeout" ? "stopped at its time limit" : code} (${reason}); start again or rebuild`);
        }
        throw e;
      }
      return { ok: true };
    },
  });
}

export function scheduleRunJob(deps: Parameters<typeof runScheduled>[0]) {
  return defineJobKind({
    kind: "schedule.run",
    payload: T.Object({ agentId: T.String(), scheduledFor: T.Optional(T.Union([T.Integer(), T.Null()])), mode: T.Optional(T.String()) }),
    timeoutMs: 5 * 60_000,
    maxAttempts: 1,
    backoff: { baseMs: 1000, maxMs: 1000 },
    async handler(ctx) {
      return runScheduled(deps, ctx.payload, { log: (l, m, d) => ctx.log(l, m, d) });
    },
  });
}
