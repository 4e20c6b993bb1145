/**
 * generate "<requirements>" --name X [--deploy] [--no-wait]: starts a generation and
 * follows its event stream with a progress bar and the stage name; at the end prints the
 * slug, the endpoint and a ready-to-paste curl line (with a fresh agent key when deployed).
 * upload <name> <path>: creates an agent from your own code (a file or a folder).
 */
import type { Command } from "commander";
import { SingleBar, Presets } from "cli-progress";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join, relative } from "node:path";
import { ApiError } from "../client";
import { clientFrom, print, terminalText, UsageError, type GlobalOptions } from "../context";
import type { ApiClient } from "../client";
import { curlLine, firstCall } from "../../lib/first-call";

async function follow(client: ApiClient, jobId: string, quiet: boolean): Promise<any> {
  const bar = quiet || !process.stderr.isTTY ? null : new SingleBar({ format: " {bar} {percentage}% | {stage}", stream: process.stderr, hideCursor: true }, Presets.shades_classic);
  bar?.start(100, 0, { stage: "queued" });
  let stage = "queued";
  try {
    for await (const ev of client.events(`/v1/generate/${jobId}/stream`)) {
      if (ev.event === "progress") {
        stage = ev.data.stage ?? stage;
        bar?.update(ev.data.progress ?? 0, { stage: terminalText(String(stage)) });
        if (!bar && !quiet) process.stderr.write(terminalText(`[${String(ev.data.progress).padStart(3)}%] ${stage}`) + "\n");
      } else if (ev.event === "log" && !quiet && !bar) {
        process.stderr.write(`  ${terminalText(String(ev.data.message))}\n`);
      } else if (ev.event === "done") break;
    }
  } finally {
    bar?.stop();
  }
  return (await client.request("GET", `/v1/generate/${jobId}`)).data;
}

/**
 * The endpoint, a fresh agent key and a curl line that works for this backend (see
 * src/lib/first-call.ts): built from the live version's declared routes and, for a
 * generated one, the plan's worked examples.
 */
export async function finishLine(client: ApiClient, agentId: string, slug: string, deployed: boolean): Promise<{ endpoint: string | null; key: string | null; curl: string | null }> {
  if (!deployed) return { endpoint: null, key: null, curl: null };
  const agent = (await client.request("GET", `/v1/agents/${agentId}`)).data as { endpointUrl: string; liveVersion: number };
  const v = (await client.request("GET", `/v1/agents/${agentId}/versions/${agent.liveVersion}`)).data as { described?: { routes?: { method: string; path: string; input?: unknown }[] } | null; spec?: { examples?: unknown[] } | null };
  const key = (await client.request("POST", `/v1/agents/${agentId}/api-keys`, { name: "cli" })).data.key as string;
  const base = agent.endpointUrl.slice(0, agent.endpointUrl.lastIndexOf(`/v1/invoke/`));
  const call = firstCall(base, slug, v.described?.routes ?? [], (v.spec?.examples ?? []) as never[]);
  return { endpoint: call.via === "invoke" ? agent.endpointUrl : `${base}/apps/${slug}/`, key, curl: curlLine(call, key) };
}

function readSource(path: string): { files: Record<string, string>; entrypoint: string } {
  const st = statSync(path);
  if (st.isFile()) return { files: { [basename(path)]: readFileSync(path, "utf8") }, entrypoint: basename(path) };
  const files: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      if (name === "node_modules" || name.startsWith(".")) continue;
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(ts|js|mjs|json)$/.test(name) && !/\.test\.ts$/.test(name)) files[relative(path, p)] = readFileSync(p, "utf8");
    }
  };
  walk(path);
  const entrypoint = ["index.ts", "backend.ts", "main.ts", "index.js"].find((f) => f in files);
  if (!entrypoint) throw new UsageError(`no index.ts, backend.ts or main.ts in ${path}; pass a file instead`);
  return { files, entrypoint };
}

export function registerGenerateCommands(program: Command, g: () => GlobalOptions) {
  program
    .command("generate <requirements>")
    .description("Generate a backend from plain-English requirements.")
    .requiredOption("--name <name>", "backend name (2-120 chars)")
    .option("--deploy", "deploy it when it passes validation")
    .option("--model <model>", "model name (default: the server's)")
    .option("--no-wait", "print the job and return at once")
    .action(async (requirements: string, o: { name: string; deploy?: boolean; model?: string; wait: boolean }) => {
      const client = clientFrom(g());
      const res = await client.request("POST", "/v1/generate", { name: o.name, prompt: requirements, autoDeploy: !!o.deploy, ...(o.model ? { model: o.model } : {}) });
      const { agent, job } = res.data;
      if (!o.wait) return print(g(), res, () => `job ${job.id} queued for ${agent.slug}\nfollow: cantrip logs ${agent.slug}  |  GET /v1/generate/${job.id}`);
      const done = await follow(client, job.id, !!g().json);
      if (done.status !== "completed") {
        throw new ApiError(422, done.failure?.code ?? "generation_failed", `${done.failure?.message ?? "generation " + done.status}${done.failure?.stage ? ` (stage: ${done.failure.stage})` : ""}`);
      }
      const fin = await finishLine(client, agent.id, agent.slug, !!o.deploy);
      print(g(), { data: { job: done, agent, ...fin } }, () =>
        [`✔ ${agent.slug}: version ${done.artifact?.version} ${o.deploy ? "deployed" : "ready (deploy with: cantrip deploy " + agent.slug + ")"}`, fin.endpoint ? `endpoint: ${fin.endpoint}` : "", fin.curl ?? ""]
          .filter(Boolean)
          .join("\n"),
      );
    });

  program
    .command("upload <name> <path>")
    .description("Create an agent from your own code: a .ts file, or a folder with index.ts.")
    .option("--deploy", "deploy it at once")
    .option("--public", "serve /apps/<slug> without an agent key")
    .action(async (name: string, path: string, o: { deploy?: boolean; public?: boolean }) => {
      const client = clientFrom(g());
      const src = readSource(path);
      const res = await client.request("POST", "/v1/agents", { name, ...src, autoDeploy: !!o.deploy, public: !!o.public });
      const agent = res.data.agent;
      if (o.deploy) {
        for (let i = 0; i < 300; i++) {
          const s = (await client.request("GET", `/v1/deploy/${agent.id}/status`)).data;
          if (s.deployment?.status === "failed") throw new ApiError(502, s.deployment.error?.code ?? "deploy_failed", s.deployment.error?.message ?? "deploy failed");
          if (s.deployment?.status === "deployed") break;
          await Bun.sleep(100);
        }
      }
      const fin = await finishLine(client, agent.id, agent.slug, !!o.deploy);
      print(g(), { data: { agent, ...fin } }, () => [`✔ ${agent.slug}: version 1 ${o.deploy ? "deployed" : "ready"}`, fin.endpoint ? `endpoint: ${fin.endpoint}` : "", fin.curl ?? ""].filter(Boolean).join("\n"));
    });
}
