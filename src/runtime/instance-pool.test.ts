/** instanceKey: cached per ref, never stale when a ref's owner or capabilities change. */
import { expect, test } from "bun:test";
import { instanceKey } from "./instance-pool";
import type { AgentRuntimeConfig, BundleRef } from "./types";

const config = (hosts: string[]) => ({ limits: { cpuMs: 100 }, allowedHosts: hosts }) as unknown as AgentRuntimeConfig;

test("instanceKey is cached per ref and follows the ref when its agent, bundle or config changes", () => {
  const ref: BundleRef = { agentId: "agent_a", bundleId: "v1", code: "", config: config([]) };
  const key = instanceKey(ref);
  expect(instanceKey(ref)).toBe(key);
  // An equal ref made apart gets an equal key (owners are compared by content, as before).
  expect(instanceKey({ ...ref })).toBe(key);
  ref.config = config(["example.com"]);
  const granted = instanceKey(ref);
  expect(granted).not.toBe(key);
  expect(granted).toContain("example.com");
  ref.bundleId = "v2";
  expect(instanceKey(ref)).not.toBe(granted);
  ref.agentId = "agent_b";
  expect(instanceKey(ref).startsWith("agent_b\u0000v2\u0000")).toBe(true);
});
