/**
 * Agent-key verification (issue 15): a warm call does not hash the key again, and every
 * decision still follows the database through the hash-keyed cache — revoke, rotate and
 * agent deletion take effect on the next call; unknown keys are hashed on every call and
 * never remembered.
 */
import { afterEach, expect, mock, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as hash from "../lib/hash";

let hashed = 0;
const realSha = hash.sha256Hex;
mock.module("../lib/hash", () => ({ ...hash, sha256Hex: (v: string | Uint8Array) => (hashed++, realSha(v)) }));

const { openDatabase, agents } = await import("../db");
const { eq } = await import("drizzle-orm");
const { AgentKeys } = await import("./agent-keys");

let dir: string;
let opened: ReturnType<typeof openDatabase>;
afterEach(() => {
  opened?.close();
  rmSync(dir, { recursive: true, force: true });
});

function setup() {
  dir = mkdtempSync(join(tmpdir(), "cantrip-keys-"));
  opened = openDatabase(join(dir, "k.db"));
  opened.sqlite.exec("INSERT INTO workspaces (id, name) VALUES ('ws_1', 'w')");
  for (const id of ["agent_a", "agent_b"]) opened.sqlite.query("INSERT INTO agents (id, workspace_id, slug, name, status) VALUES (?, 'ws_1', ?, ?, 'ready')").run(id, id, id);
  return new AgentKeys(opened.db);
}

const codeOf = async (fn: () => unknown) => {
  try {
    await fn();
    return "ok";
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
};

test("a key is hashed once; later calls with it do not hash, and its answers stay the same", async () => {
  const keys = setup();
  const { key, apiKey } = await keys.create("ws_1", "agent_a", "k");
  hashed = 0;
  for (let i = 0; i < 5; i++) expect((await keys.verify(`Bearer ${key}`, "agent_a")).id).toBe(apiKey.id);
  expect(await codeOf(() => keys.verify(`Bearer ${key}`, "agent_b"))).toBe("agent_api_key_scope_mismatch");
  expect(hashed).toBe(1);
});

test("revoke and rotate take effect on the next call, remembered or not", async () => {
  const keys = setup();
  const a = await keys.create("ws_1", "agent_a", "a");
  const b = await keys.create("ws_1", "agent_a", "b");
  await keys.verify(`Bearer ${a.key}`, "agent_a");
  await keys.verify(`Bearer ${b.key}`, "agent_a");
  await keys.revoke("ws_1", "agent_a", a.apiKey.id);
  expect(await codeOf(() => keys.verify(`Bearer ${a.key}`, "agent_a"))).toBe("agent_api_key_revoked");
  const rotated = await keys.rotate("ws_1", "agent_a", b.apiKey.id);
  expect(await codeOf(() => keys.verify(`Bearer ${b.key}`, "agent_a"))).toBe("agent_api_key_revoked");
  expect(await codeOf(() => keys.verify(`Bearer ${rotated.key}`, "agent_a"))).toBe("ok");
  // A revoked key is not remembered: it is hashed (and refused) on every call.
  hashed = 0;
  for (let i = 0; i < 3; i++) expect(await codeOf(() => keys.verify(`Bearer ${a.key}`, "agent_a"))).toBe("agent_api_key_revoked");
  expect(hashed).toBe(3);
});

test("unknown and malformed keys are refused and never remembered", async () => {
  const keys = setup();
  const unknown = `ctp_ak_${"x".repeat(32)}`;
  hashed = 0;
  for (let i = 0; i < 3; i++) expect(await codeOf(() => keys.verify(`Bearer ${unknown}`, "agent_a"))).toBe("invalid_agent_api_key");
  expect(hashed).toBe(3);
  expect(await codeOf(() => keys.verify("Bearer ctp_ak_short", "agent_a"))).toBe("malformed_agent_api_key");
  expect(await codeOf(() => keys.verify(null, "agent_a"))).toBe("missing_agent_api_key");
});

test("a deleted agent's keys stop working on the next call (agent.deleted on the bus + cascade)", async () => {
  const keys = setup();
  const { key } = await keys.create("ws_1", "agent_b", "k");
  expect(await codeOf(() => keys.verify(`Bearer ${key}`, "agent_b"))).toBe("ok");
  await opened.db.tx(async (t) => {
    await t.delete(agents).where(eq(agents.id, "agent_b"));
    t.publish("agent.deleted", { agentId: "agent_b" });
  });
  expect(await codeOf(() => keys.verify(`Bearer ${key}`, "agent_b"))).toBe("invalid_agent_api_key");
});

test("a key looked up while the caches are invalidated is answered but not remembered", async () => {
  const keys = setup();
  const { key } = await keys.create("ws_1", "agent_a", "k");
  hashed = 0;
  const first = keys.verify(`Bearer ${key}`, "agent_a"); // a miss: hashed, the read is under way
  opened.db.resync(); // an invalidation lands meanwhile
  expect((await first).agentId).toBe("agent_a");
  // Not cached: the next call hashes and reads again (a revoke announced meanwhile would count).
  opened.sqlite.run("UPDATE api_keys SET status = 'revoked'");
  expect(await codeOf(() => keys.verify(`Bearer ${key}`, "agent_a"))).toBe("agent_api_key_revoked");
  expect(hashed).toBe(2);
});

test("a resync empties the caches: the next call reads the database again", async () => {
  const keys = setup();
  const { key } = await keys.create("ws_1", "agent_a", "k");
  await keys.verify(`Bearer ${key}`, "agent_a");
  opened.sqlite.run("UPDATE api_keys SET status = 'revoked'"); // behind the bus's back (another node, say)
  expect(await codeOf(() => keys.verify(`Bearer ${key}`, "agent_a"))).toBe("ok"); // still cached
  opened.db.resync();
  expect(await codeOf(() => keys.verify(`Bearer ${key}`, "agent_a"))).toBe("agent_api_key_revoked");
});

test("random well-formed keys do not push known keys out of memory (their misses have their own bound)", async () => {
  const keys = setup();
  const { key, apiKey } = await keys.create("ws_1", "agent_a", "k");
  await keys.verify(`Bearer ${key}`, "agent_a");
  expect(keys.verify(`Bearer ${key}`, "agent_a")).not.toBeInstanceOf(Promise); // warm: answered from memory
  const { CACHE_MAX } = await import("./agent-keys");
  const random = () => `ctp_ak_${crypto.randomUUID().replaceAll("-", "")}`;
  for (let i = 0; i <= CACHE_MAX; i++) expect(await codeOf(() => keys.verify(`Bearer ${random()}`, "agent_a"))).toBe("invalid_agent_api_key");
  // Still warm: no database read, and its answers unchanged.
  const after = keys.verify(`Bearer ${key}`, "agent_a");
  expect(after).not.toBeInstanceOf(Promise);
  expect((after as { id: string }).id).toBe(apiKey.id);
  // A repeated unknown key is refused from memory too: a synchronous throw, no database read.
  const bad = random();
  expect(await codeOf(() => keys.verify(`Bearer ${bad}`, "agent_a"))).toBe("invalid_agent_api_key");
  let answer: unknown;
  try {
    answer = keys.verify(`Bearer ${bad}`, "agent_a");
  } catch (e) {
    answer = (e as { code?: string }).code;
  }
  if (answer instanceof Promise) await answer.catch(() => {}); // (a database read: the assertion below fails)
  expect(answer).toBe("invalid_agent_api_key"); // (bun's toThrow also counts a rejected promise, so it is not used here)
}, 120_000);
