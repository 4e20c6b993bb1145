/**
 * Files in the data dir that hold secrets (admin token, master key): written once with
 * mode 0600, never rewritten if present.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { AppError } from "../errors";
import { ensurePrivateDir } from "../lib/private-files";

export function writeSecretFile(path: string, content: string): void {
  writeFileSync(path, content, { mode: 0o600 });
  chmodSync(path, 0o600);
}

/** The 32-byte master key: from config (base64) or `<dataDir>/secret.key`, created on first use. */
export function loadMasterKey(dataDir: string, configured: string): Uint8Array {
  if (configured) {
    const key = Buffer.from(configured, "base64");
    if (key.length !== 32) throw new AppError("invalid_request", "CANTRIP_SECRET_KEY must be 32 bytes, base64-encoded");
    return key;
  }
  ensurePrivateDir(dataDir);
  const file = join(dataDir, "secret.key");
  if (existsSync(file)) {
    const key = Buffer.from(readFileSync(file, "utf8").trim(), "base64");
    if (key.length === 32) return key;
  }
  const key = randomBytes(32);
  writeSecretFile(file, key.toString("base64") + "\n");
  return key;
}
