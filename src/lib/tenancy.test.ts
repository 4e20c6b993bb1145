import { describe, expect, test } from "bun:test";
import { observeWorkspace, shareOf, Tenancy } from "./tenancy";

describe("Tenancy", () => {
  test("the configured share binds only while several workspaces exist or have been seen", () => {
    const t = new Tenancy(0.75);
    expect([t.shared, t.share]).toEqual([false, 1]);
    t.setWorkspaceCount(2);
    expect([t.shared, t.share]).toEqual([true, 0.75]);
    t.setWorkspaceCount(1);
    expect(t.share).toBe(1);
    observeWorkspace(t, "ws_a");
    observeWorkspace(t, "ws_a");
    observeWorkspace(t, undefined);
    expect(t.share).toBe(1);
    observeWorkspace(t, "ws_b");
    expect([t.shared, t.share]).toEqual([true, 0.75]);
  });

  test("a fixed share is itself", () => {
    expect(shareOf(0.5)).toBe(0.5);
    observeWorkspace(0.5, "ws_a"); // no-op
    expect(shareOf(new Tenancy(0.3))).toBe(1);
  });
});
