/**
 * Starting a generation: in one transaction, the agent row (status `generating`, a unique
 * slug) and its `generate` job. Used by POST /v1/generate and the platform MCP server's
 * generate tool, so both create exactly the same thing.
 */
import { insertAgent } from "../agents/lifecycle";
import type { Db, Tx } from "../db";
import { newId } from "../lib/ids";

/** What a caller asks for (the body of POST /v1/generate). */
export interface GenerationRequest {
  name: string;
  prompt: string;
  model?: string;
  region?: string;
  autoDeploy?: boolean;
}

/**
 * Creates the agent and queues its generation; returns the agent row, the job id and the
 * model that will be used. The caller checks that a model is configured first. A workspace
 * that already has `maxAgents` agents gets 409 agent_limit_reached (nothing is written).
 */
export function startGeneration(
  deps: { db: Db; jobs: { enqueueInTx(tx: Tx, kind: string, payload: unknown, meta: { workspaceId?: string; agentId?: string }): Promise<{ id: string }> }; provider: string; defaultModel: string; maxAgents: number },
  workspaceId: string,
  body: GenerationRequest,
) {
  const model = body.model ?? deps.defaultModel;
  return deps.db.tx(async (tx) => {
    const id = newId("agent");
    const agent = await insertAgent(tx, { id, workspaceId, name: body.name, status: "generating", prompt: body.prompt, model, region: body.region ?? "auto" }, deps.maxAgents);
    const job = await deps.jobs.enqueueInTx(
      tx,
      "generate",
      { agentId: id, prompt: body.prompt, model, autoDeploy: body.autoDeploy ?? false, provider: deps.provider },
      { workspaceId, agentId: id },
    );
    return { agent, jobId: job.id, model };
  });
}
