import { expect, test } from "bun:test";
import { buildPrelude, preludeBytecodePath, preludeGenPath } from "../../sandbox/build-prelude";

test("sandbox/dist/prelude.gen.ts and prelude.qjsbc are up to date (run: bun sandbox/build-prelude.ts)", async () => {
  const fresh = await buildPrelude();
  expect(await Bun.file(preludeGenPath).text()).toBe(fresh.module);
  // The bytecode is tied to the QuickJS build: a rebuilt .wasm needs a regenerated prelude.
  expect(Buffer.from(await Bun.file(preludeBytecodePath).bytes()).equals(Buffer.from(fresh.bytecode))).toBe(true);
});
