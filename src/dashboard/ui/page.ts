/**
 * What every page gets from the router: its root element, the route's parameters, and
 * helpers whose timers, streams and listeners stop when the user navigates away — so a
 * page can poll freely without leaking work into the next one.
 */
import { ApiError } from "./api";
import { h } from "./dom";

export interface Page {
  root: HTMLElement;
  params: string[];
  /** False once the user has left this page. */
  readonly alive: boolean;
  onLeave(fn: () => void): void;
  /** Runs fn now and then every ms until it returns false or the page is left. */
  poll(ms: number, fn: () => Promise<boolean | void> | boolean | void): void;
}

export function createPage(root: HTMLElement, params: string[]): Page & { leave(): void } {
  const cleanups: (() => void)[] = [];
  let alive = true;
  return {
    root,
    params,
    get alive() {
      return alive;
    },
    onLeave(fn) {
      cleanups.push(fn);
    },
    poll(ms, fn) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const tick = async () => {
        if (!alive) return;
        let again: boolean | void = true;
        try {
          again = await fn();
        } catch (e) {
          console.warn("poll failed", e);
        }
        if (alive && again !== false) timer = setTimeout(tick, ms);
      };
      cleanups.push(() => clearTimeout(timer));
      void tick();
    },
    leave() {
      alive = false;
      for (const fn of cleanups.splice(0)) fn();
    },
  };
}

/** An inline error line for a failed call, naming the API error code. */
export function errorBox(e: unknown): HTMLElement {
  if (e instanceof ApiError) return h("p", { class: "error", role: "alert" }, h("code", null, e.code), " ", e.message);
  return h("p", { class: "error", role: "alert" }, String((e as Error)?.message ?? e));
}
