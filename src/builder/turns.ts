/**
 * The work of one conversation turn, run as a `builder.turn` job:
 * - intake: ask the model what is still unknown (→ gathering) or, once ready, plan the
 *   spec (→ awaiting_approval, or straight to build with skip_approval);
 * - build: generate and validate a version, review it, deploy it, set its schedule and
 *   credential grants, QA it through the gateway, self-heal once if QA fails.
 * The old version keeps serving during a rebuild until the new one passes.
 */
import { eq } from "drizzle-orm";
import type { Db } from "../db";
import { conversations } from "../db/schema";
import { AppError } from "../errors";
import { NonRetriableError, type JobFailureCode } from "../jobs";
import { newId } from "../lib/ids";
import { agentById, insertAgent, lockedAgent, settle } from "../agents/lifecycle";
import { getVersion, type Deployer } from "../deploy";
import type { Gateway } from "../gateway";
import { GenerationFailed, MAX_TOKENS, runGeneration, type PipelineDeps } from "../generate/pipeline";
import { planUserMessage, prompts as genPrompts } from "../generate/prompts";
import { Spec } from "../generate/spec";
import { validateBundle } from "../generate/validate";
import { runtimeConfigFor } from "../deploy";
import type { GenerationLlm, PipelineContext } from "../generate/ports";
import type { Builders } from "./builders";
import type { Credentials } from "./credentials";
import { entry, type ConversationRow, type HistoryEntry } from "./conversations";
import { Intake, Review, ScheduleConversion, nameFromPrompt } from "./intake";
import askMd from "./prompts/ask.md" with { type: "text" };
import reviewMd from "./prompts/review.md" with { type: "text" };
import scheduleMd from "./prompts/schedule.md" with { type: "text" };

/** `max_tokens` for the intake and review answers: a short JSON object each. */
const SMALL_ANSWER_TOKENS = 2048;

export interface TurnDeps {
  db: Db;
  llm: GenerationLlm;
  pipeline: PipelineDeps;
  deployer: Deployer;
  builders: Builders;
  credentials: Credentials;
  gateway: Gateway;
  maxRounds: number;
  /** Agents one workspace may have (CANTRIP_WORKSPACE_MAX_AGENTS); unlimited when absent. */
  maxAgents?: number;
}

/** The code a failed turn records: the error's own (platform, generation, review), else build_failed. */
function failureCode(e: unknown): JobFailureCode {
  return e instanceof AppError || e instanceof GenerationFailed || e instanceof NonRetriableError ? e.code : "build_failed";
}

export class Turns {
  constructor(private deps: TurnDeps) {}

  /** The database the turns write (for the job kind's last-attempt handling). */
  get db() {
    return this.deps.db;
  }

  async run(conversationId: string, action: string, ctx: PipelineContext): Promise<void> {
    const c = await this.load(conversationId);
    if (c.status !== "processing") return; // a retried job whose turn already finished
    try {
      if (action === "build") await this.build(c, ctx);
      else await this.intake(c, ctx);
    } catch (e) {
      if (ctx.signal.aborted) throw e;
      const message = (e as Error).message;
      await this.update(c.id, {
        status: "failed",
        message: `The build failed: ${message}`,
        failure: { code: failureCode(e), message },
        history: [...(await this.history(c.id)), entry("builder", "failed", message)],
      });
      ctx.log("error", `conversation failed: ${message}`);
    }
  }

