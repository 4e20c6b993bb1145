/** Small display helpers shared by the pages: status badges, relative times, JSON. */
import { h } from "./dom";

const TONE: Record<string, string> = {
  deployed: "ok",
  completed: "ok",
  active: "ok",
  ready: "info",
  awaiting_approval: "info",
  gathering: "info",
  generating: "busy",
  validating: "busy",
  deploying: "busy",
  processing: "busy",
  queued: "busy",
  running: "busy",
  failed: "bad",
  cancelled: "bad",
  revoked: "muted",
};

export function badge(status: string): HTMLElement {
  return h("span", { class: `badge ${TONE[status] ?? "muted"}`, "data-status": status }, status.replace(/_/g, " "));
}

export function ago(iso: string | null | undefined): string {
  if (!iso) return "—";
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (s < 5) return "just now";
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return new Date(iso).toLocaleDateString();
}

export function pretty(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value, null, 2);
}

export const BUSY = new Set(["generating", "validating", "deploying", "processing", "queued", "running"]);
