import { describe, expect, test } from "bun:test";
import { appSlugOfPath, invokeSlugOfPath, routedPath } from "./pre-router";

describe("pre-router path matching", () => {
  test("routedPath is the raw path Elysia routes on (no query, no decoding)", () => {
    expect(routedPath("http://127.0.0.1:8080/v1/invoke/a?x=/y")).toBe("/v1/invoke/a");
    expect(routedPath("http://localhost/apps/a/b%20c")).toBe("/apps/a/b%20c");
    // Elysia's quirk, kept so both paths route alike: the search for the path starts at index 11.
    expect(routedPath("http://h/apps/a/b")).toBe("/a/b");
    expect(routedPath("https://[::1]:1/")).toBe("/");
  });

  test("invoke: exactly /v1/invoke/{plain slug}; anything else is left to Elysia", () => {
    expect(invokeSlugOfPath("/v1/invoke/greeter-2")).toBe("greeter-2");
    for (const p of ["/v1/invoke/", "/v1/invoke/a/", "/v1/invoke/a/b", "/v1/invoke/%61", "/v1/invoke/a.b", "/v1/invokes/a", "/v1/agents"]) expect(invokeSlugOfPath(p)).toBeNull();
  });

  test("apps: /apps/{plain slug} and everything under it; an encoded or empty slug is left to Elysia", () => {
    expect(appSlugOfPath("/apps/greeter")).toBe("greeter");
    expect(appSlugOfPath("/apps/greeter/")).toBe("greeter");
    expect(appSlugOfPath("/apps/greeter/_mcp")).toBe("greeter");
    expect(appSlugOfPath("/apps/greeter/a/../b%2F")).toBe("greeter");
    for (const p of ["/apps/", "/apps//x", "/apps/%67reeter/", "/apps/../v1/agents", "/app/x", "/v1/invoke/x"]) expect(appSlugOfPath(p)).toBeNull();
  });
});
