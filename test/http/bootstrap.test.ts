import { expect, test } from "bun:test";
import { readFileSync, statSync } from "node:fs";
import { startServer, tempDir } from "../harness";

test("first start mints an admin token; second start reuses the workspace and the file", async () => {
  const dataDir = tempDir();
  const a = await startServer({}, { dataDir, keep: true });
  expect(a.app.bootstrapToken).toBe(a.token);
  expect(statSync(a.app.adminTokenFile).mode & 0o777).toBe(0o600);
  await a.stop();
  const b = await startServer({}, { dataDir });
  expect(b.app.bootstrapToken).toBeNull();
  expect(readFileSync(b.app.adminTokenFile, "utf8").trim()).toBe(a.token);
  expect((await b.json("/v1/agents")).status).toBe(200);
  await b.stop();
});

test("a read-only data dir stops start-up with one clear error", async () => {
  const { boot, StartupError } = await import("../../src/boot");
  const { loadConfig } = await import("../../src/config");
  const config = loadConfig({ CANTRIP_DATA_DIR: "/proc/cantrip-cannot-write-here", CANTRIP_PORT: "0" });
  await expect(boot(config)).rejects.toBeInstanceOf(StartupError);
  await expect(boot(config)).rejects.toThrow(/data dir .* is not writable/);
});
