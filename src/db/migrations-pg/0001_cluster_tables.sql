CREATE TABLE "cluster_meta" (
	"key" text PRIMARY KEY NOT NULL,
	"value" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "cluster_singletons" (
	"name" text PRIMARY KEY NOT NULL,
	"at" bigint NOT NULL
);
