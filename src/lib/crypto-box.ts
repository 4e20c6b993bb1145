/**
 * Encryption at rest for credentials and service keys: AES-256-GCM with the master key,
 * a random 96-bit nonce per value. Stored as "v1.<nonce>.<ciphertext+tag>" in base64url.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

export class CryptoBox {
  constructor(private key: Uint8Array) {
    if (key.length !== 32) throw new Error("CryptoBox needs a 32-byte key");
  }

  seal(plain: string, aad = ""): string {
    const iv = randomBytes(12);
    const c = createCipheriv("aes-256-gcm", this.key, iv);
    c.setAAD(Buffer.from(aad));
    const body = Buffer.concat([c.update(plain, "utf8"), c.final(), c.getAuthTag()]);
    return `v1.${iv.toString("base64url")}.${body.toString("base64url")}`;
  }

  open(sealed: string, aad = ""): string {
    const [v, ivb, bodyb] = sealed.split(".");
    if (v !== "v1" || !ivb || !bodyb) throw new Error("unsupported ciphertext");
    const body = Buffer.from(bodyb, "base64url");
    const d = createDecipheriv("aes-256-gcm", this.key, Buffer.from(ivb, "base64url"));
    d.setAAD(Buffer.from(aad));
    d.setAuthTag(body.subarray(body.length - 16));
    return Buffer.concat([d.update(body.subarray(0, body.length - 16)), d.final()]).toString("utf8");
  }
}
