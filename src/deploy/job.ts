/** The `deploy` job kind: loads the version in the sandbox, then switches traffic. */
import { Type as T } from "@sinclair/typebox";
import { defineJobKind, NonRetriableError } from "../jobs";
import { AppError } from "../errors";
import type { Deployer } from "./deployer";

export function deployJob(deployer: Deployer) {
  return defineJobKind({
    kind: "deploy",
    payload: T.Object({ deploymentId: T.String() }),
    timeoutMs: 120_000,
    // A deploy is short and its caller waits for it: it never queues behind generations
    // holding every shared slot while they wait on the model.
    ownSlots: true,
    concurrency: 2,
    // A restart mid-deploy re-runs it: execute() is idempotent on the deployment's status.
    maxAttempts: 3,
    backoff: { baseMs: 200, maxMs: 2000 },
    async handler(ctx) {
      ctx.progress(10, "load");
      try {
        const r = await deployer.execute(ctx.payload.deploymentId);
        ctx.progress(100, "deployed");
        ctx.log("info", `version ${r.version} is live`);
        return r;
      } catch (e) {
        throw new NonRetriableError(e instanceof AppError ? e.code : "internal_error", (e as Error).message, "load");
      }
    },
  });
}
