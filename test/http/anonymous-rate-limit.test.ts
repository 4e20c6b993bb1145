/**
 * Issue 12 §4: anonymous traffic to public apps is rate-limited by default, per client
 * address and per app; calls with an agent key keep the configured key/agent limits
 * (unlimited by default). Clients are told apart by the connection's real source address
 * (127.0.0.1, 127.0.0.2, ... on the loopback), not by any header they could forge.
 */
import { afterAll, expect, test } from "bun:test";
import { request } from "node:http";
import { trivialBackend } from "../../bench/lib/backends";
import { loadConfig } from "../../src/config";
import { startServer, type TestServer } from "../harness";
import { deploy } from "../reliability/host-helpers";

const servers: TestServer[] = [];
afterAll(() => Promise.all(servers.map((s) => s.stop())));

/** POST /apps/{slug}/ from a given loopback source address; optional headers (a key, a forged X-Forwarded-For). */
function appCall(s: TestServer, slug: string, from: string, headers: Record<string, string> = {}): Promise<{ status: number; retryAfter: string | null; code?: string }> {
  const u = new URL(`${s.url}/apps/${slug}/`);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: "POST", localAddress: from, headers: { "content-type": "application/json", ...headers } }, (res) => {
      let text = "";
      res.on("data", (d) => (text += d));
      res.on("end", () => {
        let code: string | undefined;
        try {
          code = JSON.parse(text).error?.code;
        } catch {}
        resolve({ status: res.statusCode!, retryAfter: (res.headers["retry-after"] as string | undefined) ?? null, code });
      });
    });
    req.on("error", reject);
    req.end("{}");
  });
}

async function statuses(s: TestServer, slug: string, from: string, n: number, headers: Record<string, string> = {}) {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await appCall(s, slug, from, headers)).status);
  return out;
}

test("defaults: anonymous calls are limited, keyed calls are not", () => {
  const c = loadConfig({});
  expect(c.rateLimitAnonClient).toBe(20);
  expect(c.rateLimitAnonAgent).toBe(100);
  expect(c.rateLimitPerKey).toBe(0);
  expect(c.rateLimitPerAgent).toBe(0);
});

test("per client address: one address runs out, another still gets in, forged X-Forwarded-For changes nothing, keyed calls are unaffected", async () => {
  const s = await startServer({ CANTRIP_RATE_LIMIT_ANON_CLIENT: "1", CANTRIP_RATE_LIMIT_ANON_AGENT: "0" });
  servers.push(s);
  const a = await deploy(s, "public-one", trivialBackend(1), { public: true });
  expect(await statuses(s, a.slug, "127.0.0.1", 2)).toEqual([200, 200]);
  const refused = await appCall(s, a.slug, "127.0.0.1", { "x-forwarded-for": "198.51.100.9" });
  expect(refused).toEqual({ status: 429, retryAfter: "1", code: "rate_limited" });
  expect(await statuses(s, a.slug, "127.0.0.2", 2)).toEqual([200, 200]);
  expect(await statuses(s, a.slug, "127.0.0.1", 10, { authorization: `Bearer ${a.key}` })).toEqual(Array(10).fill(200));
});

test("per app: anonymous clients together run out, the same clients still reach another public app", async () => {
  const s = await startServer({ CANTRIP_RATE_LIMIT_ANON_CLIENT: "0", CANTRIP_RATE_LIMIT_ANON_AGENT: "1" });
  servers.push(s);
  const a = await deploy(s, "public-a", trivialBackend(1), { public: true });
  const b = await deploy(s, "public-b", trivialBackend(2), { public: true });
  expect(await statuses(s, a.slug, "127.0.0.1", 2)).toEqual([200, 200]);
  expect((await appCall(s, a.slug, "127.0.0.3")).status).toBe(429);
  expect((await appCall(s, b.slug, "127.0.0.3")).status).toBe(200);
  expect(await statuses(s, a.slug, "127.0.0.3", 5, { authorization: `Bearer ${a.key}` })).toEqual(Array(5).fill(200));
});
