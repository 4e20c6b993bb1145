/**
 * The sidecar's files, embedded as text (so the compiled executable carries them) and
 * written to a private temp directory when the engine starts: Node runs the sidecar from
 * real files, the same way under `bun run` and inside dist/cantrip.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
// @ts-expect-error -- a Bun text import of a plain .mjs file (no types needed: it is a string)
import SIDECAR from "../../../sandbox/v8-sidecar/sidecar.mjs" with { type: "text" };
// @ts-expect-error -- a Bun text import of a plain .mjs file (no types needed: it is a string)
import INSTANCE from "../../../sandbox/v8-sidecar/instance.mjs" with { type: "text" };
// @ts-expect-error -- a Bun text import of a plain .mjs file (no types needed: it is a string)
import VALUES from "../../../sandbox/v8-sidecar/values.mjs" with { type: "text" };
// @ts-expect-error -- a Bun text import of a plain .mjs file (no types needed: it is a string)
import CALL from "../../../sandbox/v8-sidecar/call.mjs" with { type: "text" };
// @ts-expect-error -- a Bun text import of a plain .mjs file (no types needed: it is a string)
import FRAMES from "../../../sandbox/v8-sidecar/frames.mjs" with { type: "text" };
import BOOTSTRAP from "../../../sandbox/v8-sidecar/bootstrap.js" with { type: "text" };

const FILES: Record<string, string> = {
  "sidecar.mjs": SIDECAR as unknown as string,
  "instance.mjs": INSTANCE as unknown as string,
  "values.mjs": VALUES as unknown as string,
  "call.mjs": CALL as unknown as string,
  "frames.mjs": FRAMES as unknown as string,
  "bootstrap.js": BOOTSTRAP as unknown as string,
};

/** Writes the sidecar files; returns the entry path and a cleanup function. */
export function writeSidecar(): { entry: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "cantrip-v8-"));
  for (const [name, text] of Object.entries(FILES)) writeFileSync(join(dir, name), text);
  return { entry: join(dir, "sidecar.mjs"), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
