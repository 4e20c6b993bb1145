/**
 * The shared sandbox contract suite against the V8 engine (isolated-vm in Node >= 24
 * sidecars). Skipped, with the reason printed, only when no Node >= 24 with isolated-vm
 * is found (CANTRIP_NODE, PATH, or .tools/v8 as installed by scripts/ci-prepare.sh).
 */
import { describe, test } from "bun:test";
import { probeV8, v8Engine } from "../../src/runtime/v8";
import { runContract } from "./contract";

const probe = probeV8({ node: process.env.CANTRIP_NODE || undefined });
if (probe.ok) runContract("v8", v8Engine({ node: probe.runtime.node }), { iterativeJsonParse: true });
else {
  console.warn(`[v8 contract] SKIPPED: ${probe.error}`);
  describe("sandbox contract: v8", () => test.skip(`skipped: ${probe.error}`, () => {}));
}
