/**
 * Host side of ctx.kv and ctx.fetch: turns a guest's host call (op + JSON args) into a
 * KvStore or egress call for that agent, with per-call counters. Errors become rejected
 * promises in the guest, carrying the message.
 */
import type { CallBridge } from "./engine";
import type { AgentRuntimeConfig, KvStore } from "./types";
import type { createEgress, EgressRequest } from "./egress";
import { webCall } from "./web-bridge";

const MAX_KEY = 512;

function key(args: { key?: unknown }): string {
  const k = args.key;
  if (typeof k !== "string" || k.length === 0 || k.length > MAX_KEY) throw new Error(`kv: key must be a non-empty string of at most ${MAX_KEY} characters`);
  return k;
}

export function makeBridgeFactory(deps: { kv: KvStore; egress: ReturnType<typeof createEgress> }) {
  return (config: AgentRuntimeConfig) => (): CallBridge => {
    let fetches = 0;
    const { agentId, limits } = config;
    return {
      async call(op, argsJson, bytes) {
        const args = JSON.parse(argsJson || "null") ?? {};
        switch (op) {
          case "kv.get": {
            const v = deps.kv.get(agentId, key(args));
            return { json: v === undefined ? "" : JSON.stringify(v) };
          }
          case "kv.set":
            deps.kv.set(agentId, key(args), args.value, limits);
            return { json: "" };
          case "kv.delete":
            return { json: JSON.stringify(deps.kv.delete(agentId, key(args))) };
          case "kv.list": {
            const limit = Math.min(1000, Math.max(1, Number(args.limit) || 100));
            return { json: JSON.stringify(deps.kv.list(agentId, { prefix: args.prefix, limit, cursor: args.cursor ?? undefined })) };
          }
          case "fetch": {
            if (++fetches > limits.fetchPerCall) throw new Error(`fetch: at most ${limits.fetchPerCall} outbound requests per call`);
            const r = await deps.egress(config, limits, args as EgressRequest, bytes);
            return { json: JSON.stringify(r.meta), bytes: r.bytes };
          }
          default:
            if (op.startsWith("web.")) return webCall(op, args, bytes);
            throw new Error(`unknown host operation ${op}`);
        }
      },
    };
  };
}
