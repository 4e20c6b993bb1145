/**
 * The model reply byte limit (src/llm/reply-limit.ts) on bodies that do not declare their
 * length: a server that streams chunked JSON, or SSE, without end is cut at the limit, not
 * buffered until the process runs out of memory (threat model, promises 1 and 7).
 */
import { afterEach, expect, test } from "bun:test";
import { createLlm, type Llm } from "../../src/llm";
import { MODEL_REPLY_MAX_BYTES } from "../../src/llm/reply-limit";
import { rejection } from "./setup";

let server: ReturnType<typeof Bun.serve> | undefined;
afterEach(() => void server?.stop(true));

/** A model server whose every answer is `head` then `filler` forever (chunked, no Content-Length); counts bytes sent. */
function endless(head: string, filler: string, contentType: string) {
  const sent = { bytes: 0 };
  server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    idleTimeout: 0,
    fetch() {
      const enc = new TextEncoder();
      const chunk = enc.encode(filler.repeat(Math.ceil(65536 / filler.length)));
      let first = true;
      const body = new ReadableStream<Uint8Array>({
        pull(c) {
          const b = first ? enc.encode(head) : chunk;
          first = false;
          sent.bytes += b.byteLength;
          c.enqueue(b);
        },
      });
      return new Response(body, { headers: { "content-type": contentType } });
    },
  });
  const llm = createLlm({ baseURL: `http://127.0.0.1:${server.port}/v1`, model: "m", timeoutMs: 60_000, maxRetries: 2, retryBaseMs: 10, retryMaxMs: 50 }) as Llm;
  return { llm, sent };
}

test("a chat.completion body that never ends fails with model_output_invalid at the limit, without retries", async () => {
  const { llm, sent } = endless('{"choices":[{"message":{"role":"assistant","content":"', "x", "application/json");
  const calls: unknown[] = [];
  const err = await rejection(llm.text({ system: "s", messages: [{ role: "user", content: "go" }], onCall: (c) => calls.push(c) }));
  expect(err.code).toBe("model_output_invalid");
  expect(err.details.reason).toBe("too_large");
  expect(calls).toHaveLength(1);
  // Cut near the limit: what the server managed to write ahead of the reader, not gigabytes.
  expect(sent.bytes).toBeLessThan(MODEL_REPLY_MAX_BYTES * 4);
});

test("an SSE stream that never ends is cut at the limit too", async () => {
  const frame = `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 0, model: "m", choices: [{ index: 0, delta: { content: "y".repeat(1000) }, finish_reason: null }] })}\n\n`;
  const { llm } = endless("", frame, "text/event-stream");
  const deltas: number[] = [];
  const err = await rejection(llm.text({ system: "s", messages: [{ role: "user", content: "go" }], onDelta: (d) => deltas.push(d.length) }));
  expect(err.code).toBe("model_output_invalid");
  expect(deltas.reduce((a, b) => a + b, 0)).toBeLessThan(MODEL_REPLY_MAX_BYTES);
});

test("a model server's long error text reaches logs and the failure as an excerpt", async () => {
  const { setup, rejection: reject } = await import("./setup");
  const { fake, llm } = setup({ maxRetries: 1 });
  const long = "E".repeat(1_000_000);
  fake.script({ status: 503, message: long }, { raw: { body: JSON.stringify({ error: { message: long, code: 503 } }) } });
  const calls: { error?: string }[] = [];
  const err = await reject(llm.text({ system: "s", messages: [{ role: "user", content: "go" }], onCall: (c) => calls.push(c) }));
  expect(err.code).toBe("model_unavailable");
  expect(calls).toHaveLength(2);
  for (const c of calls) expect(c.error!.length).toBeLessThan(1000);
  expect(err.message.length).toBeLessThan(1000);
});

test("a gzip bomb (64 KB on the wire, 64 MB inflated) is cut at the limit as it inflates", async () => {
  const { setup, rejection: reject } = await import("./setup");
  const { rawCompletion } = await import("../fakes/fake-openai");
  const { fake, llm } = setup({ maxRetries: 0 });
  const raw = rawCompletion({ content: "x".repeat(64 * 1024 * 1024) });
  const body = Bun.gzipSync(new TextEncoder().encode(raw.body as string));
  expect(body.byteLength).toBeLessThan(MODEL_REPLY_MAX_BYTES / 8);
  fake.script({ raw: { headers: { "content-type": "application/json", "content-encoding": "gzip" }, body } });
  const err = await reject(llm.text({ system: "s", messages: [{ role: "user", content: "go" }] }));
  expect(err.code).toBe("model_output_invalid");
  expect(err.details.reason).toBe("too_large");
});

test("an ordinary gzip-encoded reply still reads through the limit", async () => {
  const { setup } = await import("./setup");
  const { rawCompletion } = await import("../fakes/fake-openai");
  const { fake, llm } = setup({ maxRetries: 0 });
  const raw = rawCompletion({ content: "hello from gzip" });
  fake.script({ raw: { headers: { "content-type": "application/json", "content-encoding": "gzip" }, body: Bun.gzipSync(new TextEncoder().encode(raw.body as string)) } });
  expect(await llm.text({ system: "s", messages: [{ role: "user", content: "go" }] })).toBe("hello from gzip");
});
