/** Helpers for the operator tests: upload + deploy + key over real HTTP, and the real CLI as a child process. */
import { expect } from "bun:test";
import { join } from "node:path";
import type { TestServer } from "../harness";

export const MAIN = join(import.meta.dir, "..", "..", "src", "main.ts");

/** A backend that counts its calls in kv (so every invoke writes to SQLite). */
export const counterBackend = `import { defineBackend } from "cantrip";
export default defineBackend({ routes: { "POST /": async (_req, ctx) => {
  const n = ((await ctx.kv.get("n")) ?? 0) + 1;
  await ctx.kv.set("n", n);
  return { n };
} } });
`;

export async function deployed(s: TestServer, name: string, code = counterBackend, extra: Record<string, unknown> = {}) {
  const r = await s.json("/v1/agents", { method: "POST", json: { name, files: { "index.ts": code }, entrypoint: "index.ts", autoDeploy: true, ...extra } });
  expect(r.status).toBe(201);
  const agent = r.body.data.agent as { id: string; slug: string };
  for (let i = 0; ; i++) {
    const st = await s.json(`/v1/deploy/${agent.id}/status`);
    if (st.body.data.agentStatus === "deployed") break;
    if (i > 400) throw new Error(`deploy of ${name} did not finish: ${JSON.stringify(st.body)}`);
    await Bun.sleep(25);
  }
  const k = await s.json(`/v1/agents/${agent.id}/api-keys`, { method: "POST", json: { name: "test" } });
  expect(k.status).toBe(201);
  return { ...agent, key: k.body.data.key as string };
}

export async function invoke(url: string, slug: string, key: string, body: unknown = {}) {
  const r = await fetch(`${url}/v1/invoke/${slug}`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${key}` }, body: JSON.stringify(body) });
  return { status: r.status, body: (await r.json()) as any };
}

/** Runs `cantrip <args>` (from source) and returns its exit code and output. */
export async function cli(args: string[], env: Record<string, string> = {}) {
  const p = Bun.spawn([process.execPath, MAIN, ...args], { stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, stdout, stderr };
}
