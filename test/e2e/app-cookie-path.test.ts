/**
 * On the shared apps origin (CANTRIP_APPS_PORT) an app's Set-Cookie must stay inside
 * /apps/{slug} (src/gateway/app-headers.ts, `cookieAllowed`). The check read only the first
 * `Path=` attribute, spelled without spaces; a browser takes the last Path and trims around
 * "=" (RFC 6265 §5.2, §5.3). So `Path=/apps/tosser; Path=/` and `Path =/` passed, and real
 * Chromium then sent the cookie to every other app on that origin (cookie tossing into a
 * bystander app's session). Now both are dropped; a cookie inside the app still works.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import type { Browser } from "playwright-core";
import { startServer, type TestServer } from "../harness";
import { deploy, type Target } from "../reliability/host-helpers";

const CHROMIUM = "/usr/bin/chromium";

// One cookie per response: the guest's Headers joins repeated fields with ", " (set-cookie too).
const tosser = `import { defineBackend } from "cantrip";
const cookie = (c) => () => new Response("set", { headers: { "content-type": "text/plain", "set-cookie": c } });
export default defineBackend({ routes: {
  "GET /two-paths": cookie("twopaths=1; Path=/apps/tosser; Path=/"),
  "GET /spaced": cookie("spaced=1; Path =/"),
  "GET /mine": cookie("mine=1; Path=/apps/tosser"),
} });`;

const victim = `import { defineBackend } from "cantrip";
export default defineBackend({ routes: { "GET /": { handle: async (input, ctx) => ({ ok: true }) } } });`;

describe.skipIf(!existsSync(CHROMIUM))("cookie paths on the shared apps origin, in Chromium", () => {
  let s: TestServer;
  let browser: Browser;
  beforeAll(async () => {
    s = await startServer({ CANTRIP_APPS_PORT: "0" });
    const t: Target = { url: s.url, token: s.token };
    await deploy(t, "tosser", tosser, { public: true });
    await deploy(t, "victim", victim, { public: true });
    const { chromium } = await import("playwright-core");
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"] });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await s?.stop();
  });

  test("a cookie an app sets with a second Path or a spaced Path never reaches another app", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const apps = s.app.appsUrl!.replace(/\/$/, "");
    for (const route of ["two-paths", "spaced", "mine"]) expect((await page.goto(`${apps}/apps/tosser/${route}`))!.status()).toBe(200);
    const jar = await context.cookies();
    const byName = Object.fromEntries(jar.map((c) => [c.name, c.path]));
    // The app's own cookie is kept, at its own path; nothing sits at "/".
    expect(byName.mine).toBe("/apps/tosser");
    expect(jar.filter((c) => !c.path.startsWith("/apps/tosser"))).toEqual([]);
    // What the browser sends to another app on the same origin.
    const sent: string[] = [];
    page.on("request", (r) => {
      if (r.url().includes("/apps/victim/")) sent.push(r.headers()["cookie"] ?? "");
    });
    await page.goto(`${apps}/apps/victim/`);
    expect(sent.join(";")).not.toMatch(/twopaths|spaced/);
    await context.close();
  }, 60_000);
});
