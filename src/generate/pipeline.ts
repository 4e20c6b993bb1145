/**
 * The generation pipeline: plan → code → bundle → validate → repair (up to N times) →
 * save the version → optionally deploy. Each step reports progress and logs through the
 * job context; every model call is logged with model, tokens and latency. A failure after
 * all repairs leaves the agent `failed` with the last report.
 */
import type { LimitPolicy } from "../agents/limits";
import type { Db } from "../db";
import { newId } from "../lib/ids";
import { insertVersion, type AgentRow, type Schedules } from "../agents";
import { agentById, beginWork, lockedAgent, versionAdded } from "../agents/lifecycle";
import { runtimeConfigFor, type Deployer } from "../deploy";
import type { JobFailureCode } from "../jobs";
import type { SandboxRuntime } from "../runtime/types";
import { extractCode } from "../llm/extract";
import { codeSystem, codeUserMessage, estimateTokens, planUserMessage, prompts, repairSystem, repairUserMessage, type AttemptNote } from "./prompts";
import { Spec } from "./spec";
import { describeFailures, validateBundle, type ValidationReport } from "./validate";
import type { BundleDiagnostic, GenerationBundler, GenerationLlm, LlmCallRecord, PipelineContext } from "./ports";

export interface PipelineDeps {
  db: Db;
  llm: GenerationLlm;
  bundler: GenerationBundler;
  runtime: SandboxRuntime;
  deployer: Deployer;
  maxRepairs: number;
  serverLimits?: LimitPolicy;
  /** Stores the plan's schedule with the version (absent: schedules are someone else's job). */
  schedules?: Schedules;
}

/**
 * The plan's schedule when it can be stored as is: the backend has a scheduled handler and
 * the expression passes the schedule policy. Otherwise null, with a warning that says why
 * and how to set one later (PUT /v1/agents/{id}/schedule), never silently.
 */
function planSchedule(deps: PipelineDeps, spec: Spec, hasHandler: boolean, ctx: PipelineContext): string | null {
  const cron = spec.schedule?.trim();
  if (!cron || !deps.schedules) return null;
  if (!hasHandler) {
    ctx.log("warn", `the plan names a schedule ("${cron}") but the backend exports no scheduled handler; no schedule was set`);
    return null;
  }
  try {
    deps.schedules.check({ cron });
    return cron;
  } catch (e) {
    ctx.log("warn", `the plan's schedule is not usable, so none was set (set one with PUT /v1/agents/{id}/schedule): ${(e as Error).message}`);
    return null;
  }
}

export interface GenerateInput {
  agentId: string;
  prompt: string;
  model?: string | null;
  autoDeploy: boolean;
  facts?: Record<string, unknown>;
  /** The spec to build (skips planning), e.g. from a builder conversation. */
  spec?: Spec;
  origin?: string;
}

export interface GenerateResult {
  artifact: { versionId: string; version: number; entrypoint: string; files: string[]; bundleHash: string; routes: { method: string; path: string }[] };
  validation: { ok: boolean; passed: number; failed: number; repairs: number };
  deployed: boolean;
  spec: Spec;
}

/** Where a generation gave up: the code never compiled, or it never passed validation. */
export type GenerationStage = "bundle" | "validate";

/**
 * A generation that gave up after all repairs: a domain outcome of a background job, not an
 * HTTP error (so not an AppError). `code` is the job failure code it maps to
 * (src/jobs/failure-codes.ts): `build_failed` for `bundle`, `validation_failed` for
 * `validate`; `report` is the last validation report, when there was one.
 */
export class GenerationFailed extends Error {
  readonly code: Extract<JobFailureCode, "build_failed" | "validation_failed">;

  constructor(
    message: string,
    readonly stage: GenerationStage,
    readonly report?: ValidationReport,
  ) {
    super(message);
    this.name = "GenerationFailed";
    this.code = stage === "bundle" ? "build_failed" : "validation_failed";
  }
}

const ENTRY = "backend.ts";

/**
 * `max_tokens` per step: room for the answer (a spec is ~1–2k tokens, a module ~1–3k) with
 * headroom for models that think before answering. The context a step needs is its prompt
 * plus this; README "Generation" lists both for an Ollama num_ctx.
 */
export const MAX_TOKENS = { plan: 4096, code: 8192, repair: 8192 } as const;

