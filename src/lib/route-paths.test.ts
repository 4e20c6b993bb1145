import { expect, test } from "bun:test";
import { compileRoutes, matchRoute } from "../../sandbox/sdk/router";
import { routePathMatches } from "./route-paths";

test("routePathMatches agrees with the guest router on every pattern/path pair of a grid", () => {
  const patterns = ["/", "/todos", "/todos/", "/todos/:id", "/todos/:id/done", "/:a/:b", "/x:id", "/:a:b", "/a.b", "/(a*)*b", "/todos/:id/"];
  const paths = ["/", "//", "/todos", "/todos/", "/todos//", "/todos/1", "/todos/1/", "/todos/1/done", "/todos//done", "/x1", "/x:id", "/a.b", "/axb", "/q/r", "/q/r/", "/(a*)*b", "/aaa"];
  for (const p of patterns) {
    const [route] = compileRoutes({ [`GET ${p}`]: () => null });
    for (const path of paths) {
      const guest = matchRoute([route!], "GET", path).route !== undefined;
      expect({ p, path, m: routePathMatches(route!.path, path) }).toEqual({ p, path, m: guest });
      expect(routePathMatches(route!.path, path + "?q=1")).toBe(guest);
    }
  }
});

test("routePathMatches is linear on hostile route paths (no backtracking)", () => {
  const t = performance.now();
  expect(routePathMatches("/(a*)*b", "/" + "a".repeat(5000))).toBe(false);
  expect(routePathMatches("/" + ":a".repeat(500), "/" + "x".repeat(100_000) + "/")).toBe(true);
  expect(routePathMatches("/" + ":a".repeat(500) + "/z", "/" + "x".repeat(100_000) + "/y")).toBe(false);
  expect(performance.now() - t).toBeLessThan(100);
});
