/**
 * Activity: call count, error rate and latency percentiles over the last hour
 * (GET /v1/agents/{id}/metrics), a latency chart and the table of recent invocations
 * (GET /v1/agents/{id}/invocations). Refreshes on a timer and after each try-it call.
 */
import { api, apiPage } from "../api";
import { h, mount } from "../dom";
import { ago } from "../format";
import { latencyChart } from "../chart";
import { errorBox } from "../page";
import type { AgentContext } from "./context";

interface Invocation {
  id: string;
  version: number | null;
  source: string;
  method: string;
  path: string;
  status: number;
  latencyMs: number;
  errorCode: string | null;
  requestId: string | null;
  at: string | null;
}
interface Metrics {
  count: number;
  errors: number;
  errorRate: number;
  latencyMs: { p50: number | null; p95: number | null; p99: number | null };
}

const stat = (label: string, value: string) => h("div", { class: "stat" }, h("div", { class: "stat-v" }, value), h("div", { class: "stat-l" }, label));
const ms = (v: number | null) => (v === null ? "—" : `${v} ms`);

export function activitySection(ctx: AgentContext): HTMLElement {
  const body = h("div", null, h("p", { class: "muted" }, "Loading…"));
  const load = async () => {
    try {
      const [m, inv] = await Promise.all([api<Metrics>(`/v1/agents/${ctx.agent.id}/metrics?window=3600`), apiPage<Invocation>(`/v1/agents/${ctx.agent.id}/invocations?limit=50`)]);
      if (!ctx.page.alive) return;
      const points = inv.data
        .slice()
        .reverse()
        .map((i) => ({ latencyMs: i.latencyMs, ok: !i.errorCode && i.status < 500, label: `${i.at ?? ""} · ${i.status} · ${i.latencyMs} ms${i.errorCode ? ` · ${i.errorCode}` : ""}` }));
      mount(
        body,
        h("div", { class: "stats" }, stat("calls (1 h)", String(m.count)), stat("error rate", `${Math.round(m.errorRate * 1000) / 10}%`), stat("p50", ms(m.latencyMs.p50)), stat("p95", ms(m.latencyMs.p95)), stat("p99", ms(m.latencyMs.p99))),
        points.length ? latencyChart(points, { p50: m.latencyMs.p50, p95: m.latencyMs.p95 }) : h("p", { class: "muted" }, "No invocations yet."),
        inv.data.length
          ? h(
              "table",
              { class: "table", id: "invocations-table" },
              h("thead", null, h("tr", null, h("th", null, "When"), h("th", null, "Request"), h("th", null, "Status"), h("th", null, "Latency"), h("th", null, "Error"), h("th", null, "Via"))),
              h(
                "tbody",
                null,
                inv.data.slice(0, 20).map((i) =>
                  h(
                    "tr",
                    null,
                    h("td", { class: "muted small" }, ago(i.at)),
                    h("td", { class: "mono small" }, `${i.method} ${i.path}`, i.version !== null ? h("span", { class: "muted" }, ` v${i.version}`) : null),
                    h("td", { class: i.status >= 400 ? "bad-text" : "" }, String(i.status)),
                    h("td", null, `${i.latencyMs} ms`),
                    h("td", { class: "mono small" }, i.errorCode ?? ""),
                    h("td", { class: "muted small" }, i.source),
                  ),
                ),
              ),
            )
          : null,
      );
    } catch (e) {
      mount(body, errorBox(e));
    }
  };
  ctx.on("invoked", () => void setTimeout(load, 300));
  ctx.page.poll(10_000, load);
  return h("section", { class: "card" }, h("h2", null, "Activity"), body);
}
