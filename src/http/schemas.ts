/** Response schemas shared by route files (for the OpenAPI document). */
import { t } from "elysia";

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
  failure: t.Nullable(t.Any()),
  createdAt: t.Nullable(t.String()),
  updatedAt: t.Nullable(t.String()),
});

export const data = <T extends import("@sinclair/typebox").TSchema>(s: T) => t.Object({ data: s });
