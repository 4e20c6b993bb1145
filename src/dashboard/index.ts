/**
 * Serves the web dashboard: `/` is its single HTML page and `/assets/*` its bundled script
 * and stylesheet. The files are the committed build in ./dist (see scripts/build-dashboard.ts),
 * imported as files so `bun build --compile` embeds them in the executable. The page is a
 * plain client of the public HTTP API; a strict CSP keeps it to its own nonced script and
 * same-origin calls.
 */
import { randomBytes } from "node:crypto";
import { Elysia } from "elysia";
import indexHtml from "./dist/index.html" with { type: "file" };
import appJs from "./dist/app.js" with { type: "file" };
import appCss from "./dist/app.css" with { type: "file" };

// Bun types *.html imports as HTML bundles; with `type: "file"` they are a path like any other.
const indexPath = indexHtml as unknown as string;

const assets: Record<string, { path: string; type: string }> = {
  "app.js": { path: appJs, type: "text/javascript; charset=utf-8" },
  "app.css": { path: appCss, type: "text/css; charset=utf-8" },
};

/**
 * The page's CSP. Scripts need this response's nonce: `'self'` would also admit any script
 * a backend serves under /apps/ on this origin. Nothing may frame it, and it frames and
 * spawns no workers itself.
 */
export function dashboardCsp(nonce: string): string {
  return `default-src 'self'; script-src 'nonce-${nonce}'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-src 'none'; worker-src 'none'; frame-ancestors 'none'`;
}

let indexHtmlText: Promise<string> | null = null;

/** index.html with `nonce` on its script tags (the file is read once). */
async function indexWithNonce(nonce: string): Promise<string> {
  indexHtmlText ??= Bun.file(indexPath).text();
  return (await indexHtmlText).replaceAll("<script ", `<script nonce="${nonce}" `);
}

const common = { "x-content-type-options": "nosniff", "referrer-policy": "no-referrer" };

export function dashboardRoutes() {
  return new Elysia({ name: "dashboard" })
    .get(
      "/",
      async () => {
        const nonce = randomBytes(16).toString("base64");
        return new Response(await indexWithNonce(nonce), {
          headers: { ...common, "content-type": "text/html; charset=utf-8", "cache-control": "no-store", "content-security-policy": dashboardCsp(nonce), "x-frame-options": "DENY", "cross-origin-opener-policy": "same-origin" },
        });
      },
      { detail: { hide: true } },
    )
    .get(
      "/assets/:file",
      ({ params }) => {
        const asset = assets[params.file];
        if (!asset) return Response.json({ error: { code: "not_found", message: "No such asset." } }, { status: 404, headers: common });
        // index.html links each asset with a content hash in the query, so it can be cached for good.
        return new Response(Bun.file(asset.path), { headers: { ...common, "content-type": asset.type, "cache-control": "public, max-age=31536000, immutable" } });
      },
      { detail: { hide: true } },
    );
}
