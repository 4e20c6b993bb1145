/**
 * Identifiers and random secrets. Ids are `prefix_` + 10 chars of time (base32, sortable)
 * + 12 random chars, so ordering by id is ordering by creation: cursor pagination relies on it.
 */
import { createHash, randomBytes } from "node:crypto";

const CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz";
const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

let lastTime = 0;
let lastRand = "";

function encodeTime(ms: number): string {
  let out = "";
  for (let i = 0; i < 10; i++) {
    out = CROCKFORD[ms % 32]! + out;
    ms = Math.floor(ms / 32);
  }
  return out;
}

function randomChars(n: number, alphabet: string): string {
  // Rejection sampling keeps the distribution uniform for alphabets that do not divide 256.
  const limit = 256 - (256 % alphabet.length);
  let out = "";
  while (out.length < n) {
    for (const b of randomBytes(n * 2)) {
      if (b < limit) out += alphabet[b % alphabet.length];
      if (out.length === n) break;
    }
  }
  return out;
}

/**
 * Bytes from the same CSPRNG, drawn 4 KiB at a time and each used once: for the per-request
 * identifiers (request ids, queue owners) that are made on every call (issue 15: a
 * `randomBytes` call and its buffer per request id cost ~0.8 µs). Secrets keep `randomChars`.
 */
const pool = new Uint8Array(4096);
let poolAt = pool.length;

function pooledChars(n: number, alphabet: string): string {
  const limit = 256 - (256 % alphabet.length);
  let out = "";
  while (out.length < n) {
    if (poolAt === pool.length) {
      crypto.getRandomValues(pool);
      poolAt = 0;
    }
    const b = pool[poolAt++]!;
    if (b < limit) out += alphabet[b % alphabet.length];
  }
  return out;
}

/** Monotonic within one process: ids minted in the same millisecond still sort in order. */
export function newId(prefix: string): string {
  const t = Date.now();
  let rand: string;
  if (t === lastTime) {
    rand = increment(lastRand);
  } else {
    rand = randomChars(12, CROCKFORD);
    lastTime = t;
  }
  lastRand = rand;
  return `${prefix}_${encodeTime(t)}${rand}`;
}

function increment(s: string): string {
  const chars = s.split("");
  for (let i = chars.length - 1; i >= 0; i--) {
    const idx = CROCKFORD.indexOf(chars[i]!);
    if (idx < 31) {
      chars[i] = CROCKFORD[idx + 1]!;
      return chars.join("");
    }
    chars[i] = "0";
  }
  return chars.join("");
}

/**
 * The id of one occurrence of something that must exist at most once, e.g. a schedule's run
 * for one scheduled time: the same `(atMs, key)` always gives the same id, so a second insert
 * of it is absorbed by the primary key. Shaped like `newId` (`prefix_` + 10 chars of `atMs` +
 * 12 chars of a SHA-256 of `key`), so it sorts by `atMs` among ids made by `newId`.
 */
export function occurrenceId(prefix: string, atMs: number, key: string): string {
  const digest = createHash("sha256").update(key).digest();
  let tail = "";
  for (let i = 0; i < 12; i++) tail += CROCKFORD[digest[i]! % 32];
  return `${prefix}_${encodeTime(Math.max(0, Math.floor(atMs)))}${tail}`;
}

/** `prefix` + 32 random base62 chars: ~190 bits. */
export function newSecret(prefix: string, length = 32): string {
  return prefix + randomChars(length, BASE62);
}

/** `length` random base62 characters (uniform; not for secrets, which use newSecret). */
export function randomBase62(length: number): string {
  return pooledChars(length, BASE62);
}
