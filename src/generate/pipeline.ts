/**
 * The generation pipeline: plan → code → bundle → validate → repair (up to N times) →
 * save the version → optionally deploy. Each step reports progress and logs through the
 * job context; every model call is logged with model, tokens and latency. A failure after
 * all repairs leaves the agent `failed` with the last report.
 */
import { eq } from "drizzle-orm";
import type { Db } from "../db";
import { agents } from "../db/schema";
import { AppError } from "../errors";
import { insertVersion, type AgentRow } from "../agents";
import { runtimeConfigFor, type Deployer } from "../deploy";
import type { Limits, SandboxRuntime } from "../runtime/types";
import { extractCode } from "../llm";
import { codeUserMessage, planUserMessage, prompts, repairUserMessage } from "./prompts";
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
  serverLimits?: Partial<Limits>;
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

export class GenerationFailed extends AppError {
  constructor(message: string, readonly stage: string, readonly report?: ValidationReport) {
    super("invalid_request", message);
  }
}

const ENTRY = "backend.ts";

function formatDiagnostics(d: BundleDiagnostic[]): string {
  return d.map((x) => `- ${x.file}:${x.line}:${x.column} ${x.message}`).join("\n");
}

export async function runGeneration(deps: PipelineDeps, input: GenerateInput, ctx: PipelineContext): Promise<GenerateResult> {
  const { db } = deps;
  const calls: LlmCallRecord[] = [];
  const onCall = (step: string) => (c: LlmCallRecord) => {
    calls.push({ ...c, step });
    ctx.log(c.ok ? "info" : "warn", `model call (${step}): ${c.model}, ${c.tokensIn} tokens in, ${c.tokensOut} out, ${c.latencyMs} ms${c.ok ? "" : `, failed: ${c.error}`}`, {
      step,
      ...c,
    });
  };
  const agent = loadAgent(db, input.agentId);
  setStatus(db, agent.id, "generating");
  const model = input.model ?? undefined;

  let spec = input.spec;
  if (!spec) {
    ctx.progress(5, "plan");
    ctx.log("info", "planning: turning requirements into a spec");
    spec = (await deps.llm.json({
      system: prompts.plan,
      messages: [{ role: "user", content: planUserMessage(input.prompt, input.facts) }],
      schema: Spec,
      schemaName: "backend_spec",
      model,
      signal: ctx.signal,
      onCall: onCall("plan"),
    })) as Spec;
    ctx.log("info", `plan: ${spec.routes.length} route(s), ${spec.examples.length} example(s), ${spec.invalidInputs.length} invalid-input probe(s)`, {
      routes: spec.routes.map((r) => `${r.method} ${r.path}`),
    });
  }

  ctx.progress(20, "code");
  ctx.log("info", "writing code");
  let source = extractCode(
    await deps.llm.text({ system: prompts.code, messages: [{ role: "user", content: codeUserMessage(spec) }], model, signal: ctx.signal, onCall: onCall("code") }),
  );

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
      setStatus(db, agent.id, "validating");
      ctx.progress(Math.min(base + 5, 85), "validate");
      const ref = { agentId: agent.id, bundleId: `cand_${b.hash.slice(0, 24)}`, code: b.code, config: runtimeConfigFor(db, probeAgent, deps.serverLimits) };
      report = await validateBundle(deps.runtime, ref, spec);
      deps.runtime.evict(agent.id, ref.bundleId);
      ctx.log(report.ok ? "info" : "warn", `validation: ${report.passed} passed, ${report.failed} failed`, { report: summarize(report) });
      if (report.ok) break;
      failures = `Validation failed:\n${describeFailures(report)}`;
    }
    if (attempt >= deps.maxRepairs) {
      const stage = report ? "validate" : "bundle";
      const message = `${stage === "bundle" ? "The code did not compile" : "The backend failed validation"} after ${deps.maxRepairs} repair attempt(s).`;
      throw new GenerationFailed(message, stage, report);
    }
    repairs++;
    ctx.progress(Math.min(base + 8, 88), "repair");
    ctx.log("info", `repair attempt ${repairs} of ${deps.maxRepairs}`);
    source = extractCode(
      await deps.llm.text({
        system: prompts.repair,
        messages: [{ role: "user", content: repairUserMessage(spec, source, failures) }],
        model,
        signal: ctx.signal,
        onCall: onCall("repair"),
      }),
    );
  }

  ctx.progress(90, "save");
  const described = await deps.runtime.check({
    agentId: agent.id,
    bundleId: `cand_${built!.hash.slice(0, 24)}`,
    code: built!.code,
    config: runtimeConfigFor(db, probeAgent, deps.serverLimits),
  });
  deps.runtime.evict(agent.id, `cand_${built!.hash.slice(0, 24)}`);
  const transcript = { calls: calls.map(({ step, model, tokensIn, tokensOut, latencyMs, ok, promptHash }) => ({ step, model, tokensIn, tokensOut, latencyMs, ok, promptHash })), repairs };
  const { versionId, number } = db.transaction((tx) => {
    const fresh = loadAgent(tx as unknown as Db, agent.id);
    const number = (fresh.latestVersion ?? 0) + 1;
    const versionId = insertVersion(tx as unknown as Db, agent.id, number, input.origin ?? "generate", { files: { [ENTRY]: source }, entrypoint: ENTRY }, { ...built!, described }, {
      spec,
      validation: report,
      transcript,
    });
    tx.update(agents)
      .set({
        latestVersion: number,
        status: fresh.liveVersion !== null ? "deployed" : "ready",
        allowedHosts: spec!.externalHosts,
        failure: null,
        updatedAt: Date.now(),
      })
      .where(eq(agents.id, agent.id))
      .run();
    return { versionId, number };
  });
  ctx.log("info", `version ${number} saved`);

  let deployed = false;
  if (input.autoDeploy) {
    ctx.progress(95, "deploy");
    await deps.deployer.deployNow(loadAgent(db, agent.id), number);
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

function summarize(r: ValidationReport) {
  return r.checks.map((c) => ({ name: c.name, kind: c.kind, ok: c.ok, status: c.status, errors: c.errors }));
}

function loadAgent(db: Db, id: string): AgentRow {
  const a = db.select().from(agents).where(eq(agents.id, id)).get();
  if (!a) throw new AppError("agent_not_found");
  return a;
}

function setStatus(db: Db, id: string, status: string): void {
  db.update(agents).set({ status, updatedAt: Date.now() }).where(eq(agents.id, id)).run();
}
