/**
 * Issue 13 §9: the agent's page in the dashboard shows its per-call limits, each marked as
 * set on the agent or following the server default, and shows a change made through
 * `PATCH /v1/agents/{id}`. Real server, real Chromium (skipped when it is not installed).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { startServer, type TestServer } from "../harness";

const CHROMIUM = "/usr/bin/chromium";
const T = 90_000;

describe.skipIf(!existsSync(CHROMIUM))("agent page limits", () => {
  let s: TestServer;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    s = await startServer({ CANTRIP_SANDBOX_CPU_MS: "700" });
    const { chromium } = await import("playwright-core");
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"] });
    page = await (await browser.newContext({ viewport: { width: 1280, height: 860 } })).newPage();
    page.setDefaultTimeout(20_000);
    page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await s?.stop();
  }, 30_000);

  const row = (name: string) => page.locator(`#limits-table tr[data-limit="${name}"]`);

  test("shows the effective limits and where each comes from; follows a PATCH", async () => {
    const created = await s.json("/v1/agents", {
      method: "POST",
      json: { name: "Limited", files: { "index.ts": 'import { defineBackend } from "cantrip";\nexport default defineBackend({ routes: { "GET /": () => ({}) } });\n' }, entrypoint: "index.ts", limits: { wallMs: 2500, memoryMb: 96 } },
    });
    expect(created.status).toBe(201);
    const id = created.body.data.agent.id;

    await page.goto(s.url + "/");
    await page.getByLabel("Platform token").fill(s.token);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Agents" }).waitFor();
    await page.goto(`${s.url}/#/agents/${id}`);
    await page.locator("#limits-table").waitFor();
    expect(await row("wallMs").textContent()).toContain("2,500 ms");
    expect(await row("wallMs").textContent()).toContain("set on this agent");
    expect(await row("memoryMb").textContent()).toContain("96 MB");
    expect(await row("cpuMs").textContent()).toContain("700 ms");
    expect(await row("cpuMs").textContent()).toContain("server default");
    expect(await page.locator("#limits-table tbody tr").count()).toBe(10);

    const p = await s.json(`/v1/agents/${id}`, { method: "PATCH", json: { limits: { cpuMs: 1500, wallMs: null } } });
    expect(p.status).toBe(200);
    await page.goto(`${s.url}/#/`);
    await page.getByRole("heading", { name: "Agents" }).waitFor();
    await page.goto(`${s.url}/#/agents/${id}`);
    await row("cpuMs").getByText("1,500 ms").waitFor();
    expect(await row("cpuMs").textContent()).toContain("set on this agent");
    expect(await row("wallMs").textContent()).toContain("10,000 ms");
    expect(await row("wallMs").textContent()).toContain("server default");
    expect(errors).toEqual([]);
  }, T);
});
