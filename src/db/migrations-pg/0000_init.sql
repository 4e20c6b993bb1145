CREATE TABLE "agent_logs" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"agent_id" text NOT NULL,
	"invocation_request_id" text,
	"level" text NOT NULL,
	"message" text NOT NULL,
	"at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "agent_secrets" (
	"agent_id" text NOT NULL,
	"secret_id" text NOT NULL,
	"alias" text NOT NULL,
	"hosts" text NOT NULL,
	CONSTRAINT "agent_secrets_agent_id_alias_pk" PRIMARY KEY("agent_id","alias")
);
--> statement-breakpoint
CREATE TABLE "agents" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"slug" text NOT NULL,
	"name" text NOT NULL,
	"status" text NOT NULL,
	"prompt" text,
	"model" text,
	"region" text DEFAULT 'auto' NOT NULL,
	"public" boolean DEFAULT false NOT NULL,
	"engine" text DEFAULT 'quickjs' NOT NULL,
	"latest_version" integer,
	"live_version" integer,
	"limits" text,
	"allowed_hosts" text DEFAULT '[]' NOT NULL,
	"env" text,
	"failure" text,
	"job_type" text,
	"service_key_id" text,
	"service_key_cipher" text,
	"created_at" bigint DEFAULT ((floor(extract(epoch from statement_timestamp()) * 1000))::bigint) NOT NULL,
	"updated_at" bigint DEFAULT ((floor(extract(epoch from statement_timestamp()) * 1000))::bigint) NOT NULL
);
--> statement-breakpoint
CREATE TABLE "api_keys" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"agent_id" text NOT NULL,
	"name" text NOT NULL,
	"type" text DEFAULT 'agent' NOT NULL,
	"key_hash" text NOT NULL,
	"prefix" text NOT NULL,
	"last_four" text NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"created_at" bigint DEFAULT ((floor(extract(epoch from statement_timestamp()) * 1000))::bigint) NOT NULL,
	"last_used_at" bigint,
	"revoked_at" bigint
);
--> statement-breakpoint
CREATE TABLE "conversations" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"agent_id" text,
	"name" text NOT NULL,
	"status" text NOT NULL,
	"prompt" text NOT NULL,
	"message" text,
	"asks" text DEFAULT '[]' NOT NULL,
	"history" text DEFAULT '[]' NOT NULL,
	"facts" text DEFAULT '{}' NOT NULL,
	"spec" text,
	"rounds" integer DEFAULT 0 NOT NULL,
	"skip_approval" boolean DEFAULT false NOT NULL,
	"skip_review" boolean DEFAULT false NOT NULL,
	"review_passed" boolean,
	"qa_passed" boolean,
	"job_id" text,
	"failure" text,
	"created_at" bigint DEFAULT ((floor(extract(epoch from statement_timestamp()) * 1000))::bigint) NOT NULL,
	"updated_at" bigint DEFAULT ((floor(extract(epoch from statement_timestamp()) * 1000))::bigint) NOT NULL
);
--> statement-breakpoint
CREATE TABLE "deployments" (
	"id" text PRIMARY KEY NOT NULL,
	"agent_id" text NOT NULL,
	"version" integer NOT NULL,
	"status" text NOT NULL,
	"kind" text DEFAULT 'deploy' NOT NULL,
	"job_id" text,
	"error" text,
	"created_at" bigint DEFAULT ((floor(extract(epoch from statement_timestamp()) * 1000))::bigint) NOT NULL,
	"updated_at" bigint DEFAULT ((floor(extract(epoch from statement_timestamp()) * 1000))::bigint) NOT NULL
);
--> statement-breakpoint
CREATE TABLE "invocations" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"agent_id" text NOT NULL,
	"version" integer,
	"key_id" text,
	"source" text DEFAULT 'invoke' NOT NULL,
	"method" text,
	"path" text,
	"status" integer NOT NULL,
	"latency_ms" integer NOT NULL,
	"error_code" text,
	"request_id" text,
	"at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "job_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"job_id" text NOT NULL,
	"type" text NOT NULL,
	"level" text,
	"message" text,
	"data" text,
	"at" bigint DEFAULT ((floor(extract(epoch from statement_timestamp()) * 1000))::bigint) NOT NULL
);
--> statement-breakpoint
CREATE TABLE "jobs" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text,
	"agent_id" text,
	"kind" text NOT NULL,
	"payload" text NOT NULL,
	"status" text NOT NULL,
	"progress" integer DEFAULT 0 NOT NULL,
	"stage" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"max_attempts" integer DEFAULT 1 NOT NULL,
	"run_at" bigint DEFAULT ((floor(extract(epoch from statement_timestamp()) * 1000))::bigint) NOT NULL,
	"lease_owner" text,
	"lease_until" bigint,
	"cancel_requested" boolean DEFAULT false NOT NULL,
	"result" text,
	"failure" text,
	"created_at" bigint DEFAULT ((floor(extract(epoch from statement_timestamp()) * 1000))::bigint) NOT NULL,
	"updated_at" bigint DEFAULT ((floor(extract(epoch from statement_timestamp()) * 1000))::bigint) NOT NULL,
	"started_at" bigint,
	"finished_at" bigint
);
--> statement-breakpoint
CREATE TABLE "kv" (
	"agent_id" text NOT NULL,
	"key" text NOT NULL,
	"value" text NOT NULL,
	"size" integer NOT NULL,
	"updated_at" bigint DEFAULT ((floor(extract(epoch from statement_timestamp()) * 1000))::bigint) NOT NULL,
	CONSTRAINT "kv_agent_id_key_pk" PRIMARY KEY("agent_id","key")
);
--> statement-breakpoint
CREATE TABLE "platform_tokens" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"name" text NOT NULL,
	"token_hash" text NOT NULL,
	"prefix" text NOT NULL,
	"last_four" text NOT NULL,
	"created_at" bigint DEFAULT ((floor(extract(epoch from statement_timestamp()) * 1000))::bigint) NOT NULL,
	"last_used_at" bigint,
	"revoked_at" bigint
);
--> statement-breakpoint
CREATE TABLE "schedules" (
	"agent_id" text PRIMARY KEY NOT NULL,
	"cron" text NOT NULL,
	"mode" text DEFAULT 'always_on' NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"timezone" text DEFAULT 'UTC' NOT NULL,
	"next_run_at" bigint,
	"last_run_at" bigint,
	"created_at" bigint DEFAULT ((floor(extract(epoch from statement_timestamp()) * 1000))::bigint) NOT NULL
);
--> statement-breakpoint
CREATE TABLE "secrets" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"name" text NOT NULL,
	"hosts" text DEFAULT '[]' NOT NULL,
	"ciphertext" text NOT NULL,
	"created_at" bigint DEFAULT ((floor(extract(epoch from statement_timestamp()) * 1000))::bigint) NOT NULL
);
--> statement-breakpoint
CREATE TABLE "versions" (
	"id" text PRIMARY KEY NOT NULL,
	"agent_id" text NOT NULL,
	"number" integer NOT NULL,
	"origin" text NOT NULL,
	"files" text NOT NULL,
	"entrypoint" text NOT NULL,
	"bundle" text,
	"hash" text,
	"described" text,
	"diagnostics" text,
	"spec" text,
	"validation" text,
	"transcript" text,
	"created_at" bigint DEFAULT ((floor(extract(epoch from statement_timestamp()) * 1000))::bigint) NOT NULL
);
--> statement-breakpoint
CREATE TABLE "workspaces" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"created_at" bigint DEFAULT ((floor(extract(epoch from statement_timestamp()) * 1000))::bigint) NOT NULL
);
--> statement-breakpoint
ALTER TABLE "agent_logs" ADD CONSTRAINT "agent_logs_agent_id_agents_id_fk" FOREIGN KEY ("agent_id") REFERENCES "public"."agents"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agent_secrets" ADD CONSTRAINT "agent_secrets_agent_id_agents_id_fk" FOREIGN KEY ("agent_id") REFERENCES "public"."agents"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agent_secrets" ADD CONSTRAINT "agent_secrets_secret_id_secrets_id_fk" FOREIGN KEY ("secret_id") REFERENCES "public"."secrets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agents" ADD CONSTRAINT "agents_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_agent_id_agents_id_fk" FOREIGN KEY ("agent_id") REFERENCES "public"."agents"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversations" ADD CONSTRAINT "conversations_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversations" ADD CONSTRAINT "conversations_agent_id_agents_id_fk" FOREIGN KEY ("agent_id") REFERENCES "public"."agents"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployments" ADD CONSTRAINT "deployments_agent_id_agents_id_fk" FOREIGN KEY ("agent_id") REFERENCES "public"."agents"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "invocations" ADD CONSTRAINT "invocations_agent_id_agents_id_fk" FOREIGN KEY ("agent_id") REFERENCES "public"."agents"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "job_events" ADD CONSTRAINT "job_events_job_id_jobs_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."jobs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "jobs" ADD CONSTRAINT "jobs_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "kv" ADD CONSTRAINT "kv_agent_id_agents_id_fk" FOREIGN KEY ("agent_id") REFERENCES "public"."agents"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "platform_tokens" ADD CONSTRAINT "platform_tokens_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "schedules" ADD CONSTRAINT "schedules_agent_id_agents_id_fk" FOREIGN KEY ("agent_id") REFERENCES "public"."agents"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "secrets" ADD CONSTRAINT "secrets_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "versions" ADD CONSTRAINT "versions_agent_id_agents_id_fk" FOREIGN KEY ("agent_id") REFERENCES "public"."agents"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "agent_logs_agent" ON "agent_logs" USING btree ("agent_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "agents_slug" ON "agents" USING btree ("slug");--> statement-breakpoint
CREATE INDEX "agents_workspace" ON "agents" USING btree ("workspace_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "api_keys_hash" ON "api_keys" USING btree ("key_hash");--> statement-breakpoint
CREATE INDEX "api_keys_agent" ON "api_keys" USING btree ("agent_id","id");--> statement-breakpoint
CREATE INDEX "conversations_workspace" ON "conversations" USING btree ("workspace_id","id");--> statement-breakpoint
CREATE INDEX "deployments_agent" ON "deployments" USING btree ("agent_id","id");--> statement-breakpoint
CREATE INDEX "invocations_agent" ON "invocations" USING btree ("agent_id","id");--> statement-breakpoint
CREATE INDEX "invocations_agent_at" ON "invocations" USING btree ("agent_id","at");--> statement-breakpoint
CREATE INDEX "job_events_job" ON "job_events" USING btree ("job_id","id");--> statement-breakpoint
CREATE INDEX "jobs_pick" ON "jobs" USING btree ("status","run_at");--> statement-breakpoint
CREATE INDEX "jobs_agent" ON "jobs" USING btree ("agent_id");--> statement-breakpoint
CREATE UNIQUE INDEX "platform_tokens_hash" ON "platform_tokens" USING btree ("token_hash");--> statement-breakpoint
CREATE UNIQUE INDEX "secrets_workspace_name" ON "secrets" USING btree ("workspace_id","name");--> statement-breakpoint
CREATE UNIQUE INDEX "versions_agent_number" ON "versions" USING btree ("agent_id","number");