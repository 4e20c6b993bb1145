import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { openDatabase } from "../db";
import { platformTokens } from "../db/schema";
import { DashboardSessions } from "./dashboard-sessions";
import { bootstrapWorkspace, PlatformTokenVerifier } from "./platform-tokens";

const dir = mkdtempSync(join(tmpdir(), "cantrip-sessions-"));
const { db, sqlite } = openDatabase(join(dir, "cantrip.db"));
afterAll(() => {
  sqlite.close();
  rmSync(dir, { recursive: true, force: true });
});
const admin = (await bootstrapWorkspace(db))!;
const key = new Uint8Array(32).fill(7);
const ttlMs = 60_000;

const valueOf = (cookies: string[]) => cookies[0]!.split(";")[0]!.split("=")[1]!;

describe("DashboardSessions", () => {
  test("a session verifies to its token's principal until it expires", async () => {
    const sessions = new DashboardSessions(new PlatformTokenVerifier(db, 0), key, { ttlMs, secure: false });
    const s = await sessions.open(admin.token, 1_000);
    const v = await sessions.verify(valueOf(s.cookies), 1_000 + ttlMs - 1);
    expect(v.principal).toEqual({ workspaceId: admin.workspaceId, tokenId: admin.id });
    expect(v.csrfToken).toBe(s.csrfToken);
    expect(sessions.verify(valueOf(s.cookies), 1_000 + ttlMs + 1)).rejects.toThrow("expired");
  });

  test("two sign-ins give two sessions with different CSRF tokens", async () => {
    const sessions = new DashboardSessions(new PlatformTokenVerifier(db, 0), key, { ttlMs, secure: true });
    const a = await sessions.open(admin.token);
    const b = await sessions.open(admin.token);
    expect(a.csrfToken).not.toBe(b.csrfToken);
    expect(a.cookies[0]).toContain("Secure");
  });

  test("another server key's session is refused", async () => {
    const mine = new DashboardSessions(new PlatformTokenVerifier(db, 0), key, { ttlMs, secure: false });
    const theirs = new DashboardSessions(new PlatformTokenVerifier(db, 0), new Uint8Array(32).fill(8), { ttlMs, secure: false });
    expect(mine.verify(valueOf((await theirs.open(admin.token)).cookies))).rejects.toThrow();
  });

  test("revoking the platform token ends its sessions", async () => {
    const sessions = new DashboardSessions(new PlatformTokenVerifier(db, 0), key, { ttlMs, secure: false });
    const value = valueOf((await sessions.open(admin.token)).cookies);
    expect((await sessions.verify(value)).principal.tokenId).toBe(admin.id);
    await db.tx((t) => t.update(platformTokens).set({ revokedAt: Date.now() }).where(eq(platformTokens.id, admin.id)));
    expect(sessions.verify(value)).rejects.toThrow();
    expect(sessions.open(admin.token)).rejects.toThrow();
  });
});
