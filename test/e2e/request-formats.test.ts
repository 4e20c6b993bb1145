/**
 * Backends as callers really call them (issue 16 §8–9), over real HTTP through /apps and
 * the real sandbox: query arrays in every common spelling, and bodies read by their
 * Content-Type — JSON, form-urlencoded (Slack/Twilio/Stripe-style webhooks), multipart,
 * plain text, raw bytes — with the exact raw body still readable by the handler.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startServer, type TestServer } from "../harness";

const backend = `
import { defineBackend, t } from "cantrip";
export default defineBackend({
  routes: {
    "GET /tags": {
      input: t.Object({ tag: t.Array(t.String()), n: t.Optional(t.Array(t.Integer())), q: t.Optional(t.String()) }),
      handle: async (input, ctx) => ({ input, query: ctx.query, all: ctx.searchParams.getAll("tag") }),
    },
    "POST /slack": {
      input: t.Object({ command: t.String(), text: t.String(), channel_id: t.Optional(t.String()), count: t.Optional(t.Integer()) }),
      handle: async (input, ctx) => ({ input, raw: await ctx.request.text() }),
    },
    "POST /upload": {
      input: t.Object({ title: t.String(), labels: t.Array(t.String()), file: t.Any() }),
      handle: async (input) => ({ title: input.title, labels: input.labels, name: input.file.name, type: input.file.type, size: input.file.size, text: await input.file.text() }),
    },
    "POST /note": { input: t.String({ minLength: 1 }), handle: async (input) => ({ note: input }) },
    "POST /json": { input: t.Object({ a: t.Number() }), handle: async (input) => ({ a: input.a }) },
    "POST /bytes": { handle: async (input, ctx) => ({ isBytes: input instanceof Uint8Array, length: input.length, raw: (await ctx.request.arrayBuffer()).byteLength }) },
  },
});
`;

let s: TestServer;
let base: string;
beforeAll(async () => {
  s = await startServer();
  const up = await s.json("/v1/agents", { method: "POST", json: { name: "Formats", files: { "index.ts": backend }, entrypoint: "index.ts", public: true } });
  expect(up.status).toBe(201);
  const id = up.body.data.agent.id;
  expect((await s.json(`/v1/deploy/${id}`, { method: "POST" })).status).toBeLessThan(300);
  for (let i = 0; i < 200; i++) {
    const st = await s.json(`/v1/deploy/${id}/status`);
    if (st.body.data.deployment?.status === "succeeded" || st.body.data.agentStatus === "deployed") break;
    await Bun.sleep(25);
  }
  base = `${s.url}/apps/${up.body.data.agent.slug}`;
});
afterAll(() => s.stop());

const get = async (path: string) => {
  const r = await fetch(base + path);
  return { status: r.status, body: (await r.json()) as any };
};

test("query arrays: repeated keys, key[], comma-separated, JSON and a single value all give arrays", async () => {
  for (const qs of ["tag=a&tag=b", "tag[]=a&tag[]=b", "tag=a,b", `tag=${encodeURIComponent('["a","b"]')}`]) {
    const r = await get(`/tags?${qs}`);
    expect({ qs, status: r.status, tag: r.body.input?.tag }).toEqual({ qs, status: 200, tag: ["a", "b"] });
  }
  const one = await get("/tags?tag=solo&n=1&n=2&q=x&q=y");
  expect(one.status).toBe(200);
  expect(one.body.input).toEqual({ tag: ["solo"], n: [1, 2], q: "x" });
  // ctx.query keeps the first value of a repeated key (URLSearchParams.get); ctx.searchParams has all.
  expect(one.body.query.q).toBe("x");
  const all = await get("/tags?tag=a&tag=b&tag=c");
  expect(all.body.all).toEqual(["a", "b", "c"]);
  const bad = await get("/tags?n=x&tag=a");
  expect(bad.status).toBe(400);
});

test("form-urlencoded webhook (Slack slash command): fields validated, numbers coerced, raw body exact", async () => {
  const raw = "command=%2Fweather&text=94070+now&channel_id=C2147483705&count=3";
  const r = await fetch(base + "/slack", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: raw });
  expect(r.status).toBe(200);
  const body = (await r.json()) as any;
  expect(body.input).toEqual({ command: "/weather", text: "94070 now", channel_id: "C2147483705", count: 3 });
  expect(body.raw).toBe(raw);
  const missing = await fetch(base + "/slack", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "text=x" });
  expect(missing.status).toBe(400);
  expect(((await missing.json()) as any).error.code).toBe("invalid_request");
});

test("multipart/form-data: text fields, repeated fields as arrays, a file part", async () => {
  const form = new FormData();
  form.append("title", "Report");
  form.append("labels", "q3");
  form.append("labels", "draft");
  form.append("file", new File(["hello, file\n"], "notes.txt", { type: "text/plain" }));
  const r = await fetch(base + "/upload", { method: "POST", body: form });
  expect(r.status).toBe(200);
  expect(await r.json()).toEqual({ title: "Report", labels: ["q3", "draft"], name: "notes.txt", type: expect.stringMatching(/^text\/plain/), size: 12, text: "hello, file\n" });
});

test("text/plain is a string input; JSON under common wrong labels is still JSON; bad JSON is 400 invalid_json", async () => {
  const note = await fetch(base + "/note", { method: "POST", headers: { "content-type": "text/plain" }, body: "buy milk" });
  expect(await note.json()).toEqual({ note: "buy milk" });
  // curl -d '{"a":1}' sends application/x-www-form-urlencoded; fetch with a string body sends text/plain.
  for (const type of ["application/x-www-form-urlencoded", "text/plain;charset=UTF-8", "application/json"]) {
    const r = await fetch(base + "/json", { method: "POST", headers: { "content-type": type }, body: '{"a":1}' });
    expect({ type, body: await r.json() }).toEqual({ type, body: { a: 1 } });
  }
  const bad = await fetch(base + "/json", { method: "POST", headers: { "content-type": "application/json" }, body: "{nope" });
  expect(bad.status).toBe(400);
  expect(((await bad.json()) as any).error.code).toBe("invalid_json");
});

test("other content types reach the handler as raw bytes", async () => {
  const bytes = new Uint8Array([1, 2, 3, 250, 251]);
  const r = await fetch(base + "/bytes", { method: "POST", headers: { "content-type": "application/octet-stream" }, body: bytes });
  expect(await r.json()).toEqual({ isBytes: true, length: 5, raw: 5 });
});
