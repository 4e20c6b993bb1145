/**
 * Credentials: named secrets of a workspace, encrypted at rest (AES-256-GCM, master key in
 * the data dir or env), each approved for a list of hosts. Values are never returned by the
 * API; an agent is granted a credential under an alias for hosts, and the egress proxy asks
 * `resolve` for the value when the backend's outbound request goes to one of those hosts.
 * Hosts are host patterns (`[scheme://]host[:port]`, runtime/host-patterns.ts), stored in
 * canonical form: a bare host means https on port 443 only.
 */
import { and, eq } from "drizzle-orm";
import type { Db } from "../db";
import { agentSecrets, secrets } from "../db/schema";
import { AppError } from "../errors";
import type { CryptoBox } from "../lib/crypto-box";
import { newId } from "../lib/ids";
import { formatHostPattern, parseHostPattern } from "../runtime";
import { iso } from "../lib/time";

export type CredentialRow = typeof secrets.$inferSelect;

export function credentialView(c: CredentialRow) {
  return { id: c.id, name: c.name, hosts: c.hosts, created_at: iso(c.createdAt) };
}

export class Credentials {
  constructor(private db: Db, private box: CryptoBox) {}

  async create(workspaceId: string, input: { name: string; value: string; hosts: string[] }): Promise<CredentialRow> {
    const hosts = canonicalHosts(input.hosts);
    const id = newId("cred");
    // The check and the insert in one transaction: two creates of one name cannot both pass.
    return this.db.tx(async (tx) => {
      // PostgreSQL: the name's lock makes the second of two creates answer 409, not a unique-index 500.
      await tx.lock(`credential:${workspaceId}:${input.name}`);
      const exists = (await tx.select({ id: secrets.id }).from(secrets).where(and(eq(secrets.workspaceId, workspaceId), eq(secrets.name, input.name))).limit(1))[0];
      if (exists) throw new AppError("conflict", `A credential named ${input.name} already exists.`);
      return (await tx.insert(secrets).values({ id, workspaceId, name: input.name, hosts, ciphertext: this.box.seal(input.value, id) }).returning())[0]!;
    });
  }

  async list(workspaceId: string): Promise<CredentialRow[]> {
    return await this.db.select().from(secrets).where(eq(secrets.workspaceId, workspaceId)).orderBy(secrets.name);
  }

  async byName(workspaceId: string, name: string): Promise<CredentialRow | undefined> {
    return (await this.db.select().from(secrets).where(and(eq(secrets.workspaceId, workspaceId), eq(secrets.name, name))).limit(1))[0];
  }

  async delete(workspaceId: string, id: string): Promise<void> {
    const row = (await this.db.select().from(secrets).where(and(eq(secrets.workspaceId, workspaceId), eq(secrets.id, id))).limit(1))[0];
    if (!row) throw new AppError("credential_not_found");
    await this.db.tx((tx) => tx.delete(secrets).where(eq(secrets.id, id)));
  }

  /** Grants a credential to an agent as `alias`, for hosts (default: the credential's own hosts). */
  async grant(agentId: string, credential: CredentialRow, alias = credential.name, hosts: string[] = credential.hosts): Promise<void> {
    const approved = new Set(credential.hosts.map((h) => canonicalHost(h) ?? h));
    const allowed = [...new Set(hosts.map((h) => canonicalHost(h) ?? h))].filter((h) => approved.has(h));
    if (!allowed.length) throw new AppError("invalid_request", `Credential ${credential.name} is not approved for ${hosts.join(", ")}.`);
    // The agent's runtime config names its grants: the live cache drops it on commit.
    await this.db.tx(async (tx) => {
      await tx
        .insert(agentSecrets)
        .values({ agentId, secretId: credential.id, alias, hosts: allowed })
        .onConflictDoUpdate({ target: [agentSecrets.agentId, agentSecrets.alias], set: { secretId: credential.id, hosts: allowed } });
      tx.publish("agent.live", { agentId });
    });
  }

  /** The value of an agent's granted secret, for the egress proxy only. */
  async resolve(agentId: string, alias: string): Promise<string | null> {
    const row = (await this.db
      .select({ id: secrets.id, ciphertext: secrets.ciphertext })
      .from(agentSecrets)
      .innerJoin(secrets, eq(secrets.id, agentSecrets.secretId))
      .where(and(eq(agentSecrets.agentId, agentId), eq(agentSecrets.alias, alias)))
      .limit(1))[0];
    if (!row) return null;
    try {
      return this.box.open(row.ciphertext, row.id);
    } catch {
      return null;
    }
  }
}

function canonicalHost(h: string): string | null {
  const p = parseHostPattern(h);
  return p && formatHostPattern(p);
}

/** Canonical host patterns, or 400 invalid_request naming the first that is not one. */
export function canonicalHosts(hosts: string[]): string[] {
  return [
    ...new Set(
      hosts.map((h, i) => {
        const c = canonicalHost(h);
        if (c === null) {
          const message = `"${h}" is not a host pattern: use host, host:port, *.domain, or scheme://host:port with scheme http or https`;
          throw new AppError("invalid_request", `hosts[${i}]: ${message}`, { details: [{ field: `hosts[${i}]`, rule: "HostPattern", message }] });
        }
        return c;
      }),
    ),
  ];
}
