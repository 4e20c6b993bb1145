/**
 * Builds the Elysia application from its route files. Errors from any route are rendered
 * once, here, in the envelope of the API family the request belongs to.
 */
import { Elysia } from "elysia";
import type { HttpDeps } from "./deps";
import { docsPlugin } from "./docs";
import { renderError } from "./error-handler";
import { healthRoutes } from "./routes/health";
import { v1AgentsRoutes } from "./routes/v1-agents";

export function createApp(deps: HttpDeps) {
  return new Elysia({ name: "cantrip" })
    .onError(({ code, error, request }) => renderError(code, error, request, deps.logger))
    .use(docsPlugin(deps.version))
    .use(healthRoutes(deps))
    .use(v1AgentsRoutes(deps));
}

export type App = ReturnType<typeof createApp>;
