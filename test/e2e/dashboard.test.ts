/**
 * The web dashboard in a real browser (playwright-core driving Debian's Chromium) against
 * the real server: sign in, upload a backend from the prefilled example, watch it deploy,
 * create a key, invoke it from the try-it panel, revoke the key and see the invoke fail
 * with agent_api_key_revoked; generate a backend with live SSE progress; hold a builder
 * conversation (questions → answer → approve → deployed). The only fake is the model.
 * With CANTRIP_SCREENSHOTS=1 (scripts/screenshots.ts) it writes the main pages' screenshots
 * to docs/screenshots/.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { startFakeOpenAI, type FakeOpenAI, type RecordedCall } from "../fakes/fake-openai";
import { startServer, type TestServer } from "../harness";
import { leadSpec } from "../fixtures/lead-spec";
import { leadCode } from "../fixtures/lead-code";

const CHROMIUM = "/usr/bin/chromium";
/** Per-test timeout: a shared 2-core machine, a real sandbox and a real browser. */
const T = 90_000;
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const SHOTS = join(import.meta.dir, "../../docs/screenshots");
const WRITE_SHOTS = process.env.CANTRIP_SCREENSHOTS === "1";
if (!HAVE_CHROMIUM) console.warn(`dashboard browser test skipped: ${CHROMIUM} not found (scripts/ci-prepare.sh installs it)`);

const kindOf = (c: RecordedCall) => /\[cantrip:(\w+)\]/.exec(c.system)?.[1];

/** The fake model: asks two questions until answered, then plans and writes the lead API. */
function leadModel(fake: FakeOpenAI) {
  fake.respond((call) => {
    const kind = kindOf(call);
    if (kind === "ask") {
      if (!/user \[answer\]/.test(call.lastUser))
        return {
          json: {
            ready: false,
            message: "A couple of questions before I plan it.",
            asks: [
              { id: "threshold", kind: "choice", question: "Which score counts as a high fit?", options: ["70+", "80+"] },
              { id: "fields", kind: "text", question: "Which fields are required for a complete lead?" },
            ],
            facts: {},
            name: "Lead Qualifier",
          },
        };
      return { json: { ready: true, message: "Thanks — here is the plan.", asks: [], facts: { threshold: "70", mode: "always_on" }, name: "Lead Qualifier" } };
    }
    if (kind === "plan") return { json: leadSpec };
    if (kind === "code" || kind === "repair") return { content: "```ts\n" + leadCode + "\n```" };
    if (kind === "review") return { json: { passed: true, issues: [] } };
    return undefined;
  });
}

