/**
 * Contract: ctx.fetch / fetch through the egress proxy — declared hosts only, resolved
 * addresses checked (loopback, private, link-local, metadata, a name resolving to
 * loopback), operator allow-list, secret injection per host, size and time limits.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { bundle, json, req, type Harness } from "../harness";
import { EVAL } from "./fixtures";

export const ALLOWED = "api.allowed.test";
/** The checked address of the DNS-rebinding cases: loopback, let through by the operator allow-list. */
export const CHECKED_ADDRESS = "127.0.0.2";
/** Names the suite's resolver maps to IPv6 forms that carry 127.0.0.1 (and other refused blocks). */
export const EMBEDDED: Record<string, string> = {
  "compat.evil.test": "::7f00:1",
  "siit.evil.test": "::ffff:0:7f00:1",
  "mapped.evil.test": "::ffff:7f00:1",
  "sixtofour.evil.test": "2002:7f00:1::1",
  "teredo.evil.test": "2001:0:4136:e378:8000:63bf:80ff:fffe",
  "nat64.evil.test": "64:ff9b::7f00:1",
  "sitelocal.evil.test": "fec0::1",
  "discard.evil.test": "100::1",
};
/** Resolver calls per name (the rebinding cases count them). */
export const lookups = new Map<string, number>();
/**
 * Egress options for the suite: ALLOWED and CHECKED_ADDRESS are operator-allow-listed;
 * rebind.evil.test maps to loopback; *.localhost names map to CHECKED_ADDRESS on the first
 * lookup and to 127.0.0.1 afterwards (fetch's own resolver maps them to 127.0.0.1 too);
 * the test certificate is trusted.
 */
export const egressOptions = {
  allowHosts: [ALLOWED, CHECKED_ADDRESS],
  ca: [readFileSync(join(import.meta.dir, "../../fixtures/tls/egress-test.cert.pem"), "utf8")],
  lookup: async (host: string) => {
    const n = (lookups.get(host) ?? 0) + 1;
    lookups.set(host, n);
    if (host.endsWith(".localhost")) return [n === 1 ? CHECKED_ADDRESS : "127.0.0.1"];
    if (EMBEDDED[host]) return [EMBEDDED[host]];
    return host === ALLOWED || host === "rebind.evil.test" ? ["127.0.0.1"] : (await import("node:dns/promises")).lookup(host, { all: true }).then((a) => a.map((x) => x.address));
  },
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
      // plain http to a port other than 80: the grant must name the scheme and the port
      const secrets = [{ name: "CRM_TOKEN", hosts: [`http://${ALLOWED}:${server.port}`] }, { name: "OTHER", hosts: ["elsewhere.test"] }];
      const r = await run(H, `const r = await ctx.fetch(base + "/echo", { method: "POST", headers: { authorization: "Bearer " + ctx.secrets.ref("CRM_TOKEN") }, body: "hi" });
        return { status: r.status, data: await r.json(), names: ctx.secrets.names() };`, { secrets });
      expect(r.result).toEqual({ status: 200, data: { method: "POST", auth: "Bearer s3cr3t", host: `${ALLOWED}:${server.port}`, body: "hi" }, names: ["CRM_TOKEN", "OTHER"] });
      const denied = await run(H, `try { await fetch(base + "/echo", { headers: { authorization: "{{secret:OTHER}}" } }); return "sent"; } catch (e) { return e.message; }`, { secrets });
      expect(denied.result).toContain(`secret OTHER is not approved for http://api.allowed.test:${server.port}`);
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
