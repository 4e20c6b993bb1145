/**
 * Session swap by cookie tossing (threat model, promise 4). With CANTRIP_APPS_PORT apps run
 * on the same host as the platform, and cookies ignore ports. A hostile tenant signs in
 * with its own token, keeps the `cantrip_session` value, and serves a public page whose
 * script sets `cantrip_session=<that value>; path=/v1/` (and `/api/v1/`): JS may not
 * overwrite the operator's HttpOnly cookie at /v1, but a longer path is a separate cookie
 * that browsers send first. Found by an attack review: on the old code the operator's
 * dashboard then silently acted in the attacker's workspace. Now two session cookies in one
 * request are refused (401, `Clear-Site-Data: "cookies"`), so the visit signs the operator
 * out instead, and signing in again works. The sandboxed default (apps on the platform's
 * port) is not affected: an opaque origin cannot write cookies.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import type { Browser } from "playwright-core";
import { createWorkspace } from "../../src/auth";
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
    const w = await createWorkspace(s.db, "attacker");
    attackerWs = w.workspaceId;
    const attackerToken = w.token.token;
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

  test("after the operator visits the attacker's app, the dashboard is signed out, never in the attacker's workspace", async () => {
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
    const after = await page.evaluate(async () => {
      const r = await fetch("/v1/session");
      return { status: r.status, body: await r.json() };
    });
    expect(before).not.toBe(attackerWs);
    expect(after.body.data?.workspaceId).not.toBe(attackerWs);
    expect(after.status).toBe(401);
    // Clear-Site-Data dropped both cookies: signing in again gives the operator's workspace.
    expect((await context.cookies()).filter((c) => c.name === "cantrip_session")).toEqual([]);
    await page.goto(s.url + "/");
    await page.getByLabel("Platform token").fill(s.token);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Agents" }).waitFor();
    const again = await page.evaluate(async () => (await (await fetch("/v1/session")).json()).data.workspaceId);
    expect(again).toBe(before);
    await context.close();
  }, 60_000);
});
