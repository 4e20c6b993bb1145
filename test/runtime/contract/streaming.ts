/**
 * Contract: a `ReadableStream` response body crosses the boundary as the guest produces it
 * (SandboxRuntime.fetchStream, the /apps path): the head arrives before the guest has
 * finished, each chunk after it is enqueued; the host pulls only while its queue holds less
 * than STREAM_BUFFER_BYTES (backpressure); cancelling the body runs the guest stream's
 * `cancel` and ends the call; a guest error, a chunk that is not bytes, a body over
 * responseBytes and the wall deadline each cut the stream with a reason; the instance is
 * released and serves again. Over real HTTP: test/e2e/app-streaming.test.ts.
 */
import { describe, expect, test } from "bun:test";
import { bundle, text, type Harness } from "../harness";
import type { GuestResponse, GuestStreamResponse } from "../../../src/runtime/types";
import { STREAM_BUFFER_BYTES } from "../../../src/runtime/stream-body";

const STREAMER = `
const enc = new TextEncoder();
let produced = 0, cancelReason = null, chunks = 0;
const wait = (ms) => new Promise((r) => setTimeout(r, ms));
export default {
  async fetch(request) {
    const url = new URL(request.url);
    const p = url.pathname;
    if (p === "/state") return Response.json({ produced, cancelReason, chunks });
    if (p === "/whole") return new Response("whole body", { headers: { "x-kind": "whole" } });
    let body;
    if (p === "/sse") {
      body = new ReadableStream({
        start(c) { c.enqueue(enc.encode("data: one\\n\\n")); },
        async pull(c) { await wait(1000); c.enqueue(enc.encode("data: two\\n\\n")); c.close(); },
      });
    } else if (p === "/big") {
      const n = Number(url.searchParams.get("kb")) * 1024;
      body = new ReadableStream({
        pull(c) { produced += n; chunks++; c.enqueue(new Uint8Array(n)); },
        cancel(r) { cancelReason = String(r); },
      }, { highWaterMark: 0 });
    } else if (p === "/error") {
      body = new ReadableStream({
        start(c) { c.enqueue(enc.encode("first")); },
        async pull(c) { await wait(10); c.error(new Error("boom mid-stream")); },
      });
    } else if (p === "/not-bytes") {
      body = new ReadableStream({ start(c) { c.enqueue(enc.encode("ok")); c.enqueue("a string chunk"); c.close(); } });
    } else if (p === "/forever") {
      body = new ReadableStream({ async pull(c) { await wait(20); c.enqueue(enc.encode("tick\\n")); }, cancel(r) { cancelReason = String(r); } });
    }
    return new Response(body, { status: 201, headers: { "content-type": "text/event-stream", "x-a": "1" } });
  },
};
`;

function isStream(r: GuestResponse | GuestStreamResponse): r is GuestStreamResponse {
  return r.body instanceof ReadableStream;
}