  private async intake(c: ConversationRow, ctx: PipelineContext) {
    const { db, llm } = this.deps;
    const creds = (await this.deps.credentials.list(c.workspaceId)).map((x) => `${x.name} (hosts: ${x.hosts.join(", ")})`);
    const transcript = c.history.map((h) => `${h.role} [${h.kind}]: ${h.message}`).join("\n");
    ctx.progress(10, "intake");
    const intake = await llm.json({
      system: askMd.trim(),
      messages: [
        {
          role: "user",
          content: `Requirements:\n${c.prompt}\n\nConversation so far:\n${transcript}\n\nFacts so far:\n${JSON.stringify(c.facts)}\n\nStored credentials: ${creds.length ? creds.join("; ") : "(none)"}`,
        },
      ],
      schema: Intake,
      schemaName: "builder_intake",
      signal: ctx.signal,
      maxTokens: SMALL_ANSWER_TOKENS,
      onCall: (x) => ctx.log("info", `model call (intake): ${x.model}, ${x.tokensIn}/${x.tokensOut} tokens, ${x.latencyMs} ms`),
    });
    const facts = { ...c.facts, ...intake.facts };
    const unclear = await this.settleSchedule(facts, ctx);
    if (unclear) {
      intake.ready = false;
      intake.asks = [...intake.asks, unclear];
      intake.message = `${intake.message} ${unclear.question}`.trim();
    }
    // A name the user gave stays; the one derived from the prompt at creation gives way to the model's suggestion.
    const derived = !c.name || c.name === nameFromPrompt(c.prompt);
    const name = (derived && suggestedName(intake.name)) || c.name || nameFromPrompt(c.prompt);
    if (!intake.ready && intake.asks.length) {
      if (c.rounds + 1 > this.deps.maxRounds) throw new AppError("invalid_state", `The builder still had questions after ${this.deps.maxRounds} rounds; start again with a more detailed prompt.`);
      await this.update(c.id, {
        status: "gathering",
        name,
        message: intake.message,
        asks: intake.asks,
        facts,
        rounds: c.rounds + 1,
        history: [...(await this.history(c.id)), entry("builder", "questions", intake.message, { asks: intake.asks })],
      });
      return;
    }
    ctx.progress(30, "plan");
    const spec = await llm.json({
      system: genPrompts.plan,
      messages: [{ role: "user", content: planUserMessage(c.prompt, facts) }],
      schema: Spec,
      schemaName: "backend_spec",
      signal: ctx.signal,
      maxTokens: MAX_TOKENS.plan,
      onCall: (x) => ctx.log("info", `model call (plan): ${x.model}, ${x.tokensIn}/${x.tokensOut} tokens, ${x.latencyMs} ms`),
    });
    const cron = facts.schedule || spec.schedule;
    if (cron) this.deps.builders.checkSchedule(cron, "schedule", facts.timezone); // refuse a bad schedule before anyone approves it
    const credential = facts.credential && facts.credential !== "paste new" ? `; uses the stored credential ${facts.credential}` : "";
    const summary = `${spec.summary} Routes: ${spec.routes.map((r) => `${r.method} ${r.path}`).join(", ")}${facts.schedule || spec.schedule ? `; runs on schedule ${facts.schedule ?? spec.schedule}` : ""}${credential}.`;
    await this.update(c.id, { name, facts, spec, asks: [], message: c.skipApproval ? `Building: ${summary}` : `Ready to build. ${summary} Approve to build and deploy.` });
    if (c.skipApproval) return this.build(await this.load(c.id), ctx);
    await this.update(c.id, { status: "awaiting_approval", history: [...(await this.history(c.id)), entry("builder", "plan", summary)] });
  }

  /**
   * A schedule stated in plain English ("every weekday at 9am") becomes cron here, in the
   * intake step, through a small conversion call; one that still is not a valid schedule
   * becomes a question to the user, so nothing is planned, approved or deployed with it.
   * Mutates `facts` (schedule, timezone); returns the question to ask, if any.
   */
  private async settleSchedule(facts: Record<string, string>, ctx: PipelineContext): Promise<Intake["asks"][number] | null> {
    const said = facts.schedule?.trim();
    if (!said) return null;
    const problem = () => {
      try {
        this.deps.builders.checkSchedule(facts.schedule!, "schedule", facts.timezone);
        return null;
      } catch (e) {
        return (e as Error).message;
      }
    };
    if (problem() === null) return null;
    const converted = await this.deps.llm.json({
      system: scheduleMd.trim(),
      messages: [{ role: "user", content: `Schedule: ${said}${facts.timezone ? `\nTime zone the user named: ${facts.timezone}` : ""}` }],
      schema: ScheduleConversion,
      schemaName: "schedule",
      signal: ctx.signal,
      onCall: (x) => ctx.log("info", `model call (schedule): ${x.model}, ${x.tokensIn}/${x.tokensOut} tokens, ${x.latencyMs} ms`),
    });
    if (converted.cron) {
      facts.schedule = converted.cron;
      if (converted.timezone) facts.timezone = converted.timezone;
      const why = problem();
      if (why === null) {
        ctx.log("info", `schedule "${said}" → cron "${facts.schedule}"${facts.timezone ? ` (${facts.timezone})` : ""}`);
        return null;
      }
      ctx.log("warn", `schedule "${said}" converted to "${converted.cron}", which is not usable: ${why}`);
    }
    delete facts.schedule;
    return { id: "schedule", kind: "text", question: `How often should it run? "${said}" could not be read as a schedule; give it as a cron expression (e.g. "0 9 * * 1-5" for weekdays at 9:00) or in other words.` };
  }

