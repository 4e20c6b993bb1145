/**
 * The dashboard plugin serves the committed build with a strict, nonce-based CSP, the build in dist/ is
 * what the sources produce today, and nothing in it reaches for a CDN.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { staleFiles, DIST_DIR, UI_DIR } from "../../scripts/build-dashboard";
import { dashboardRoutes } from "./index";

const app = dashboardRoutes();
const get = (path: string) => app.handle(new Request(`http://localhost${path}`));

describe("dashboard", () => {
  test("committed dist is up to date with src/dashboard/ui (run: bun scripts/build-dashboard.ts)", async () => {
    expect(await staleFiles()).toEqual([]);
  });

  test("/ serves index.html with a strict CSP and hashed asset links", async () => {
    const res = await get("/");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    // Only this response's nonced script runs: 'self' would admit any script under /apps/.
    const csp = res.headers.get("content-security-policy")!;
    const nonce = /script-src 'nonce-([A-Za-z0-9+/=]+)'/.exec(csp)?.[1];
    expect(nonce).toBeDefined();
    expect(csp).not.toMatch(/script-src[^;]*'self'/);
    expect(csp).toContain("frame-ancestors 'none'");
    const html = await res.text();
    expect(html).toContain(`<script nonce="${nonce}" src="/assets/app.js`);
    expect((await (await get("/")).text()).includes(nonce!)).toBe(false); // fresh per response
    expect(html).toMatch(/\/assets\/app\.js\?v=[0-9a-f]{12}/);
    expect(html).toMatch(/\/assets\/app\.css\?v=[0-9a-f]{12}/);
  });

  test("/assets/* serves the bundle and stylesheet; unknown names are 404", async () => {
    const js = await get("/assets/app.js?v=x");
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toContain("javascript");
    expect((await js.text()).length).toBeGreaterThan(1000);
    const css = await get("/assets/app.css");
    expect(css.headers.get("content-type")).toContain("text/css");
    expect((await get("/assets/../index.ts")).status).toBe(404);
    expect((await get("/assets/nope.js")).status).toBe(404);
  });

  test("no CDN or remote URL in the sources or the build", () => {
    const files = [...readdirSync(DIST_DIR).map((f) => join(DIST_DIR, f)), ...readdirSync(UI_DIR, { recursive: true }).map((f) => join(UI_DIR, String(f))).filter((f) => /\.(ts|css|html)$/.test(f))];
    for (const f of files) {
      const remote = (readFileSync(f, "utf8").match(/https?:\/\/[^\s"'`)]+/g) ?? []).filter((u) => !u.startsWith("http://www.w3.org/"));
      expect({ file: f, remote }).toEqual({ file: f, remote: [] });
    }
  });
});
