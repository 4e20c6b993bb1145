/**
 * One V8 sidecar process and the requests in flight on it. Spawns Node on the sidecar
 * file, sends init with the guest prelude, matches replies to requests, forwards host
 * operations, and can be killed (SIGKILL) — every pending request then fails: the culprit
 * with `reason`, the others as crashed (endpoint_unreachable).
 */
import type { Subprocess } from "bun";
import { setPriority } from "node:os";
import type { RuntimeFailureReason } from "../types";
import { BYSTANDER_MESSAGE, failure } from "../failures";
import type { Lane } from "../lanes";
import { encodeFrame, frameReader } from "./frames";
import type { FromSidecar, ToSidecar } from "./protocol";
import { PRELUDE_MAIN, PRELUDE_SOURCES } from "../../../sandbox/dist/prelude.gen";

export interface Pending {
  resolve(m: FromSidecar, bytes?: Uint8Array): void;
  reject(e: Error): void;
  /** Epoch ms after which the host watchdog kills the sidecar (wall deadline + grace). */
  killAt: number;
}

export interface SlotOptions {
  node: string;
  entry: string;
  env: Record<string, string>;
  memoryBytes: number;
  /** OS priority (nice) for the process, from its lane (lanes.ts). */
  nice?: number;
  /** Another guest prelude (benches compare preludes in one run); default this build's. */
  prelude?: V8Prelude;
}

/** The guest prelude as the sidecar takes it: the main script, and the source texts it asks for on demand. */
export interface V8Prelude {
  main: string;
  sources: { streams: string; libs: string };
}

export type HostMessage = Extract<FromSidecar, { t: "host" }>;

export class SidecarSlot {
  readonly proc: Subprocess<"pipe", "pipe", "pipe">;
  readonly pending = new Map<number, Pending>();
  readonly instances = new Set<number>();
  readonly ready: Promise<void>;
  dead = false;
  /** The sidecar announced its death after failing the culprits (an isolate's catastrophe). */
  private culpritNamed = false;
  /** The lane this sidecar serves (lanes.ts); its replacement serves the same lane. */
  lane: Lane = "light";
  private failReady: (e: Error) => void = () => {};

  constructor(opts: SlotOptions, private onHost: (slot: SidecarSlot, m: HostMessage, bytes?: Uint8Array) => void, private onDeath: (slot: SidecarSlot) => void) {
    this.proc = Bun.spawn([opts.node, "--no-node-snapshot", opts.entry], { env: { ...process.env, ...opts.env }, stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    if (opts.nice) {
      try {
        setPriority(this.proc.pid, opts.nice);
      } catch {} // best effort: not every OS or container allows it
    }
    let markReady!: () => void;
    this.ready = new Promise((resolve, reject) => {
      markReady = resolve;
      this.failReady = reject;
    });
    this.ready.catch(() => {});
    const startup = setTimeout(() => this.kill("crashed", "The V8 sidecar did not start within 15 s."), 15_000);
    const onFrame = (m: FromSidecar, bytes?: Uint8Array) => {
      if (m.t === "ready") return (clearTimeout(startup), markReady());
      if (m.t === "init-failed") return (clearTimeout(startup), this.kill("crashed", `The V8 sidecar failed to start: ${m.message}`));
      if (m.t === "host") return this.onHost(this, m, bytes);
      if (m.t === "dying") return void (this.culpritNamed = true);
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      p?.resolve(m, bytes);
    };
    const pumped = this.pump(frameReader(onFrame as never));
    void this.drainStderr();
    // Read every reply it wrote (a dying sidecar names its culprit last) before failing the rest.
    // After a "dying" frame the culprits are already failed: the calls still pending are bystanders.
    void Promise.all([this.proc.exited, pumped]).then(([code]) => this.kill("crashed", `The V8 sidecar exited (code ${code}).`, this.culpritNamed ? -1 : undefined));
    this.post({ t: "init", prelude: opts.prelude?.main ?? PRELUDE_MAIN, sources: opts.prelude?.sources ?? PRELUDE_SOURCES, memoryBytes: opts.memoryBytes });
  }

  private async pump(feed: (chunk: Uint8Array) => void): Promise<void> {
    try {
      for await (const chunk of this.proc.stdout) feed(chunk);
    } catch {}
  }

  /** Keep the pipe drained; surface the sidecar's own errors in the host log. */
  private async drainStderr(): Promise<void> {
    try {
      for await (const chunk of this.proc.stderr) if (!this.dead) process.stderr.write(`[v8-sidecar] ${new TextDecoder().decode(chunk)}`);
    } catch {}
  }

  post(m: ToSidecar, bytes?: Uint8Array): void {
    if (this.dead) return;
    try {
      this.proc.stdin.write(encodeFrame(m, bytes));
      this.proc.stdin.flush();
    } catch (e) {
      this.kill("crashed", `The V8 sidecar pipe failed: ${(e as Error).message}`);
    }
  }

  request(id: number, m: ToSidecar, killAt: number, bytes?: Uint8Array): Promise<{ m: FromSidecar; bytes?: Uint8Array }> {
    if (this.dead) return Promise.reject(failure("crashed", "The V8 sidecar is gone."));
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: (r, b) => resolve({ m: r, bytes: b }), reject, killAt });
      this.post(m, bytes);
    });
  }

  /** Kill the process; the call that caused it gets `reason`, the others are bystanders (`worker_restarted`). */
  kill(reason: RuntimeFailureReason, message: string, culprit?: number): void {
    if (this.dead) return;
    this.dead = true;
    try {
      this.proc.kill("SIGKILL");
    } catch {}
    this.failReady(failure(reason, message));
    for (const [id, p] of this.pending) {
      p.reject(id === culprit || culprit === undefined ? failure(reason, message) : failure("worker_restarted", BYSTANDER_MESSAGE));
    }
    this.pending.clear();
    this.onDeath(this);
  }
}
