/** Liveness and readiness probes; no auth. */
import { Elysia, t } from "elysia";
import type { HttpDeps } from "../deps";

export function healthRoutes(deps: HttpDeps) {
  return new Elysia({ name: "health" })
    .get("/healthz", () => ({ status: "ok" as const, version: deps.version }), {
      detail: { summary: "Liveness probe", tags: ["health"], security: [] },
      response: t.Object({ status: t.Literal("ok"), version: t.String() }),
    })
    .get(
      "/readyz",
      async ({ set }) => {
        const r = await deps.ready();
        if (!r.ok) set.status = 503;
        return { status: r.ok ? "ready" : "not_ready", checks: r.checks, ...(r.details ? { details: r.details } : {}) };
      },
      {
        detail: { summary: "Readiness probe: database reachable and migrated, sandbox answers", tags: ["health"], security: [] },
      },
    );
}
