import { deployTrivial, startCantrip } from "../bench/lib/cantrip-process";
const LIGHT = `import { defineBackend, t } from "cantrip";
export default defineBackend({ routes: { "POST /": { input: t.Object({ n: t.Number() }), handle: async ({ n }, ctx) => { const seen = ((await ctx.kv.get("seen")) ?? 0) + 1; await ctx.kv.set("seen", seen); return { double: n * 2, seen }; } } } });`;
const HEAVY = `import { defineBackend, t } from "cantrip";
export default defineBackend({ routes: { "POST /": { input: t.Object({ ms: t.Number() }), handle: ({ ms }) => { const t0 = Date.now(); let n = 0; while (Date.now() - t0 < ms) n++; return { n }; } } } });`;
const c = await startCantrip();
try {
  const light = await deployTrivial(c, "light one", LIGHT);
  const heavy = await deployTrivial(c, "heavy one", HEAVY);
  const call = async (slug: string, key: string, body: unknown) => { const t0 = performance.now(); const r = await fetch(`${c.url}/v1/invoke/${slug}`, { method: "POST", body: JSON.stringify(body), headers: { authorization: `Bearer ${key}`, "content-type": "application/json" } }); await r.text(); return [r.status, performance.now() - t0] as const; };
  for (let i = 0; i < 5; i++) console.log("quiet", await call(light.slug, light.key, { n: 1 }));
  let stop = false;
  const hogs = Array.from({ length: 48 }, async () => { while (!stop) { const [s] = await call(heavy.slug, heavy.key, { ms: 950 }); if (s !== 200) await Bun.sleep(100); } });
  await Bun.sleep(2000);
  for (let i = 0; i < 5; i++) console.log("noisy fetch", await call(light.slug, light.key, { n: 1 }));
  for (let i = 0; i < 3; i++) { const p = Bun.spawnSync(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{time_total}", "-X", "POST", "-H", `authorization: Bearer ${light.key}`, "-H", "content-type: application/json", "-d", '{"n":1}', `${c.url}/v1/invoke/${light.slug}`]); console.log("noisy curl", p.stdout.toString()); }
  stop = true; await Promise.all(hogs);
} finally { await c.stop(); }
