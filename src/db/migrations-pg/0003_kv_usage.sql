CREATE TABLE "kv_usage" (
	"agent_id" text PRIMARY KEY NOT NULL,
	"bytes" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "kv_usage" ADD CONSTRAINT "kv_usage_agent_id_agents_id_fk" FOREIGN KEY ("agent_id") REFERENCES "public"."agents"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
-- Agents whose kv already holds rows start counted (kv-sqlite.ts would otherwise sum them on their next write).
INSERT INTO "kv_usage" ("agent_id", "bytes") SELECT "agent_id", sum("size") FROM "kv" GROUP BY "agent_id";
--> statement-breakpoint
-- kv keys compare in code point order on every database, as on SQLite (kv-sqlite.ts answers a
-- prefix with a key range; a linguistic collation such as en-US put "a:" before "a9").
ALTER TABLE "kv" ALTER COLUMN "key" SET DATA TYPE text COLLATE "C";
