/**
 * /v1/agents/{id}/schedule (extension): read, set or remove the cron schedule of an
 * agent's `scheduled` handler. Validated by the schedule policy (5-field cron that fires,
 * at most as often as CANTRIP_SCHEDULE_MIN_INTERVAL_S, an IANA time zone, default UTC).
 */
import { Elysia, t } from "elysia";
import { getAgent, scheduleView } from "../../agents";
import { getVersion } from "../../deploy";
import { AppError } from "../../errors";
import { authPlugin } from "../auth";
import type { HttpDeps } from "../deps";

export const ScheduleBody = t.Object({
  cron: t.String({ minLength: 1, maxLength: 120, description: "5-field cron expression (minute hour day-of-month month day-of-week) or @hourly/@daily/…" }),
  timezone: t.Optional(t.String({ minLength: 1, maxLength: 64, description: "IANA time zone the expression is read in (default UTC)" })),
  mode: t.Optional(t.Union([t.Literal("always_on"), t.Literal("one_time")], { description: "one_time disables the schedule after its first run" })),
});

export function v1ScheduleRoutes(deps: HttpDeps) {
  const tags = ["schedules"];
  return new Elysia({ name: "v1-schedule", prefix: "/v1/agents/:id/schedule" })
    .use(authPlugin(deps.verifier))
    .get(
      "",
      async ({ params, principal }) => {
        const agent = await getAgent(deps.db, principal.workspaceId, params.id);
        const s = await deps.schedules.get(agent.id);
        return { data: s ? scheduleView(s) : null };
      },
      { detail: { summary: "The agent's schedule (null when it has none)", tags } },
    )
    .put(
      "",
      async ({ params, body, principal }) => {
        const agent = await getAgent(deps.db, principal.workspaceId, params.id);
        const version = agent.liveVersion ?? agent.latestVersion;
        const described = version === null ? null : (await getVersion(deps.db, agent.id, version)).described;
        if (!described?.scheduled)
          throw new AppError("invalid_request", "The agent's backend exports no scheduled handler (defineBackend({ scheduled })), so a schedule would have nothing to run.", {
            details: [{ field: "cron", rule: "ScheduledHandler", message: "the backend has no scheduled handler" }],
          });
        deps.schedules.check(body, "cron");
        return { data: scheduleView(await deps.schedules.set(agent.id, body)) };
      },
      { body: ScheduleBody, detail: { summary: "Set (or replace) the agent's schedule", tags } },
    )
    .delete(
      "",
      async ({ params, principal }) => {
        const agent = await getAgent(deps.db, principal.workspaceId, params.id);
        return { data: { agentId: agent.id, deleted: await deps.schedules.clear(agent.id) } };
      },
      { detail: { summary: "Remove the agent's schedule", tags } },
    );
}
