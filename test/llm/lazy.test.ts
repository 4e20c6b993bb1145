/**
 * lazyLlm (src/llm/lazy.ts): the server's model client loads the `openai` package on the first
 * model call, not at process start (issue 15), and otherwise behaves as createLlm's client.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { createLlm } from "../../src/llm";
import { lazyLlm } from "../../src/llm/lazy";
import { startFakeOpenAI } from "../fakes/fake-openai";

const ROOT = join(import.meta.dir, "..", "..");

test("lazyLlm is null without a base URL and knows its provider at once, as createLlm does", () => {
  expect(lazyLlm({ baseURL: "  ", model: "m" })).toBeNull();
  for (const baseURL of ["http://localhost:11434/v1/", "https://api.openai.com/v1", "http://vllm:8000/v1//"]) {
    const lazy = lazyLlm({ baseURL, model: "m" })!;
    expect(lazy.provider).toBe(createLlm({ baseURL, model: "m" })!.provider);
    expect(lazy.defaultModel).toBe("m");
  }
});

test("making the server's model client does not load the openai package; the first call does", () => {
  // A fresh process: this test file's own imports (createLlm) have loaded it here already.
  const script = `
    const { lazyLlm } = await import(${JSON.stringify(join(ROOT, "src/llm/lazy.ts"))});
    const loaded = () => Object.keys(require.cache).some((k) => k.includes("node_modules/openai/"));
    const llm = lazyLlm({ baseURL: "http://127.0.0.1:9/v1", model: "m", timeoutMs: 500, maxRetries: 0 });
    const before = loaded();
    await llm.text({ system: "s", messages: [{ role: "user", content: "hi" }] }).catch(() => {});
    console.log(JSON.stringify({ before, after: loaded() }));`;
  const r = Bun.spawnSync([process.execPath, "-e", script], { cwd: ROOT });
  expect(r.exitCode).toBe(0);
  expect(JSON.parse(r.stdout.toString().trim())).toEqual({ before: false, after: true });
});

test("lazyLlm's text and json answer through the real client", async () => {
  const fake = startFakeOpenAI({});
  try {
    fake.script({ content: "hello there" });
    const llm = lazyLlm({ baseURL: fake.url, apiKey: "sk-test", model: "fake-model", timeoutMs: 2000, maxRetries: 0 })!;
    expect(await llm.text({ system: "s", messages: [{ role: "user", content: "hi" }] })).toBe("hello there");
    expect(fake.calls.at(-1)?.model).toBe("fake-model");
  } finally {
    await fake.stop();
  }
});
