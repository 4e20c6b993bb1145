/**
 * Issue 12 §1 over real HTTP: the hostile-response corpus against a real server, through
 * `POST /v1/invoke/{slug}` and `/apps/{slug}/...`, on both engines (V8 when Node >= 24 with
 * isolated-vm is available). Each shape answers 502 bad_response with the reason in the
 * message; a bystander agent answers before and after; the invocation log flushes the
 * refused calls (status 502, code bad_response) and the same process keeps serving.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startServer, type TestServer } from "../harness";
import { echoBackend } from "../fixtures/backends";
import { HOSTILE_SHAPES, hostileBackend } from "../fixtures/hostile-responses";
import { probeV8 } from "../../src/runtime/v8";

let s: TestServer;
const v8 = probeV8({ node: process.env.CANTRIP_NODE || undefined });
const engines = v8.ok ? (["quickjs", "v8"] as const) : (["quickjs"] as const);
if (!v8.ok) console.warn(`[hostile-responses e2e] V8 engine SKIPPED: ${v8.error}`);

interface Deployed {
  id: string;
  slug: string;
  key: string;
}

async function deployed(name: string, code: string, extra: Record<string, unknown> = {}): Promise<Deployed> {
  const r = await s.json("/v1/agents", { method: "POST", json: { name, files: { "index.ts": code }, entrypoint: "index.ts", ...extra } });
  expect(r.status).toBe(201);
  const { id, slug } = r.body.data.agent;
  expect((await s.json(`/v1/deploy/${id}`, { method: "POST" })).status).toBe(202);
  for (let i = 0; i < 400; i++) {
    const st = await s.json(`/v1/deploy/${id}/status`);
    if (st.body.data.deployment?.status === "live" || st.body.data.agentStatus === "deployed") break;
    await Bun.sleep(25);
  }
  const k = await s.json(`/v1/agents/${id}/api-keys`, { method: "POST", json: { name: "k" } });
  return { id, slug, key: k.body.data.key };
}

const invoke = (a: Deployed, body: unknown) =>
  fetch(`${s.url}/v1/invoke/${a.slug}`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${a.key}` }, body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, body: (await r.json()) as any, res: r }));

const app = (a: Deployed, path: string) =>
  fetch(`${s.url}/apps/${a.slug}${path}`, { method: "POST", headers: { authorization: `Bearer ${a.key}` } }).then(async (r) => ({ status: r.status, text: await r.text(), res: r }));

let bystander: Deployed;
beforeAll(async () => {
  s = await startServer();
  bystander = await deployed("Hostile Bystander", echoBackend);
});
afterAll(() => s.stop());

async function bystanderServes() {
  const r = await invoke(bystander, { name: "b" });
  expect([r.status, r.body.data.response]).toEqual([200, { hello: "b", version: 1 }]);
}

describe("hostile responses over HTTP", () => {
  for (const engine of engines) {
    test(`${engine}: every shape is 502 bad_response on /v1/invoke and /apps; a bystander is served before and after`, async () => {
      const hostile = await deployed(`Hostile ${engine}`, hostileBackend(), { engine });
      await bystanderServes();
      for (const shape of HOSTILE_SHAPES) {
        const viaInvoke = await invoke(hostile, { shape: shape.name });
        expect({ shape: shape.name, status: viaInvoke.status, code: viaInvoke.body.error?.code }).toEqual({ shape: shape.name, status: 502, code: "bad_response" });
        expect(viaInvoke.body.error.message).toMatch(shape.expect);
        expect(viaInvoke.body.error.details).toEqual({ reason: "bad_response" });
        expect(viaInvoke.body.error.requestId).toBe(viaInvoke.res.headers.get("x-request-id"));

        const viaApps = await app(hostile, `/shape/${shape.name}`);
        expect({ shape: shape.name, status: viaApps.status }).toEqual({ shape: shape.name, status: 502 });
        const err = JSON.parse(viaApps.text).error;
        expect([err.code, err.message]).toEqual(["bad_response", expect.stringMatching(shape.expect)]);
        // Nothing the guest put in a header reached the wire.
        expect(viaApps.res.headers.get("set-cookie")).toBeNull();

        // The instance was recycled: a normal call answers normally (fresh globals, counter restarted).
        const normal = await invoke(hostile, {});
        expect({ shape: shape.name, status: normal.status, response: normal.body.data?.response }).toEqual({ shape: shape.name, status: 200, response: { ok: true, hits: 1, json: '{"a":[1,2]}' } });
      }
      await bystanderServes();
      // The refused calls were logged and flushed (a NaN status once made this flush kill the process).
      await Bun.sleep(300);
      const inv = await s.json(`/v1/agents/${hostile.id}/invocations?limit=100`);
      expect(inv.status).toBe(200);
      const refused = inv.body.data.filter((r: { errorCode: string | null }) => r.errorCode === "bad_response");
      expect(refused.length).toBe(2 * HOSTILE_SHAPES.length);
      expect(refused.every((r: { status: number }) => r.status === 502)).toBe(true);
      expect((await s.json("/readyz")).status).toBe(200);
    }, 180_000);
  }

  test("a JSON body nested too deep for the invoke envelope is 502 bad_response (and /apps passes it through)", async () => {
    const deep = await deployed(
      "Deep Json",
      `import { defineBackend } from "cantrip";
const text = "[".repeat(100000) + "]".repeat(100000);
export default defineBackend({ routes: {
  "POST /": () => new Response(text, { headers: { "content-type": "application/json" } }),
  "GET /": () => new Response(text, { headers: { "content-type": "application/json" } }),
} });`,
    );
    const t0 = performance.now();
    const r = await invoke(deep, {});
    expect([r.status, r.body.error.code]).toEqual([502, "bad_response"]);
    expect(r.body.error.message).toMatch(/nests deeper than 512 levels/);
    expect(performance.now() - t0).toBeLessThan(5000);
    const viaApps = await fetch(`${s.url}/apps/${deep.slug}/`, { headers: { authorization: `Bearer ${deep.key}` } });
    expect([viaApps.status, (await viaApps.text()).length]).toEqual([200, 200000]);
    await bystanderServes();
  }, 60_000);
});
