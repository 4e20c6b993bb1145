/**
 * Guest sources used by the contract suite: a bystander (another agent that must keep
 * working), a capabilities backend and an "eval" backend that runs a test's snippet as an
 * async function body (so each limit test is one line of guest code).
 */
export const BYSTANDER = `
import { defineBackend, t } from "cantrip";
let hits = 0;
export default defineBackend({
  routes: {
    "POST /": { input: t.Object({ n: t.Number() }), handle: async ({ n }, ctx) => {
      hits++;
      const total = ((await ctx.kv.get("total")) ?? 0) + n;
      await ctx.kv.set("total", total);
      return { double: n * 2, hits, total };
    } },
  },
});`;

export const EVAL = `
import { defineBackend, t, HttpError } from "cantrip";
export default defineBackend({
  routes: {
    "POST /eval": { input: t.Object({ code: t.String() }), handle: async ({ code }, ctx) => {
      const fn = (0, eval)("(async (ctx, HttpError) => {" + code + "\\n})");
      return { result: await fn(ctx, HttpError) };
    } },
    "GET /ok": () => ({ ok: true }),
  },
});`;

export const CAPS = `
import { defineBackend, t, HttpError } from "cantrip";
const Item = t.Object({ name: t.String({ minLength: 1 }), qty: t.Integer({ minimum: 1 }), tags: t.Optional(t.Array(t.String())) });
export default defineBackend({
  routes: {
    "GET /items/:id": {
      summary: "Get an item",
      input: t.Object({ id: t.Integer(), verbose: t.Optional(t.Boolean()) }),
      output: t.Object({ id: t.Integer(), verbose: t.Boolean() }),
      handle: async ({ id, verbose }) => {
        if (id === 404) throw new HttpError(404, "no such item", { code: "item_not_found" });
        return { id, verbose: verbose ?? false };
      },
    },
    "POST /items": { input: Item, handle: async (item, ctx) => ({ saved: item, method: ctx.request.method, env: ctx.env.REGION ?? null }) },
    "POST /boom": () => { throw new Error("kaput"); },
    "GET /raw": () => new Response("plain", { status: 201, headers: { "x-kind": "raw" } }),
    "DELETE /items/:id": () => undefined,
  },
  scheduled: async (ctx) => {
    await ctx.kv.set("cron", ((await ctx.kv.get("cron")) ?? 0) + 1);
    ctx.log("tick");
  },
});`;
