/**
 * mcp [agent]: prints the MCP client configuration to paste into an AI client (the common
 * `mcpServers` shape of desktop assistants and IDE agents): the platform's server at /mcp
 * with this CLI's platform token, or one agent's server at its app URL + /_mcp with an
 * agent key (--key, or --create-key to mint one; none for a public agent).
 */
import type { Command } from "commander";
import type { GlobalOptions } from "../context";
import { clientFrom, print } from "../context";
import { resolveAgent } from "./agents";

/** `{ mcpServers: { name: { type: "http", url, headers? } } }`. */
export function mcpClientConfig(name: string, url: string, authorization: string | null) {
  return { mcpServers: { [name]: { type: "http", url, ...(authorization ? { headers: { Authorization: authorization } } : {}) } } };
}

export function registerMcpCommand(program: Command, g: () => GlobalOptions) {
  program
    .command("mcp [agent]")
    .description("Print the MCP client configuration for the platform, or for one agent's backend.")
    .option("--key <key>", "the agent key the client should send (agent form)")
    .option("--create-key", "mint a new agent key named 'mcp' for the client (agent form)")
    .action(async (ref: string | undefined, o: { key?: string; createKey?: boolean }) => {
      const client = clientFrom(g());
      if (!ref) {
        await client.request("GET", "/v1/agents?limit=1"); // fails now, not in the AI client, when the token is wrong
        const config = mcpClientConfig("cantrip", `${client.opts.url.replace(/\/+$/, "")}/mcp`, client.opts.token ? `Bearer ${client.opts.token}` : null);
        return print(g(), config, () => JSON.stringify(config, null, 2));
      }
      const a = await resolveAgent(client, ref);
      let key = o.key ?? null;
      if (!key && o.createKey) key = (await client.request("POST", `/v1/agents/${a.id}/api-keys`, { name: "mcp" })).data.key;
      const base = (a.appUrl ?? `${client.opts.url.replace(/\/+$/, "")}/apps/${a.slug}`).replace(/\/+$/, "");
      const auth = key ? `Bearer ${key}` : a.public ? null : "Bearer <agent key: cantrip keys create " + a.slug + " --raw>";
      const config = mcpClientConfig(a.slug, `${base}/_mcp`, auth);
      print(g(), config, () => JSON.stringify(config, null, 2));
    });
}
