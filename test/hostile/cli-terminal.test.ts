/**
 * The CLI writes text others wrote: a model server's error message lands in a job's log,
 * which `cantrip generate` prints line by line, and in the failure it prints last. A raw ESC
 * in it is a terminal escape sequence (retitle the window, hide lines, write the clipboard
 * with OSC 52). Measured on the old code: stderr carried the ESC bytes as sent.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startFakeOpenAI, type FakeOpenAI } from "../fakes/fake-openai";
import { startServer, type TestServer } from "../harness";
import { cli } from "../ops/helpers";

let fake: FakeOpenAI;
let s: TestServer;
beforeAll(async () => {
  fake = startFakeOpenAI();
  s = await startServer({ OPENAI_BASE_URL: fake.url, CANTRIP_MODEL: "fake-model" });
});
afterAll(async () => {
  await s.stop();
  await fake.stop();
});

test("cantrip generate shows a model server's control characters as escapes, never sends them to the terminal", async () => {
  const hostile = "quota exceeded\u001b]0;pwned\u0007\u001b]52;c;ZWNobyBoaQ==\u0007\u001b[2J";
  // A 403 is final (no retries); its message reaches the job log and the failure.
  fake.respond(() => ({ status: 403, body: { error: { message: hostile, type: "permission_error", code: 403 } } }));
  const r = await cli(["generate", "A todo list API", "--name", "Escapes", "--url", s.url, "--token", s.token]);
  expect(r.code).not.toBe(0);
  const out = r.stdout + r.stderr;
  expect(out).toContain("quota exceeded");
  expect(out).not.toContain("\u001b");
  expect(out).not.toContain("\u0007");
  expect(out).toContain("\\u001b]0;pwned");
});
