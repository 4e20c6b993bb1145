import { expect, test } from "bun:test";
import { buildPrelude, preludeGenPath } from "../../sandbox/build-prelude";

test("sandbox/dist/prelude.gen.ts is up to date (run: bun sandbox/build-prelude.ts)", async () => {
  expect(await Bun.file(preludeGenPath).text()).toBe(await buildPrelude());
});
