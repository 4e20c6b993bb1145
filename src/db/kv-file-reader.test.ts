import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "./client";
import { KvFileReader } from "./kv-file-reader";

test("a reader that cannot open the file answers null (the main thread reads), tries again, and gives up after MAX_OPEN_FAILURES", () => {
  const dir = mkdtempSync(join(tmpdir(), "cantrip-kvreader-"));
  try {
    const file = join(dir, "kv.db");
    const early = new KvFileReader(file);
    const late = new KvFileReader(file);
    // No file yet: each read fails to open and answers null.
    expect(early.value("a", "k")).toBeNull();
    for (let i = 0; i < 3; i++) expect(late.value("a", "k")).toBeNull();
    const db = openDatabase(file);
    try {
      db.sqlite.run("PRAGMA foreign_keys = OFF");
      db.sqlite.run("INSERT INTO kv (agent_id, key, value, size, updated_at) VALUES ('a', 'k', '\"v\"', 4, 0)");
      // One failure so far: opened now, and answers the stored text ("" for no row).
      expect(early.value("a", "k")).toBe('"v"');
      expect(early.value("a", "missing")).toBe("");
      expect(early.value("b", "k")).toBe("");
      // Three failures: it no longer tries, and the main thread keeps answering.
      expect(late.value("a", "k")).toBeNull();
    } finally {
      db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