  private async build(c: ConversationRow, ctx: PipelineContext) {
    const { db } = this.deps;
    const facts = c.facts;
    const spec = c.spec!;
    if (!spec) throw new AppError("invalid_state", "No plan to build.");
    const cron = facts.schedule || spec.schedule;
    if (cron) this.deps.builders.checkSchedule(cron, "schedule", facts.timezone); // before anything is generated or deployed
    const agentId = c.agentId ?? await this.createAgent(c);
    const credName = facts.credential;
    if (credName && credName !== "paste new") {
      const cred = await this.deps.credentials.byName(c.workspaceId, credName);
      if (!cred) throw new AppError("credential_not_found", `No stored credential named ${credName}.`);
      if (!userChose(c, cred.name))
        throw new AppError(
          "invalid_state",
          `The plan uses the stored credential ${cred.name}, which you did not name or pick from a credential question; nothing was granted. Rebuild naming the credential to use.`,
        );
      await this.deps.credentials.grant(agentId, cred);
      ctx.log("info", `granted credential ${cred.name} for ${cred.hosts.join(", ")}`);
    }
    const agentBefore = await this.agent(agentId);
    const result = await runGeneration(this.deps.pipeline, { agentId, prompt: c.prompt, spec, facts, autoDeploy: false, origin: agentBefore.latestVersion ? "rebuild" : "generate" }, ctx);
    let reviewPassed: boolean | null = null;
    if (!c.skipReview) {
      ctx.progress(92, "review");
      const v = await getVersion(db, agentId, result.artifact.version);
      const review = await this.deps.llm.json({
        system: reviewMd.trim(),
        messages: [{ role: "user", content: `Requirements:\n${c.prompt}\n\nSpec:\n${JSON.stringify(spec)}\n\nModule:\n\`\`\`ts\n${Object.values(v.files).join("\n")}\n\`\`\`` }],
        schema: Review,
        schemaName: "code_review",
        signal: ctx.signal,
        maxTokens: SMALL_ANSWER_TOKENS,
      });
      reviewPassed = review.passed;
      ctx.log(review.passed ? "info" : "warn", `review ${review.passed ? "passed" : "failed"}`, { issues: review.issues });
      if (!review.passed) {
        await this.update(c.id, { reviewPassed: false });
        throw new NonRetriableError("review_failed", `Pre-deploy review failed: ${review.issues.map((i) => i.message).join("; ")}`, "review");
      }
    }
    ctx.progress(95, "deploy");
    await this.deps.deployer.deployNow(await this.agent(agentId), result.artifact.version);
    if (cron) await this.deps.builders.setSchedule(agentId, cron, facts.mode === "one_time" ? "one_time" : "always_on", facts.timezone);
    let qaPassed: boolean | null = null;
    const history = [...(await this.history(c.id)), entry("builder", "deployed", `version ${result.artifact.version} deployed`)];
    if (!c.skipReview) {
      ctx.progress(97, "qa");
      const failures = await this.qa(agentId, spec);
      qaPassed = failures.length === 0;
      if (!qaPassed) {
        history.push(entry("system", "qa_failed", `QA failed: ${failures.join("; ")}`));
        const healed = await this.heal(agentId, c, spec, failures, ctx);
        history.push(entry("system", "self_heal", healed ? "self-heal deployed a fix" : "self-heal found no passing fix; the deployed version keeps serving"));
        if (healed) qaPassed = (await this.qa(agentId, spec)).length === 0;
      }
    }
    await this.update(c.id, {
      status: "deployed",
      agentId,
      reviewPassed,
      qaPassed,
      message: `Deployed ${(await this.agent(agentId)).name}.`,
      history,
    });
    ctx.progress(100, "deployed");
  }

  /**
   * Self-heal of a deployed app whose error rate crossed the threshold (see the scheduler's
   * monitor): a repair run with the failing calls as evidence, deployed only if it passes.
   * The conversation stays deployed; the attempt is recorded in its history.
   */
  async healLive(conversationId: string, evidence: string[], ctx: PipelineContext): Promise<void> {
    const c = await this.load(conversationId);
    if (c.status !== "deployed" || !c.agentId || !c.spec) return;
    const healed = await this.heal(c.agentId, c, c.spec!, evidence, ctx);
    await this.update(c.id, {
      history: [
        ...(await this.history(c.id)),
        entry("system", "self_heal", healed ? "error rate over threshold: self-heal deployed a fix" : "error rate over threshold: no passing fix found; the deployed version keeps serving", {
          evidence: evidence.slice(0, 20),
        }),
      ],
    });
  }

