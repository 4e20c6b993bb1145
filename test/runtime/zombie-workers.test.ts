/**
 * A watchdog kill cannot stop a worker's thread at once: Bun's terminate() takes effect only
 * when the thread next runs JavaScript, and a guest inside one long native call of the
 * QuickJS WebAssembly gets there only when the call returns (or at the next interrupt poll).
 * THREAT-MODEL promise 3: such a "zombie" thread must not compete with live work — it is
 * reniced to 19 before terminate() (field 19 of /proc/self/task/<tid>/stat) — it is counted
 * (runtime stats `zombieThreads`, back to 0 when the thread really ends), and its agent
 * leaves at most ZOMBIES_PER_AGENT (2): after one kill it serves again at once; with two
 * still running, its next call is refused (429 rate_limited) while a bystander agent's
 * calls keep answering. The V8 engine's kill is SIGKILL to its
 * sidecar process: the process must really be gone, not linger.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { quickjsEngine } from "../../src/runtime";
import { probeV8, v8Engine } from "../../src/runtime/v8";
import { ZOMBIE_WAIT_MS, ZOMBIES_PER_AGENT } from "../../src/runtime/runtime";
import { bundle, failureOf, json, makeHarness, req, type Harness } from "./harness";

const hasProc = existsSync("/proc/self/task");

/**
 * One native call: a naive substring search of an m+1-character needle over n characters
 * (about n·m comparisons inside the WebAssembly, no interrupt poll) — ~5 s here for the
 * sizes the culprit uses, far past its 100 ms CPU limit.
 */
const SOURCE = `
import { defineBackend, t } from "cantrip";
export default defineBackend({ routes: {
  "POST /search": { input: t.Object({ n: t.Number(), m: t.Number() }), handle: ({ n, m }) => {
    const hay = "a".repeat(n);
    const needle = "a".repeat(m) + "b";
    return { at: hay.indexOf(needle) };
  } },
  "GET /ok": () => ({ ok: true }),
} });`;

/** Per-thread nice value and CPU ticks (utime + stime) from /proc/self/task. */
function threads(): Map<number, { nice: number; ticks: number }> {
  const out = new Map<number, { nice: number; ticks: number }>();
  for (const t of readdirSync("/proc/self/task")) {
    try {
      const s = readFileSync(`/proc/self/task/${t}/stat`, "utf8");
      // Fields after "(comm) ": the 3rd field (state) is f[0]; utime/stime are fields 14/15, nice is field 19.
      const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
      out.set(Number(t), { nice: Number(f[16]), ticks: Number(f[11]) + Number(f[12]) });
    } catch {} // the thread ended while we read
  }
  return out;
}

let H: Harness;
let code = "";

beforeAll(async () => {
  // One worker: every call runs on it, so each kill below takes the worker the culprit's
  // search was just warmed on.
  H = makeHarness(quickjsEngine, {}, { workers: 1 });
  code = await bundle(SOURCE);
});
afterAll(() => H.close());

/**
 * Runs the search often enough for JavaScriptCore to finish tiering its WebAssembly up on
 * the current worker: a tier-up in the middle of the killed call would be a point where
 * terminate() takes effect early, and the zombie this test needs would end at once.
 */
async function warm(ref: ReturnType<Harness["ref"]>, helper: ReturnType<Harness["ref"]>): Promise<void> {
  // First through an agent with the default CPU limit (its instance runs the same module on
  // the same worker): after a kill the worker is new and its own module not yet tiered up, and
  // on a busy machine the culprit's 100 ms limit is too tight for searches in the slow tiers.
  for (let i = 0; i < 200; i++) expect(json(await H.runtime.fetch(helper, req("POST", "/search", { n: 20_000, m: 100 })))).toEqual({ at: -1 });
  for (let i = 0; i < 50; i++) expect(json(await H.runtime.fetch(ref, req("POST", "/search", { n: 2_000, m: 100 })))).toEqual({ at: -1 });
}

/** A search of ~5 s CPU (n·m comparisons) under a 100 ms CPU limit: the watchdog kills its worker mid-call. */
async function killed(ref: ReturnType<Harness["ref"]>): Promise<void> {
  const f = await failureOf(() => H.runtime.fetch(ref, req("POST", "/search", { n: 1_000_000, m: 8_000 })));
  expect(f).toMatchObject({ code: "endpoint_timeout", reason: "cpu_timeout" });
  expect(f.message).toContain("watchdog");
}

