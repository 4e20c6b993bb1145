/**
 * Example backend: a small todo list stored in ctx.kv. Shows routes with :params, input
 * schemas (body and query), HttpError, and kv listing with a prefix.
 */
import { defineBackend, HttpError, route, t } from "cantrip";

const Todo = t.Object({ id: t.String(), title: t.String(), done: t.Boolean() });

export default defineBackend({
  routes: {
    "POST /todos": route({
      summary: "Create a todo",
      input: t.Object({ title: t.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }),
      output: Todo,
      handle: async ({ title }, ctx) => {
        const todo = { id: crypto.randomUUID(), title, done: false };
        await ctx.kv.set(`todo:${todo.id}`, todo);
        ctx.log.info("created", todo.id);
        return todo;
      },
    }),
    "GET /todos": route({
      summary: "List todos",
      input: t.Object({ done: t.Optional(t.Boolean()) }),
      output: t.Object({ items: t.Array(Todo) }),
      handle: async ({ done }, ctx) => {
        const { keys } = await ctx.kv.list({ prefix: "todo:", limit: 100 });
        const items = (await Promise.all(keys.map((k) => ctx.kv.get<{ id: string; title: string; done: boolean }>(k)))).filter((x) => x !== undefined);
        return { items: done === undefined ? items : items.filter((i) => i.done === done) };
      },
    }),
    "PATCH /todos/:id": route({
      summary: "Mark a todo done or not done",
      input: t.Object({ id: t.String(), done: t.Boolean() }),
      output: Todo,
      handle: async ({ id, done }, ctx) => {
        const todo = await ctx.kv.get<{ id: string; title: string; done: boolean }>(`todo:${id}`);
        if (!todo) throw new HttpError(404, `No todo ${id}`, { code: "todo_not_found" });
        const next = { ...todo, done };
        await ctx.kv.set(`todo:${id}`, next);
        return next;
      },
    }),
    "DELETE /todos/:id": route({
      input: t.Object({ id: t.String() }),
      handle: async ({ id }, ctx) => {
        if (!(await ctx.kv.delete(`todo:${id}`))) throw new HttpError(404, `No todo ${id}`, { code: "todo_not_found" });
      },
    }),
  },
});
