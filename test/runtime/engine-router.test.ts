/**
 * Per-agent engine selection: a bundle whose config names an engine runs there; an engine
 * that cannot start fails that agent's loads with a clear load_failed while the default
 * engine keeps serving; the v8 route runs real V8 when Node >= 24 + isolated-vm exist.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { engineRouter, probeV8, quickjsEngine, v8Engine } from "../../src/runtime";
import { bundle, json, makeHarness, req } from "./harness";

const SRC = `import { defineBackend } from "cantrip"; export default defineBackend({ routes: { "GET /": () => ({ v8: typeof Error.captureStackTrace === "function" }) } });`;
const broken = () => {
  throw new Error("Node 24 not found (test)");
};

describe("engine router", () => {
  const H = makeHarness(engineRouter("quickjs", { quickjs: quickjsEngine, v8: broken }));
  afterAll(() => H.close());

  test("unavailable engine: clear load_failed for that agent, default engine unaffected", async () => {
    const code = await bundle(SRC);
    const ref = H.ref("wants-v8", code);
    const err = await H.runtime.check({ ...ref, config: { ...ref.config, engine: "v8" } }).catch((e) => e);
    expect(err.code).toBe("endpoint_unreachable");
    expect(err.details.reason).toBe("load_failed");
    expect(err.message).toContain("v8 sandbox engine is not available on this server: Node 24 not found");
    expect(json(await H.runtime.fetch(H.ref("plain", code), req("GET", "/")))).toEqual({ v8: false });
  });

  const probe = probeV8({ node: process.env.CANTRIP_NODE || undefined });
  test.skipIf(!probe.ok)(`per-agent v8 runs in V8${probe.ok ? "" : ` (skipped: ${probe.error})`}`, async () => {
    const R = makeHarness(engineRouter("quickjs", { quickjs: quickjsEngine, v8: v8Engine() }));
    try {
      const code = await bundle(SRC);
      const ref = R.ref("v8-agent", code);
      expect(json(await R.runtime.fetch({ ...ref, config: { ...ref.config, engine: "v8" } }, req("GET", "/")))).toEqual({ v8: true });
      expect(json(await R.runtime.fetch(R.ref("qjs-agent", code), req("GET", "/")))).toEqual({ v8: false });
    } finally {
      await R.close();
    }
  });
});
