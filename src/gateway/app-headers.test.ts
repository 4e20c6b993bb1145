import { describe, expect, test } from "bun:test";
import { APP_SANDBOX_CSP, appRequestHeaders, appResponse, appResponseHeaders, cookieAllowed, type AppOrigin } from "./app-headers";

const where = (origin: AppOrigin) => ({ origin, slug: "shop" });
const pass = (origin: AppOrigin, headers: [string, string][]) => [...appResponseHeaders(headers, where(origin))];

describe("appResponseHeaders: what a backend may not say to a browser", () => {
  const owned: [string, string][] = [
    ["Service-Worker-Allowed", "/"],
    ["Clear-Site-Data", '"cookies", "storage"'],
    ["Strict-Transport-Security", "max-age=31536000; includeSubDomains"],
    ["Alt-Svc", 'h2="evil.example:443"'],
    ["NEL", '{"report_to":"x","max_age":1}'],
    ["Report-To", '{"group":"x"}'],
    ["Public-Key-Pins", "pin-sha256=x"],
    ["Expect-CT", "max-age=1"],
    ["Set-Cookie2", "a=b"],
    ["Content-Length", "999"],
    ["X-Request-Id", "forged"],
    ["Connection", "close, X-Private"],
    ["X-Private", "1"],
    ["Keep-Alive", "timeout=5"],
    ["Transfer-Encoding", "chunked"],
    ["Upgrade", "websocket"],
    ["TE", "trailers"],
    ["Trailer", "x"],
    ["Proxy-Authenticate", "Basic"],
    ["Proxy-Connection", "keep-alive"],
  ];
  test.each(["platform", "apps", "own"] as AppOrigin[])("on the %s origin the platform-owned and hop-by-hop fields are dropped", (origin) => {
    const out = pass(origin, [...owned, ["Content-Type", "text/html"], ["Cache-Control", "no-store"], ["X-App", "1"]]);
    const names = out.map(([k]) => k);
    for (const [k] of owned) expect(names).not.toContain(k.toLowerCase());
    expect(out).toContainEqual(["content-type", "text/html"]);
    expect(out).toContainEqual(["cache-control", "no-store"]);
    expect(out).toContainEqual(["x-app", "1"]);
    expect(out).toContainEqual(["x-content-type-options", "nosniff"]);
  });

  test("on the platform's origin: sandboxed (no allow-same-origin), no cookies, no auth prompt, no client hints", () => {
    const out = new Headers(pass("platform", [["Set-Cookie", "a=1; Path=/apps/shop"], ["WWW-Authenticate", "Basic realm=cantrip"], ["Accept-CH", "Sec-CH-UA"], ["Set-Login", "logged-in"], ["X-Content-Type-Options", "sniff"]]));
    expect(out.get("content-security-policy")).toBe(APP_SANDBOX_CSP);
    expect(APP_SANDBOX_CSP).toStartWith("sandbox ");
    expect(APP_SANDBOX_CSP).not.toContain("allow-same-origin");
    expect(APP_SANDBOX_CSP).not.toContain("allow-top-navigation");
    expect(APP_SANDBOX_CSP).not.toContain("allow-popups-to-escape-sandbox");
    expect(out.get("x-content-type-options")).toBe("nosniff");
    for (const h of ["set-cookie", "www-authenticate", "accept-ch", "set-login"]) expect(out.has(h)).toBe(false);
  });

  test("a backend's own CSP is kept next to the sandbox, so it can only narrow", () => {
    const out = new Headers(pass("platform", [["Content-Security-Policy", "default-src 'self'"]]));
    expect(out.get("content-security-policy")).toBe(`default-src 'self', ${APP_SANDBOX_CSP}`);
    expect(new Headers(pass("apps", [["Content-Security-Policy", "default-src 'self'"]])).get("content-security-policy")).toBe("default-src 'self'");
  });

  test("off the platform's origin there is no sandbox and the app's own cookies pass", () => {
    const out = new Headers(pass("own", [["Set-Cookie", "pref=dark; Path=/"]]));
    expect(out.has("content-security-policy")).toBe(false);
    expect(out.getSetCookie()).toEqual(["pref=dark; Path=/"]);
  });
});

