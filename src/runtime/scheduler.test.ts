/**
 * The scheduler's rules on their own: round-robin across agents when a lane is full,
 * probation for unseen agents (bounded, so calls that wait for each other do not deadlock),
 * CPU classification, bounded queue and bounded wait.
 */
import { expect, test } from "bun:test";
import { Scheduler, HEAVY_HOLD_MS } from "./scheduler";

const opts = { workers: 2, agentConcurrency: 8, agentQueue: 32, queueWaitMs: 10_000, heavyCpuMs: 50, workspaceShare: 0.75 };

function gate() {
  let open!: () => void;
  const p = new Promise<void>((r) => (open = r));
  return { p, open };
}

test("when the heavy lane is full, freed turns go round-robin across agents", async () => {
  const s = new Scheduler(opts);
  for (const a of ["A", "B"]) s.record(a, 500); // seen, heavy
  expect(s.laneOf("A")).toBe("heavy");
  const started: string[] = [];
  const gates = new Map<string, ReturnType<typeof gate>>();
  const call = (name: string) => {
    const g = gate();
    gates.set(name, g);
    return s.run(name[0]!, async () => {
      started.push(name);
      await g.p;
    });
  };
  const all = [...[1, 2, 3, 4, 5, 6].map((i) => call(`A${i}`)), call("B1"), call("B2")];
  await Bun.sleep(0);
  expect(started).toEqual(["A1", "A2"]); // capacity 2 (one heavy worker × 2)
  for (const name of ["A1", "A2", "A3", "B1", "A4", "B2", "A5", "A6"]) {
    while (!started.includes(name)) await Bun.sleep(1);
    gates.get(name)!.open();
    await Bun.sleep(0);
  }
  await Promise.all(all);
  expect(started.indexOf("B2")).toBeLessThan(started.indexOf("A5"));
  expect(started).toEqual(["A1", "A2", "A3", "B1", "A4", "B2", "A5", "A6"]);
});

test("load-checks run one at a time, round-robin across agents", async () => {
  const s = new Scheduler(opts);
  const order: string[] = [];
  const g = gate();
  const first = s.runLoad("A", async () => {
    order.push("A1");
    await g.p;
  });
  const rest = [["A", "A2"], ["A", "A3"], ["B", "B1"]].map(([agent, name]) => s.runLoad(agent!, async () => void order.push(name!)));
  await Bun.sleep(1);
  expect(order).toEqual(["A1"]);
  g.open();
  await Promise.all([first, ...rest]);
  expect(order).toEqual(["A1", "A2", "B1", "A3"]);
});

test("a new agent's calls wait for its first call, at most that call's CPU limit: a long poll is delayed, not deadlocked", async () => {
  const s = new Scheduler(opts);
  let release!: () => void;
  const posted = new Promise<void>((r) => (release = r));
  const t0 = performance.now();
  // The first call (a long poll) waits for the second (the message it is waiting for).
  const poll = s.run("new", async () => {
    await posted;
    return "got it";
  }, 100);
  let postStarted = 0;
  const post = s.run("new", async () => {
    postStarted = performance.now() - t0;
    release();
  }, 100);
  await post;
  expect(await poll).toBe("got it");
  expect(postStarted).toBeGreaterThanOrEqual(150); // held for the probation (100 ms CPU limit + 100 ms)
});

test("a new agent's burst runs one call until the first one finishes", async () => {
  const s = new Scheduler(opts);
  let running = 0;
  let peak = 0;
  const g = gate();
  const calls = [1, 2, 3].map(() => s.run("burst", async () => {
    peak = Math.max(peak, ++running);
    await g.p;
    running--;
    s.record("burst", 1);
  }));
  await Bun.sleep(5);
  expect(peak).toBe(1);
  g.open();
  await Promise.all(calls);
  // Seen now: later calls run side by side.
  const g2 = gate();
  peak = 0;
  const more = [1, 2, 3].map(() => s.run("burst", async () => {
    peak = Math.max(peak, ++running);
    await g2.p;
    running--;
  }));
  await Bun.sleep(5);
  expect(peak).toBe(3);
  g2.open();
  await Promise.all(more);
});

