/**
 * Issue 14 over real HTTP: `/apps` sends a `ReadableStream` body (server-sent events) as the
 * guest produces it, on both engines (V8 when Node >= 24 with isolated-vm is available).
 * The client reads event 1 while the guest still waits on a timer before event 2 (it says
 * so through kv, read by a second call meanwhile); a client that disconnects cancels the
 * guest's stream (its `cancel` runs and records the reason) and the instance serves again;
 * a guest error mid-stream and a stream past responseBytes abort the HTTP body and are
 * logged with their reason in the invocation log (one row each, written at the end); the
 * platform-owned header policy still applies; a bystander is served throughout.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startServer, type TestServer } from "../harness";
import { echoBackend } from "../fixtures/backends";
import { probeV8 } from "../../src/runtime/v8";

let s: TestServer;
const v8 = probeV8({ node: process.env.CANTRIP_NODE || undefined });
const engines = v8.ok ? (["quickjs", "v8"] as const) : (["quickjs"] as const);
if (!v8.ok) console.warn(`[app-streaming e2e] V8 engine SKIPPED: ${v8.error}`);

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

const SSE_BACKEND = `
const enc = new TextEncoder();
const wait = (ms) => new Promise((r) => setTimeout(r, ms));
export default {
  async fetch(request, env, ctx) {
    const p = new URL(request.url).pathname;
    if (p === "/state") return Response.json({ phase: (await ctx.kv.get("phase")) ?? null, cancelled: (await ctx.kv.get("cancelled")) ?? null });
    let body;
    if (p === "/events") {
      await ctx.kv.set("phase", "started");
      body = new ReadableStream({
        start(c) { c.enqueue(enc.encode("event: n\\ndata: 1\\n\\n")); },
        async pull(c) {
          await ctx.kv.set("phase", "waiting");
          await wait(1500);
          c.enqueue(enc.encode("event: n\\ndata: 2\\n\\n"));
          await ctx.kv.set("phase", "done");
          c.close();
        },
      }, { highWaterMark: 0 });
    } else if (p === "/forever") {
      body = new ReadableStream({
        async pull(c) { await wait(30); c.enqueue(enc.encode("data: tick\\n\\n")); },
        async cancel(reason) { await ctx.kv.set("cancelled", String(reason)); },
      });
    } else if (p === "/error") {
      body = new ReadableStream({
        start(c) { c.enqueue(enc.encode("data: first\\n\\n")); },
        async pull(c) { await wait(50); c.error(new Error("boom in the middle of the stream")); },
      });
    } else if (p === "/huge") {
      body = new ReadableStream({ pull(c) { c.enqueue(new Uint8Array(4096).fill(97)); } });
    }
    return new Response(body, { headers: { "content-type": "text/event-stream", "cache-control": "no-cache", "strict-transport-security": "max-age=999", "x-app": "sse" } });
  },
};
`;

const app = (a: Deployed, path: string, init: RequestInit = {}) => fetch(`${s.url}/apps/${a.slug}${path}`, { ...init, headers: { authorization: `Bearer ${a.key}` } });
const state = async (a: Deployed) => (await (await app(a, "/state")).json()) as { phase: string | null; cancelled: string | null };
const dec = new TextDecoder();

let bystander: Deployed;
beforeAll(async () => {
  s = await startServer();
  bystander = await deployed("Stream Bystander", echoBackend);
});
afterAll(() => s.stop());

async function bystanderServes() {
  const r = await fetch(`${s.url}/v1/invoke/${bystander.slug}`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${bystander.key}` }, body: JSON.stringify({ name: "b" }) });
  expect([r.status, ((await r.json()) as any).data.response]).toEqual([200, { hello: "b", version: 1 }]);
}

async function rowsFor(a: Deployed, path: string) {
  await Bun.sleep(300);
  const inv = await s.json(`/v1/agents/${a.id}/invocations?limit=100`);
  const logs = (await s.json(`/v1/agents/${a.id}/logs`)).body.data as { level: string; message: string; requestId: string | null }[];
  const rows = (inv.body.data as { path: string; status: number; errorCode: string | null; requestId: string }[]).filter((r) => r.path === path);
  return { rows, logs };
}

describe("/apps streams a ReadableStream body as it is produced", () => {
  for (const engine of engines) {
    test(`${engine}: server-sent events arrive one by one; the header policy applies; one log row at the end`, async () => {
      const a = await deployed(`Sse ${engine}`, SSE_BACKEND, { engine });
      await bystanderServes();
      const res = await app(a, "/events");
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("text/event-stream");
      expect(res.headers.get("x-app")).toBe("sse");
      expect(res.headers.get("strict-transport-security")).toBeNull(); // platform-owned (app-headers.ts)
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      const reader = res.body!.getReader();
      const first = await reader.read();
      expect(dec.decode(first.value)).toBe("event: n\ndata: 1\n\n");
      // Event 1 is in the client's hands while the guest still waits before event 2.
      expect((await state(a)).phase).toBe("waiting");
      await bystanderServes();
      const second = await reader.read();
      expect(dec.decode(second.value)).toBe("event: n\ndata: 2\n\n");
      expect((await reader.read()).done).toBe(true);
      expect((await state(a)).phase).toBe("done");
      const { rows } = await rowsFor(a, "/events");
      expect(rows.map((r) => [r.status, r.errorCode])).toEqual([[200, null]]);
    }, 60_000);

    test(`${engine}: a client that disconnects cancels the guest's stream; the instance serves again`, async () => {
      const a = await deployed(`Sse Cancel ${engine}`, SSE_BACKEND, { engine });
      const ac = new AbortController();
      const res = await app(a, "/forever", { signal: ac.signal, keepalive: false });
      const reader = res.body!.getReader();
      expect(dec.decode((await reader.read()).value)).toContain("data: tick");
      ac.abort();
      let cancelled: string | null = null;
      for (let i = 0; i < 100 && !cancelled; i++) {
        await Bun.sleep(30);
        cancelled = (await state(a)).cancelled;
      }
      expect(cancelled).toMatch(/client closed the connection/);
      const { rows, logs } = await rowsFor(a, "/forever");
      expect(rows.map((r) => [r.status, r.errorCode])).toEqual([[200, null]]);
      expect(logs.some((l) => l.requestId === rows[0]!.requestId && /cut after \d+ bytes \(client_closed\)/.test(l.message))).toBe(true);
      await bystanderServes();
    }, 60_000);

    test(`${engine}: a guest error mid-stream and a stream past responseBytes abort the body and are logged with their reason`, async () => {
      const a = await deployed(`Sse Errors ${engine}`, SSE_BACKEND, { engine, limits: { responseBytes: 16384 } });
      // A cut body ends its connection: don't hand that socket to the next request.
      const res = await app(a, "/error", { keepalive: false });
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      expect(dec.decode((await reader.read()).value)).toBe("data: first\n\n");
      expect(await reader.read().then(() => "ended normally", (e) => `aborted: ${e}`)).toMatch(/^aborted/);

      // Cut past responseBytes: the client sees the body aborted, or — when Bun had not yet
      // written the head as the first chunks came back to back — the connection reset.
      let got = 0;
      const outcome = await (async () => {
        const huge = await app(a, "/huge", { keepalive: false });
        expect(huge.status).toBe(200);
        const r = huge.body!.getReader();
        for (;;) {
          const { done, value } = await r.read();
          if (done) return "ended normally";
          got += value.byteLength;
        }
      })().catch((e) => `aborted: ${e}`);
      expect(outcome).toMatch(/^aborted/);
      expect(got).toBeLessThanOrEqual(16384);

      const error = await rowsFor(a, "/error");
      expect(error.rows.map((r) => [r.status, r.errorCode])).toEqual([[200, "bad_response"]]);
      expect(error.logs.some((l) => l.requestId === error.rows[0]!.requestId && /\(stream_error\).*boom in the middle of the stream/.test(l.message))).toBe(true);
      const big = await rowsFor(a, "/huge");
      expect(big.rows.map((r) => [r.status, r.errorCode])).toEqual([[200, "bad_response"]]);
      expect(big.logs.some((l) => l.requestId === big.rows[0]!.requestId && /\(bad_response\).*exceeds the limit of 16384 bytes/.test(l.message))).toBe(true);
      await bystanderServes();
      expect((await state(a)).phase).toBeNull();
      expect((await s.json("/readyz")).status).toBe(200);
    }, 60_000);
  }
});
