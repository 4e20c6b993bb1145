/**
 * `cantrip keys` at the per-agent key cap (CANTRIP_AGENT_MAX_KEYS): `keys ls` lists every
 * active key even when revoked keys outnumber a page (the list is newest first, and up to
 * 100 revoked keys are kept), so the "revoke one first" of a refused `keys create` can be
 * followed; and the refusal prints its code and message. Before, `keys ls` read one page of
 * 100 and the agent's oldest active keys were not shown at all.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startServer, type TestServer } from "../harness";
import { cli } from "./helpers";

let s: TestServer;
beforeAll(async () => {
  s = await startServer({ CANTRIP_AGENT_MAX_KEYS: "3" });
});
afterAll(() => s?.stop());

test("keys ls shows every active key behind 100 newer revoked ones; keys create at the cap prints key_limit_reached", async () => {
  const created = await s.json("/v1/agents", { method: "POST", json: { name: "keyed", files: { "index.ts": `export default { fetch: () => new Response("ok") };` }, entrypoint: "index.ts" } });
  expect(created.status).toBe(201);
  const agent = created.body.data.agent as { id: string; slug: string };
  const create = (name: string) => s.json(`/v1/agents/${agent.id}/api-keys`, { method: "POST", json: { name } });
  for (const name of ["oldest-a", "oldest-b"]) expect((await create(name)).status).toBe(201);
  for (let i = 0; i < 100; i++) {
    const k = await create(`temp${i}`);
    expect(k.status).toBe(201);
    expect((await s.json(`/v1/agents/${agent.id}/api-keys/${k.body.data.apiKey.id}/revoke`, { method: "POST" })).status).toBe(200);
  }
  expect((await create("newest")).status).toBe(201);

  const env = { CANTRIP_URL: s.url, CANTRIP_TOKEN: s.token };
  const ls = await cli(["keys", "ls", agent.slug, "--json"], env);
  expect(ls.code).toBe(0);
  const listed = (JSON.parse(ls.stdout).data as { name: string; status: string }[]).filter((k) => k.status === "active").map((k) => k.name);
  expect(listed.sort()).toEqual(["newest", "oldest-a", "oldest-b"]);

  const refused = await cli(["keys", "create", agent.slug, "--name", "one-more"], env);
  expect(refused.code).not.toBe(0);
  expect(refused.stderr).toContain("key_limit_reached");
  expect(refused.stderr).toContain("revoke one first");
});
