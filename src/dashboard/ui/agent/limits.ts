/**
 * Limits: what each call of this agent may use (CPU, wall clock, memory, response size,
 * logs, outbound fetches, timers), each marked as set on the agent or following the
 * server default. Read-only here; operators change them with `cantrip agents limits` or
 * `PATCH /v1/agents/{id}`. Re-rendered when the header's poll brings a changed agent.
 */
import { h, mount } from "../dom";
import type { AgentView } from "../pages/agents";
import type { AgentContext } from "./context";

const ROWS: [name: string, label: string, unit: string][] = [
  ["cpuMs", "CPU time", "ms"],
  ["wallMs", "Wall clock", "ms"],
  ["memoryMb", "Memory", "MB"],
  ["responseBytes", "Response size", "bytes"],
  ["logLines", "Log lines", "lines"],
  ["logBytes", "Log volume", "bytes"],
  ["fetchPerCall", "Outbound fetches", "per call"],
  ["fetchTimeoutMs", "Fetch timeout", "ms"],
  ["fetchMaxBytes", "Fetch response size", "bytes"],
  ["timers", "Pending timers", "per call"],
];

export function limitsSection(ctx: AgentContext): HTMLElement {
  const body = h("div", { class: "flush" });
  const render = (a: AgentView) =>
    mount(
      body,
      h(
        "table",
        { class: "table", id: "limits-table" },
        h("thead", null, h("tr", null, h("th", null, "Limit per call"), h("th", null, "Value"), h("th", null, "Source"))),
        h(
          "tbody",
          null,
          ROWS.map(([name, label, unit]) =>
            h(
              "tr",
              { "data-limit": name },
              h("td", null, label, " ", h("span", { class: "muted small mono" }, name)),
              h("td", { class: "mono" }, a.limits?.[name] === undefined ? "—" : `${a.limits[name]!.toLocaleString("en-US")} ${unit}`),
              h("td", { class: "muted small" }, a.limitOverrides?.[name] !== undefined ? "set on this agent" : "server default"),
            ),
          ),
        ),
      ),
    );
  render(ctx.agent);
  ctx.on("agent", render);
  return h(
    "section",
    { class: "card", id: "limits" },
    h("h2", null, "Limits"),
    h("p", { class: "hint" }, "Change with ", h("code", null, `cantrip agents limits ${ctx.agent.slug} --cpu-ms …`), " or PATCH /v1/agents/{id}; the next call uses them."),
    body,
  );
}
