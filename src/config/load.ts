/**
 * Reads settings from flags and environment once. A bad value stops start-up with one
 * line naming the variable (ConfigError), never a stack trace.
 */
import { parseDatabaseUrl } from "../db/pg-driver";
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
