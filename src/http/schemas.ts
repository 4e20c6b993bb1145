/** Response schemas shared by route files (for the OpenAPI document). */
import { t } from "elysia";
import { ModelId } from "../config";

export const ErrorEnvelope = t.Object({
  error: t.Object({ code: t.String(), message: t.String(), details: t.Optional(t.Any()), requestId: t.String() }),
});

export const PageQuery = t.Object({
  limit: t.Optional(t.String({ description: "1-100, default 20" })),
  cursor: t.Optional(t.String({ description: "nextCursor from the previous page" })),
});

export const Agent = t.Object({
  id: t.String(),
  slug: t.String(),
  name: t.String(),
  status: t.String({ description: "generating | validating | ready | deploying | deployed | failed" }),
  prompt: t.Nullable(t.String()),
  model: t.Nullable(t.String()),
  region: t.String(),
  public: t.Boolean(),
  engine: t.String(),
  latestVersion: t.Nullable(t.Integer()),
  liveVersion: t.Nullable(t.Integer()),
  endpointUrl: t.Nullable(t.String()),
  appUrl: t.Nullable(t.String()),
  allowedHosts: t.Array(t.String()),
  limits: t.Record(t.String(), t.Integer(), { description: "per-call limits the next call runs with: cpuMs, wallMs, memoryMb, responseBytes, logLines, logBytes, fetchPerCall, fetchTimeoutMs, fetchMaxBytes, timers" }),
  limitOverrides: t.Record(t.String(), t.Integer(), { description: "the limits set on this agent; the others follow the server defaults" }),
  failure: t.Nullable(t.Any()),
  createdAt: t.Nullable(t.String()),
  updatedAt: t.Nullable(t.String()),
});

export const data = <T extends import("@sinclair/typebox").TSchema>(s: T) => t.Object({ data: s });

export const FilesMap = t.Record(t.String(), t.String(), { description: "path → file content (TypeScript or JavaScript)" });

export const SourceBody = t.Object({
  files: FilesMap,
  entrypoint: t.String({ minLength: 1, maxLength: 200, description: "the file whose default export is defineBackend(...)" }),
});

/** Checked by src/agents/limits.ts (names, whole numbers, the operator's maxima), which names each bad field. */
export const LimitsInput = t.Unknown({
  description:
    "per-call limits for this agent, e.g. {\"cpuMs\": 2000, \"memoryMb\": 128}; null resets one to the server default. Names: cpuMs, wallMs, memoryMb, responseBytes, logLines, logBytes, fetchPerCall, fetchTimeoutMs, fetchMaxBytes, timers. Each at most the operator's maximum (400 invalid_request otherwise).",
});

export const CreateAgentBody = t.Object({
  name: t.String({ minLength: 2, maxLength: 120 }),
  files: FilesMap,
  entrypoint: t.String({ minLength: 1, maxLength: 200 }),
  autoDeploy: t.Optional(t.Boolean({ default: false })),
  public: t.Optional(t.Boolean({ description: "serve /apps/{slug} without an agent key" })),
  allowedHosts: t.Optional(t.Array(t.String({ minLength: 1, maxLength: 253 }), { maxItems: 50, description: "hosts ctx.fetch may reach" })),
  engine: t.Optional(t.Union([t.Literal("quickjs"), t.Literal("v8")], { description: "sandbox engine (default: the server's --sandbox)" })),
  limits: t.Optional(LimitsInput),
});

export const ApiKey = t.Object({
  id: t.String(),
  agentId: t.String(),
  name: t.String(),
  type: t.String(),
  status: t.String({ description: "active | revoked" }),
  prefix: t.String(),
  lastFour: t.String(),
  createdAt: t.Nullable(t.String()),
  lastUsedAt: t.Nullable(t.String()),
});

export const Deployment = t.Nullable(
  t.Object({
    id: t.String(),
    agentId: t.String(),
    version: t.Integer(),
    kind: t.String(),
    status: t.String(),
    jobId: t.Nullable(t.String()),
    error: t.Nullable(t.Any()),
    createdAt: t.Nullable(t.String()),
    updatedAt: t.Nullable(t.String()),
  }),
);

export const Version = t.Object({
  id: t.String(),
  agentId: t.String(),
  version: t.Integer(),
  origin: t.String(),
  hash: t.Nullable(t.String()),
  live: t.Boolean(),
  entrypoint: t.String(),
  files: t.Array(t.String()),
  described: t.Any(),
  validation: t.Any(),
  diagnostics: t.Any(),
  createdAt: t.Nullable(t.String()),
  source: t.Optional(t.Record(t.String(), t.String())),
  spec: t.Optional(t.Any()),
});

/** POST /v1/generate (and the platform MCP server's generate tool). */
export const GenerateBody = t.Object({
  name: t.String({ minLength: 2, maxLength: 120 }),
  prompt: t.String({ minLength: 10, maxLength: 100000, description: "the requirements in plain English" }),
  model: t.Optional(ModelId),
  region: t.Optional(t.String({ minLength: 1, maxLength: 80, default: "auto" })),
  autoDeploy: t.Optional(t.Boolean({ default: false })),
});

/** POST /api/v1/builder-agents (and the platform MCP server's conversation tool). */
export const ConversationBody = t.Object({
  prompt: t.String({ minLength: 10, maxLength: 100000 }),
  name: t.Optional(t.String({ minLength: 2, maxLength: 120 })),
  skip_approval: t.Optional(t.Boolean({ default: false })),
  skip_review: t.Optional(t.Boolean({ default: false })),
});

/** POST /v1/agents/{id}/api-keys. */
export const CreateKeyBody = t.Object({ name: t.String({ minLength: 1, maxLength: 120 }) });
