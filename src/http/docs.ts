/**
 * The OpenAPI document (/openapi.json) and Swagger UI (/docs), with every asset served
 * from inside the process: the machine running cantrip may have no internet, so the page
 * must not reference a CDN. Assets are embedded as files so they survive `bun build --compile`.
 */
import { Elysia } from "elysia";
import { openapi } from "@elysiajs/openapi";
import swaggerBundle from "swagger-ui-dist/swagger-ui-bundle.js" with { type: "file" };
import swaggerCss from "swagger-ui-dist/swagger-ui.css" with { type: "file" };
import favicon from "swagger-ui-dist/favicon-32x32.png" with { type: "file" };

const assets: Record<string, { path: string; type: string }> = {
  "swagger-ui-bundle.js": { path: swaggerBundle, type: "text/javascript; charset=utf-8" },
  "swagger-ui.css": { path: swaggerCss, type: "text/css; charset=utf-8" },
  "favicon-32x32.png": { path: favicon, type: "image/png" },
};

export function docsPlugin(version: string) {
  return new Elysia({ name: "docs" })
    .use(
      openapi({
        path: "/docs",
        specPath: "/openapi.json",
        provider: "swagger-ui",
        exclude: { paths: [/^\/docs/, /^\/apps\//, /^\/assets\//, "/"] },
        documentation: {
          info: {
            title: "cantrip API",
            version,
            description:
              "Self-hosted platform that turns plain-English requirements into sandboxed backend APIs. `/v1` is the control API; `/api/v1` the builder-conversation API. Authenticate with `Authorization: Bearer ctp_pt_...` (platform token) or, for invoke and app URLs, `Bearer ctp_ak_...` (agent key).",
          },
          components: {
            securitySchemes: {
              platformToken: { type: "http", scheme: "bearer", description: "Platform token: ctp_pt_..." },
              agentKey: { type: "http", scheme: "bearer", description: "Agent API key: ctp_ak_..." },
            },
          },
          security: [{ platformToken: [] }],
        },
        swagger: {
          cdn: "/docs/assets/swagger-ui-bundle.js",
          theme: "/docs/assets/swagger-ui.css",
          version: "5",
          autoDarkMode: true,
        },
      }),
    )
    .get(
      "/docs/assets/:file",
      ({ params, set }) => {
        const asset = assets[params.file];
        if (!asset) {
          set.status = 404;
          return { error: { code: "not_found", message: "No such asset." } };
        }
        return new Response(Bun.file(asset.path), {
          headers: { "content-type": asset.type, "cache-control": "public, max-age=86400" },
        });
      },
      { detail: { hide: true } },
    );
}
