/**
 * The OpenAPI document (/openapi.json) and Swagger UI (/docs), with every asset served
 * from inside the process: the machine running cantrip may have no internet, so the page
 * must not reference a CDN. Assets are embedded as files so they survive `bun build --compile`.
 * The page is our own (not the plugin's, whose inline script and style would need
 * 'unsafe-inline'): every script and stylesheet is a same-origin file; scripts also carry a
 * per-response nonce, which is all the CSP admits, and framing is forbidden.
 */
import { randomBytes } from "node:crypto";
import { Elysia } from "elysia";
import { openapi } from "@elysiajs/openapi";
import swaggerBundle from "swagger-ui-dist/swagger-ui-bundle.js" with { type: "file" };
import swaggerCss from "swagger-ui-dist/swagger-ui.css" with { type: "file" };
import favicon from "swagger-ui-dist/favicon-32x32.png" with { type: "file" };

const assets: Record<string, { path?: string; text?: string; type: string }> = {
  "swagger-ui-bundle.js": { path: swaggerBundle, type: "text/javascript; charset=utf-8" },
  "swagger-ui.css": { path: swaggerCss, type: "text/css; charset=utf-8" },
  "favicon-32x32.png": { path: favicon, type: "image/png" },
  "init.js": {
    text: `window.addEventListener("load", () => { window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", validatorUrl: null }); });\n`,
    type: "text/javascript; charset=utf-8",
  },
  "dark.css": {
    text: `@media (prefers-color-scheme: dark) { body { background-color: #222; } .swagger-ui { filter: invert(92%) hue-rotate(180deg); } .swagger-ui .microlight { filter: invert(100%) hue-rotate(180deg); } }\n`,
    type: "text/css; charset=utf-8",
  },
};

/** The Swagger UI page's CSP: only its nonced scripts (not every same-origin script: /apps/ is same-origin), same-origin styles and calls; no framing. */
export function docsCsp(nonce: string): string {
  return `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
}

const docsPage = (nonce: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>cantrip API</title><link rel="icon" href="/docs/assets/favicon-32x32.png">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"><link rel="stylesheet" href="/docs/assets/dark.css">
</head><body><div id="swagger-ui"></div>
<script nonce="${nonce}" src="/docs/assets/swagger-ui-bundle.js"></script><script nonce="${nonce}" src="/docs/assets/init.js"></script>
</body></html>
`;

export function docsPlugin(version: string) {
  return new Elysia({ name: "docs" })
    .use(
      openapi({
        path: "/docs",
        specPath: "/openapi.json",
        provider: null,
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
      }),
    )
    .get(
      "/docs",
      () => {
        const nonce = randomBytes(16).toString("base64");
        return new Response(docsPage(nonce), {
          headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store", "content-security-policy": docsCsp(nonce), "x-frame-options": "DENY", "cross-origin-opener-policy": "same-origin", "referrer-policy": "no-referrer" },
        });
      },
      { detail: { hide: true } },
    )
    .get(
      "/docs/assets/:file",
      ({ params, set }) => {
        const asset = assets[params.file];
        if (!asset) {
          set.status = 404;
          return { error: { code: "not_found", message: "No such asset." } };
        }
        return new Response(asset.text ?? Bun.file(asset.path!), {
          headers: { "content-type": asset.type, "cache-control": "public, max-age=86400" },
        });
      },
      { detail: { hide: true } },
    );
}
