/**
 * Messages between the main thread and a sandbox worker. Everything is plain data
 * (structured-clone friendly). The shared `watch` array lets the main-thread watchdog see
 * a guest slice that never returns (a native builtin looping past the interrupt handler).
 */
import type { GuestLogLine, GuestRequest, Limits, RuntimeFailureReason } from "../types";
import type { RawGuestResponse, RawScheduledResult } from "../guest-values";

export interface GuestConfig {
  agentId: string;
  env: Record<string, string>;
  secrets: string[];
}

export type ToWorker =
  /** `nice`: OS priority for this worker thread (its lane's, lanes.ts). */
  | { t: "init"; watch: SharedArrayBuffer; spares: number; memoryBytes: number; nice: number }
  | { t: "load"; id: number; inst: number; code: string; limits: Limits; config: GuestConfig }
  | { t: "fetch"; id: number; inst: number; req: GuestRequest }
  | { t: "scheduled"; id: number; inst: number }
  | { t: "dispose"; inst: number }
  | { t: "host-result"; hid: number; ok: boolean; json?: string; bytes?: Uint8Array; error?: string };

export type FromWorker =
  | { t: "ready" }
  | { t: "init-failed"; message: string }
  | { t: "loaded"; id: number; describeJson: string | null; memoryBytes: number }
  | { t: "response"; id: number; res: RawGuestResponse; memoryBytes: number; dropped: boolean }
  | { t: "scheduled-done"; id: number; result: RawScheduledResult; dropped: boolean }
  | { t: "failed"; id: number; reason: RuntimeFailureReason; message: string; dropped: boolean; logs: GuestLogLine[] }
  | { t: "host"; hid: number; inst: number; call: number; op: string; args: string; bytes?: Uint8Array };

/** Slots of the shared watch array (Float64Array). */
export const WATCH_DEADLINE = 0; // epoch ms at which the running slice exhausts its CPU budget; 0 when idle
export const WATCH_CALL = 1; // id of the call whose slice is running
