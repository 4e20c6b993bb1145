/**
 * Contract: ctx.fetch / fetch through the egress proxy — declared hosts only, resolved
 * addresses checked (loopback, private, link-local, metadata, a name resolving to
 * loopback), operator allow-list, secret injection per host, size and time limits.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { bundle, json, req, type Harness } from "../harness";
import { EVAL } from "./fixtures";

export const ALLOWED = "api.allowed.test";
/** Egress options for the suite: ALLOWED is operator-allow-listed; rebind.evil.test maps to loopback. */
export const egressOptions = {
  allowHosts: [ALLOWED],
  lookup: async (host: string) => (host === ALLOWED || host === "rebind.evil.test" ? ["127.0.0.1"] : (await import("node:dns/promises")).lookup(host, { all: true }).then((a) => a.map((x) => x.address))),
};

export function egressTests(h: () => Harness) {
  let server: ReturnType<typeof Bun.serve>;
  let base = "";
  beforeAll(() => {
    server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      async fetch(r) {
        const u = new URL(r.url);
        if (u.pathname === "/big") return new Response("x".repeat(3 * 1024 * 1024));
        if (u.pathname === "/slow") return new Promise((res) => setTimeout(() => res(new Response("late")), 1500));
        if (u.pathname === "/redirect") return new Response(null, { status: 302, headers: { location: "http://169.254.169.254/latest" } });
        return Response.json({ method: r.method, auth: r.headers.get("authorization"), host: r.headers.get("host"), body: await r.text() });
      },
    });
    base = `http://${ALLOWED}:${server.port}`;
  });
  afterAll(() => server.stop(true));

  const run = async (H: Harness, code: string, o: Parameters<Harness["ref"]>[2] = {}) => {
    const ref = H.ref("egress", await bundle(EVAL), { allowedHosts: [ALLOWED, "localhost", "127.0.0.1", "169.254.169.254", "10.1.2.3", "rebind.evil.test", "[::1]", "::1"], ...o });
    return json(await H.runtime.fetch(ref, req("POST", "/eval", { code: `const base = ${JSON.stringify(base)}; const port = ${server.port};\n${code}` })));
  };
  const attempt = (url: string) => `try { const r = await fetch(${url}); return "reached " + r.status; } catch (e) { return e.message; }`;

  describe("egress", () => {
    test("declared host: method, body, headers; secrets injected for approved hosts only", async () => {
      const H = h();
      H.secrets.set("egress/CRM_TOKEN", "s3cr3t");
      H.secrets.set("egress/OTHER", "nope");
      const secrets = [{ name: "CRM_TOKEN", hosts: [ALLOWED] }, { name: "OTHER", hosts: ["elsewhere.test"] }];
      const r = await run(H, `const r = await ctx.fetch(base + "/echo", { method: "POST", headers: { authorization: "Bearer " + ctx.secrets.ref("CRM_TOKEN") }, body: "hi" });
        return { status: r.status, data: await r.json(), names: ctx.secrets.names() };`, { secrets });
      expect(r.result).toEqual({ status: 200, data: { method: "POST", auth: "Bearer s3cr3t", host: `${ALLOWED}:${server.port}`, body: "hi" }, names: ["CRM_TOKEN", "OTHER"] });
      const denied = await run(H, `try { await fetch(base + "/echo", { headers: { authorization: "{{secret:OTHER}}" } }); return "sent"; } catch (e) { return e.message; }`, { secrets });
      expect(denied.result).toContain("secret OTHER is not approved for host api.allowed.test");
      const ungranted = await run(H, `try { await fetch(base + "/echo", { headers: { "x-k": "{{secret:MISSING}}" } }); return "sent"; } catch (e) { return e.message; }`, { secrets });
      expect(ungranted.result).toContain("not granted");
    });

    test("undeclared host is refused", async () => {
      const r = await run(h(), attempt(`"http://undeclared.example.com/"`));
      expect(r.result).toContain("not in this agent's allowed hosts");
    });

    test.each([
      ["127.0.0.1", "`http://127.0.0.1:${port}/echo`"],
      ["169.254.169.254 (metadata)", '"http://169.254.169.254/latest/meta-data/"'],
      ["10.x", '"http://10.1.2.3/"'],
      ["localhost", "`http://localhost:${port}/echo`"],
      ["a name mapped to 127.0.0.1", "`http://rebind.evil.test:${port}/echo`"],
      ["::1", "`http://[::1]:${port}/echo`"],
    ])("private address refused: %s", async (_name, url) => {
      const r = await run(h(), attempt(url));
      expect(r.result).toMatch(/loopback, private, link-local or reserved|cannot resolve/);
      expect(r.result).not.toContain("reached");
    });

    test("response size and time limits; redirects are returned, not followed", async () => {
      const H = h();
      expect((await run(H, attempt(`base + "/big"`), { limits: { fetchMaxBytes: 1024 * 1024 } })).result).toContain("exceeds the limit");
      expect((await run(H, attempt(`base + "/slow"`), { limits: { fetchTimeoutMs: 200 } })).result).toContain("did not answer within 200 ms");
      const red = await run(H, `const r = await fetch(base + "/redirect"); return [r.status, r.headers.get("location")];`);
      expect(red.result).toEqual([302, "http://169.254.169.254/latest"]);
      expect((await run(H, `let n = 0; try { for (;;) { await fetch(base + "/echo"); n++; } } catch (e) { return [n, e.message]; }`, { limits: { fetchPerCall: 3 } })).result).toEqual([3, "fetch: at most 3 outbound requests per call"]);
    });
  });
}
