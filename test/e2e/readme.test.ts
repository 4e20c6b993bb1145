/**
 * The README's quick start, run exactly as written: the first marked block starts the
 * server, the second runs the CLI lines in bash. The model server the README names
 * (http://localhost:11434/v1) is played by the fake OpenAI-compatible server; the port and
 * data dir come from the environment so the test never touches a real install.
 */
import { afterAll, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createServer } from "node:net";
import { startFakeOpenAI } from "../fakes/fake-openai";
import { freePort } from "../../bench/lib/cantrip-process";
import { leadSpec } from "../fixtures/lead-spec";
import { leadCode } from "../fixtures/lead-code";
import { tempDir } from "../harness";

const ROOT = join(import.meta.dir, "..", "..");
const readme = readFileSync(join(ROOT, "README.md"), "utf8");
const block = readme.slice(readme.indexOf("<!-- quickstart:start -->"), readme.indexOf("<!-- quickstart:end -->"));
const [serverBlock, clientBlock] = [...block.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!.trim());
const uploadBlock = /```sh\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf("<!-- quickstart-upload:start -->"), readme.indexOf("<!-- quickstart-upload:end -->")))![1]!.trim();

/** Runs `script` in bash in the repo with `env`; never blocks the fake model's event loop. */
async function sh(script: string, env: Record<string, string | undefined>): Promise<{ status: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn(["bash", "-e", "-c", script], { cwd: ROOT, env, stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill(), 120_000);
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  const status = await proc.exited;
  clearTimeout(timer);
  return { status, stdout, stderr };
}

/** The curl line a CLI command printed (the last one). */
const curlOf = (out: string) => [...out.matchAll(/^curl .*$/gm)].at(-1)?.[0];

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

test("the README quick start works as written (against the fake model)", async () => {
  expect(serverBlock).toContain("npm start");
  expect(clientBlock).toContain("generate");
  const modelUrl = /OPENAI_BASE_URL=(\S+)/.exec(serverBlock!)![1]!;
  const modelPort = Number(new URL(modelUrl).port);
  if (!(await portFree(modelPort))) {
    console.warn(`skipped: port ${modelPort} (the README's model server) is in use on this machine`);
    return;
  }
  const fake = startFakeOpenAI();
  cleanups.push(() => fake.stop());
  fake.respond((call) => (call.system.includes("[cantrip:plan]") ? { json: leadSpec } : { content: "```ts\n" + leadCode + "\n```" }));
  // Play the README's model server on its port, forwarding to the fake.
  const proxy = Bun.serve({
    hostname: "127.0.0.1",
    port: modelPort,
    fetch: async (req) => fetch(fake.url.replace(/\/v1$/, "") + new URL(req.url).pathname, { method: req.method, headers: req.headers, body: req.method === "GET" ? undefined : await req.arrayBuffer() }),
  });
  cleanups.push(() => proxy.stop(true));

  const env = { ...process.env, CANTRIP_PORT: String(await freePort()), CANTRIP_DATA_DIR: tempDir("cantrip-readme-"), CANTRIP_LOG_REQUESTS: "false" };
  const server = spawn("bash", ["-c", serverBlock!], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  cleanups.push(() => {
    try {
      process.kill(-server.pid!, "SIGTERM");
    } catch {}
  });
  let out = "";
  server.stdout!.on("data", (d) => (out += d));
  server.stderr!.on("data", (d) => (out += d));
  for (let i = 0; i < 300 && !out.includes("listening on"); i++) await Bun.sleep(100);
  expect(out).toContain("listening on");
  expect(out).toMatch(/ctp_pt_[A-Za-z0-9]{32}/);

  // Not spawnSync: the fake model lives in this process and must keep answering.
  const r = await sh(clientBlock!, env);
  const { status } = r;
  const all = r.stdout + r.stderr;
  expect(status, all).toBe(0);
  expect(all).toContain("lead-qualification-api");
  expect(all).toMatch(/curl -X POST 'http:\/\/127\.0\.0\.1:\d+\/v1\/invoke\/lead-qualification-api'/);
  const invoked = r.stdout.slice(r.stdout.lastIndexOf("200 ("));
  expect(invoked).toContain('"fit": "low"');
  expect(invoked).toContain('"missingFields"');
  expect(fake.calls.some((c) => c.model === "qwen2.5-coder:14b")).toBe(true);

  // The curl line generate printed, run exactly as printed.
  const genCurl = curlOf(r.stdout)!;
  const viaCurl = await sh(genCurl, env);
  expect(viaCurl.status, viaCurl.stderr).toBe(0);
  // Its body is the plan's first worked example, a complete profile: a high fit.
  expect(JSON.parse(viaCurl.stdout).data).toMatchObject({ status: 200, ok: true, response: { fit: "high", missingFields: [] } });

  // The no-model path: upload the todo example, then its printed curl line — a declared
  // route through the app URL (the todo backend has no POST /).
  expect(uploadBlock).toContain("upload");
  const up = await sh(uploadBlock, env);
  expect(up.status, up.stdout + up.stderr).toBe(0);
  const upCurl = curlOf(up.stdout)!;
  expect(upCurl).toMatch(/^curl -X POST 'http:\/\/127\.0\.0\.1:\d+\/apps\/todo\/todos' -H 'Authorization: Bearer ctp_ak_\w+' -H 'Content-Type: application\/json' -d '\{"title":"example"\}'$/);
  const todo = await sh(upCurl, env);
  expect(todo.status, todo.stderr).toBe(0);
  expect(JSON.parse(todo.stdout)).toMatchObject({ title: "example", done: false });
}, 180_000);
