/**
 * Builds the Elysia applications from their route files: the platform's (API, dashboard,
 * docs, and /apps sandboxed) and the apps listener's. Errors from any route are rendered
 * once, here, in the envelope of the API family the request belongs to.
 */
import { Elysia } from "elysia";
import type { HttpDeps } from "./deps";
import { docsPlugin } from "./docs";
import { dashboardRoutes } from "../dashboard";
import { renderError } from "./error-handler";
import { healthRoutes } from "./routes/health";
import { metricsRoutes } from "./routes/metrics";
import { mcpRoutes } from "./routes/mcp";
import { v1AgentsRoutes } from "./routes/v1-agents";
import { v1ApiKeysRoutes } from "./routes/v1-api-keys";
import { v1ScheduleRoutes } from "./routes/v1-schedule";
import { v1DeployRoutes } from "./routes/v1-deploy";
import { v1InvokeRoutes } from "./routes/v1-invoke";
import { appsRoutes } from "./routes/apps";
import { apiV1BuildersRoutes } from "./routes/api-v1-builders";
import { apiV1BuilderAgentsRoutes } from "./routes/api-v1-builder-agents";
import { apiV1CredentialsRoutes } from "./routes/api-v1-credentials";
import { v1GenerateRoutes } from "./routes/v1-generate";
import { v1AdminRoutes } from "./routes/v1-admin";
import { v1DownloadsRoutes } from "./routes/v1-downloads";
import { v1ValidationRoutes } from "./routes/v1-validation";
import { v1SessionRoutes } from "./routes/v1-session";

export function createApp(deps: HttpDeps) {
  return new Elysia({ name: "cantrip" })
    .onError(({ code, error, request, set }) => {
      const res = renderError(code, error, request, deps.logger);
      // Elysia may already have set a status of its own (422 for validation); the catalogue's wins.
      set.status = res.status;
      return res;
    })
    .use(docsPlugin(deps.version))
    .use(dashboardRoutes())
    .use(healthRoutes(deps))
    .use(v1SessionRoutes(deps))
    .use(metricsRoutes(deps))
    .use(mcpRoutes(deps))
    .use(v1AgentsRoutes(deps))
    .use(v1ApiKeysRoutes(deps))
    .use(v1ScheduleRoutes(deps))
    .use(v1DeployRoutes(deps))
    .use(v1InvokeRoutes(deps))
    .use(appsRoutes(deps, "platform"))
    .use(v1GenerateRoutes(deps))
    .use(v1ValidationRoutes(deps))
    .use(v1DownloadsRoutes(deps))
    .use(v1AdminRoutes(deps))
    .use(apiV1BuildersRoutes(deps))
    .use(apiV1CredentialsRoutes(deps))
    .use(apiV1BuilderAgentsRoutes(deps));
}

export type App = ReturnType<typeof createApp>;

/**
 * The apps listener's application (CANTRIP_APPS_PORT): /apps/{slug}/... only, on an origin
 * that holds no platform credential, so backends' pages run there without the sandbox.
 */
export function createAppsApp(deps: HttpDeps) {
  return new Elysia({ name: "cantrip-apps" })
    .onError(({ code, error, request }) => renderError(code, error, request, deps.logger))
    .use(appsRoutes(deps, "apps"));
}
