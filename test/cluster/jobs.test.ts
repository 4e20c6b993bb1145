/**
 * Jobs across two real `cantrip serve` processes on one PostgreSQL database, with the fake
 * model in this process and one job slot per node (CANTRIP_JOB_CONCURRENCY=1), so which node
 * runs a job is decided, not left to chance: a slow generation occupies one node ("busy"),
 * and the next job can only run on the other ("free").
 * - SSE on the busy node streams a job that runs on the free node to `done` (job events
 *   cross nodes through the bus; the stream catches up from the events table).
 * - kill -9 of the node running a job mid-attempt: the other node takes it over once the
 *   lease has expired and finishes it (attempt 2).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { SQL } from "bun";
import { startFakeOpenAI, type FakeOpenAI, type RecordedCall } from "../fakes/fake-openai";
import { leadCode } from "../fixtures/lead-code";
import { leadSpec } from "../fixtures/lead-spec";
import { describePg, freshDatabase, type TestDatabase } from "../pg/shared";
import { client, startNode, stopAllNodes, until, type ClusterNode } from "./nodes";

const PROMPT = "Create an API that accepts a lead profile, scores fit, lists missing fields, and returns next actions.";
const stepOf = (c: RecordedCall) => /\[cantrip:(\w+)\]/.exec(c.system)?.[1];

describePg("jobs across two nodes", () => {
  let db: TestDatabase;
  let fake: FakeOpenAI;
  let pg: SQL;
  let nodes: ClusterNode[];
  let token: string;
  /** Plan calls for names listed here answer after this many ms (the first time only). */
  const slowOnce = new Map<string, number>();

  beforeAll(async () => {
    fake = startFakeOpenAI();
    fake.respond((call) => {
      const step = stepOf(call);
      if (step === "plan") {
        const slow = [...slowOnce].find(([name]) => call.lastUser.includes(name));
        if (slow) {
          slowOnce.delete(slow[0]);
          return { json: leadSpec, delayMs: slow[1] };
        }
        return { json: leadSpec };
      }
      return { content: "Here is the module:\n```ts\n" + leadCode + "\n```\n" };
    });
    db = await freshDatabase("jobs_");
    pg = new SQL({ url: db.url, max: 2 });
    const env = { OPENAI_BASE_URL: fake.url, CANTRIP_MODEL: "fake-coder", CANTRIP_MODEL_TIMEOUT_MS: "60000", CANTRIP_JOB_CONCURRENCY: "1" };
    const first = await startNode({ databaseUrl: db.url, name: "a", env });
    const second = await startNode({ databaseUrl: db.url, name: "b", env });
    nodes = [first, second];
    token = (first.adminToken() ?? second.adminToken())!;
  });
  afterAll(async () => {
    await stopAllNodes();
    await pg?.close();
    await fake?.stop();
    await db?.drop();
  });

  async function generate(node: ClusterNode, name: string): Promise<string> {
    const r = await client(node, token)("POST", "/v1/generate", { name, prompt: `${PROMPT} (${name})`, autoDeploy: false });
    expect(r.status).toBe(202);
    return r.body.data.job.id;
  }
  const jobRow = async (id: string) => (await pg`select status, lease_owner, attempts from jobs where id = ${id}`)[0] as { status: string; lease_owner: string | null; attempts: number };
  /** Waits until job `id` runs and returns the node that holds its lease. */
  async function runningOn(id: string, live: ClusterNode[]): Promise<ClusterNode> {
    let owner: string | null = null;
    await until(
      async () => {
        const row = await jobRow(id);
        owner = row.status === "running" ? row.lease_owner : null;
        return owner !== null;
      },
      30_000,
      `job ${id} running`,
      20,
    );
    const node = live.find((n) => owner!.startsWith(`${n.nodeId()}#`));
    if (!node) throw new Error(`lease owner ${owner} is none of the nodes`);
    return node;
  }

  test("SSE on one node streams a job that runs on the other node to done", async () => {
    slowOnce.set("Busy Work", 8_000);
    const blocker = await generate(nodes[0]!, "Busy Work");
    const busy = await runningOn(blocker, nodes);
    const free = nodes.find((n) => n !== busy)!;

    const job = await generate(busy, "Streamed Elsewhere");
    const owners = new Set<string>();
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const o = (await jobRow(job)).lease_owner;
        if (o) owners.add(o.split("#")[0]!);
        await Bun.sleep(20);
      }
    })();
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), 45_000);
    let text = "";
    try {
      const res = await fetch(`${busy.url}/v1/generate/${job}/stream`, { headers: { authorization: `Bearer ${token}` }, signal: ctrl.signal });
      expect(res.status).toBe(200);
      const decoder = new TextDecoder();
      for await (const chunk of res.body!) {
        text += decoder.decode(chunk, { stream: true });
        if (text.includes("event: done")) break;
      }
    } catch (e) {
      throw new Error(`the stream on ${busy.name} did not reach done within 45 s (${(e as Error).message}); it got:\n${text.slice(-2000)}`);
    } finally {
      clearTimeout(timer);
      ctrl.abort();
      watching = false;
      await watcher;
    }
    expect(text).toContain("event: progress");
    expect(/event: done\ndata: (.*)/.exec(text)?.[1]).toContain('"status":"completed"');
    // It ran on the free node: the busy node's one slot was still taken by the blocker.
    expect(owners.has(free.nodeId())).toBe(true);
    expect(owners.has(busy.nodeId())).toBe(false);
    expect((await jobRow(blocker)).status).toBe("running");
  }, 90_000);

  test("kill -9 of the node running a job: the other node takes it over after the lease and finishes it", async () => {
    // The busy node's blocker from the previous test must not hold the slot of the survivor.
    await until(async () => (await pg`select count(*)::int as n from jobs where status in ('queued', 'running')`)[0].n === 0, 60_000, "the cluster idle", 50);
    slowOnce.set("Dies Midway", 60_000);
    const job = await generate(nodes[0]!, "Dies Midway");
    const victim = await runningOn(job, nodes);
    const survivor = nodes.find((n) => n !== victim)!;
    await until(async () => fake.calls.some((c) => stepOf(c) === "plan" && c.lastUser.includes("Dies Midway")), 30_000, "the plan call in flight", 20);
    const killedAt = performance.now();
    await victim.kill9();

    const done = await until(async () => ["completed", "failed"].includes((await jobRow(job)).status), 90_000, "the job finished by the survivor", 50);
    const row = await jobRow(job);
    expect(row.status).toBe("completed");
    expect(row.attempts).toBe(2);
    const status = await client(survivor, token)("GET", `/v1/generate/${job}`);
    expect(status.body.data.status).toBe("completed");
    console.log(`[cluster] kill -9 mid-job → finished by the other node ${((performance.now() - killedAt) / 1000).toFixed(1)} s after the kill (${done.probes} probes)`);
  }, 150_000);
});
