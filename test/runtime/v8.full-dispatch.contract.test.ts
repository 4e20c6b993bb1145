/**
 * The sandbox contract suite against the V8 engine with the guest always called through the
 * full path (AgentRuntimeConfig.dispatch "full"), beside v8.contract.test.ts's lean calling
 * convention (issue 15). Skipped, with the reason printed, when no Node >= 24 with isolated-vm is found.
 */
import { describe, test } from "bun:test";
import { probeV8, v8Engine } from "../../src/runtime/v8";
import { runContract } from "./contract";

const probe = probeV8({ node: process.env.CANTRIP_NODE || undefined });
if (probe.ok) runContract("v8", v8Engine({ node: probe.runtime.node }), { iterativeJsonParse: true }, { dispatch: "full" });
else {
  console.warn(`[v8 full-dispatch contract] SKIPPED: ${probe.error}`);
  describe("sandbox contract: v8 (dispatch: full)", () => test.skip(`skipped: ${probe.error}`, () => {}));
}
