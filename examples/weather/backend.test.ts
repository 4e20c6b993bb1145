import { afterAll, expect, test } from "bun:test";
import * as esbuild from "esbuild";
import { join } from "node:path";
import { quickjsEngine } from "../../src/runtime";
import { json, makeHarness, req } from "../../test/runtime/harness";

// A fake weather API on loopback, reachable only because the operator allow-lists its name.
let seenAuth: string | null = null;
const api = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  fetch(r) {
    seenAuth = r.headers.get("authorization");
    return Response.json({ tempC: new URL(r.url).searchParams.get("city") === "Oslo" ? -3 : 21 });
  },
});
const H = makeHarness(quickjsEngine, { allowHosts: ["api.weather.test"], lookup: async () => ["127.0.0.1"] });
afterAll(async () => {
  await H.close();
  api.stop(true);
});

test("weather example: secret injected by the proxy, kv cache, scheduled refresh", async () => {
  const out = await esbuild.build({ entryPoints: [join(import.meta.dir, "backend.ts")], bundle: true, format: "esm", platform: "neutral", target: "es2023", external: ["cantrip"], write: false });
  H.secrets.set("weather/WEATHER_KEY", "wk-123");
  const ref = H.ref("weather", out.outputFiles[0]!.text, {
    allowedHosts: ["api.weather.test"],
    // plain http on a test port: the grant names scheme and port (a bare host means https:443)
    secrets: [{ name: "WEATHER_KEY", hosts: [`http://api.weather.test:${api.port}`] }],
    env: { WEATHER_API: `http://api.weather.test:${api.port}` },
  });
  const first = json(await H.runtime.fetch(ref, req("POST", "/", { city: "Oslo" })));
  expect(first).toMatchObject({ city: "Oslo", tempC: -3, cached: false });
  expect(seenAuth).toBe("Bearer wk-123");
  expect(json(await H.runtime.fetch(ref, req("POST", "/", { city: "Oslo" }))).cached).toBe(true);
  const s = await H.runtime.scheduled(ref);
  expect(s.ok).toBe(true);
  expect(s.logs.map((l) => l.message)).toContain("refreshed 1 cities");
});
