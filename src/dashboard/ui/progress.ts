/**
 * Live progress of a generation job: asks for a short-lived stream token, opens an
 * EventSource on it and renders progress, stage, log lines and the final status. The
 * returned URL is re-rooted on this page's origin so a proxy or public URL that differs
 * from the browser's view of the server does not turn it into a cross-origin request.
 */
import { api } from "./api";
import { h, mount } from "./dom";
import { badge } from "./format";
import type { Page } from "./page";

interface Agent {
  id: string;
  slug: string;
  name: string;
}

export function jobProgress(page: Page, job: { id: string }, agent: Agent): HTMLElement {
  const bar = h("progress", { class: "bar", max: "100", value: 0, "aria-label": "Generation progress" });
  const stage = h("span", { class: "stage" }, "queued");
  const status = h("span", { id: "job-status" }, badge("queued"));
  const log = h("ol", { class: "log", id: "job-log" });
  const footer = h("div", { class: "job-foot" });
  const setProgress = (pct: number) => {
    bar.value = Math.max(0, Math.min(100, pct));
  };
  const line = (level: string, text: string) => {
    log.append(h("li", { class: `lvl-${level}` }, text));
    log.scrollTop = log.scrollHeight;
  };
  const finish = (st: string) => {
    mount(status, badge(st));
    mount(footer, h("a", { class: "button primary", href: `#/agents/${agent.id}` }, `Open ${agent.name}`));
  };

  void (async () => {
    try {
      const t = await api<{ url: string }>(`/v1/generate/${job.id}/stream-token`, { method: "POST" });
      const u = new URL(t.url, location.href);
      const es = new EventSource(location.origin + u.pathname + u.search);
      page.onLeave(() => es.close());
      const data = (e: Event) => JSON.parse((e as MessageEvent).data) as Record<string, any>;
      es.addEventListener("progress", (e) => {
        const d = data(e);
        setProgress(Number(d.progress ?? 0));
        if (d.stage ?? d.message) stage.textContent = String(d.stage ?? d.message);
      });
      es.addEventListener("log", (e) => {
        const d = data(e);
        line(String(d.level ?? "info"), String(d.message ?? ""));
      });
      es.addEventListener("status", (e) => {
        const d = data(e);
        mount(status, badge(String(d.status ?? d.message)));
      });
      es.addEventListener("done", (e) => {
        const d = data(e);
        es.close();
        if (d.status === "completed") setProgress(100);
        finish(String(d.status));
      });
      es.onerror = () => {
        // The server ends the stream after `done`; any other drop is retried by EventSource.
        if (es.readyState === EventSource.CLOSED) line("warn", "stream closed");
      };
    } catch (e) {
      line("error", `could not open the progress stream: ${(e as Error).message}`);
    }
  })();

  return h(
    "section",
    { class: "card", id: "job-progress" },
    h("div", { class: "row spread" }, h("h2", null, `Generating ${agent.name}`), status),
    h("p", { class: "muted small" }, "job ", h("code", null, job.id), " · agent ", h("code", null, agent.slug)),
    bar,
    h("p", { class: "muted small" }, "stage: ", stage),
    log,
    footer,
  );
}
