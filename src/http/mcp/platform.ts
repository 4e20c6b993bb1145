/**
 * The platform's MCP server (`/mcp`, platform token): the control API as tools for AI
 * clients — generate a backend (progress notifications while it runs), check a job, list
 * and describe agents, deploy or roll back, mint an agent key, invoke a backend, read its
 * recent invocations and logs, and run a builder conversation. Every tool acts in the
 * token's workspace through the same services and schemas as the HTTP routes.
 */
import { t, type TSchema } from "elysia";
import { Value } from "@sinclair/typebox/value";
import { agentView } from "../../agents/view";
import { getAgent, getAgentBySlug, listAgents, type AgentRow } from "../../agents";
import { getVersion } from "../../deploy";
import { AppError, fieldIssues, invalidRequest } from "../../errors";
import { startGeneration } from "../../generate/start";
import { parsePage } from "../../lib/pagination";
import type { HttpDeps } from "../deps";
import { TERMINAL, type JobRow } from "../jobs-port";
import { jobView, workspaceJob } from "../job-views";
import { ConversationBody, CreateKeyBody, GenerateBody } from "../schemas";
import { jsonResult, plainSchema, type Tool, type ToolContext } from "./serve";

const AgentRef = t.String({ minLength: 1, maxLength: 200, description: "the agent's id (agent_...) or slug" });
const Uuid = t.String({ minLength: 1, maxLength: 64, description: "the conversation's uuid" });

/** Checks `args` against `schema` (defaults filled); a mismatch is a tool error naming the fields. */
function parseArgs<S extends TSchema>(schema: S, args: Record<string, unknown>): import("@sinclair/typebox").Static<S> {
  const value = Value.Default(schema, Value.Clone(args));
  if (!Value.Check(schema, value))
    throw invalidRequest(fieldIssues(Value.Errors(schema, value), "(arguments)", 10));
  return value as import("@sinclair/typebox").Static<S>;
}

/** Waits for a job to end, reporting progress; resolves with the job row (possibly still running after `ms`). */
function followJob(deps: HttpDeps, jobId: string, ms: number, ctx: ToolContext): Promise<JobRow> {
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      unsubscribe();
      clearTimeout(timer);
      ctx.signal.removeEventListener("abort", finish);
      deps.jobs.get(jobId).then((j) => resolve(j!), reject);
    };
    const unsubscribe = deps.jobs.subscribe(jobId, (e) => {
      const data = (e.data ?? {}) as { progress?: number; stage?: string; status?: string };
      if (e.type === "progress" && typeof data.progress === "number") void ctx.progress(data.progress, 100, data.stage ?? undefined).catch(() => {});
      if (e.type === "status" && data.status && TERMINAL.has(data.status)) finish();
    });
    const timer = setTimeout(finish, ms);
    ctx.signal.addEventListener("abort", finish);
    deps.jobs.get(jobId).then((now) => {
      if (!now || TERMINAL.has(now.status)) finish();
    }, reject);
  });
}

