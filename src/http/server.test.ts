/** The HTTP wrapper: pathnameOf (the request path without a URL parse when the path is plain), and the client address an anonymous call is limited by. */
import { expect, test } from "bun:test";
import { pathAndSearchOf, pathnameOf } from "./server";

test("pathnameOf answers new URL(url).pathname for plain and unusual URLs alike", () => {
  const urls = [
    "http://127.0.0.1:8080/v1/invoke/my-agent_1",
    "http://localhost/v1/invoke/x?a=1&b=/c",
    "http://localhost/v1/invoke/x#frag",
    "http://localhost/",
    "http://localhost",
    "http://localhost?x=/y",
    "http://[::1]:3000/apps/a/b//c/",
    "HTTP://Example.COM/A/B",
    "https://h/a/./b/../c",
    "http://h/a/%2e%2e/b",
    "http://h/a/%7Euser",
    "http://h/a\\b",
    "http://h/a b/ü",
    "http://h/.hidden/x.js",
    "http://user:pw@h/p",
    "http://h\t/p",
    "http://h/p\tq",
    "http://bücher.example/p",
    "http://h/a/..",
    "http://h/apps/x/~y",
  ];
  for (const u of urls) expect({ u, path: pathnameOf(u) }).toEqual({ u, path: new URL(u).pathname });
  // pathAndSearchOf: the same, and the query as URL serializes it (an empty one is none; the characters it escapes are parsed).
  const queries = ["?", "?a=1&b=2", "?a=%20b", "?q=x y", "?q=\"x\"", "?q=<a>", "?q='a'", "?q=é", "?q=a#frag", "?q=a?b/c:d@e", "?q=~!$&()*+,;=", "?q=%zz", "??"];
  for (const u of [...urls, ...queries.map((q) => `http://127.0.0.1:8080/apps/a/b${q}`)]) {
    const parsed = new URL(u);
    expect({ u, ...pathAndSearchOf(u) }).toEqual({ u, pathname: parsed.pathname, search: parsed.search });
  }
});

test("an anonymous caller's address is the peer's even when it is read after the client has gone", async () => {
  const { connect } = await import("node:net");
  const { createHandler } = await import("./server");
  const { clientAddressOf } = await import("./request-context");
  const { silentLogger } = await import("./logger");
  let gone!: () => void;
  const disconnected = new Promise<void>((r) => (gone = r));
  let read: (v: string | null) => void;
  const address = new Promise<string | null>((r) => (read = r));
  const handler = createHandler(
    async (req) => {
      // As a route that awaits (a cold cache, a database read) before the rate limit asks.
      await disconnected;
      await Bun.sleep(50);
      read(clientAddressOf(req));
      return new Response("late");
    },
    { bodyLimitBytes: 1024, logger: silentLogger, logRequests: false },
  );
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (req, s) => handler(req, s) });
  try {
    const socket = connect(server.port!, "127.0.0.1", () => {
      socket.write("GET /apps/public/x HTTP/1.1\r\nHost: localhost\r\n\r\n");
      setTimeout(() => socket.destroy(), 20);
    });
    socket.on("error", () => {});
    socket.on("close", () => gone());
    expect(await address).toMatch(/127\.0\.0\.1$/);
  } finally {
    server.stop(true);
  }
});