test("CPU per call moves an agent to the heavy lane at once and back only slowly", () => {
  let now = 0;
  const s = new Scheduler(opts, () => now);
  s.record("x", 2);
  expect(s.laneOf("x")).toBe("light");
  // A light call that looked slow (the thread was preempted on a crowded machine) is not enough.
  s.record("x", 120);
  s.record("x", 2);
  expect(s.laneOf("x")).toBe("light");
  s.record("x", 950);
  expect(s.laneOf("x")).toBe("heavy");
  for (let i = 0; i < 10; i++) s.record("x", 1);
  now += HEAVY_HOLD_MS - 1;
  expect(s.laneOf("x")).toBe("heavy"); // held, and the average decays slowly
  for (let i = 0; i < 40; i++) s.record("x", 1);
  now += HEAVY_HOLD_MS + 1;
  expect(s.laneOf("x")).toBe("light");
});

test("a full queue answers 429 at once; a wait past queueWaitMs answers 429 (own calls) or 503 (lane full)", async () => {
  const s = new Scheduler({ ...opts, agentConcurrency: 1, agentQueue: 1, queueWaitMs: 50 });
  s.record("a", 1);
  const g = gate();
  const first = s.run("a", () => g.p);
  const second = s.run("a", async () => "never").catch((e) => e);
  const third = await s.run("a", async () => "never").catch((e) => e);
  expect(third).toMatchObject({ code: "rate_limited", status: 429, headers: { "retry-after": "1" } });
  expect(await second).toMatchObject({ code: "rate_limited", status: 429, headers: { "retry-after": "1" } });
  // The heavy lane holds 2: two heavy agents fill it, a third waits and gets 503.
  for (const a of ["h1", "h2", "h3"]) s.record(a, 500);
  const hold = [s.run("h1", () => g.p), s.run("h2", () => g.p)];
  const busy = await s.run("h3", async () => "never").catch((e) => e);
  expect(busy).toMatchObject({ code: "sandbox_busy", status: 503, headers: { "retry-after": "1" } });
  g.open();
  await Promise.all([first, ...hold]);
  expect(await s.run("h3", async () => "ran")).toBe("ran");
});

test("one workspace's calls hold at most its share of a lane; another workspace's call starts at once", async () => {
  // Light lane: one light worker × 32 slots; share 0.75 → 24 per workspace.
  const s = new Scheduler({ ...opts, queueWaitMs: 200 });
  for (let i = 0; i < 5; i++) s.record(`W${i}`, 1); // seen, light
  s.record("other", 1);
  expect(s.workspaceCapacity("light")).toBe(24);
  const g = gate();
  let running = 0;
  const parked = Array.from({ length: 40 }, (_, i) =>
    s.run(`W${i % 5}`, async () => {
      running++;
      await g.p;
    }, 1000, "ws-a").then(() => 200, (e: { status?: number; code?: string }) => `${e.status} ${e.code}`),
  );
  await Bun.sleep(0);
  expect(running).toBe(24);
  expect(s.stats().light).toEqual({ active: 24, queued: 16 });
  // Another workspace: no wait at all, although workspace A has calls queued.
  let ran = false;
  await s.run("other", async () => void (ran = true), 1000, "ws-b");
  expect(ran).toBe(true);
  // Workspace A's queued calls end as its own limit (429), not as the sandbox being busy.
  await Bun.sleep(250);
  g.open();
  const out = await Promise.all(parked);
  expect(out.filter((x) => x === 200).length).toBe(24);
  expect(out.filter((x) => x !== 200)).toEqual(Array(16).fill("429 rate_limited"));
  expect(s.stats().light.active).toBe(0);
});

