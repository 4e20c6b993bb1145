import { expect, test } from "bun:test";
import { scanJson as scanBytes } from "./json-scan";

const enc = new TextEncoder();
const scanJson = (s: string, maxDepth: number) => scanBytes(enc.encode(s), maxDepth);

const parses = (s: string) => {
  try {
    JSON.parse(s);
    return "ok";
  } catch {
    return "invalid";
  }
};

const CASES = [
  "{}", "[]", "1", "-0.5e+3", '"a\\u00e9\\n"', ' {"a":[1,2,{"b":null}],"c":true} ', "[1,]", '{"a":1,}', "01", "-", "1.", "1e", '"\\x"', '"a\u0001"',
  '{"a" 1}', "[1 2]", "tru", "nul", "[", "]", '{"a":1}}', "", " ", '"\\ud800"', "[[]]", '{"":{}}', "\u00a0{}", "1 2", "[-]", "[1.5e10]", '"\\u12G4"',
  "\ufeff{}", "[\n\t\r 1 ]", '{"a":"b" , "c" : [true,false,null]}', "-01", "1.e5", "+1", "[.5]", '{"a":1 "b":2}', '{1:2}', "[true false]", "nulll",
];

test("accepts exactly what JSON.parse accepts (fixed cases and 20,000 random mutations of them)", async () => {
  for (const c of CASES) expect([c, await scanJson(c, 512)]).toEqual([c, parses(c)]);
  const alphabet = '{}[],:"\\ 0123e.-tfn';
  let seed = 7;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
  for (let k = 0; k < 20_000; k++) {
    const base = `${CASES[k % CASES.length]} [1,{"x":"y"}]`;
    const at = rand(base.length);
    const s = base.slice(0, at) + alphabet[rand(alphabet.length)] + base.slice(at + rand(2));
    if ((await scanJson(s, 512)) !== parses(s)) throw new Error(`disagrees with JSON.parse on ${JSON.stringify(s)}`);
  }
});

test("nesting past the limit is 'deep' (a top-level array is depth 1)", async () => {
  expect(await scanJson("[[]]", 2)).toBe("ok");
  expect(await scanJson("[[[]]]", 2)).toBe("deep");
  expect(await scanJson('{"a":{"b":[{}]}}', 4)).toBe("ok");
  expect(await scanJson('{"a":{"b":[{}]}}', 3)).toBe("deep");
});

test("strings must be well-formed UTF-8, as a fatal WHATWG decoder requires (random bytes against TextDecoder)", async () => {
  const q = (...b: number[]) => new Uint8Array([34, ...b, 34]);
  expect(await scanBytes(enc.encode('"é 𝄞 \u2028 €"'), 8)).toBe("ok");
  for (const bad of [q(0xff), q(0xc0, 0xaf), q(0xed, 0xa0, 0x80), q(0xf4, 0x90, 0x80, 0x80), q(0xe2, 0x82), q(0x80)]) expect(await scanBytes(bad, 8)).toBe("not-utf8");
  expect(await scanBytes(new Uint8Array([34, 0xe2, 0x82]), 8)).toBe("not-utf8");
  const fatal = new TextDecoder("utf-8", { fatal: true });
  let seed = 11;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
  for (let k = 0; k < 20_000; k++) {
    const body = Array.from({ length: 1 + rand(6) }, () => (rand(4) === 0 ? 97 : 0x80 + rand(0x80)));
    let want = "ok";
    try {
      fatal.decode(new Uint8Array(body));
    } catch {
      want = "not-utf8";
    }
    if ((await scanBytes(q(...body), 8)) !== want) throw new Error(`disagrees with TextDecoder on ${body.map((b) => b.toString(16)).join(" ")}`);
  }
});

test("a long text is checked in slices: the event loop turns while it runs", async () => {
  const big = `[${'{"a":1},'.repeat(300_000)}{"a":1}]`;
  let turns = 0;
  let on = true;
  const tick = () => {
    turns++;
    if (on) setImmediate(tick);
  };
  setImmediate(tick);
  expect(await scanJson(big, 512)).toBe("ok");
  on = false;
  expect(turns).toBeGreaterThan(5);
});
