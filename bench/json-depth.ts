/**
 * What the nesting check in front of the control APIs costs: the linear depth scan
 * (bytesNestDeeperThan in src/lib/json-nesting.ts) against JSON.parse of the same bytes in the same run, for a
 * typical agent upload (~200 KB of source in a files map) and for 1 MB of nesting (which
 * the scan refuses at the first byte past the limit). Prints medians and the ratio.
 * `bun bench/json-depth.ts [--rounds 50]`
 */
import { bytesNestDeeperThan } from "../src/lib/json-nesting";
import { numberOpt } from "./lib/args";

const rounds = numberOpt("rounds", 50);
const enc = new TextEncoder();
const dec = new TextDecoder();

const upload = enc.encode(
  JSON.stringify({
    name: "typical upload",
    entrypoint: "index.ts",
    files: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`src/file-${i}.ts`, `export const data${i} = ${JSON.stringify(Array.from({ length: 400 }, (_, j) => ({ id: j, tags: ["a[", "{b"], s: "x\"y" })))};\n`])),
  }),
);
const deep = enc.encode("[".repeat(500_000) + "]".repeat(500_000));

function median(f: () => void): number {
  const xs: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t = performance.now();
    f();
    xs.push(performance.now() - t);
  }
  return xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
}

for (const [name, bytes] of [["upload", upload], ["deep", deep]] as const) {
  const scan = median(() => bytesNestDeeperThan(bytes, 64));
  const parse = median(() => JSON.parse(dec.decode(bytes)));
  console.log(`${name}: ${(bytes.length / 1024).toFixed(0)} KiB, depth scan ${scan.toFixed(3)} ms, JSON.parse ${parse.toFixed(3)} ms, scan/parse = ${(scan / parse).toFixed(3)}`);
}
