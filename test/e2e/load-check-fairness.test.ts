/**
 * Load-checks (the compile + describe of every upload, deploy and generation) run one at a
 * time on the load worker, and waiting ones take turns across workspaces. A workspace that
 * uploads many bundles at once — each a new agent — used to get one turn per agent, so
 * another workspace's upload waited behind all of them (measured on the old code: ~4 s behind
 * six uploads whose load takes 600 ms each). Now it waits for at most about one of them.
 */
import { afterAll, expect, test } from "bun:test";
import { slowLoadBackend, trivialBackend } from "../../bench/lib/backends";
import { createWorkspace } from "../../src/auth";
import { startServer, type TestServer } from "../harness";
import { call, type Target } from "../reliability/host-helpers";

let s: TestServer;
afterAll(() => s?.stop());

test("another workspace's upload is not queued behind one workspace's burst of new agents", async () => {
  s = await startServer();
  const busy: Target = { url: s.url, token: s.token };
  const other: Target = { url: s.url, token: (await createWorkspace(s.db, "other")).token.token };
  const upload = (who: Target, name: string, code: string) => call(who, "POST", "/v1/agents", { name, files: { "index.ts": code }, entrypoint: "index.ts" });
  // Warm the load worker (it starts on first use).
  expect((await upload(other, "warm", trivialBackend(1))).status).toBe(201);

  const done: string[] = [];
  const burst = Array.from({ length: 6 }, (_, i) => upload(busy, `slow ${i}`, slowLoadBackend(i, 600)).then((r) => (done.push(`a${i}`), r.status)));
  await Bun.sleep(150);
  const t0 = performance.now();
  const mine = await upload(other, "quick", trivialBackend(2));
  const ms = performance.now() - t0;
  done.push("b");
  expect(mine.status).toBe(201);
  expect(await Promise.all(burst)).toEqual(Array(6).fill(201));
  // At most the check in progress and one more of the burst ran before it.
  expect(done.indexOf("b")).toBeLessThanOrEqual(2);
  expect(ms).toBeLessThan(2500);
}, 60_000);
