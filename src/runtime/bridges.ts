/**
 * Host side of ctx.kv and ctx.fetch: turns a guest's host call (op + JSON args), once
 * host-calls.ts has made it a typed HostCall, into a KvStore or egress call for that
 * agent, with per-call counters. A scratch run's kv is its world's namespace, never the
 * agent's table (see scratch.ts). Errors become rejected promises in the guest, carrying
 * the message.
 */
import type { CallBridge } from "./engine";
import type { AgentRuntimeConfig, KvStore } from "./types";
import type { createEgress } from "./egress";
import { parseHostCall } from "./host-calls";
import { subtleCall } from "./web-crypto";

/** crypto.subtle work per guest call runs on host CPU: at most this many operations, and of them this many RSA key generations (the costly kind). */
const MAX_SUBTLE_OPS = 2000;
const MAX_RSA_KEYGENS = 4;

const isRsaKeygen = (method: string, args: unknown[]) => {
  const a = args[0] as { name?: unknown } | string | undefined;
  return method === "generateKey" && /^RSA/i.test(String(typeof a === "object" && a !== null ? a.name : a));
};
import type { ScratchWorlds } from "./scratch";

export function makeBridgeFactory(deps: { kv: KvStore; egress: ReturnType<typeof createEgress>; scratch?: ScratchWorlds }) {
  return (config: AgentRuntimeConfig) => (): CallBridge => {
    let fetches = 0;
    let subtleOps = 0;
    let rsaKeygens = 0;
    const { agentId, limits } = config;
    const worldOf = () => {
      if (!config.scratch) return null;
      const w = deps.scratch?.get(config.scratch.namespace);
      if (!w) throw new Error(`scratch world ${config.scratch.namespace} is not open`);
      return w;
    };
    const kv = (): KvStore => worldOf()?.kv ?? deps.kv;
    return {
      async call(op, argsJson, bytes) {
        const c = parseHostCall(op, argsJson, bytes, limits);
        switch (c.op) {
          case "kv.get": {
            const v = await kv().get(agentId, c.key);
            return { json: v === undefined ? "" : JSON.stringify(v) };
          }
          case "kv.set":
            await kv().set(agentId, c.key, c.value, limits);
            return { json: "" };
          case "kv.delete":
            return { json: JSON.stringify(await kv().delete(agentId, c.key)) };
          case "kv.list":
            return { json: JSON.stringify(await kv().list(agentId, { prefix: c.prefix, limit: c.limit, cursor: c.cursor })) };
          case "fetch": {
            if (++fetches > limits.fetchPerCall) throw new Error(`fetch: at most ${limits.fetchPerCall} outbound requests per call`);
            const world = worldOf();
            const r = await deps.egress(config, limits, c.request, c.body).catch((e: Error) => {
              // A refusal inside a scratch world is the environment's, and the report says so.
              if (world && !(e as { scratchRecorded?: boolean }).scratchRecorded) world.refused(c.request, e.message.replace(/^fetch: /, ""));
              throw e;
            });
            return { json: JSON.stringify(r.meta), bytes: r.bytes };
          }
          case "web.subtle":
            if (++subtleOps > MAX_SUBTLE_OPS) throw new Error(`crypto.subtle: at most ${MAX_SUBTLE_OPS} operations per call`);
            if (isRsaKeygen(c.method, c.args) && ++rsaKeygens > MAX_RSA_KEYGENS) throw new Error(`crypto.subtle: at most ${MAX_RSA_KEYGENS} RSA key generations per call`);
            return subtleCall(c.method, c.args, c.data);
        }
      },
    };
  };
}
