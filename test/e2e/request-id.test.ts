/**
 * A caller's `x-request-id` reaches an app's backend once: the gateway forwards the
 * platform's request id (the caller's own when it is well-formed), not both ("id, id").
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startServer, type TestServer } from "../harness";

const echo = `import { defineBackend } from "cantrip";
export default defineBackend({ routes: { "GET /id": (_i, ctx) => ({ id: ctx.request.headers.get("x-request-id") }) } });`;

let s: TestServer;
let slug: string;
beforeAll(async () => {
  s = await startServer();
  const up = await s.json("/v1/agents", { method: "POST", json: { name: "Rid Echo", files: { "index.ts": echo }, entrypoint: "index.ts", autoDeploy: true, public: true } });
  slug = up.body.data.agent.slug;
  for (let i = 0; i < 200 && (await s.json(`/v1/agents/${up.body.data.agent.id}`)).body.data.status !== "deployed"; i++) await Bun.sleep(25);
});
afterAll(() => s.stop());

test("the backend sees the caller's request id once, and the platform's when the caller sent none", async () => {
  const mine = await fetch(`${s.url}/apps/${slug}/id`, { headers: { "x-request-id": "client-abc-123" } });
  expect(mine.headers.get("x-request-id")).toBe("client-abc-123");
  expect(((await mine.json()) as { id: string }).id).toBe("client-abc-123");
  const none = await fetch(`${s.url}/apps/${slug}/id`);
  expect(((await none.json()) as { id: string }).id).toBe(none.headers.get("x-request-id")!);
});