describe("cookieAllowed", () => {
  test.each([
    ["platform", "pref=1", false],
    ["own", "pref=1; Path=/; HttpOnly", true],
    ["own", "cantrip_session=evil; Path=/v1", false],
    ["own", "CANTRIP_SESSION=evil", false],
    ["own", "__Host-cantrip_session=evil; Path=/; Secure", false],
    ["own", "__Secure-cantrip_session=evil; Secure", false],
    ["own", "pref=1; Domain=example.com", false],
    ["own", "pref=1; domain=.apps.example.com", false],
    ["apps", "pref=1", true],
    ["apps", "pref=1; Path=/apps/shop", true],
    ["apps", "pref=1; Path=/apps/shop/cart", true],
    ["apps", "pref=1; Path=/", false],
    ["apps", "pref=1; Path=/v1", false],
    ["apps", "pref=1; Path=/apps/shopping", false],
    ["apps", "pref=1; Path=/apps/other", false],
    // A browser takes the last Path and trims around "=" (RFC 6265 §5.2, §5.3).
    ["apps", "pref=1; Path=/apps/shop; Path=/", false],
    ["apps", "pref=1; Path =/", false],
    ["apps", "pref=1; path = /apps/", false],
    ["apps", "pref=1; Path = /apps/shop", true],
    ["own", "pref=1; Domain =example.com", false],
  ] as [AppOrigin, string, boolean][])("%s: %s → %p", (origin, cookie, ok) => {
    expect(cookieAllowed(cookie, where(origin))).toBe(ok);
  });
});

describe("appRequestHeaders: what a backend never receives", () => {
  const incoming = () =>
    new Headers({ authorization: "Bearer ctp_ak_x", cookie: "cantrip_session=s3cret; pref=1; __Host-cantrip_session=x", "x-csrf-token": "t", connection: "keep-alive", "proxy-authorization": "Basic x", host: "h", "content-type": "application/json", "x-app": "1" });
  test("on the platform's origin: no credentials and no cookies at all", () => {
    const out = new Headers(appRequestHeaders(incoming(), { origin: "platform" }));
    for (const h of ["authorization", "cookie", "x-csrf-token", "connection", "proxy-authorization", "host"]) expect(out.has(h)).toBe(false);
    expect(out.get("x-app")).toBe("1");
  });
  test.each(["apps", "own"] as AppOrigin[])("on the %s origin: the app's cookies without the platform's", (origin) => {
    const out = new Headers(appRequestHeaders(incoming(), { origin }));
    expect(out.get("cookie")).toBe("pref=1");
    expect(out.has("authorization")).toBe(false);
  });
});

test("the caller's x-request-id is not forwarded next to the platform's (the backend saw \"id, id\")", () => {
  const out = new Headers(appRequestHeaders(new Headers({ "x-request-id": "req_mine", "x-app": "1" }), { origin: "apps" }));
  expect(out.has("x-request-id")).toBe(false);
  expect(out.get("x-app")).toBe("1");
});

describe("appResponse with a streamed body", () => {
  test("passes the stream through with the header policy applied", async () => {
    const body = new ReadableStream<Uint8Array>({ start(c) { c.enqueue(new TextEncoder().encode("data: 1\n\n")); c.close(); } });
    const res = appResponse(body, 200, [["content-type", "text/event-stream"], ["content-length", "5"], ["alt-svc", "h3"]], { origin: "own", slug: "s" });
    expect([res.headers.get("content-type"), res.headers.get("content-length"), res.headers.get("alt-svc")]).toEqual(["text/event-stream", null, null]);
    expect(await res.text()).toBe("data: 1\n\n");
  });

  test("a null-body status (a forged head) gets no body and the guest's stream is cancelled", async () => {
    let cancelled: unknown = null;
    const body = new ReadableStream<Uint8Array>({ cancel(r) { cancelled = r; } });
    const res = appResponse(body, 204, [], { origin: "own", slug: "s" });
    expect([res.status, res.body]).toEqual([204, null]);
    await Bun.sleep(0);
    expect(String(cancelled)).toMatch(/has no body/);
  });
});