export function streamingTests(h: () => Harness) {
  describe("streamed response bodies", () => {
    const setup = async (limits: Record<string, number> = {}) => {
      const H = h();
      const ref = H.ref(`stream-${JSON.stringify(limits).length}`, await bundle(STREAMER), { limits });
      const go = (path: string) => H.runtime.fetchStream(ref, { method: "GET", url: `http://s.cantrip.internal${path}`, headers: [], body: null });
      const state = async () => JSON.parse(text((await H.runtime.fetch(ref, { method: "GET", url: "http://s.cantrip.internal/state", headers: [], body: null })) as GuestResponse));
      return { go, state };
    };

    test("the head and the first chunk arrive while the guest still waits on a timer before the second", async () => {
      const { go } = await setup();
      const t0 = performance.now();
      const r = await go("/sse");
      if (!isStream(r)) throw new Error("expected a streamed body");
      expect(r.status).toBe(201);
      expect(r.headers).toContainEqual(["content-type", "text/event-stream"]);
      const reader = r.body.getReader();
      const first = await reader.read();
      const tFirst = performance.now() - t0;
      expect(new TextDecoder().decode(first.value)).toBe("data: one\n\n");
      const second = await reader.read();
      const tSecond = performance.now() - t0;
      expect(new TextDecoder().decode(second.value)).toBe("data: two\n\n");
      expect((await reader.read()).done).toBe(true);
      // The guest's 1 s timer (armed when the stream first pulled, right after the handler
      // returned) lies between the two chunks; a body read to its end first gives ~0 here.
      expect(tSecond - tFirst).toBeGreaterThan(400);
      const end = await r.finished;
      expect(end.cut).toBeUndefined();
      expect(end.bytes).toBe(22);
    });

    test("fetch (the /v1/invoke path) still reads a stream body to its end", async () => {
      const H = h();
      const ref = H.ref("stream-whole", await bundle(STREAMER));
      const r = await H.runtime.fetch(ref, { method: "GET", url: "http://s.cantrip.internal/sse", headers: [], body: null });
      expect([r.status, text(r)]).toEqual([201, "data: one\n\ndata: two\n\n"]);
    });

    test("a body that is not a stream still arrives whole", async () => {
      const { go } = await setup();
      const r = await go("/whole");
      expect(isStream(r)).toBe(false);
      expect(text(r as GuestResponse)).toBe("whole body");
    });

    test("backpressure: the host stops pulling once about STREAM_BUFFER_BYTES wait unread; cancelling runs the guest's cancel", async () => {
      const { go, state } = await setup({ responseBytes: 64 * 1024 * 1024 });
      const r = await go("/big?kb=64");
      if (!isStream(r)) throw new Error("expected a streamed body");
      await Bun.sleep(400);
      const s1 = await state();
      // Queue (1 MiB) + one chunk in flight + the guest's own queue: far below the 64 MiB allowed.
      expect(s1.produced).toBeGreaterThanOrEqual(STREAM_BUFFER_BYTES);
      expect(s1.produced).toBeLessThanOrEqual(STREAM_BUFFER_BYTES + 4 * 64 * 1024);
      await Bun.sleep(200);
      expect((await state()).produced).toBe(s1.produced); // still paused
      const busy = h().runtime.stats().lanes;
      expect(busy.light.active + busy.heavy.active).toBe(1); // the streamed call holds its slot
      await r.body.cancel("client went away");
      const end = await r.finished;
      expect(end.cut?.reason).toBe("client_closed");
      await Bun.sleep(0);
      const idle = h().runtime.stats().lanes;
      expect(idle.light.active + idle.heavy.active).toBe(0); // released with its instance
      expect((await state()).cancelReason).toMatch(/client closed the connection/);
    });

    test("a guest error mid-stream errors the body and ends the call with stream_error", async () => {
      const { go } = await setup();
      const r = await go("/error");
      if (!isStream(r)) throw new Error("expected a streamed body");
      const reader = r.body.getReader();
      expect(new TextDecoder().decode((await reader.read()).value)).toBe("first");
      expect(await reader.read().then(() => "no error", (e) => String(e))).toMatch(/boom mid-stream/);
      const end = await r.finished;
      expect(end.cut?.reason).toBe("stream_error");
      expect(end.bytes).toBe(5);
    });

    test("a chunk that is not bytes cuts the stream as bad_response", async () => {
      const { go } = await setup();
      const r = await go("/not-bytes");
      if (!isStream(r)) throw new Error("expected a streamed body");
      const got = await new Response(r.body).text().then((t) => ({ t }), (e) => ({ e: String(e) }));
      expect("e" in got).toBe(true);
      const end = await r.finished;
      expect([end.cut?.reason, end.bytes]).toEqual([expect.stringMatching(/stream_error|bad_response/), 2]);
    });

    test("a stream over responseBytes is cut at the limit", async () => {
      const { go, state } = await setup({ responseBytes: 8 * 1024 });
      const r = await go("/big?kb=3");
      if (!isStream(r)) throw new Error("expected a streamed body");
      const got = await new Response(r.body).arrayBuffer().then(() => "closed", (e) => String(e));
      expect(got).toMatch(/exceeds the limit of 8192 bytes/);
      const end = await r.finished;
      expect([end.cut?.reason, end.bytes]).toEqual(["bad_response", 6 * 1024]);
      expect((await state()).cancelReason).toMatch(/exceeds the limit/);
    });

    test("the wall limit covers the whole stream: it is cut at the deadline and the instance serves again", async () => {
      const { go, state } = await setup({ wallMs: 600 });
      const t0 = performance.now();
      const r = await go("/forever");
      if (!isStream(r)) throw new Error("expected a streamed body");
      const got = await new Response(r.body).text().then(() => "closed", (e) => String(e));
      expect(got).toMatch(/wall-clock limit of 600 ms/);
      const end = await r.finished;
      expect(end.cut?.reason).toBe("wall_timeout");
      expect(end.bytes).toBeGreaterThan(0);
      expect(performance.now() - t0).toBeLessThan(3000);
      expect((await state()).chunks).toBe(0);
    });
  });
}
