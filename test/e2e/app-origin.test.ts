/**
 * Tenant content never runs with the platform's authority (issue 13 §1), in the real
 * browser (playwright-core driving Debian's Chromium) against the real server. An admin
 * signs in to the dashboard, then opens a hostile public app that reads every storage,
 * calls /v1/agents with and without credentials, reads /v1/session, frames the dashboard
 * and registers a service worker at "/". None of it yields a token, an agent list or a
 * registration, and the dashboard still works afterwards. Three setups: the default (apps
 * on the platform's port, sandboxed), a separate apps port, and host-based routing
 * ({slug}.localhost on the apps port). Also: every page the platform serves loads under
 * its CSP with no violation (issue 12 §6).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { startServer, type TestServer } from "../harness";
import { hostileAppBackend } from "../fixtures/hostile-app";
import { echoBackend } from "../fixtures/backends";

const CHROMIUM = "/usr/bin/chromium";
const T = 90_000;
const HAVE_CHROMIUM = existsSync(CHROMIUM);
if (!HAVE_CHROMIUM) console.warn(`app-origin browser test skipped: ${CHROMIUM} not found (scripts/ci-prepare.sh installs it)`);

async function deploy(s: TestServer, name: string, code: string, extra: Record<string, unknown> = {}): Promise<{ id: string; appUrl: string }> {
  const up = await s.json("/v1/agents", { method: "POST", json: { name, files: { "index.ts": code }, entrypoint: "index.ts", ...extra } });
  expect(up.status).toBe(201);
  const id = up.body.data.agent.id as string;
  expect((await s.json(`/v1/deploy/${id}`, { method: "POST", json: {} })).status).toBe(202);
  for (let i = 0; i < 400; i++) {
    const a = await s.json(`/v1/agents/${id}`);
    if (a.body.data.status === "deployed") return { id, appUrl: a.body.data.appUrl };
    if (a.body.data.status === "failed") throw new Error(JSON.stringify(a.body.data.failure));
    await Bun.sleep(25);
  }
  throw new Error("deployment did not finish");
}

async function launch(): Promise<Browser> {
  const { chromium } = await import("playwright-core");
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

async function signIn(page: Page, s: TestServer): Promise<void> {
  await page.goto(s.url + "/");
  await page.getByLabel("Platform token").fill(s.token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Agents" }).waitFor();
}

type Setup = { name: string; env: Record<string, string>; origin: (s: TestServer) => string; sandboxed: boolean };

const setups: Setup[] = [
  { name: "same port (sandboxed)", env: {}, origin: (s) => s.url, sandboxed: true },
  { name: "separate apps port", env: { CANTRIP_APPS_PORT: "0" }, origin: (s) => s.app.appsUrl!, sandboxed: false },
  {
    name: "own host on the apps port ({slug}.localhost)",
    env: { CANTRIP_APPS_PORT: "0", CANTRIP_APPS_DOMAIN: "localhost" },
    origin: (s) => `http://evil.localhost:${new URL(s.app.appsUrl!).port}`,
    sandboxed: false,
  },
];

for (const setup of setups) {
  describe.skipIf(!HAVE_CHROMIUM)(`a hostile public app, ${setup.name}`, () => {
    let s: TestServer;
    let browser: Browser;
    let context: BrowserContext;
    let page: Page;
    let app: { id: string; appUrl: string };

    beforeAll(async () => {
      s = await startServer(setup.env);
      app = await deploy(s, "evil", hostileAppBackend, { public: true });
      await deploy(s, "bystander", echoBackend);
      browser = await launch();
      context = await browser.newContext();
      page = await context.newPage();
      page.setDefaultTimeout(20_000);
    }, 60_000);

    afterAll(async () => {
      await browser?.close();
      await s?.stop();
    }, 30_000);

    test("the app URL is on the expected origin", () => {
      expect(app.appUrl).toBe(`${setup.origin(s)}${setup.origin(s) === s.url || !setup.env.CANTRIP_APPS_DOMAIN ? "/apps/evil" : ""}/`);
    });

    test("visiting it yields no token, no agent list, no service worker; the dashboard still works", async () => {
      await signIn(page, s);
      const before = (await context.cookies()).filter((c) => c.name === "cantrip_session");
      expect(before).toHaveLength(2);

      const res = await page.goto(`${app.appUrl}?main=${encodeURIComponent(s.url)}&slug=evil`);
      const headers = res!.headers();
      expect(headers["x-content-type-options"]).toBe("nosniff");
      for (const h of ["set-cookie", "clear-site-data", "strict-transport-security", "alt-svc", "x-hop", "keep-alive"]) expect(headers[h]).toBeUndefined();
      if (setup.sandboxed) expect(headers["content-security-policy"]).toMatch(/^sandbox allow-scripts/);
      else expect(headers["content-security-policy"]).toBeUndefined();
      await page.waitForFunction(() => document.title === "done", null, { timeout: 30_000 });
      const out = JSON.parse((await page.locator("#out").textContent()) ?? "{}") as Record<string, string>;
      const all = JSON.stringify(out);

      expect(out.origin).toBe(setup.sandboxed ? "null" : setup.origin(s));
      expect(all).not.toContain(s.token);
      expect(all).not.toContain("ctp_pt_");
      expect(all).not.toContain("csrfToken");
      expect(all).not.toContain(app.id); // no agent list or agent row
      expect(all).not.toContain("bystander");
      for (const [k, v] of Object.entries(out)) if (k.startsWith("agents_") || k === "session") expect(`${k}: ${v}`).not.toMatch(/: 200/);
      // A worker at "/" is refused, except on an origin that is the app's alone, where "/" is its own.
      if (setup.env.CANTRIP_APPS_DOMAIN) expect(out.sw_root).toBe(`REGISTERED ${setup.origin(s)}/`);
      else expect(out.sw_root).toStartWith("ERR");
      expect(out.sw_main).toStartWith("ERR");
      expect(out.sw_dir).toStartWith("ERR"); // a worker for every app's directory /apps/
      expect(out.frame).toStartWith("ERR");
      if (!setup.env.CANTRIP_APPS_DOMAIN) expect(out.sw_regs === "[]" || out.sw_regs!.startsWith("ERR")).toBe(true);

      // Back on the dashboard: same session, no worker in control, agents listed.
      await page.goto(s.url + "/");
      await page.locator('#agents-table tr[data-agent="evil"]').waitFor();
      await page.locator('#agents-table tr[data-agent="bystander"]').waitFor();
      expect(await page.content()).not.toContain("PWNED");
      expect(await page.evaluate(async () => (await navigator.serviceWorker.getRegistrations()).length)).toBe(0);
      expect(await page.evaluate(() => navigator.serviceWorker.controller)).toBeNull();
      // A tenant's script cannot run inside the dashboard even if something put a tag there.
      const ran = await page.evaluate(async () => {
        const el = document.createElement("script");
        el.src = "/apps/evil/mark.js";
        const settled = new Promise((r) => ((el.onload = r), (el.onerror = r)));
        document.head.appendChild(el);
        await settled;
        return (window as unknown as { __tenant?: boolean }).__tenant === true;
      });
      expect(ran).toBe(false);
      const after = (await context.cookies()).filter((c) => c.name === "cantrip_session");
      expect(after.map((c) => [c.path, c.value]).sort()).toEqual(before.map((c) => [c.path, c.value]).sort());

      // Even after the agent is gone, / is still the dashboard.
      expect((await s.req(`/v1/agents/${app.id}`, { method: "DELETE" })).status).toBe(200);
      await page.reload();
      await page.locator('#agents-table tr[data-agent="bystander"]').waitFor();
      expect(await page.locator('#agents-table tr[data-agent="evil"]').count()).toBe(0);
    }, T);
  });
}

describe.skipIf(!HAVE_CHROMIUM)("every page the platform serves loads under its CSP", () => {
  let s: TestServer;
  let browser: Browser;
  let page: Page;
  const violations: string[] = [];

  beforeAll(async () => {
    s = await startServer();
    await deploy(s, "greeter", echoBackend, { public: true });
    browser = await launch();
    page = await (await browser.newContext()).newPage();
    page.setDefaultTimeout(20_000);
    page.on("console", (m) => {
      if (m.type() === "error" && !/Failed to load resource/.test(m.text())) violations.push(`${page.url()}: ${m.text()}`);
    });
    page.on("pageerror", (e) => violations.push(`${page.url()}: pageerror ${e.message}`));
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await s?.stop();
  }, 30_000);

  const framing = (csp: string | undefined) => expect(csp).toMatch(/frame-ancestors 'none'/);

  test("the dashboard (and it forgets a token an earlier version left in localStorage)", async () => {
    const res = await page.goto(s.url + "/");
    framing(res!.headers()["content-security-policy"]);
    expect(res!.headers()["content-security-policy"]).toMatch(/script-src 'nonce-[^']+';/);
    await page.getByLabel("Platform token").waitFor();
    await page.evaluate((t) => localStorage.setItem("cantrip.token", t), s.token);
    await page.reload();
    await page.getByLabel("Platform token").waitFor();
    expect(await page.evaluate(() => localStorage.getItem("cantrip.token"))).toBeNull();
  }, T);

  test("Swagger UI at /docs renders its operations", async () => {
    const res = await page.goto(s.url + "/docs");
    framing(res!.headers()["content-security-policy"]);
    expect(res!.headers()["content-security-policy"]).not.toContain("unsafe-inline");
    expect(res!.headers()["content-security-policy"]).toMatch(/script-src 'nonce-[^']+';/);
    await page.locator(".swagger-ui .opblock").first().waitFor();
    expect(await page.locator(".swagger-ui .opblock").count()).toBeGreaterThan(10);
  }, T);

  test("the app's try-it page at /apps/{slug}/_docs loads its routes and calls the app", async () => {
    const res = await page.goto(s.url + "/apps/greeter/_docs");
    framing(res!.headers()["content-security-policy"]);
    expect(res!.headers()["content-security-policy"]).toMatch(/script-src 'nonce-/);
    await page.locator(".route", { hasText: "/ping" }).waitFor();
    await page.locator("#method").selectOption("GET");
    await page.locator("#path").fill("/ping");
    await page.locator("#send").click();
    await page.locator("#out", { hasText: "pong" }).waitFor();
    expect(await page.evaluate(() => sessionStorage.length + localStorage.length)).toBe(0);
  }, T);

  test("no page broke its CSP", () => {
    expect(violations).toEqual([]);
  });
});
