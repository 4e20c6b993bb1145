import { describe, expect, test } from "bun:test";
import { callTargets, curlLine, firstCall, sampleOf, samplePath } from "./first-call";

const B = "http://h:1";

describe("firstCall", () => {
  test("POST / goes through /v1/invoke with the plan's POST / example body", () => {
    const c = firstCall(B, "lead", [{ method: "POST", path: "/" }], [{ request: { method: "POST", path: "/", body: { name: "Ada" } } }]);
    expect(c).toEqual({ method: "POST", url: `${B}/v1/invoke/lead`, body: { name: "Ada" }, via: "invoke" });
    expect(curlLine(c, "K")).toBe(`curl -X POST '${B}/v1/invoke/lead' -H 'Authorization: Bearer K' -H 'Content-Type: application/json' -d '{"name":"Ada"}'`);
  });

  test("without POST /: the first POST route without params, body from its input schema", () => {
    const routes = [
      { method: "GET", path: "/todos/:id" },
      { method: "POST", path: "/todos", input: { type: "object", required: ["title", "n"], properties: { title: { type: "string", minLength: 1 }, n: { type: "integer", minimum: 3 }, opt: { type: "string" } } } },
    ];
    expect(firstCall(B, "todo", routes)).toEqual({ method: "POST", url: `${B}/apps/todo/todos`, body: { title: "example", n: 3 }, via: "app" });
  });

  test("a GET route's input becomes the query; examples that quote earlier responses are skipped", () => {
    const routes = [{ method: "GET", path: "/weather", input: { type: "object", required: ["city"], properties: { city: { type: "string", enum: ["Oslo"] } } } }];
    expect(firstCall(B, "w", routes, [{ request: { method: "GET", path: "/weather?city={{examples.a.body.x}}" } }])).toEqual({ method: "GET", url: `${B}/apps/w/weather?city=Oslo`, via: "app" });
    expect(firstCall(B, "w", routes, [{ request: { method: "GET", path: "/weather?city=Bergen" } }]).url).toBe(`${B}/apps/w/weather?city=Bergen`);
    expect(curlLine(firstCall(B, "w", routes), "K")).toBe(`curl '${B}/apps/w/weather?city=Oslo' -H 'Authorization: Bearer K'`);
  });

  test("single quotes in a body are shell-quoted", () => {
    expect(curlLine({ method: "POST", url: "u", body: { s: "it's" }, via: "app" }, "K")).toContain(`-d '{"s":"it'\\''s"}'`);
  });

  test("sampleOf covers formats, enums, arrays, nullable unions", () => {
    expect(sampleOf({ type: "object", required: ["e", "l", "u", "b"], properties: { e: { type: "string", format: "email" }, l: { type: "array" }, u: { anyOf: [{ type: "null" }, { type: "number" }] }, b: { type: "boolean" } } })).toEqual({ e: "ada@example.com", l: [], u: 1, b: false });
  });
});

describe("callTargets", () => {
  test("invoke first when the backend has POST /, then every route through its app URL", () => {
    const routes = [
      { method: "post", path: "/" },
      { method: "GET", path: "/items/:id" },
    ];
    expect(callTargets(routes)).toEqual([
      { method: "POST", route: "/", via: "invoke" },
      { method: "POST", route: "/", via: "app" },
      { method: "GET", route: "/items/:id", via: "app" },
    ]);
    expect(callTargets([{ method: "GET", path: "/ping" }])).toEqual([{ method: "GET", route: "/ping", via: "app" }]);
    expect(samplePath("/items/:id/tags/:tag")).toBe("/items/id/tags/tag");
  });
});

test("sampleOf: a backend's huge minLength gives a sample of at most 1024 characters, not a gigabyte", () => {
  expect(sampleOf({ type: "string", minLength: 1e9 })).toHaveLength(1024);
  expect(sampleOf({ type: "string", minLength: 12 })).toBe("examplexxxxx");
});
