/**
 * Example backend: calls an outside API through ctx.fetch with a secret injected by the
 * egress proxy (`{{secret:WEATHER_KEY}}` in a header — the value never enters the sandbox),
 * caches answers in kv, and refreshes the cache on a schedule.
 */
import { defineBackend, HttpError, route, t } from "cantrip";

const API = "https://api.weather.example";

async function lookup(city: string, ctx: { fetch: typeof fetch; secrets: { ref(n: string): string }; env: Record<string, string> }) {
  const base = ctx.env.WEATHER_API ?? API;
  const res = await ctx.fetch(`${base}/v1/current?city=${encodeURIComponent(city)}`, {
    headers: { authorization: `Bearer ${ctx.secrets.ref("WEATHER_KEY")}` },
  });
  if (!res.ok) throw new HttpError(502, `weather API answered ${res.status}`, { code: "upstream_failed" });
  const data = (await res.json()) as { tempC: number };
  return { city, tempC: data.tempC, fetchedAt: new Date().toISOString() };
}

export default defineBackend({
  routes: {
    "POST /": route({
      summary: "Current temperature for a city (cached for 10 minutes)",
      input: t.Object({ city: t.String({ minLength: 1 }) }),
      output: t.Object({ city: t.String(), tempC: t.Number(), fetchedAt: t.String({ format: "date-time" }), cached: t.Boolean() }),
      handle: async ({ city }, ctx) => {
        const hit = await ctx.kv.get<{ city: string; tempC: number; fetchedAt: string }>(`city:${city}`);
        if (hit && Date.now() - Date.parse(hit.fetchedAt) < 10 * 60_000) return { ...hit, cached: true };
        const fresh = await lookup(city, ctx);
        await ctx.kv.set(`city:${city}`, fresh);
        return { ...fresh, cached: false };
      },
    }),
  },
  scheduled: async (ctx) => {
    const { keys } = await ctx.kv.list({ prefix: "city:" });
    for (const k of keys) await ctx.kv.set(k, await lookup(k.slice(5), ctx));
    ctx.log(`refreshed ${keys.length} cities`);
  },
});
