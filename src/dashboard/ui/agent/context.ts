/**
 * State shared by the sections of one agent page: the latest agent record (re-fetched by
 * the header's poll), the agent key the try-it panel uses (set when the user creates or
 * rotates one), the selected version's first worked example (to prefill try-it), and a
 * tiny event bus so sections refresh each other without knowing each other.
 */
import type { AgentView } from "../pages/agents";
import type { Page } from "../page";

type Events = { agent: AgentView; key: string; invoked: null; example: unknown };

export class AgentContext {
  private handlers = new Map<keyof Events, ((v: never) => void)[]>();
  key = "";

  constructor(
    readonly page: Page,
    public agent: AgentView,
  ) {}

  on<K extends keyof Events>(name: K, fn: (v: Events[K]) => void): void {
    const list = this.handlers.get(name) ?? [];
    list.push(fn as (v: never) => void);
    this.handlers.set(name, list);
  }

  emit<K extends keyof Events>(name: K, value: Events[K]): void {
    if (name === "key") this.key = value as string;
    if (name === "agent") this.agent = value as AgentView;
    for (const fn of this.handlers.get(name) ?? []) (fn as (v: Events[K]) => void)(value);
  }
}
