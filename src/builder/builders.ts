/**
 * Builders: the builder-API view of an agent (/api/v1/builders). A builder created from
 * your own code is an agent plus a service key (an agent API key kept sealed with the
 * master key, because the builder object returns it on every read) and an optional
 * schedule. The builder's uuid is its agent id.
 */
import { agentById } from "../agents/lifecycle";
import { and, eq } from "drizzle-orm";
import type { Db } from "../db";
import { agents, versions } from "../db/schema";
import type { AgentKeys } from "../auth";
import type { AgentService, AgentRow, Schedules } from "../agents";
import type { PublicUrls } from "../lib/public-urls";
import type { Deployer } from "../deploy";
import type { CryptoBox } from "../lib/crypto-box";
import { iso } from "../lib/time";

export interface BuilderInput {
  name: string;
  files: Record<string, string>;
  entrypoint: string;
  env?: Record<string, string>;
  job_type?: "always_on" | "one_time";
  schedule?: string;
}

export class Builders {
  constructor(
    private deps: {
      db: Db;
      agents: AgentService;
      deployer: Deployer;
      keys: AgentKeys;
      box: CryptoBox;
      urls: Pick<PublicUrls, "app">;
      schedules: Schedules;
    },
  ) {}

  /** Throws 400 invalid_request unless `cron` is an acceptable schedule (src/agents/schedule-policy.ts). */
  checkSchedule(cron: string, field = "schedule", timezone?: string): void {
    this.deps.schedules.check({ cron, timezone }, field);
  }

  async create(workspaceId: string, input: BuilderInput) {
    if (input.schedule) this.checkSchedule(input.schedule);
    const agent = await this.deps.agents.create(workspaceId, {
      name: input.name,
      files: input.files,
      entrypoint: input.entrypoint,
      env: input.env,
      jobType: input.job_type ?? "always_on",
    });
    await this.attachServiceKey(agent);
    if (input.schedule) await this.setSchedule(agent.id, input.schedule, input.job_type ?? "always_on");
    await this.deps.deployer.request(await this.row(agent.id));
    return this.view(await this.row(agent.id));
  }

  /** Mints the service key of an agent (builders and conversations) and seals it. */
  async attachServiceKey(agent: AgentRow): Promise<string> {
    const { key, apiKey } = await this.deps.keys.create(agent.workspaceId, agent.id, "service", "service");
    await this.deps.db.tx((tx) =>
      tx
        .update(agents)
        .set({ serviceKeyId: apiKey.id, serviceKeyCipher: this.deps.box.seal(key, agent.id) })
        .where(eq(agents.id, agent.id)),);
    return key;
  }

  async setSchedule(agentId: string, cron: string, mode: string, timezone?: string): Promise<void> {
    await this.deps.schedules.set(agentId, { cron, timezone, mode: mode === "one_time" ? "one_time" : "always_on" });
  }

  row(agentId: string): Promise<AgentRow> {
    return agentById(this.deps.db, agentId);
  }

  async view(a: AgentRow, extra: { reviewPassed?: boolean | null; qaPassed?: boolean | null } = {}) {
    const sched = await this.deps.schedules.get(a.id);
    const live = a.liveVersion ?? a.latestVersion;
    const v =
      live === null
        ? undefined
        : (await this.deps.db
            .select({ entrypoint: versions.entrypoint })
            .from(versions)
            .where(and(eq(versions.agentId, a.id), eq(versions.number, live)))
            .limit(1))[0];
    let serviceToken: string | null = null;
    if (a.serviceKeyCipher) {
      try {
        serviceToken = this.deps.box.open(a.serviceKeyCipher, a.id);
      } catch {
        serviceToken = null; // master key changed: the operator must rotate the key
      }
    }
    return {
      uuid: a.id,
      name: a.name,
      slug: a.slug,
      status: a.status,
      preview_url: this.deps.urls.app(a.slug),
      service_token: serviceToken,
      entrypoint: v?.entrypoint ?? null,
      job_type: a.jobType ?? "always_on",
      review_passed: extra.reviewPassed ?? null,
      qa_passed: extra.qaPassed ?? null,
      schedule: sched ? sched.cron : null,
      live_version: a.liveVersion,
      created_at: iso(a.createdAt),
    };
  }
}
