/**
 * Whether this install is shared by several tenants, and so whether the workspace shares
 * bind. The bounds between workspaces (a workspace's part of each sandbox lane, of the
 * sandbox memory budget and of the guest outbound-request slots, and the job slot kept for
 * a workspace with no job running) protect one tenant from another; with a single workspace
 * (a laptop, a one-team VPS) there is nobody to protect and they would only cost that
 * workspace a quarter of its capacity and a job slot. So they bind only while more than one
 * workspace exists. The count is read at start and re-read by a background loop (workspaces
 * are created by an operator command, possibly from another process); and the sandbox
 * scheduler reports every workspace whose code it admits (a call, or the load-check of an
 * upload or deploy), so a second workspace turns the bounds on before its first backend is
 * even loaded, whatever the loop's timing. Once on, they stay on until the process restarts.
 */

/**
 * A workspace share: a fixed fraction (0–1], or a source whose `share` is read on each use
 * and which may be told of each workspace whose code is admitted (`observe`).
 */
export type ShareSource = number | { readonly share: number; observe?(workspaceId: string): void };

/** The fraction a ShareSource stands for right now. */
export function shareOf(s: ShareSource): number {
  return typeof s === "number" ? s : s.share;
}

/** Tells a ShareSource that `workspaceId`'s code is being admitted (no-op for a fixed share). */
export function observeWorkspace(s: ShareSource, workspaceId: string | undefined): void {
  if (workspaceId !== undefined && typeof s !== "number") s.observe?.(workspaceId);
}

export class Tenancy {
  private workspaces = 1;
  /** Workspaces seen admitted, up to two (enough to know the install is shared). */
  private seen = new Set<string>();

  /** `configuredShare`: CANTRIP_SANDBOX_WORKSPACE_SHARE as a fraction (0–1]. */
  constructor(readonly configuredShare: number) {}

  /** Records how many workspaces exist (rows of the workspaces table). */
  setWorkspaceCount(n: number): void {
    this.workspaces = n;
  }

  /** Records a workspace whose code the sandbox admits. */
  observe(workspaceId: string): void {
    if (this.seen.size < 2) this.seen.add(workspaceId);
  }

  /** True while more than one workspace exists (or has been seen): the bounds between workspaces bind. */
  get shared(): boolean {
    return this.workspaces > 1 || this.seen.size > 1;
  }

  /** The share in force: the configured one while shared, else 1 (no bound). */
  get share(): number {
    return this.shared ? this.configuredShare : 1;
  }
}