  /**
   * QA of the deployed version: its stored bundle, with its runtime config (limits,
   * engine, env), answers the spec's worked examples in a scratch world — its own kv
   * namespace and upstream fixtures, thrown away afterwards — so QA never writes into the
   * live agent's data. Returns the failures as sentences (empty when QA passed).
   */
  async qa(agentId: string, spec: Spec): Promise<string[]> {
    const { db, runtime, serverLimits } = this.deps.pipeline;
    const agent = await this.agent(agentId);
    if (agent.liveVersion === null) return ["no version is deployed"];
    const v = await getVersion(db, agentId, agent.liveVersion);
    if (!v.bundle) return [`version ${agent.liveVersion} has no bundle`];
    const report = await validateBundle(runtime, { agentId, bundleId: v.id, code: v.bundle, config: await runtimeConfigFor(db, agent, serverLimits) }, { ...spec, invalidInputs: [] });
    return report.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.errors.join("; ")}${c.environment?.length ? ` (sandbox environment: ${c.environment.join("; ")})` : ""}`);
  }

  /** A repair run with the failing calls as evidence; deploys only a passing fix. */
  async heal(agentId: string, c: ConversationRow, spec: Spec, evidence: string[], ctx: PipelineContext): Promise<boolean> {
    ctx.log("warn", `self-heal: ${evidence.length} failing call(s)`, { evidence });
    try {
      const r = await runGeneration(
        this.deps.pipeline,
        { agentId, prompt: c.prompt, spec, facts: { ...c.facts, evidence: evidence.join("\n") }, autoDeploy: true, origin: "repair" },
        ctx,
      );
      return r.deployed;
    } catch (e) {
      ctx.log("warn", `self-heal failed: ${(e as Error).message}`);
      // A live agent shows deployed again; one that is not live keeps its status.
      await this.deps.db.tx(async (tx) => {
        const a = await lockedAgent(tx, agentId);
        await settle(tx, a, a.status);
      });
      return false;
    }
  }

  private async createAgent(c: ConversationRow): Promise<string> {
    const { db } = this.deps;
    const id = newId("agent");
    const agent = await db.tx(async (tx) => {
      const row = await insertAgent(tx, { id, workspaceId: c.workspaceId, name: c.name || nameFromPrompt(c.prompt), status: "generating", prompt: c.prompt, jobType: "always_on" }, this.deps.maxAgents ?? Infinity);
      await tx.update(conversations).set({ agentId: id }).where(eq(conversations.id, c.id));
      return row;
    });
    await this.deps.builders.attachServiceKey(agent);
    return id;
  }

  private agent(id: string) {
    return agentById(this.deps.db, id);
  }

  private async load(id: string): Promise<ConversationRow> {
    const c = (await this.deps.db.select().from(conversations).where(eq(conversations.id, id)).limit(1))[0];
    if (!c) throw new AppError("conversation_not_found");
    return c;
  }

  private async history(id: string): Promise<HistoryEntry[]> {
    return (await this.load(id)).history;
  }

  private async update(id: string, set: Partial<typeof conversations.$inferInsert>): Promise<void> {
    await this.deps.db.tx((tx) => tx.update(conversations).set({ ...set, updatedAt: Date.now() }).where(eq(conversations.id, id)));
  }
}

/**
 * The model's suggested agent name when it passes the rule a caller's name passes (2 to 120
 * characters, src/http/schemas.ts), with control characters removed; else undefined. The
 * model's reply is data: a 100 000-character name with escapes would otherwise become the
 * agent's name in every listing.
 */
export function suggestedName(name: string | undefined): string | undefined {
  const clean = name?.replace(/[\u0000-\u001f\u007f-\u009f]/g, " ").replace(/\s+/g, " ").trim();
  return clean && clean.length >= 2 && clean.length <= 120 ? clean : undefined;
}

/** Lower-case words separated by single spaces, padded, so "stripe key" finds "STRIPE_KEY". */
const words = (t: string) => ` ${t.toLowerCase().replace(/[^a-z0-9]+/g, " ").trim()} `;

/**
 * True when the user chose the stored credential `name` themselves: their prompt or one of
 * their answers names it, or a credential question that offered it as an option was put
 * to them and they answered it. The model's `facts.credential` alone is not a choice: a
 * grant is a capability, and model output carries none (THREAT-MODEL.md).
 */
export function userChose(c: Pick<ConversationRow, "prompt" | "history">, name: string): boolean {
  const want = words(name);
  if (want.trim() === "") return false;
  if ([c.prompt, ...c.history.filter((h) => h.role === "user").map((h) => h.message)].some((t) => words(t).includes(want))) return true;
  let offered = false;
  for (const h of c.history) {
    if (h.role === "builder" && h.kind === "questions") {
      const asks = ((h.data as { asks?: { kind?: string; options?: string[] }[] } | undefined)?.asks ?? []).filter((a) => a.kind === "credential");
      offered = asks.some((a) => (a.options ?? []).some((o) => words(o) === want));
    } else if (h.role === "user" && h.kind === "answer" && offered) return true;
  }
  return false;
}
