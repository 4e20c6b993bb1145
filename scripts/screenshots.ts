/**
 * Regenerates docs/screenshots/*.png: runs the dashboard's browser test
 * (test/e2e/dashboard.test.ts, real server, Chromium at /usr/bin/chromium) with
 * CANTRIP_SCREENSHOTS=1, which makes it save a full-page shot of each main page.
 */
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const proc = Bun.spawn([process.execPath, "test", "test/e2e/dashboard.test.ts"], {
  cwd: root,
  env: { ...process.env, CANTRIP_SCREENSHOTS: "1" },
  stdout: "inherit",
  stderr: "inherit",
});
const code = await proc.exited;
if (code === 0) console.log("screenshots written to docs/screenshots/");
process.exit(code);
