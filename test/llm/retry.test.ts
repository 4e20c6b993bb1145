import { expect, test } from "bun:test";
import { AppError } from "../../src/errors";
import { goodPlan, rejection, setup } from "./setup";

test("429 with Retry-After: waits roughly that long, logs the failed attempt, then succeeds", async () => {
  const { fake, log, ask } = setup({ retryBaseMs: 5_000 }); // backoff would be far longer than Retry-After
  fake.script({ status: 429, retryAfter: 0.3 }, { json: goodPlan });
  const t0 = performance.now();
  expect(await ask()).toEqual(goodPlan);
  const elapsed = performance.now() - t0;
  expect(elapsed).toBeGreaterThanOrEqual(280);
  expect(elapsed).toBeLessThan(2_000);
  expect(fake.calls[1]!.at - fake.calls[0]!.at).toBeGreaterThanOrEqual(280);
  expect(log).toHaveLength(2);
  expect(log[0]).toMatchObject({ attempt: 1, ok: false, status: 429, retryInMs: 300 });
  expect(log[1]).toMatchObject({ attempt: 2, ok: true });
});

test("500 is retried with backoff; the same prompt is sent again", async () => {
  const { fake, log, ask } = setup();
  fake.script({ status: 500 }, { status: 503 }, { json: goodPlan });
  expect(await ask()).toEqual(goodPlan);
  expect(fake.calls).toHaveLength(3);
  expect(fake.calls[2]!.messages).toEqual(fake.calls[0]!.messages);
  expect(log.map((c) => [c.attempt, c.ok, c.status])).toEqual([
    [1, false, 500],
    [2, false, 503],
    [3, true, undefined],
  ]);
  expect(new Set(log.map((c) => c.promptHash)).size).toBe(1);
});

test("retries exhausted on 5xx → model_unavailable, after maxRetries + 1 attempts", async () => {
  const { fake, ask } = setup({ maxRetries: 1 });
  fake.script({ status: 502 }, { status: 502 }, { json: goodPlan });
  const err = await rejection(ask());
  expect(err).toBeInstanceOf(AppError);
  expect(err.code).toBe("model_unavailable");
  expect(err.message).toContain("2 attempt");
  expect(fake.calls).toHaveLength(2);
  expect(fake.pending()).toBe(1);
});

test("a server that hangs: each attempt times out, model_unavailable within bounded time", async () => {
  const { fake, log, ask } = setup({ timeoutMs: 250, maxRetries: 1 });
  fake.script({ hang: true }, { hang: true });
  const t0 = performance.now();
  const err = await rejection(ask());
  const elapsed = performance.now() - t0;
  expect(err).toBeInstanceOf(AppError);
  expect(err.code).toBe("model_unavailable");
  expect(elapsed).toBeGreaterThanOrEqual(480);
  expect(elapsed).toBeLessThan(2_500);
  expect(log.map((c) => c.ok)).toEqual([false, false]);
  expect(log[0]!.error).toMatch(/time/i);
});

test("401 is not retried", async () => {
  const { fake, ask } = setup();
  fake.script({ status: 401, message: "bad key" }, { json: goodPlan });
  const err = await rejection(ask());
  expect(err.code).toBe("model_unavailable");
  expect(err.message).toContain("bad key");
  expect(fake.calls).toHaveLength(1);
});

test("unreachable server → model_unavailable", async () => {
  const { fake, llm } = setup({ maxRetries: 1 });
  await fake.stop();
  const err = await rejection(llm.text({ system: "s", messages: [{ role: "user", content: "hi" }] }));
  expect(err).toBeInstanceOf(AppError);
  expect(err.code).toBe("model_unavailable");
});

test("caller abort stops a hanging call promptly and does not retry", async () => {
  const { fake, ask } = setup({ timeoutMs: 10_000 });
  fake.script({ hang: true });
  const ac = new AbortController();
  setTimeout(() => ac.abort(new Error("job cancelled")), 100);
  const t0 = performance.now();
  const err = await rejection(ask({ signal: ac.signal }));
  expect(performance.now() - t0).toBeLessThan(1_000);
  expect(err.message).toBe("job cancelled");
  expect(fake.calls).toHaveLength(1);
});
