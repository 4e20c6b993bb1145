/**
 * Host side of ctx.kv and ctx.fetch: turns a guest's host call (op + JSON args), once
 * host-calls.ts has made it a typed HostCall, into a KvStore or egress call for that
 * agent, with per-call counters. Errors become rejected promises in the guest, carrying
 * the message.
 */
import type { CallBridge } from "./engine";
import type { AgentRuntimeConfig, KvStore } from "./types";
import type { createEgress } from "./egress";
import { parseHostCall } from "./host-calls";

export function makeBridgeFactory(deps: { kv: KvStore; egress: ReturnType<typeof createEgress> }) {
  return (config: AgentRuntimeConfig) => (): CallBridge => {
    let fetches = 0;
    const { agentId, limits } = config;
    return {
      async call(op, argsJson, bytes) {
        const c = parseHostCall(op, argsJson, bytes, limits);
        switch (c.op) {
          case "kv.get": {
            const v = deps.kv.get(agentId, c.key);
            return { json: v === undefined ? "" : JSON.stringify(v) };
          }
          case "kv.set":
            deps.kv.set(agentId, c.key, c.value, limits);
            return { json: "" };
          case "kv.delete":
            return { json: JSON.stringify(deps.kv.delete(agentId, c.key)) };
          case "kv.list":
            return { json: JSON.stringify(deps.kv.list(agentId, { prefix: c.prefix, limit: c.limit, cursor: c.cursor })) };
          case "fetch": {
            if (++fetches > limits.fetchPerCall) throw new Error(`fetch: at most ${limits.fetchPerCall} outbound requests per call`);
            const r = await deps.egress(config, limits, c.request, c.body);
            return { json: JSON.stringify(r.meta), bytes: r.bytes };
          }
        }
      },
    };
  };
}