test("calls not attributed to a workspace, and a share of 1, are bounded per agent and per lane only", async () => {
  for (const [share, ws] of [[0.75, undefined], [1, "ws-a"]] as const) {
    const s = new Scheduler({ ...opts, workspaceShare: share });
    for (let i = 0; i < 5; i++) s.record(`W${i}`, 1);
    const g = gate();
    let running = 0;
    const calls = Array.from({ length: 32 }, (_, i) => s.run(`W${i % 5}`, async () => void (running++, await g.p), 1000, ws));
    await Bun.sleep(0);
    expect(running).toBe(32);
    g.open();
    await Promise.all(calls);
  }
});

test("load-checks go round-robin across workspaces, not agents: many agents of one workspace do not push another's check back", async () => {
  const s = new Scheduler(opts);
  const order: string[] = [];
  const g = gate();
  const first = s.runLoad("a1", async () => {
    order.push("a1");
    await g.p;
  }, "ws-a");
  const rest = [["a1", "a1b", "ws-a"], ["a2", "a2", "ws-a"], ["a3", "a3", "ws-a"], ["b1", "b1", "ws-b"]].map(([agent, name, ws]) => s.runLoad(agent!, async () => void order.push(name!), ws));
  await Bun.sleep(1);
  g.open();
  await Promise.all([first, ...rest]);
  expect(order).toEqual(["a1", "a1b", "b1", "a2", "a3"]);
});

test("queued calls each wait queueWaitMs from their own arrival, oldest first, with one timer per agent, not one per call", async () => {
  const s = new Scheduler({ ...opts, agentConcurrency: 1, queueWaitMs: 150 });
  s.record("A", 1); // seen, light: no probation
  const running = gate();
  const first = s.run("A", () => running.p);
  const timers = { set: 0 };
  const real = globalThis.setTimeout;
  globalThis.setTimeout = ((...a: Parameters<typeof setTimeout>) => (timers.set++, real(...a))) as typeof setTimeout;
  const arrived: number[] = [];
  const ended: { at: number; code: string }[] = [];
  const queued: Promise<unknown>[] = [];
  try {
    for (let i = 0; i < 20; i++) {
      arrived.push(performance.now());
      queued.push(s.run("A", async () => "ran").catch((e) => ended.push({ at: performance.now(), code: e.code })));
      if (i % 5 === 4 && i < 19) await new Promise((r) => real(r, 40)); // four groups, 40 ms apart
    }
    expect(timers.set).toBe(1); // 20 calls queued, one timer (the old scheduler: 20)
    await Promise.all(queued);
    expect(timers.set).toBeLessThanOrEqual(8); // re-armed per group (twice when a timer fires early), not per call
  } finally {
    globalThis.setTimeout = real;
  }
  expect(ended.map((e) => e.code)).toEqual(Array(20).fill("rate_limited")); // the agent's own running call kept them waiting
  for (const [i, e] of ended.entries()) {
    expect(e.at - arrived[i]!).toBeGreaterThanOrEqual(149);
    expect(e.at - arrived[i]!).toBeLessThan(150 + 500); // generous: a shared machine
  }
  // The groups ended apart, as they arrived (each at its own deadline, not all at the first one's).
  expect(ended[19]!.at - ended[0]!.at).toBeGreaterThanOrEqual(100);
  running.open();
  await first;
  expect(await s.run("A", async () => "ran")).toBe("ran"); // nothing left over
});

test("a queue that empties by starting its calls leaves no timer running", async () => {
  const s = new Scheduler({ ...opts, agentConcurrency: 1, queueWaitMs: 60_000 });
  s.record("A", 1);
  const running = gate();
  const first = s.run("A", () => running.p);
  const cleared: unknown[] = [];
  const real = globalThis.clearTimeout;
  globalThis.clearTimeout = ((t: Parameters<typeof clearTimeout>[0]) => (cleared.push(t), real(t))) as typeof clearTimeout;
  try {
    const second = s.run("A", async () => "second");
    running.open();
    await first;
    expect(await second).toBe("second");
  } finally {
    globalThis.clearTimeout = real;
  }
  expect(cleared).toHaveLength(1); // the agent's one 60 s timer, cleared when its last waiting call started
});
