/**
 * Cluster-wide coordination rows on PostgreSQL (cluster mode; docs/ARCHITECTURE.md
 * "PostgreSQL (in progress)"), in the tables schema.pg.ts keeps for the cluster alone:
 * - `claimSingleton`: a periodic chore (pruning, the error-rate monitor) runs once per
 *   interval across all nodes, with no leader: each node tries one conditional upsert on
 *   the chore's row and only the node whose write lands runs it (pg-boss's pattern);
 * - `checkClusterSecret`: every node must share CANTRIP_SECRET_KEY (credentials sealed by
 *   one node are opened by another); the first node records a fingerprint of the key, and a
 *   node with another key refuses to start with one line.
 */
import { createHmac } from "node:crypto";
import { sql } from "drizzle-orm";
import { ConfigError } from "../config/load";
import type { Db } from "./client";
import type { PgDb } from "./pg-driver";
import { dialect } from "./schema";
import { clusterMeta, clusterSingletons } from "./schema.pg";

/**
 * True when this call won chore `name` for the interval ending now: the chore's row did not
 * exist, or it last ran at least `intervalMs` earlier. "Now" is the database's clock (one
 * clock for every node; pass `now`, epoch ms, to use another, e.g. in tests). The upsert is
 * one statement, so of any number of concurrent callers at most one wins per interval (a
 * later caller re-checks the row after the winner's commit, READ COMMITTED).
 */
export async function claimSingleton(db: Pick<PgDb, "insert">, name: string, intervalMs: number, now?: number): Promise<boolean> {
  const at = now ?? sql<number>`((floor(extract(epoch from statement_timestamp()) * 1000))::bigint)`;
  const won = await db
    .insert(clusterSingletons)
    .values({ name, at })
    .onConflictDoUpdate({
      target: clusterSingletons.name,
      set: { at: sql`excluded.at` },
      setWhere: sql`${clusterSingletons.at} <= excluded.at - ${intervalMs}::bigint`,
    })
    .returning({ name: clusterSingletons.name });
  return won.length === 1;
}

/**
 * `claimSingleton` for whichever database `db` is: on SQLite always true (one node owns the
 * file: src/ops/server-lock.ts), on PostgreSQL true for one caller per `intervalMs` across
 * every node. The composition root gates its cluster-wide chores with it (src/boot.ts).
 */
export async function claimChore(db: Db, name: string, intervalMs: number, now?: number): Promise<boolean> {
  if (dialect() !== "postgres") return true;
  return claimSingleton(db as unknown as PgDb, name, intervalMs, now);
}

/**
 * The interval a chore that runs every `everyMs` on each node claims its singleton for: a
 * tenth less (at most 5 s less), so a node whose timer fires a little early against the
 * database's clock still wins its turn instead of skipping a whole interval; two runs of the
 * chore anywhere in the cluster are never closer than this.
 */
export function choreInterval(everyMs: number): number {
  return Math.max(1, everyMs - Math.min(everyMs / 10, 5000));
}

/** The cluster_meta key under which the secret-key fingerprint is kept. */
export const SECRET_FINGERPRINT = "secret_key_fingerprint";

/**
 * A fingerprint of the master key that reveals nothing about it: HMAC-SHA256 keyed by the
 * key itself over a fixed label, first 16 bytes in hex.
 */
export function secretFingerprint(masterKey: Uint8Array): string {
  return createHmac("sha256", masterKey).update("cantrip cluster secret-key fingerprint v1").digest("hex").slice(0, 32);
}

/**
 * Records the master key's fingerprint on first start (first writer wins) and checks it on
 * every start after. Throws ConfigError (one line for the operator) when this node's key
 * differs from the cluster's.
 */
export async function checkClusterSecret(db: Pick<PgDb, "insert" | "select">, masterKey: Uint8Array): Promise<void> {
  const mine = secretFingerprint(masterKey);
  await db.insert(clusterMeta).values({ key: SECRET_FINGERPRINT, value: mine }).onConflictDoNothing();
  const [row] = await db.select({ value: clusterMeta.value }).from(clusterMeta).where(sql`${clusterMeta.key} = ${SECRET_FINGERPRINT}`);
  if (row?.value !== mine)
    throw new ConfigError(
      `CANTRIP_SECRET_KEY differs from the one this cluster's database was started with (fingerprint ${mine.slice(0, 8)}… vs ${row?.value.slice(0, 8)}…): every node must use the same key`,
    );
}
