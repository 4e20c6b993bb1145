/**
 * Issue 13 §8: an operator creates more workspaces (`cantrip workspace create NAME`
 * prints its first token) and mints tokens for one (`cantrip token create --workspace`).
 * The tokens work over real HTTP and see only their own workspace's agents.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { startServer, tempDir, type TestServer } from "../harness";
import { cli } from "./helpers";

let s: TestServer;
beforeAll(async () => {
  s = await startServer();
});
afterAll(() => s.stop());

const asToken = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
const names = async (token: string) => ((await s.json("/v1/agents", asToken(token))).body.data as { name: string }[]).map((a) => a.name);
const source = { "index.ts": 'import { defineBackend } from "cantrip";\nexport default defineBackend({ routes: { "GET /": () => ({}) } });\n' };

test("workspace create prints a working token for a new, separate workspace", async () => {
  const created = await cli(["workspace", "create", "team-b", "--data-dir", s.dataDir], s.dbEnv);
  expect(created.code).toBe(0);
  const tokenB = created.stdout.trim();
  expect(tokenB).toMatch(/^ctp_pt_[A-Za-z0-9]{32}$/);
  expect(created.stderr).toContain("team-b");

  expect((await s.json("/v1/agents", { method: "POST", json: { name: "admin thing", files: source, entrypoint: "index.ts" } })).status).toBe(201);
  const made = await s.json("/v1/agents", { method: "POST", json: { name: "b thing", files: source, entrypoint: "index.ts" }, ...asToken(tokenB) });
  expect(made.status).toBe(201);
  expect(await names(tokenB)).toEqual(["b thing"]);
  expect(await names(s.token)).toEqual(["admin thing"]);
  // Another workspace's agent is not found, not forbidden.
  expect((await s.json(`/v1/agents/${made.body.data.agent.id}`)).status).toBe(404);

  const ls = await cli(["workspace", "ls", "--data-dir", s.dataDir], s.dbEnv);
  expect(ls.code).toBe(0);
  expect(ls.stdout.trim().split("\n").map((l) => l.split("\t")[1])).toEqual(["default", "team-b"]);
});

test("token create --workspace mints for that workspace (by name or id); unknown and duplicate names are refused", async () => {
  const byName = await cli(["token", "create", "--name", "ci", "--workspace", "team-b", "--data-dir", s.dataDir], s.dbEnv);
  expect(byName.code).toBe(0);
  expect(await names(byName.stdout.trim())).toEqual(["b thing"]);
  const id = (await cli(["workspace", "ls", "--data-dir", s.dataDir], s.dbEnv)).stdout.trim().split("\n")[1]!.split("\t")[0]!;
  const byId = await cli(["token", "create", "--name", "ci2", "--workspace", id, "--data-dir", s.dataDir], s.dbEnv);
  expect(await names(byId.stdout.trim())).toEqual(["b thing"]);
  const plain = await cli(["token", "create", "--name", "ops", "--data-dir", s.dataDir], s.dbEnv);
  expect(await names(plain.stdout.trim())).toEqual(["admin thing"]);

  const unknown = await cli(["token", "create", "--name", "x", "--workspace", "nope", "--data-dir", s.dataDir], s.dbEnv);
  expect(unknown.code).not.toBe(0);
  expect(unknown.stdout).toBe("");
  expect(unknown.stderr).toContain('no workspace with id or name "nope"');
  const dup = await cli(["workspace", "create", "team-b", "--data-dir", s.dataDir], s.dbEnv);
  expect(dup.code).not.toBe(0);
  expect(dup.stderr).toContain("already exists");
});

test("workspace create on a data dir no server has set up is refused (the first workspace is the operator's)", async () => {
  const empty = tempDir();
  const r = await cli(["workspace", "create", "early", "--data-dir", empty]);
  rmSync(empty, { recursive: true, force: true });
  expect(r.code).not.toBe(0);
  expect(r.stderr).toContain("start the server once");
});
