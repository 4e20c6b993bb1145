import { afterAll, expect, test } from "bun:test";
import * as esbuild from "esbuild";
import { join } from "node:path";
import { quickjsEngine } from "../../src/runtime";
import { json, makeHarness, req } from "../../test/runtime/harness";

const H = makeHarness(quickjsEngine);
afterAll(() => H.close());

async function load() {
  const out = await esbuild.build({ entryPoints: [join(import.meta.dir, "backend.ts")], bundle: true, format: "esm", platform: "neutral", target: "es2023", external: ["cantrip"], write: false });
  return H.ref("todo-example", out.outputFiles[0]!.text);
}

test("todo example: create, list, update, delete, validation and 404", async () => {
  const ref = await load();
  const d = await H.runtime.check(ref);
  expect(d.routes.map((r) => `${r.method} ${r.path}`)).toEqual(["POST /todos", "GET /todos", "PATCH /todos/:id", "DELETE /todos/:id"]);
  const call = (m: string, p: string, b?: unknown) => H.runtime.fetch(ref, req(m, p, b));
  const a = json(await call("POST", "/todos", { title: "write tests" }));
  expect(a).toMatchObject({ title: "write tests", done: false });
  await call("POST", "/todos", { title: "ship" });
  expect(json(await call("PATCH", `/todos/${a.id}`, { done: true })).done).toBe(true);
  expect(json(await call("GET", "/todos?done=true")).items.map((i: { title: string }) => i.title)).toEqual(["write tests"]);
  expect(json(await call("GET", "/todos")).items).toHaveLength(2);
  expect((await call("DELETE", `/todos/${a.id}`)).status).toBe(204);
  expect((await call("DELETE", `/todos/${a.id}`)).status).toBe(404);
  const bad = await call("POST", "/todos", { title: "", extra: 1 });
  expect(bad.status).toBe(400);
  expect(json(bad).error.details.map((i: { field: string }) => i.field).sort()).toEqual(["extra", "title"]);
});
