import { describe, expect, test } from "bun:test";
import { ConfigError, loadConfig } from ".";

describe("loadConfig", () => {
  test("defaults", () => {
    const c = loadConfig({});
    expect(c.host).toBe("127.0.0.1");
    expect(c.port).toBe(7878);
    expect(c.dataDir).toBe("./.cantrip");
    expect(c.bodyLimitBytes).toBe(1024 * 1024);
    expect(c.maxRepairs).toBe(3);
  });
  test("env is read, flags win over env", () => {
    const c = loadConfig({ CANTRIP_PORT: "9000", CANTRIP_HOST: "0.0.0.0" }, { port: "9100" });
    expect(c.port).toBe(9100);
    expect(c.host).toBe("0.0.0.0");
  });
  test.each([
    [{ CANTRIP_PORT: "abc" }, /^CANTRIP_PORT: expected a whole number/],
    [{ CANTRIP_PORT: "70000" }, /^CANTRIP_PORT: 70000 is out of range/],
    [{ CANTRIP_LOG_FORMAT: "xml" }, /^CANTRIP_LOG_FORMAT: expected one of pretty, json/],
    [{ CANTRIP_EGRESS_ALLOW_PRIVATE: "maybe" }, /^CANTRIP_EGRESS_ALLOW_PRIVATE: expected true or false/],
  ])("bad value %o names the variable", (env, re) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(re);
  });
  test("bad flag names the flag", () => {
    expect(() => loadConfig({}, { port: "x" })).toThrow(/^--port: /);
  });
  test("lists are comma-separated", () => {
    expect(loadConfig({ CANTRIP_EGRESS_ALLOW_HOSTS: "a.test, b.test," }).egressAllowHosts).toEqual(["a.test", "b.test"]);
  });
});
