/** agents ls|show|limits|rm, deploy, rollback, invoke, logs: thin clients of /v1. */
import type { Command } from "commander";
import { registerScheduleCommand } from "./schedule";
import { clientFrom, print, readJsonArg, table, terminalText, type GlobalOptions } from "../context";
import type { ApiClient } from "../client";
import { formatLimits, registerLimitsCommand } from "./limits";

/** Accepts an agent id or a slug. */
export async function resolveAgent(client: ApiClient, ref: string): Promise<any> {
  if (/^agent_[a-z0-9]{22}$/.test(ref)) return (await client.request("GET", `/v1/agents/${ref}`)).data;
  return (await client.request("GET", `/v1/agents/by-slug/${encodeURIComponent(ref)}`)).data;
}

export function registerAgentCommands(program: Command, g: () => GlobalOptions) {
  const agents = program.command("agents").description("List, show and delete agents.");
  agents
    .command("ls")
    .description("List agents.")
    .option("--limit <n>", "page size (1-100)", "50")
    .action(async (o: { limit: string }) => {
      const client = clientFrom(g());
      const res = await client.request("GET", `/v1/agents?limit=${encodeURIComponent(o.limit)}`);
      print(g(), res, () => table(res.data, ["slug", "status", "liveVersion", "latestVersion", "id"]));
    });
  agents
    .command("show <agent>")
    .description("Show one agent (id or slug).")
    .action(async (ref: string) => {
      const a = await resolveAgent(clientFrom(g()), ref);
      print(g(), { data: a }, () =>
        [
          ...Object.entries(a)
            .filter(([k]) => k !== "limits" && k !== "limitOverrides")
            .map(([k, v]) => `${k.padEnd(14)} ${typeof v === "object" ? JSON.stringify(v) : v}`),
          "limits per call (change with `cantrip agents limits`):",
          formatLimits(a),
        ].join("\n"),
      );
    });
  registerLimitsCommand(agents, g);
  registerScheduleCommand(agents, g);
  agents
    .command("rm <agent>")
    .description("Delete an agent with its versions, keys and data.")
    .action(async (ref: string) => {
      const client = clientFrom(g());
      const a = await resolveAgent(client, ref);
      const res = await client.request("DELETE", `/v1/agents/${a.id}`);
      print(g(), res, () => `deleted ${a.slug}`);
    });

  program
    .command("deploy <agent>")
    .description("Deploy an agent's newest version (or --version N).")
    .option("--version <n>", "version number")
    .option("--no-wait", "return at once instead of waiting for the deployment")
    .action(async (ref: string, o: { version?: string; wait: boolean }) => {
      const client = clientFrom(g());
      const a = await resolveAgent(client, ref);
      const res = await client.request("POST", `/v1/deploy/${a.id}`, o.version ? { version: Number(o.version) } : undefined);
      if (!o.wait) return print(g(), res, () => `deploying ${a.slug} (deployment ${res.data.deploymentId})`);
      for (let i = 0; i < 600; i++) {
        const s = (await client.request("GET", `/v1/deploy/${a.id}/status`)).data;
        if (s.deployment?.status !== "deploying") {
          if (s.deployment?.status === "failed") throw new (await import("../client")).ApiError(502, s.deployment.error?.code ?? "deploy_failed", s.deployment.error?.message ?? "deployment failed");
          // The app URL names the apps origin when the server has one (CANTRIP_APPS_*).
          const appUrl = (await resolveAgent(client, a.id)).appUrl as string | null;
          return print(g(), { data: s }, () => `deployed ${a.slug} v${s.liveVersion}\nendpoint: ${s.endpointUrl}\napp: ${appUrl}`);
        }
        await Bun.sleep(200);
      }
    });

  program
    .command("rollback <agent> <version>")
    .description("Make an existing version live at once.")
    .action(async (ref: string, version: string) => {
      const client = clientFrom(g());
      const a = await resolveAgent(client, ref);
      const res = await client.request("POST", `/v1/agents/${a.id}/rollback`, { version: Number(version) });
      print(g(), res, () => `${a.slug} now serves v${res.data.agent.liveVersion}`);
    });

  program
    .command("invoke <slug> [json]")
    .description("Invoke a deployed backend's POST / (through /v1/invoke). The body is inline JSON, @file or - (stdin). Uses --key / CANTRIP_AGENT_KEY.")
    .option("--key <key>", "agent API key (ctp_ak_...)")
    .action(async (slug: string, json: string | undefined, o: { key?: string }) => {
      const client = clientFrom(g());
      const key = o.key ?? process.env.CANTRIP_AGENT_KEY;
      const body = await readJsonArg(json);
      const res = await client.request("POST", `/v1/invoke/${encodeURIComponent(slug)}`, body, key ? { authorization: `Bearer ${key}` } : { authorization: "" });
      print(g(), res, () => `${res.data.status} (${res.data.latencyMs} ms)\n${JSON.stringify(res.data.response, null, 2)}`);
    });

  program
    .command("logs <agent>")
    .description("Recent invocations of an agent (--follow to keep watching).")
    .option("-f, --follow", "poll for new invocations")
    .action(async (ref: string, o: { follow?: boolean }) => {
      const client = clientFrom(g());
      const a = await resolveAgent(client, ref);
      const seen = new Set<string>();
      for (;;) {
        const res = await client.request("GET", `/v1/agents/${a.id}/invocations?limit=50`);
        const fresh = (res.data as any[]).filter((r) => !seen.has(r.id)).reverse();
        for (const r of fresh) {
          seen.add(r.id);
          if (g().json) process.stdout.write(JSON.stringify(r) + "\n");
          else process.stdout.write(terminalText(`${r.at}  ${r.method} ${r.path}  ${r.status}  ${r.latencyMs}ms${r.errorCode ? "  " + r.errorCode : ""}  ${r.requestId ?? ""}`) + "\n");
        }
        if (!o.follow) return;
        await Bun.sleep(1000);
      }
    });
}