/** The platform tools for one workspace. `requestId` tags calls made through the gateway. */
export function platformTools(deps: HttpDeps, workspaceId: string, requestId: string): Tool[] {
  const view = (a: AgentRow) => agentView(a, deps.urls, deps.limits);
  const agentOf = async (ref: string) => (ref.startsWith("agent_") ? await getAgent(deps.db, workspaceId, ref) : await getAgentBySlug(deps.db, workspaceId, ref));
  const jobOf = (jobId: string) => workspaceJob(deps, workspaceId, jobId);
  const tool = <S extends TSchema>(name: string, description: string, input: S, run: (args: import("@sinclair/typebox").Static<S>, ctx: ToolContext) => Promise<unknown> | unknown): Tool => ({
    name,
    description,
    inputSchema: plainSchema(input),
    run: async (args, ctx) => jsonResult(await run(parseArgs(input, args), ctx)),
  });

  const GenerateArgs = t.Composite([
    GenerateBody,
    t.Object({
      wait: t.Optional(t.Boolean({ default: true, description: "wait for the job to finish, sending progress notifications (default true)" })),
      waitSeconds: t.Optional(t.Integer({ minimum: 1, maximum: 1800, default: 600, description: "how long to wait before returning the running job" })),
    }),
  ]);
  const ConversationArgs = ConversationBody;

  return [
    tool("generate_backend", "Generate a backend API from plain-English requirements: plan, code, validate, repair, and (with autoDeploy) deploy. Returns the job; waits for it by default, with progress notifications.", GenerateArgs, async (args, ctx) => {
      if (!deps.llm.configured) throw new AppError("model_not_configured");
      const started = await startGeneration({ db: deps.db, jobs: deps.jobs, provider: deps.llm.provider, defaultModel: deps.llm.defaultModel, maxAgents: deps.config.workspaceMaxAgents }, workspaceId, args);
      const job = args.wait === false ? await jobOf(started.jobId) : await followJob(deps, started.jobId, (args.waitSeconds ?? 600) * 1000, ctx);
      return { agent: view(await getAgent(deps.db, workspaceId, started.agent.id)), job: await jobView(deps, job) };
    }),
    tool("get_job", "A generation or validation job: status, progress, logs, artifact, validation report and failure.", t.Object({ jobId: t.String({ minLength: 1, maxLength: 64 }) }), async ({ jobId }) => jobView(deps, await jobOf(jobId))),
    tool("list_agents", "The workspace's agents (backends), newest first, with status, endpoint and app URLs.", t.Object({ limit: t.Optional(t.Integer({ minimum: 1, maximum: 100 })), cursor: t.Optional(t.String({ maxLength: 160 })) }), async ({ limit, cursor }) => {
      const page = await listAgents(deps.db, workspaceId, parsePage({ limit: limit === undefined ? undefined : String(limit), cursor }));
      return { agents: page.data.map(view), nextCursor: page.nextCursor };
    }),
    tool("describe_agent", "One agent with the routes of its live version and their input/output JSON Schemas, its app URL and its own MCP endpoint.", t.Object({ agent: AgentRef }), async ({ agent }) => {
      const a = await agentOf(agent);
      const version = a.liveVersion ?? a.latestVersion;
      const described = version === null ? null : ((await getVersion(deps.db, a.id, version)).described ?? null);
      return { agent: view(a), version, routes: described?.routes ?? [], scheduled: described?.scheduled ?? false, mcpUrl: `${deps.baseUrl}/apps/${a.slug}/_mcp` };
    }),
    tool("deploy_version", "Deploy an agent: its newest version, or roll back at once to an existing `version`.", t.Object({ agent: AgentRef, version: t.Optional(t.Integer({ minimum: 1 })) }), async ({ agent, version }) => {
      const a = await agentOf(agent);
      const deployment = version === undefined ? await deps.deployer.request(a) : await deps.deployer.rollback(a, version);
      return { agent: view(await getAgent(deps.db, workspaceId, a.id)), deployment };
    }),
    tool("create_agent_key", "Mint an API key for one agent (shown once). Callers use it as `Authorization: Bearer ctp_ak_...`.", t.Composite([t.Object({ agent: AgentRef }), CreateKeyBody]), async ({ agent, name }) => {
      const a = await agentOf(agent);
      return deps.keys.create(workspaceId, a.id, name);
    }),
    tool("invoke_backend", "Call a deployed backend's `POST /` with a JSON body (as POST /v1/invoke does). Returns {status, ok, latencyMs, response}.", t.Object({ agent: AgentRef, body: t.Optional(t.Unknown({ description: "the JSON body" })) }), async ({ agent, body }) => {
      const a = await agentOf(agent);
      return deps.gateway.invoke(a.slug, null, JSON.stringify(body ?? {}), requestId, { workspaceId });
    }),
    tool("recent_invocations", "An agent's recent calls, newest first: method, path, status, latency, error code, request id.", t.Object({ agent: AgentRef, limit: t.Optional(t.Integer({ minimum: 1, maximum: 100, default: 20 })) }), async ({ agent, limit }) => {
      const a = await agentOf(agent);
      await deps.invocations.flush();
      return deps.invocations.list(a.id, { limit: limit ?? 20, cursor: null });
    }),
    tool("agent_logs", "Recent console lines from an agent's code.", t.Object({ agent: AgentRef, limit: t.Optional(t.Integer({ minimum: 1, maximum: 200, default: 100 })) }), async ({ agent, limit }) => {
      const a = await agentOf(agent);
      await deps.invocations.flush();
      return { logs: await deps.invocations.recentLogs(a.id, limit ?? 100) };
    }),
    tool("start_conversation", "Start a builder conversation: cantrip asks what it cannot infer, waits for answers and approval, then builds and deploys.", ConversationArgs, async (args) => {
      if (!deps.llm.configured) throw new AppError("model_not_configured");
      return deps.conversations.view(await deps.conversations.create(workspaceId, args));
    }),
    tool("get_conversation", "A builder conversation: status, the builder's message, open questions, and the deployed builder.", t.Object({ uuid: Uuid }), async ({ uuid }) => deps.conversations.view(await deps.conversations.get(workspaceId, uuid))),
    tool("answer_conversation", "Answer the open questions of a conversation in `gathering`.", t.Object({ uuid: Uuid, message: t.String({ minLength: 1, maxLength: 100000 }) }), async ({ uuid, message }) =>
      deps.conversations.view(await deps.conversations.answer(workspaceId, uuid, message)),
    ),
    tool("approve_conversation", "Approve the plan of a conversation in `awaiting_approval`: it builds and deploys.", t.Object({ uuid: Uuid }), async ({ uuid }) => deps.conversations.view(await deps.conversations.approve(workspaceId, uuid))),
  ];
}