function formatDiagnostics(d: BundleDiagnostic[]): string {
  return d.map((x) => `- ${x.file}:${x.line}:${x.column} ${x.message}`).join("\n");
}

export async function runGeneration(deps: PipelineDeps, input: GenerateInput, ctx: PipelineContext): Promise<GenerateResult> {
  const { db } = deps;
  const calls: LlmCallRecord[] = [];
  // promptTokens: cantrip's own estimate of the request (estimateTokens), beside the
  // server-reported tokensIn, so a budget can be checked against any server.
  const onCall = (step: string, system: string, user: string) => (c: LlmCallRecord) => {
    const promptTokens = estimateTokens(system) + estimateTokens(user);
    calls.push({ ...c, step, promptTokens });
    ctx.log(c.ok ? "info" : "warn", `model call (${step}): ${c.model}, prompt ~${promptTokens} tokens (estimate), server reports ${c.tokensIn} in, ${c.tokensOut} out, ${c.latencyMs} ms${c.ok ? "" : `, failed: ${c.error}`}`, {
      step,
      promptTokens,
      maxTokens: MAX_TOKENS[step as keyof typeof MAX_TOKENS],
      ...c,
    });
  };
  const agent = await agentById(db, input.agentId);
  await db.tx((tx) => beginWork(tx, agent.id, "generating"));
  const model = input.model ?? undefined;

  let spec = input.spec;
  if (!spec) {
    ctx.progress(5, "plan");
    ctx.log("info", "planning: turning requirements into a spec");
    const user = planUserMessage(input.prompt, input.facts);
    spec = (await deps.llm.json({
      system: prompts.plan,
      messages: [{ role: "user", content: user }],
      schema: Spec,
      schemaName: "backend_spec",
      model,
      signal: ctx.signal,
      maxTokens: MAX_TOKENS.plan,
      // The schema travels in response_format too; count it with the prompt.
      onCall: onCall("plan", prompts.plan + JSON.stringify(Spec), user),
    })) as Spec;
    ctx.log("info", `plan: ${spec.routes.length} route(s), ${spec.examples.length} example(s), ${spec.invalidInputs.length} invalid-input probe(s)`, {
      routes: spec.routes.map((r) => `${r.method} ${r.path}`),
    });
  }

  ctx.progress(20, "code");
  ctx.log("info", "writing code");
  const evidence = typeof input.facts?.evidence === "string" ? `\n\nFailures seen on the deployed version (fix their cause):\n${input.facts.evidence}` : "";
  const codeSys = codeSystem(spec);
  const codeUser = codeUserMessage(spec, input.prompt) + evidence;
  let source = extractCode(
    await deps.llm.text({ system: codeSys, messages: [{ role: "user", content: codeUser }], model, signal: ctx.signal, maxTokens: MAX_TOKENS.code, onCall: onCall("code", codeSys, codeUser) }),
  );
  const repairSys = repairSystem(spec);
  const history: AttemptNote[] = [];
  const seen: string[] = [];

  const probeAgent = { ...agent, allowedHosts: spec.externalHosts } as AgentRow;
  let report: ValidationReport | undefined;
  let built: { code: string; hash: string; warnings: unknown[] } | undefined;
  let repairs = 0;
  for (let attempt = 0; ; attempt++) {
    const base = 30 + Math.min(attempt, 5) * 10;
    ctx.progress(Math.min(base, 80), "bundle");
    const b = await deps.bundler.tryBundle({ files: { [ENTRY]: source }, entrypoint: ENTRY });
    let failures: string;
    if (!b.ok) {
      failures = `The module does not compile:\n${formatDiagnostics(b.diagnostics)}`;
      ctx.log("warn", `bundle failed (${b.diagnostics.length} diagnostic(s))`, { diagnostics: b.diagnostics });
      report = undefined;
    } else {
      built = b;
      await db.tx((tx) => beginWork(tx, agent.id, "validating"));
      ctx.progress(Math.min(base + 5, 85), "validate");
      // validateBundle runs it under a scratch identity of its own (see scratchRef).
      const ref = { agentId: agent.id, bundleId: `cand_${b.hash.slice(0, 24)}`, code: b.code, config: await runtimeConfigFor(db, probeAgent, deps.serverLimits) };
      report = await validateBundle(deps.runtime, ref, spec);
      ctx.log(report.ok ? "info" : "warn", `validation: ${report.passed} passed, ${report.failed} failed`, { report: summarize(report) });
      if (report.ok) break;
      failures = `Validation failed:\n${describeFailures(report)}`;
    }
    const sameAs = seen.indexOf(source);
    seen.push(source);
    const current: AttemptNote = { attempt: attempt + 1, outcome: outcomeOf(report, failures), ...(sameAs >= 0 ? { sameAs: sameAs + 1 } : {}) };
    if (attempt >= deps.maxRepairs) {
      const stage = report ? "validate" : "bundle";
      const message = `${stage === "bundle" ? "The code did not compile" : "The backend failed validation"} after ${deps.maxRepairs} repair attempt(s).`;
      throw new GenerationFailed(message, stage, report);
    }
    repairs++;
    ctx.progress(Math.min(base + 8, 88), "repair");
    ctx.log("info", `repair attempt ${repairs} of ${deps.maxRepairs}`);
    const repairUser = repairUserMessage(spec, input.prompt, source, failures, history, current.sameAs);
    history.push(current);
    source = extractCode(
      await deps.llm.text({
        system: repairSys,
        messages: [{ role: "user", content: repairUser }],
        model,
        signal: ctx.signal,
        maxTokens: MAX_TOKENS.repair,
        onCall: onCall("repair", repairSys, repairUser),
      }),
    );
  }

  ctx.progress(90, "save");
  // Loading runs no handler (nothing writes), but the candidate keeps its own owner
  // identity, unique to this run (never keyed by content alone, which another agent's
  // identical code would share), so its instance never mixes with any agent's.
  const candidate = newId("cand");
  const described = await deps.runtime.check({ agentId: candidate, bundleId: candidate, code: built!.code, config: await runtimeConfigFor(db, probeAgent, deps.serverLimits) });
  deps.runtime.evict(candidate);
  const schedule = planSchedule(deps, spec!, described.scheduled, ctx);
  const transcript = {
    calls: calls.map(({ step, model, tokensIn, tokensOut, latencyMs, ok, promptHash, promptTokens }) => ({ step, model, tokensIn, tokensOut, promptTokens, latencyMs, ok, promptHash })),
    repairs,
  };
  const { versionId, number } = await db.tx(async (tx) => {
    const fresh = await lockedAgent(tx, agent.id);
    const number = (fresh.latestVersion ?? 0) + 1;
    const versionId = await insertVersion(tx, agent.id, number, input.origin ?? "generate", { files: { [ENTRY]: source }, entrypoint: ENTRY }, { ...built!, described }, {
      spec,
      validation: report,
      transcript,
    });
    await versionAdded(tx, fresh, number, { allowedHosts: spec!.externalHosts, clearFailure: true });
    if (schedule) await deps.schedules!.set(agent.id, { cron: schedule }, tx);
    return { versionId, number };
  });
  ctx.log("info", `version ${number} saved${schedule ? `; its scheduled handler runs on "${schedule}" (UTC)` : ""}`);

  let deployed = false;
  if (input.autoDeploy) {
    ctx.progress(95, "deploy");
    await deps.deployer.deployNow(await agentById(db, agent.id), number);
    deployed = true;
    ctx.log("info", `version ${number} deployed`);
  }
  ctx.progress(100, "done");
  return {
    artifact: { versionId, version: number, entrypoint: ENTRY, files: [ENTRY], bundleHash: built!.hash, routes: described.routes.map((r) => ({ method: r.method, path: r.path })) },
    validation: { ok: true, passed: report!.passed, failed: 0, repairs },
    deployed,
    spec,
  };
}

/** One attempt's outcome for the repair history: the failing checks, or the compile errors. */
function outcomeOf(report: ValidationReport | undefined, failures: string): string {
  if (!report) return `did not compile: ${failures.split("\n").slice(1, 3).join(" ").slice(0, 240)}`;
  const bad = report.checks.filter((c) => !c.ok);
  return `${report.passed} check(s) passed, ${bad.length} failed: ${bad.map((c) => `${c.name} (${(c.environment?.[0] ? "sandbox environment: " + c.environment[0].split("; ")[0] : c.errors[0] ?? "").slice(0, 200)})`).join("; ")}`;
}

function summarize(r: ValidationReport) {
  return r.checks.map((c) => ({ name: c.name, kind: c.kind, ok: c.ok, status: c.status, errors: c.errors }));
}
