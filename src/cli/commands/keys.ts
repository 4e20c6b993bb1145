/** keys ls|create|revoke|rotate <agent>: agent API keys. */
import type { Command } from "commander";
import { clientFrom, print, table, type GlobalOptions } from "../context";
import { resolveAgent } from "./agents";

export function registerKeyCommands(program: Command, g: () => GlobalOptions) {
  const keys = program.command("keys").description("Agent API keys.");
  keys
    .command("ls <agent>")
    .description("List an agent's keys.")
    .action(async (ref: string) => {
      const client = clientFrom(g());
      const a = await resolveAgent(client, ref);
      // Every page: the list is newest first and keeps up to 100 revoked keys, which would
      // otherwise hide an agent's oldest active keys (the ones to revoke at the key cap).
      const res: { data: any[]; nextCursor: null } = { data: [], nextCursor: null };
      let cursor: string | null = null;
      do {
        const page: { data: any[]; nextCursor: string | null } = await client.request("GET", `/v1/agents/${a.id}/api-keys?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
        res.data.push(...page.data);
        cursor = page.nextCursor;
      } while (cursor);
      print(g(), res, () => table(res.data.map((k: any) => ({ ...k, key: `${k.prefix}…${k.lastFour}` })), ["id", "name", "status", "key", "lastUsedAt"]));
    });
  keys
    .command("create <agent>")
    .description("Create a key; the raw key is printed once.")
    .option("--name <name>", "key name", "default")
    .option("--raw", "print only the key (for KEY=$(cantrip keys create x --raw))")
    .action(async (ref: string, o: { name: string; raw?: boolean }) => {
      const client = clientFrom(g());
      const a = await resolveAgent(client, ref);
      const res = await client.request("POST", `/v1/agents/${a.id}/api-keys`, { name: o.name });
      if (o.raw) return void process.stdout.write(res.data.key + "\n");
      print(g(), res, () => `${res.data.key}\n(shown once; id ${res.data.apiKey.id})`);
    });
  keys
    .command("revoke <agent> <keyId>")
    .description("Revoke a key at once.")
    .action(async (ref: string, keyId: string) => {
      const client = clientFrom(g());
      const a = await resolveAgent(client, ref);
      const res = await client.request("POST", `/v1/agents/${a.id}/api-keys/${keyId}/revoke`);
      print(g(), res, () => `revoked ${keyId}`);
    });
  keys
    .command("rotate <agent> <keyId>")
    .description("Revoke a key and issue a new one with the same name.")
    .action(async (ref: string, keyId: string) => {
      const client = clientFrom(g());
      const a = await resolveAgent(client, ref);
      const res = await client.request("POST", `/v1/agents/${a.id}/api-keys/${keyId}/rotate`);
      print(g(), res, () => `${res.data.key}\n(shown once; replaces ${keyId})`);
    });
}
