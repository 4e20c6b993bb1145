/**
 * Messages between the host and a V8 sidecar (the JSON half of each frame; a body, when
 * there is one, travels as the frame's bytes). Same shapes as the QuickJS worker protocol
 * where they overlap, so both engines report the same typed failures.
 */
import type { GuestLogLine, Limits, RuntimeFailureReason } from "../types";
import type { RawScheduledResult } from "../guest-values";

export interface GuestConfig {
  agentId: string;
  env: Record<string, string>;
  secrets: string[];
  /** "full": the guest always builds the Request first (AgentRuntimeConfig.dispatch). */
  dispatch?: "full";
}

export type ToSidecar =
  /** `prelude`: the shims and SDK script; `sources`: the texts it fetches on first use (streams, URL library), so an isolate holds them only once needed. */
  | { t: "init"; prelude: string; sources: { streams: string; libs: string }; memoryBytes: number }
  | { t: "load"; id: number; inst: number; code: string; limits: Limits; config: GuestConfig }
  /** `stream`: hand a ReadableStream body over as it is produced (the call stays open for pull/cancel after a stream head). */
  | { t: "fetch"; id: number; inst: number; req: { method: string; url: string; headers: [string, string][] }; stream?: boolean }
  /** The next step of call `call`'s streamed body; `id` names this request. */
  | { t: "pull"; id: number; inst: number; call: number }
  /** Cancel call `call`'s streamed body with `reason` and end the call; answered with a "chunk" of kind "end". */
  | { t: "cancel"; id: number; inst: number; call: number; reason: string }
  | { t: "scheduled"; id: number; inst: number }
  | { t: "dispose"; inst: number }
  | { t: "host-result"; hid: number; ok: boolean; json?: string; error?: string };

export type FromSidecar =
  | { t: "ready"; node: string }
  | { t: "init-failed"; message: string }
  | { t: "loaded"; id: number; describeJson: string | null; memoryBytes: number }
  /** `meta` is the guest prelude's JSON text (unchecked until guest-values.ts); the body travels as the frame's bytes. */
  | { t: "response"; id: number; meta: string | null; problem?: string; logs: unknown; cpuMs: unknown; wallMs: unknown; memoryBytes: number; dropped: boolean }
  | { t: "scheduled-done"; id: number; result: RawScheduledResult; dropped: boolean }
  /** A pull's or cancel's answer (a chunk's bytes are the frame's bytes); "end"/"error" end the call and carry its logs and timings. */
  | { t: "chunk"; id: number; kind: "chunk" | "end" | "error"; problem?: string; logs?: GuestLogLine[]; cpuMs?: number; wallMs?: number; dropped: boolean; memoryBytes: number }
  | { t: "failed"; id: number; reason: RuntimeFailureReason; message: string; dropped: boolean; logs: GuestLogLine[] }
  | { t: "host"; hid: number; inst: number; call: number; op: string; args: string }
  /** Sent after the culprits' `failed` frames when an isolate's catastrophe takes the sidecar down: every other call on it is a bystander. */
  | { t: "dying" };
