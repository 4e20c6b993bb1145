/**
 * Structured logs to stdout: one line per event, JSON or human-readable. Tokens never
 * reach a log line: callers pass paths without query strings and never headers.
 */
export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export function createLogger(format: "json" | "pretty", write: (line: string) => void = (l) => process.stdout.write(l + "\n")): Logger {
  const emit = (level: string, msg: string, fields: Record<string, unknown> = {}) => {
    if (format === "json") {
      write(JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }));
    } else {
      const rest = Object.entries(fields)
        .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
        .join(" ");
      write(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${msg}${rest ? " " + rest : ""}`);
    }
  };
  return {
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
  };
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
