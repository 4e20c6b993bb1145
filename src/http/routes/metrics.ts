/**
 * GET /metrics: the Prometheus text exposition of src/metrics. Scraping needs a platform
 * token of the operator's workspace or CANTRIP_METRICS_TOKEN (compared in constant time), so
 * a monitoring system can hold a credential that opens nothing else. The series cover every
 * tenant (agent slugs, call counts and outcomes, models), so another workspace's platform
 * token gets 403 `forbidden`, as for backups (threat model, promise 6).
 */
import { Elysia } from "elysia";
import { AppError } from "../../errors";
import { timingSafeEqual } from "node:crypto";
import type { HttpDeps } from "../deps";

function isMetricsToken(header: string | null, token: string): boolean {
  if (!token || !header?.startsWith("Bearer ")) return false;
  const given = Buffer.from(header.slice(7).trim());
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

export function metricsRoutes(deps: HttpDeps) {
  return new Elysia({ name: "metrics" }).get(
    "/metrics",
    async ({ request }) => {
      const header = request.headers.get("authorization");
      if (!isMetricsToken(header, deps.config.metricsToken)) {
        const principal = await deps.verifier.tokens.verify(header);
        if (!deps.admin || principal.workspaceId !== await deps.admin.operatorWorkspaceId())
          throw new AppError("forbidden", "Metrics cover every workspace: scraping needs CANTRIP_METRICS_TOKEN or a platform token of the operator's workspace.");
      }
      const { body, contentType } = await deps.metrics.scrape();
      return new Response(body, { headers: { "content-type": contentType, "cache-control": "no-store" } });
    },
    { detail: { summary: "Prometheus metrics (the operator's platform token or CANTRIP_METRICS_TOKEN)", tags: ["health"] } },
  );
}
