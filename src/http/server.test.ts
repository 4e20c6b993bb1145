/** pathnameOf: the request path without a URL parse when the path is plain, the parser's answer otherwise. */
import { expect, test } from "bun:test";
import { pathnameOf } from "./server";

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
});
