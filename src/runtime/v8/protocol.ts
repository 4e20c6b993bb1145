/**
 * Messages between the host and a V8 sidecar (the JSON half of each frame; a body, when
 * there is one, travels as the frame's bytes). Same shapes as the QuickJS worker protocol
 * where they overlap, so both engines report the same typed failures.
 */
import type { BackendDescription, GuestLogLine, Limits, RuntimeFailureReason, ScheduledResult } from "../types";

export interface GuestConfig {
  agentId: string;
  env: Record<string, string>;
  secrets: string[];
}

export type ToSidecar =
  | { t: "init"; prelude: string; memoryBytes: number }
  | { t: "load"; id: number; inst: number; code: string; limits: Limits; config: GuestConfig }
  | { t: "fetch"; id: number; inst: number; req: { method: string; url: string; headers: [string, string][] } }
  | { t: "scheduled"; id: number; inst: number }
  | { t: "dispose"; inst: number }
  | { t: "host-result"; hid: number; ok: boolean; json?: string; error?: string };

export type FromSidecar =
  | { t: "ready"; node: string }
  | { t: "init-failed"; message: string }
  | { t: "loaded"; id: number; description: BackendDescription; memoryBytes: number }
  | { t: "response"; id: number; status: number; headers: [string, string][]; logs: GuestLogLine[]; cpuMs: number; wallMs: number; memoryBytes: number; dropped: boolean }
  | { t: "scheduled-done"; id: number; result: ScheduledResult; dropped: boolean }
  | { t: "failed"; id: number; reason: RuntimeFailureReason; message: string; dropped: boolean; logs: GuestLogLine[] }
  | { t: "host"; hid: number; inst: number; call: number; op: string; args: string };
