/**
 * The seam between the egress policy and the network: every authorized request reaches the
 * `outbound` function (a fixture layer can answer it or pass it on to the checked
 * network), and nothing the policy refuses — an undeclared host, a secret for another
 * scheme or port — ever reaches it.
 */
import { afterAll, expect, test } from "bun:test";
import { createCheckedOutbound, type OutboundRequest } from "../../src/runtime/egress-connect";
import { createEgress } from "../../src/runtime/egress";
import { defaultLimits, type AgentRuntimeConfig } from "../../src/runtime/types";

const upstream = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (r) => Response.json({ from: "network", host: r.headers.get("host") }) });
afterAll(() => upstream.stop(true));

const seen: OutboundRequest[] = [];
let lookups = 0;
const network = createCheckedOutbound({ allowHosts: ["real.test"], lookup: async () => (lookups++, ["127.0.0.1"]) });
const egress = createEgress(
  {
    outbound: async (req) => {
      seen.push(req);
      return req.host === "fixture.test" ? Response.json({ from: "fixture", auth: req.headers.get("authorization") }) : network(req);
    },
  },
  (_agent, name) => (name === "KEY" ? "k-123" : null),
);
const config: AgentRuntimeConfig = {
  agentId: "a1",
  limits: defaultLimits,
  allowedHosts: ["fixture.test", "real.test"],
  secrets: [{ name: "KEY", hosts: ["fixture.test"] }],
};
const call = (url: string, headers: [string, string][] = []) => egress(config, defaultLimits, { url, method: "GET", headers }, undefined);
const body = (r: { bytes: Uint8Array }) => JSON.parse(new TextDecoder().decode(r.bytes));

test("a fixture layer answers authorized requests and passes the rest to the checked network", async () => {
  const f = await call("https://fixture.test/v1/x", [["authorization", "Bearer {{secret:KEY}}"]]);
  expect(body(f)).toEqual({ from: "fixture", auth: "Bearer k-123" });
  expect(seen.at(-1)).toMatchObject({ host: "fixture.test", port: "443", agentId: "a1", method: "GET" });
  const n = await call(`http://real.test:${upstream.port}/`);
  expect(body(n)).toEqual({ from: "network", host: `real.test:${upstream.port}` });
  expect(lookups).toBe(1);
});

test("what the policy refuses never reaches the outbound layer", async () => {
  const before = seen.length;
  await expect(call("https://undeclared.test/")).rejects.toThrow("not in this agent's allowed hosts");
  await expect(call("http://fixture.test:8080/", [["authorization", "{{secret:KEY}}"]])).rejects.toThrow("secret KEY is not approved for http://fixture.test:8080");
  await expect(call("ftp://fixture.test/")).rejects.toThrow("only http and https");
  expect(seen.length).toBe(before);
});
