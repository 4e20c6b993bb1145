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

const { openDatabase } = await import("../db");
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

const codeOf = (fn: () => unknown) => {
  try {
    fn();
    return "ok";
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
};

test("a key is hashed once; later calls with it do not hash, and its answers stay the same", () => {
  const keys = setup();
  const { key, apiKey } = keys.create("ws_1", "agent_a", "k");
  hashed = 0;
  for (let i = 0; i < 5; i++) expect(keys.verify(`Bearer ${key}`, "agent_a").id).toBe(apiKey.id);
  expect(codeOf(() => keys.verify(`Bearer ${key}`, "agent_b"))).toBe("agent_api_key_scope_mismatch");
  expect(hashed).toBe(1);
});

test("revoke and rotate take effect on the next call, remembered or not", () => {
  const keys = setup();
  const a = keys.create("ws_1", "agent_a", "a");
  const b = keys.create("ws_1", "agent_a", "b");
  keys.verify(`Bearer ${a.key}`, "agent_a");
  keys.verify(`Bearer ${b.key}`, "agent_a");
  keys.revoke("ws_1", "agent_a", a.apiKey.id);
  expect(codeOf(() => keys.verify(`Bearer ${a.key}`, "agent_a"))).toBe("agent_api_key_revoked");
  const rotated = keys.rotate("ws_1", "agent_a", b.apiKey.id);
  expect(codeOf(() => keys.verify(`Bearer ${b.key}`, "agent_a"))).toBe("agent_api_key_revoked");
  expect(codeOf(() => keys.verify(`Bearer ${rotated.key}`, "agent_a"))).toBe("ok");
  // A revoked key is not remembered: it is hashed (and refused) on every call.
  hashed = 0;
  for (let i = 0; i < 3; i++) expect(codeOf(() => keys.verify(`Bearer ${a.key}`, "agent_a"))).toBe("agent_api_key_revoked");
  expect(hashed).toBe(3);
});

test("unknown and malformed keys are refused and never remembered", () => {
  const keys = setup();
  const unknown = `ctp_ak_${"x".repeat(32)}`;
  hashed = 0;
  for (let i = 0; i < 3; i++) expect(codeOf(() => keys.verify(`Bearer ${unknown}`, "agent_a"))).toBe("invalid_agent_api_key");
  expect(hashed).toBe(3);
  expect(codeOf(() => keys.verify("Bearer ctp_ak_short", "agent_a"))).toBe("malformed_agent_api_key");
  expect(codeOf(() => keys.verify(null, "agent_a"))).toBe("missing_agent_api_key");
});

test("a deleted agent's keys stop working on the next call (forgetAgent + cascade)", () => {
  const keys = setup();
  const { key } = keys.create("ws_1", "agent_b", "k");
  expect(codeOf(() => keys.verify(`Bearer ${key}`, "agent_b"))).toBe("ok");
  keys.forgetAgent("agent_b");
  opened.sqlite.exec("DELETE FROM agents WHERE id = 'agent_b'");
  expect(codeOf(() => keys.verify(`Bearer ${key}`, "agent_b"))).toBe("invalid_agent_api_key");
});
