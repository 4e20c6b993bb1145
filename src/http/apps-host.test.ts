import { describe, expect, test } from "bun:test";
import { appSlugOfHost, hostRouter } from "./apps-host";
import { appOriginOf, requestIdOf, setRequestId } from "./request-context";

describe("appSlugOfHost", () => {
  test.each([
    ["shop.apps.test", "shop"],
    ["shop.apps.test:8080", "shop"],
    ["SHOP.Apps.Test", "shop"],
    ["shop.apps.test.", "shop"],
    ["apps.test", null],
    ["a.b.apps.test", null],
    ["shopapps.test", null],
    ["shop.apps.test.evil.com", null],
    ["-x.apps.test", null],
    [null, null],
  ])("%p → %p", (host, slug) => {
    expect(appSlugOfHost(host, "apps.test")).toBe(slug);
  });
  test("no domain, no host routing", () => expect(appSlugOfHost("shop.apps.test", "")).toBeNull());
});

describe("hostRouter", () => {
  test("an app's host is rewritten to /apps/{slug}/... and marked as its own origin; other hosts pass", async () => {
    const seen: Request[] = [];
    const apps = (r: Request) => (seen.push(r), new Response("app"));
    const rest = (r: Request) => (seen.push(r), new Response("platform"));
    const route = hostRouter("apps.test", apps, rest);
    const req = new Request("http://shop.apps.test:9/a/b?c=1", { method: "POST", headers: { host: "shop.apps.test:9" }, body: "x" });
    setRequestId(req, "req_1");
    expect(await (await route(req)).text()).toBe("app");
    expect(new URL(seen[0]!.url).pathname + new URL(seen[0]!.url).search).toBe("/apps/shop/a/b?c=1");
    expect(appOriginOf(seen[0]!)).toBe("own");
    expect(requestIdOf(seen[0]!)).toBe("req_1");
    expect(await seen[0]!.text()).toBe("x");
    expect(await (await route(new Request("http://127.0.0.1/", { headers: { host: "127.0.0.1:7878" } }))).text()).toBe("platform");
  });
});
