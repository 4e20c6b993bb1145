/**
 * A node that starts (or restarts) while another node of the cluster is working must not
 * "reconcile" that node's live work: start-up reconciliation (src/reconcile.ts) settles rows
 * whose job can no longer finish, and in cluster mode a job running on a peer can. The case
 * that broke: a builder conversation's first build creates its agent (`generating`) from a
 * `builder.turn` job that carries no agent id; node B booting meanwhile saw "generating, no
 * active job of this agent" and marked the agent failed ("interrupted") under node A's
 * running build.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { SQL } from "bun";
import { startFakeOpenAI, type FakeOpenAI, type RecordedCall } from "../fakes/fake-openai";
import { leadSpec } from "../fixtures/lead-spec";
import { describePg, freshDatabase, type TestDatabase } from "../pg/shared";
import { client, startNode, stopAllNodes, until, type ClusterNode } from "./nodes";

const stepOf = (c: RecordedCall) => /\[cantrip:(\w+)\]/.exec(c.system)?.[1];

describePg("start-up reconciliation leaves a peer's running work alone", () => {
  let db: TestDatabase;
  let fake: FakeOpenAI;
  let pg: SQL;
  let a: ClusterNode;

  beforeAll(async () => {
    fake = startFakeOpenAI();
    fake.respond((call) => {
      const step = stepOf(call);
      if (step === "ask") return { json: { ready: true, message: "Clear.", asks: [], facts: {}, name: "Peer Build" } };
      if (step === "plan") return { json: leadSpec };
      return { hang: true }; // the build stays in progress on node A
    });
    db = await freshDatabase("recon_");
    pg = new SQL({ url: db.url, max: 2 });
    a = await startNode({ databaseUrl: db.url, name: "a", env: { OPENAI_BASE_URL: fake.url, CANTRIP_MODEL: "fake-coder", CANTRIP_MODEL_TIMEOUT_MS: "120000" } });
  });
  afterAll(async () => {
    await stopAllNodes();
    await pg?.close();
    await fake?.stop();
    await db?.drop();
  });

  test("a conversation's first build on A keeps its agent generating when B boots", async () => {
    const onA = client(a, a.adminToken()!);
    const r = await onA("POST", "/api/v1/builder-agents", { prompt: "Score my inbound leads and list what is missing.", skip_approval: true, skip_review: true });
    expect(r.status).toBe(202);
    const uuid = r.body.data.uuid as string;
    let agentId: string | null = null;
    await until(
      async () => {
        agentId = ((await pg`select agent_id from conversations where id = ${uuid}`)[0] as { agent_id: string | null } | undefined)?.agent_id ?? null;
        return agentId !== null && fake.calls.some((c) => stepOf(c) === "code");
      },
      30_000,
      "the build's agent created and its code step waiting",
      30,
    );
    const status = async () => ((await pg`select status from agents where id = ${agentId}`)[0] as { status: string }).status;
    expect(await status()).toBe("generating");

    const b = await startNode({ databaseUrl: db.url, name: "b" }); // boots: recover + reconcile
    expect(b.stdout() + b.stderr()).not.toContain("error");
    expect(await status()).toBe("generating");
    expect(((await pg`select status from conversations where id = ${uuid}`)[0] as { status: string }).status).toBe("processing");
  }, 90_000);
});
