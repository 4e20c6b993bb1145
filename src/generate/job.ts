/**
 * The `generate` and `validate` job kinds. A generation that fails after all repairs, or
 * is cancelled, leaves the agent `failed` with the reason (and the last validation report);
 * an agent that already serves a version stays `deployed` and keeps serving it.
 */
import { Type as T } from "@sinclair/typebox";
import { eq } from "drizzle-orm";
import { agents, versions } from "../db/schema";
import { AppError } from "../errors";
import { defineJobKind, NonRetriableError, type JobContext } from "../jobs";
import { getVersion, runtimeConfigFor } from "../deploy";
import { markFailed } from "../agents/lifecycle";
import { GenerationFailed, runGeneration, type PipelineDeps } from "./pipeline";
import { validateBundle } from "./validate";
import type { PipelineContext } from "./ports";

export function pipelineContext(ctx: JobContext<unknown>): PipelineContext {
  return {
    signal: ctx.signal,
    log: (level, message, data) => ctx.log(level, message, data),
    progress: (pct, stage) => ctx.progress(pct, stage),
  };
}

export function generateJob(deps: PipelineDeps) {
  return defineJobKind({
    kind: "generate",
    payload: T.Object({
      agentId: T.String(),
      prompt: T.String(),
      model: T.Optional(T.Union([T.String(), T.Null()])),
      autoDeploy: T.Boolean(),
      provider: T.Optional(T.String()),
    }),
    timeoutMs: 30 * 60_000,
    // A restart mid-generation runs it again from the plan (nothing half-written is kept).
    maxAttempts: 2,
    backoff: { baseMs: 500, maxMs: 5000 },
    async handler(ctx) {
      const p = ctx.payload;
      try {
        return await runGeneration(deps, { agentId: p.agentId, prompt: p.prompt, model: p.model, autoDeploy: p.autoDeploy }, pipelineContext(ctx as JobContext<unknown>));
      } catch (e) {
        if (ctx.signal.aborted) {
          await deps.db.tx((tx) => markFailed(tx, p.agentId, { code: "cancelled", message: "The generation was cancelled or interrupted." }));
          throw e;
        }
        if (e instanceof GenerationFailed) {
          await deps.db.tx((tx) => markFailed(tx, p.agentId, { code: e.code, message: e.message, stage: e.stage, report: e.report }));
          ctx.log("error", e.message, { report: e.report });
          throw new NonRetriableError(e.code, e.message, e.stage);
        }
        const code = e instanceof AppError ? e.code : "internal_error";
        await deps.db.tx((tx) => markFailed(tx, p.agentId, { code, message: (e as Error).message, stage: "model" }));
        throw new NonRetriableError(code, (e as Error).message, code.startsWith("model") ? "model" : undefined);
      }
    },
  });
}

export function validateJob(deps: Pick<PipelineDeps, "db" | "runtime" | "serverLimits">) {
  return defineJobKind({
    kind: "validate",
    payload: T.Object({ agentId: T.String(), version: T.Integer() }),
    timeoutMs: 5 * 60_000,
    maxAttempts: 2,
    backoff: { baseMs: 200, maxMs: 2000 },
    async handler(ctx) {
      const { db, runtime } = deps;
      const agent = (await db.select().from(agents).where(eq(agents.id, ctx.payload.agentId)).limit(1))[0];
      if (!agent) throw new NonRetriableError("agent_not_found", "The agent was deleted.");
      const v = await getVersion(db, agent.id, ctx.payload.version);
      if (!v.bundle) throw new NonRetriableError("version_not_found", "The version has no bundle.");
      const spec = v.spec ?? { examples: [], invalidInputs: [] };
      ctx.progress(20, "validate");
      const report = await validateBundle(runtime, { agentId: agent.id, bundleId: v.id, code: v.bundle, config: await runtimeConfigFor(db, agent, deps.serverLimits) }, spec);
      await db.tx((tx) => tx.update(versions).set({ validation: report }).where(eq(versions.id, v.id)));
      ctx.log(report.ok ? "info" : "warn", `validation: ${report.passed} passed, ${report.failed} failed`);
      ctx.progress(100, "done");
      return { report, validation: { ok: report.ok, passed: report.passed, failed: report.failed } };
    },
  });
}