describe.skipIf(!HAVE_CHROMIUM)("dashboard in a browser", () => {
  let fake: FakeOpenAI;
  let s: TestServer;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];
  // Screenshots are always taken (a render check); they are written to docs/ only on request (scripts/screenshots.ts).
  const shot = (name: string) => page.screenshot({ path: WRITE_SHOTS ? join(SHOTS, `${name}.png`) : undefined, fullPage: true });

  beforeAll(async () => {
    if (WRITE_SHOTS) mkdirSync(SHOTS, { recursive: true });
    fake = startFakeOpenAI();
    leadModel(fake);
    s = await startServer({ OPENAI_BASE_URL: fake.url, CANTRIP_MODEL: "fake-coder", CANTRIP_MAX_REPAIRS: "1" });
    const { chromium } = await import("playwright-core");
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: "light" });
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
    page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
    page.on("console", (m) => {
      // A 401/409 answer from the API is expected in places; CSP violations and script errors are not.
      if (m.type() === "error" && !/Failed to load resource/.test(m.text())) errors.push(`console: ${m.text()}`);
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await s?.stop();
    await fake?.stop();
  }, 30_000);

  test("sign-in refuses a wrong token and accepts the admin token", async () => {
    await page.goto(s.url + "/");
    await page.getByLabel("Platform token").waitFor();
    await shot("sign-in");
    await page.getByLabel("Platform token").fill("ctp_pt_not-a-real-token");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByText("That token was not accepted.").waitFor();
    await page.getByLabel("Platform token").fill(s.token);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Agents" }).waitFor();
    await page.getByText("No agents yet.").waitFor();
    // The token is traded for an HttpOnly session cookie; the page keeps nothing in storage.
    expect(await page.evaluate(() => [localStorage.length, sessionStorage.length, document.cookie])).toEqual([0, 0, ""]);
    const cookies = await page.context().cookies();
    expect(cookies.map((c) => [c.name, c.path, c.httpOnly, c.sameSite]).sort()).toEqual([
      ["cantrip_session", "/api/v1", true, "Strict"],
      ["cantrip_session", "/v1", true, "Strict"],
    ]);
  }, T);

  let slug = "";
  test("upload the prefilled example and watch it deploy", async () => {
    await page.getByRole("link", { name: "Upload code" }).first().click();
    expect(await page.locator("#up-code").inputValue()).toContain("defineBackend");
    await page.locator("#up-name").fill("Greeter");
    await page.getByRole("button", { name: "Upload and deploy" }).click();
    await page.waitForURL(/#\/agents\/agent_/);
    await page.locator('#agent-status [data-status="deployed"]').waitFor({ timeout: 30_000 });
    expect(await page.locator("#endpoint-url").textContent()).toContain("/v1/invoke/greeter");
    slug = "greeter";
    await page.locator("#versions-table").getByText("v1").first().waitFor();
    await page.locator("#source-code .tok-k").first().waitFor(); // highlighted source
    expect(await page.locator("#source-code").textContent()).toContain('from "cantrip"');
    expect(await page.locator("#validation-report").textContent()).toContain("POST /");
  }, T);

  test("create a key, invoke from try-it, revoke, invoke fails with agent_api_key_revoked", async () => {
    await page.locator("#key-name").fill("browser");
    await page.locator("#create-key").click();
    const raw = (await page.locator("#new-key-value").textContent()) ?? "";
    expect(raw).toMatch(/^ctp_ak_[A-Za-z0-9]{32}$/);
    // The same first-call line the CLI prints, with the new key (src/lib/first-call.ts).
    await page.locator("#first-call", { hasText: raw }).waitFor();
    expect(await page.locator("#first-call").textContent()).toMatch(new RegExp(`^curl -X POST 'http://[^']+/v1/invoke/greeter' -H 'Authorization: Bearer ${raw}' -H 'Content-Type: application/json' -d '\\{\\}'$`));
    expect(await page.locator("#try-key").inputValue()).toBe(raw);
    await page.locator("#try-body").fill('{ "name": "Ada" }');
    await page.locator("#try-send").click();
    await page.locator("#try-response").getByText("Hello, Ada!").waitFor();
    expect(await page.locator("#try-result").textContent()).toContain("backend 200");
    // a second call, so the activity chart has a line
    await page.locator("#try-send").click();
    await page.locator("#invocations-table tbody tr").nth(1).waitFor();
    await page.locator("svg.chart circle").nth(1).waitFor();
    await page.mouse.move(0, 0);
    await shot("agent");

    await page.locator("#keys-table tr", { hasText: "browser" }).getByRole("button", { name: "Revoke" }).click();
    await page.locator("#keys-table tr", { hasText: "browser" }).locator('[data-status="revoked"]').waitFor();
    await page.locator("#try-send").click();
    await page.locator("#try-result .err-code", { hasText: "agent_api_key_revoked" }).waitFor();
    expect(await page.locator("#try-result").textContent()).toContain("HTTP 401");
  }, T);

  test("try-it calls a backend without POST / through its app routes", async () => {
    // Routes only: the old panel posted to /v1/invoke, i.e. POST / — a 404 from this backend.
    const code = `import { defineBackend, t } from "cantrip";
export default defineBackend({ routes: {
  "GET /items/:id": { handle: async (_input, ctx) => ({ id: ctx.params.id, q: ctx.query.q ?? null }) },
  "POST /items": { input: t.Object({ name: t.String() }), handle: async (input) => ({ created: input.name }) },
} });`;
    const up = await s.json("/v1/agents", { method: "POST", json: { name: "Shelf", files: { "backend.ts": code }, entrypoint: "backend.ts" } });
    expect(up.status).toBe(201);
    const id = up.body.data.agent.id as string;
    expect((await s.json(`/v1/deploy/${id}`, { method: "POST" })).status).toBe(202);
    await page.goto(`${s.url}/#/agents/${id}`);
    await page.locator('#agent-status [data-status="deployed"]').waitFor({ timeout: 30_000 });
    await page.locator("#create-key").click();
    await page.locator("#new-key-value").waitFor();
    // The default target is the CLI's first call: the POST route, with a body from its schema.
    await page.locator("#try-target option", { hasText: "GET /apps/shelf/items/:id" }).waitFor({ state: "attached" });
    expect(await page.locator("#try-target option:checked").textContent()).toBe("POST /apps/shelf/items");
    expect(await page.locator("#try-target option").allTextContents()).not.toContain("POST /v1/invoke/shelf");
    await page.locator("#try-body").fill('{ "name": "lamp" }');
    await page.locator("#try-send").click();
    await page.locator("#try-response").getByText('"created": "lamp"').waitFor();
    expect(await page.locator("#try-result").textContent()).toContain("HTTP 200");
    // A GET route: no body field, the path (with its parameter and query) is editable.
    await page.locator("#try-target").selectOption({ label: "GET /apps/shelf/items/:id" });
    expect(await page.locator("#try-body").isVisible()).toBe(false);
    expect(await page.locator("#try-path").inputValue()).toBe("/items/id");
    await page.locator("#try-path").fill("/items/42?q=red");
    await page.locator("#try-send").click();
    await page.locator("#try-response").getByText('"q": "red"').waitFor();
    expect(await page.locator("#try-response").textContent()).toContain('"id": "42"');
  }, T);

  test("generate from requirements with live progress over SSE", async () => {
    await page.getByRole("link", { name: "New backend" }).first().click();
    await page.locator("#gen-name").fill("Lead Qualification API");
    await page.locator("#gen-prompt").fill("Create an API that accepts a lead profile, scores fit, lists missing fields, and returns next actions.");
    await page.getByRole("button", { name: "Generate" }).click();
    await page.locator("#job-progress").waitFor();
    await page.locator('#job-status [data-status="completed"]').waitFor({ timeout: 45_000 });
    expect(await page.locator("#job-log li").count()).toBeGreaterThan(2);
    expect(await page.locator("progress.bar").evaluate((el) => (el as HTMLProgressElement).value)).toBe(100);
    await shot("new-backend");
    await page.getByRole("link", { name: "Open Lead Qualification API" }).click();
    await page.locator('#agent-status [data-status="deployed"]').waitFor({ timeout: 30_000 });
    await page.locator("#validation-report").getByText("Validation passed").waitFor();
  }, T);

  test("agents list shows the backends with their status", async () => {
    await page.getByRole("link", { name: "Agents", exact: true }).click();
    await page.locator('#agents-table tr[data-agent="greeter"] [data-status="deployed"]').waitFor();
    await page.locator('#agents-table tr[data-agent="lead-qualification-api"] [data-status="deployed"]').waitFor();
    await shot("agents");
  }, T);

  test("builder conversation: questions, answer, approve, deployed with a preview URL", async () => {
    await page.getByRole("link", { name: "Builder" }).click();
    await page.locator("#build-prompt").fill("An API that qualifies inbound leads and tells sales what to do next.");
    await page.getByRole("button", { name: "Start building" }).click();
    await page.locator('#conv-status [data-status="gathering"]').waitFor({ timeout: 30_000 });
    expect(await page.locator("#conv-questions li").count()).toBe(2);
    await shot("conversation-questions");
    await page.locator("#answer").fill("70+ is high. Name and email are required.");
    await page.getByRole("button", { name: "Send answer" }).click();
    await page.locator('#conv-status [data-status="awaiting_approval"]').waitFor({ timeout: 30_000 });
    await page.locator("#approve").click();
    await page.locator('#conv-status [data-status="deployed"]').waitFor({ timeout: 45_000 });
    const preview = await page.locator("#preview a").getAttribute("href");
    expect(preview).toContain(`${s.url}/apps/`);
    await shot("conversation");
  }, T);

  test("sign out returns to sign-in and forgets the token", async () => {
    await page.locator("#sign-out").click();
    await page.getByLabel("Platform token").waitFor();
    expect(await page.context().cookies()).toEqual([]);
    expect(slug).toBe("greeter");
    expect(errors).toEqual([]);
  }, T);
});