test("a killed worker's thread runs at nice 19, is counted until it ends, and its agent may leave at most ZOMBIES_PER_AGENT", async () => {
  expect(ZOMBIES_PER_AGENT).toBe(2);
  const culprit = H.ref("zombie-culprit", code, { limits: { cpuMs: 100, wallMs: 20_000 } });
  const bystander = H.ref("zombie-bystander", code);
  await warm(culprit, bystander);
  expect(json(await H.runtime.fetch(bystander, req("GET", "/ok")))).toEqual({ ok: true });
  expect(H.runtime.stats().zombieThreads).toBe(0);
  const before = hasProc ? threads() : new Map<number, { nice: number; ticks: number }>();
  const killsBefore = H.runtime.stats().watchdogKills;

  await killed(culprit);
  const niced = hasProc ? [...threads()].filter(([tid, t]) => t.nice === 19 && before.get(tid)?.nice !== 19).map(([tid]) => tid) : [];
  expect(H.runtime.stats().watchdogKills).toBe(killsBefore + 1);
  // Still inside its native call: counted as a zombie …
  expect(H.runtime.stats().zombieThreads).toBe(1);
  // … and already at the lowest priority when the call was answered.
  if (hasProc) expect(niced.length).toBe(1);

  // The bystander agent keeps answering meanwhile, and below the bound the culprit serves again at once.
  for (let i = 0; i < 5; i++) expect(json(await H.runtime.fetch(bystander, req("GET", "/ok")))).toEqual({ ok: true });
  expect(json(await H.runtime.fetch(culprit, req("GET", "/ok")))).toEqual({ ok: true });

  // A second kill while the first thread still runs: the agent is at its bound.
  await warm(culprit, bystander);
  await killed(culprit);
  expect(H.runtime.stats().zombieThreads).toBe(2);
  if (hasProc) expect([...threads()].filter(([tid, t]) => t.nice === 19 && before.get(tid)?.nice !== 19).length).toBe(2);

  // Its next call is held, then refused while both still run; the bystander is not affected.
  const refusedBefore = H.runtime.stats().refused;
  const refused = await failureOf(() => H.runtime.fetch(culprit, req("GET", "/ok")));
  expect(refused.code).toBe("rate_limited");
  expect(refused.message).toContain("still winding down");
  expect(refused.ms).toBeGreaterThanOrEqual(ZOMBIE_WAIT_MS - 20);
  expect(H.runtime.stats().refused).toBe(refusedBefore + 1);
  expect(H.runtime.stats().zombieThreads).toBe(2);
  expect(json(await H.runtime.fetch(bystander, req("GET", "/ok")))).toEqual({ ok: true });

  // The threads end when their native calls return; the count goes back to 0 and the threads are gone.
  const until = Date.now() + 90_000;
  while (H.runtime.stats().zombieThreads > 0 && Date.now() < until) await Bun.sleep(20);
  expect(H.runtime.stats().zombieThreads).toBe(0);
  if (hasProc) {
    const gone = Date.now() + 2000;
    while (niced.some((tid) => existsSync(`/proc/self/task/${tid}`)) && Date.now() < gone) await Bun.sleep(10);
    expect(niced.filter((tid) => existsSync(`/proc/self/task/${tid}`))).toEqual([]);
  }
  // And the culprit is served again.
  expect(json(await H.runtime.fetch(culprit, req("GET", "/ok")))).toEqual({ ok: true });
}, 120_000);

/** The V8 sidecars (child processes started with --no-node-snapshot), from /proc/self/task/<tid>/children. */
function nodeChildren(): number[] {
  const out: number[] = [];
  for (const t of readdirSync("/proc/self/task")) {
    try {
      for (const pid of readFileSync(`/proc/self/task/${t}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number)) {
        if (readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("--no-node-snapshot")) out.push(pid);
      }
    } catch {}
  }
  return out;
}

const v8probe = probeV8({ node: process.env.CANTRIP_NODE || undefined });
test.skipIf(!v8probe.ok || !hasProc)("v8: a sidecar the watchdog kills is gone at once (SIGKILL), leaving no zombie", async () => {
  const V = makeHarness(v8Engine({ node: v8probe.ok ? v8probe.runtime.node : undefined }), {}, { workers: 1 });
  try {
    const ref = V.ref("v8-stuck", code, { limits: { wallMs: 300 } });
    expect(json(await V.runtime.fetch(ref, req("GET", "/ok")))).toEqual({ ok: true });
    const sidecars = nodeChildren();
    expect(sidecars.length).toBeGreaterThanOrEqual(1);
    // A sidecar that stops answering (frozen: SIGSTOP) can only be ended by the host's watchdog.
    for (const pid of sidecars) process.kill(pid, "SIGSTOP");
    const f = await failureOf(() => V.runtime.fetch(ref, req("GET", "/ok")));
    expect(f).toMatchObject({ code: "endpoint_timeout", reason: "wall_timeout" });
    expect(f.message).toContain("watchdog");
    const until = Date.now() + 2000;
    while (sidecars.some((pid) => existsSync(`/proc/${pid}`)) && Date.now() < until) await Bun.sleep(5);
    expect(sidecars.filter((pid) => existsSync(`/proc/${pid}`))).toEqual([]);
    expect(V.runtime.stats().zombieThreads).toBe(0);
    expect(json(await V.runtime.fetch(ref, req("GET", "/ok")))).toEqual({ ok: true });
  } finally {
    await V.close();
  }
}, 60_000);
