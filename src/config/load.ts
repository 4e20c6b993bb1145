/**
 * Reads settings from flags and environment once. A bad value stops start-up with one
 * line naming the variable (ConfigError), never a stack trace.
 */
import { Value } from "@sinclair/typebox/value";
import { ConfigSchema, settings, type Config, type SettingSpec } from "./schema";
import { limitSettingProblem } from "./limit-settings";

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

function parseValue(key: string, spec: SettingSpec, raw: string, source: string): unknown {
  const where = source === "flag" ? `--${spec.flag}` : spec.env;
  switch (spec.kind) {
    case "string":
      return raw;
    case "int": {
      if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(`${where}: expected a whole number, got "${raw}"`);
      const n = Number(raw);
      if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max))
        throw new ConfigError(`${where}: ${n} is out of range (${spec.min} to ${spec.max})`);
      return n;
    }
    case "bool": {
      const v = raw.trim().toLowerCase();
      if (["1", "true", "yes", "on"].includes(v)) return true;
      if (["0", "false", "no", "off"].includes(v)) return false;
      throw new ConfigError(`${where}: expected true or false, got "${raw}"`);
    }
    case "enum":
      if (!spec.values!.includes(raw)) throw new ConfigError(`${where}: expected one of ${spec.values!.join(", ")}, got "${raw}"`);
      return raw;
    case "list":
      return raw.split(",").map((s) => s.trim()).filter(Boolean);
  }
  throw new ConfigError(`${key}: unknown setting kind`);
}

/** flags: parsed `--name value` pairs (kebab-case names, without dashes). */
/**
 * Checks that `raw` is a PostgreSQL connection URL (`postgres://` or `postgresql://`, with a
 * host, or a Unix socket directory as `?host=/dir`, which Bun.SQL accepts) and returns it. Throws ConfigError naming `setting` otherwise; the message never
 * repeats the URL, which may hold a password.
 */
export function parseDatabaseUrl(raw: string, setting = "CANTRIP_DATABASE_URL"): string {
  const value = raw.trim();
  const expected = "expected postgres://user:password@host:5432/database, or ?host=/socket/dir for a Unix socket";
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value)?.[1]?.toLowerCase();
  if (!scheme) throw new ConfigError(`${setting}: not a URL (${expected})`);
  if (scheme !== "postgres" && scheme !== "postgresql") throw new ConfigError(`${setting}: expected a postgres:// or postgresql:// URL, got a ${scheme}:// URL`);
  let host = "";
  let socketDir = false;
  try {
    const url = new URL(value);
    host = url.hostname;
    socketDir = !!url.searchParams.get("host");
  } catch {
    // libpq's `postgres://user@/db?host=/dir` is not a WHATWG URL; Bun.SQL reads it.
    socketDir = /[?&]host=[^&]+/.test(value);
    if (!socketDir) throw new ConfigError(`${setting}: not a URL (${expected})`);
  }
  if (!host && !socketDir) throw new ConfigError(`${setting}: the URL has no host (${expected})`);
  return value;
}

export function loadConfig(env: Record<string, string | undefined>, flags: Record<string, string | boolean | undefined> = {}): Config {
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(settings) as [string, SettingSpec][]) {
    const flag = spec.flag ? flags[spec.flag] : undefined;
    if (flag !== undefined) {
      out[key] = parseValue(key, spec, typeof flag === "boolean" ? String(flag) : flag, "flag");
    } else if (env[spec.env] !== undefined && env[spec.env] !== "") {
      out[key] = parseValue(key, spec, env[spec.env]!, "env");
    } else {
      out[key] = spec.default;
    }
  }
  if (!Value.Check(ConfigSchema, out)) {
    const first = [...Value.Errors(ConfigSchema, out)][0];
    const key = first?.path.slice(1) ?? "";
    const spec = (settings as Record<string, SettingSpec>)[key];
    throw new ConfigError(`${spec?.env ?? key}: ${first?.message ?? "invalid value"}`);
  }
  const problem = limitSettingProblem(out as Config);
  if (problem) throw new ConfigError(problem);
  if (out.databaseUrl) {
    out.databaseUrl = parseDatabaseUrl(out.databaseUrl as string, flags["database-url"] !== undefined ? "--database-url" : "CANTRIP_DATABASE_URL");
    // Every node must open credentials the others sealed: a key generated per data dir cannot be shared.
    if (!out.secretKey) throw new ConfigError("CANTRIP_DATABASE_URL needs CANTRIP_SECRET_KEY: every node sharing the database must use the same key (base64 of 32 bytes, e.g. `openssl rand -base64 32`)");
  }
  return out as Config;
}
