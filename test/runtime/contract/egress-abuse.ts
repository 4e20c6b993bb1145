/**
 * Contract: egress abuse cases (issue 13 §7), through the guest's fetch on each engine.
 * - A credential granted for a bare host never leaves over plain http or to another port;
 *   a grant naming scheme and port is honoured (http and https).
 * - DNS rebinding: the connection goes to the address that was checked, for http and for
 *   https (certificate verified for the name), never to a second resolution of the name.
 *   Two servers share a port: the checked one on 127.0.0.2 (operator allow-listed) and
 *   the "rebound" one on 127.0.0.1, where fetch's own resolver sends *.localhost.
 * - IPv6 forms that carry a loopback IPv4 address, site-local and discard addresses are
 *   refused, as DNS answers and as literals.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { bundle, json, req, type Harness } from "../harness";
import { ALLOWED, CHECKED_ADDRESS, EMBEDDED, lookups } from "./egress";
import { EVAL } from "./fixtures";

const tls = {
  key: readFileSync(join(import.meta.dir, "../../fixtures/tls/egress-test.key.pem"), "utf8"),
  cert: readFileSync(join(import.meta.dir, "../../fixtures/tls/egress-test.cert.pem"), "utf8"),
};

type Server = ReturnType<typeof Bun.serve>;

/** A "checked" server on CHECKED_ADDRESS and a "rebound" one on 127.0.0.1, on one port. */
function servePair(withTls: boolean, seen: string[]): { port: number; stop(): void } {
  const make = (name: string, hostname: string, port: number): Server =>
    Bun.serve({
      port,
      hostname,
      ...(withTls ? { tls } : {}),
      fetch(r) {
        const auth = r.headers.get("authorization");
        if (auth) seen.push(auth);
        return Response.json({ server: name, host: r.headers.get("host"), auth });
      },
    });
  for (let attempt = 0; ; attempt++) {
    const rebound = make("rebound", "127.0.0.1", 0);
    try {
      const checked = make("checked", CHECKED_ADDRESS, rebound.port!);
      return { port: rebound.port!, stop: () => (rebound.stop(true), checked.stop(true)) };
    } catch (e) {
      rebound.stop(true);
      if (attempt >= 5) throw e;
    }
  }
}

export function egressAbuseTests(h: () => Harness) {
  const seen: string[] = [];
  let plain: { port: number; stop(): void };
  let secure: { port: number; stop(): void };
  beforeAll(() => {
    plain = servePair(false, seen);
    secure = servePair(true, seen);
  });
  afterAll(() => (plain.stop(), secure.stop()));

  const run = async (H: Harness, code: string, o: Parameters<Harness["ref"]>[2] = {}) => {
    const ref = H.ref("egress-abuse", await bundle(EVAL), { bundleId: `egress-abuse-${JSON.stringify(o)}`, allowedHosts: [ALLOWED, "*.localhost", "*.evil.test"], ...o });
    const prefix = `const plain = ${plain.port}, secure = ${secure.port};\n`;
    return json(await H.runtime.fetch(ref, req("POST", "/eval", { code: prefix + code }))).result;
  };
  const send = (url: string, header = "") =>
    `try { const r = await fetch(${url}${header ? `, { headers: { authorization: ${header} } }` : ""}); return await r.json(); } catch (e) { return e.message; }`;

  describe("egress abuse: secrets go only where the grant says", () => {
    test("a bare-host grant is not injected over http or to another https port", async () => {
      const H = h();
      H.secrets.set("egress-abuse/TOKEN", "bare-grant-value");
      const secrets = [{ name: "TOKEN", hosts: [ALLOWED] }];
      const ref = `"Bearer " + ctx.secrets.ref("TOKEN")`;
      const overHttp = await run(H, send(`\`http://${ALLOWED}:\${plain}/\``, ref), { secrets });
      expect(overHttp).toContain(`secret TOKEN is not approved for http://${ALLOWED}:${plain.port}`);
      const otherPort = await run(H, send(`\`https://${ALLOWED}:\${secure}/\``, ref), { secrets });
      expect(otherPort).toContain(`secret TOKEN is not approved for https://${ALLOWED}:${secure.port}`);
      expect(seen.filter((a) => a.includes("bare-grant-value"))).toEqual([]);
      // the same request without the secret goes through: only the secret was refused
      expect(await run(H, send(`\`http://${ALLOWED}:\${plain}/\``), { secrets })).toMatchObject({ server: "rebound", auth: null });
    });

    test("a grant naming scheme and port is honoured, over http and over verified https", async () => {
      const H = h();
      H.secrets.set("egress-abuse/TOKEN", "named-grant-value");
      const secrets = [{ name: "TOKEN", hosts: [`http://${ALLOWED}:${plain.port}`, `https://${ALLOWED}:${secure.port}`] }];
      const ref = `"Bearer " + ctx.secrets.ref("TOKEN")`;
      expect(await run(H, send(`\`http://${ALLOWED}:\${plain}/\``, ref), { secrets })).toMatchObject({ auth: "Bearer named-grant-value" });
      expect(await run(H, send(`\`https://${ALLOWED}:\${secure}/\``, ref), { secrets })).toMatchObject({ auth: "Bearer named-grant-value", host: `${ALLOWED}:${secure.port}` });
    });
  });

  describe("egress abuse: DNS rebinding", () => {
    test.each([
      ["http", () => plain.port],
      ["https", () => secure.port],
    ] as const)("%s connects to the checked address, resolving the name once", async (scheme, port) => {
      const name = "rebind.localhost"; // the name the test certificate is for
      lookups.delete(name);
      const r = await run(h(), send(`"${scheme}://${name}:${port()}/"`));
      expect(r).toEqual({ server: "checked", host: `${name}:${port()}`, auth: null });
      expect(lookups.get(name)).toBe(1);
    });

    test("https still verifies the certificate for the name", async () => {
      lookups.delete("not-in-cert.localhost");
      const r = await run(h(), send(`\`https://not-in-cert.localhost:\${secure}/\``));
      expect(typeof r).toBe("string");
      expect(r).toMatch(/not-in-cert\.localhost: .*(CERT|certificate|altname)/i);
    });
  });

  describe("egress abuse: IPv6 forms of private addresses", () => {
    test.each(Object.entries(EMBEDDED))("a name answering %s → %s is refused", async (name) => {
      const r = await run(h(), send(`\`http://${name}:\${plain}/\``));
      expect(r).toContain(`${name} resolves to`);
      expect(r).toContain("which sandboxes may not reach");
    });

    test.each(["::7f00:1", "::ffff:0:7f00:1", "2002:7f00:1::1", "64:ff9b::7f00:1", "fec0::1", "100::1"])("the literal [%s] is refused", async (ip) => {
      const r = await run(h(), send(`\`http://[${ip}]:\${plain}/\``), { allowedHosts: [ip] });
      expect(r).toContain("which sandboxes may not reach");
    });
  });
}
