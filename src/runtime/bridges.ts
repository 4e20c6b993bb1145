/**
 * Host side of ctx.kv and ctx.fetch: turns a guest's host call (op + JSON args) into a
 * KvStore or egress call for that agent, with per-call counters. Errors become rejected
 * promises in the guest, carrying the message.
 */
import type { CallBridge } from "./engine";
import type { AgentRuntimeConfig, KvStore } from "./types";
import type { createEgress, EgressRequest } from "./egress";
import type { ScratchWorlds } from "./scratch";

const MAX_KEY = 512;

function key(args: { key?: unknown }): string {
  const k = args.key;
  if (typeof k !== "string" || k.length === 0 || k.length > MAX_KEY) throw new Error(`kv: key must be a non-empty string of at most ${MAX_KEY} characters`);
  return k;
}

export function makeBridgeFactory(deps: { kv: KvStore; egress: ReturnType<typeof createEgress>; scratch?: ScratchWorlds }) {
  return (config: AgentRuntimeConfig) => (): CallBridge => {
    let fetches = 0;
    const { agentId, limits } = config;
    // A scratch run's kv is its world's namespace, never the agent's table (see scratch.ts).
    const worldOf = () => {
      if (!config.scratch) return null;
      const w = deps.scratch?.get(config.scratch.namespace);
      if (!w) throw new Error(`scratch world ${config.scratch.namespace} is not open`);
      return w;
    };
    const store = { get kv() { return worldOf()?.kv ?? deps.kv; } };
    return {
      async call(op, argsJson, bytes) {
        const args = JSON.parse(argsJson || "null") ?? {};
        switch (op) {
          case "kv.get": {
            const v = store.kv.get(agentId, key(args));
            return { json: v === undefined ? "" : JSON.stringify(v) };
          }
          case "kv.set":
            store.kv.set(agentId, key(args), args.value, limits);
            return { json: "" };
          case "kv.delete":
            return { json: JSON.stringify(store.kv.delete(agentId, key(args))) };
          case "kv.list": {
            const limit = Math.min(1000, Math.max(1, Number(args.limit) || 100));
            return { json: JSON.stringify(store.kv.list(agentId, { prefix: args.prefix, limit, cursor: args.cursor ?? undefined })) };
          }
          case "fetch": {
            if (++fetches > limits.fetchPerCall) throw new Error(`fetch: at most ${limits.fetchPerCall} outbound requests per call`);
            const world = worldOf();
            const r = await deps.egress(config, limits, args as EgressRequest, bytes).catch((e: Error) => {
              // A refusal inside a scratch world is the environment's, and the report says so.
              if (world && !(e as { scratchRecorded?: boolean }).scratchRecorded) world.refused(args as EgressRequest, e.message.replace(/^fetch: /, ""));
              throw e;
            });
            return { json: JSON.stringify(r.meta), bytes: r.bytes };
          }
          default:
            throw new Error(`unknown host operation ${op}`);
        }
      },
    };
  };
}
