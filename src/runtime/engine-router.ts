/**
 * Per-agent engine selection behind the one Engine interface: loads go to the engine the
 * bundle's config names (AgentRuntimeConfig.engine), else the server default. The default
 * engine starts with the runtime (so a v8 default without Node fails at start-up, once);
 * any other engine starts on first use, and if it cannot, that load fails with a clear
 * load_failed — a quickjs-only install never starts Node.
 */
import type { Engine, EngineFactory, EngineFactoryOptions, EngineInstance, EngineLoadOptions } from "./engine";
import type { EngineName } from "./types";
import { failure } from "./failures";
import { quickjsEngine } from "./quickjs/engine";
import { v8Engine } from "./v8";

export function engineRouter(defaultName: EngineName, factories: Record<EngineName, EngineFactory>): EngineFactory {
  return (opts) => new RoutedEngine(defaultName, factories, opts);
}

/** The server's engines: QuickJS in workers, V8 in Node sidecars (Node from `node` or PATH). */
export function serverEngines(opts: { sandbox: EngineName; node?: string }): EngineFactory {
  return engineRouter(opts.sandbox, { quickjs: quickjsEngine, v8: v8Engine({ node: opts.node || undefined }) });
}

class RoutedEngine implements Engine {
  readonly name: string;
  private engines = new Map<EngineName, Engine>();
  private failed = new Map<EngineName, string>();

  constructor(private defaultName: EngineName, private factories: Record<EngineName, EngineFactory>, private opts: EngineFactoryOptions) {
    this.name = defaultName;
    this.engines.set(defaultName, factories[defaultName](opts));
  }

  private get(name: EngineName): Engine {
    const hit = this.engines.get(name);
    if (hit) return hit;
    const why = this.failed.get(name);
    if (why) throw failure("load_failed", why);
    try {
      const e = this.factories[name](this.opts);
      this.engines.set(name, e);
      return e;
    } catch (err) {
      const msg = `The ${name} sandbox engine is not available on this server: ${(err as Error).message}`;
      this.failed.set(name, msg);
      throw failure("load_failed", msg);
    }
  }

  load(o: EngineLoadOptions): Promise<EngineInstance> {
    try {
      return this.get(o.ref.config.engine ?? this.defaultName).load(o);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  workers(): number {
    return this.engines.get(this.defaultName)!.workers();
  }

  startDeferred(): void {
    // An engine made after this (an agent's first call on it) starts all its workers at once.
    this.opts = { ...this.opts, deferHeavy: false };
    for (const e of this.engines.values()) e.startDeferred();
  }

  watchdogKills(): number {
    let n = 0;
    for (const e of this.engines.values()) n += e.watchdogKills();
    return n;
  }

  zombies(agentId?: string): number {
    let n = 0;
    for (const e of this.engines.values()) n += e.zombies(agentId);
    return n;
  }

  async close(): Promise<void> {
    await Promise.all([...this.engines.values()].map((e) => e.close()));
  }
}
