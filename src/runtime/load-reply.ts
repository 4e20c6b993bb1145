/**
 * The end of a load, the same for both engines: a worker's or sidecar's reply becomes the
 * bundle's description (checked by guest-values.ts, the one validation point) or a typed
 * failure. The instance is forgotten on any failure, and disposed in its worker when it
 * loaded but described itself badly.
 */
import type { BackendDescription, RuntimeFailureReason } from "./types";
import { failure } from "./failures";
import { acceptDescription } from "./guest-values";

/** The load replies both protocols share (other message kinds count as unexpected). */
export type LoadReply = { t: "loaded"; describeJson: string | null; memoryBytes: number } | { t: "failed"; reason: RuntimeFailureReason; message: string } | { t: string };

/** Returns the loaded bundle's description and memory, or throws its failure after `forget()` (and `dispose()` when it had loaded). */
export function acceptLoad(m: LoadReply, forget: () => void, dispose: () => void): { description: BackendDescription; memoryBytes: number } {
  if (m.t !== "loaded") {
    forget();
    if (m.t === "failed") {
      const f = m as Extract<LoadReply, { t: "failed" }>;
      throw failure(f.reason === "crashed" ? "load_failed" : f.reason, f.message);
    }
    throw failure("crashed", "unexpected reply");
  }
  const loaded = m as Extract<LoadReply, { t: "loaded" }>;
  try {
    return { description: acceptDescription(loaded.describeJson), memoryBytes: loaded.memoryBytes };
  } catch (e) {
    forget();
    dispose();
    throw e;
  }
}
