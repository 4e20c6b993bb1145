/**
 * Runs the eval set against any OpenAI-compatible endpoint and prints, per prompt and in
 * total: pass rate of the hidden checks, repair attempts used, tokens, model time and
 * pipeline time — so an operator can score their own model.
 *
 *   bun bench/evals/run.ts --base-url http://localhost:11434/v1 --model qwen2.5-coder:14b [--api-key K] [--only a,b]
 *   bun bench/evals/run.ts --fake        # the scripted subset against the fake model (CI)
 */
import { startServer } from "../../test/harness";
import { startFakeOpenAI } from "../../test/fakes/fake-openai";
import { checkExpectation } from "../../src/generate/validate";
import { cases, type EvalCase } from "./prompts";
import { scripted } from "./scripted";

export interface CaseResult {
  id: string;
  status: string;
  checksPassed: number;
  checksTotal: number;
  repairs: number;
  tokens: number;
  modelMs: number;
  pipelineMs: number;
  failures: string[];
}

export async function runEvals(opts: { baseUrl?: string; model?: string; apiKey?: string; only?: string[]; fake?: boolean; log?: (s: string) => void }) {
  const log = opts.log ?? ((s: string) => console.log(s));
  const fake = opts.fake ? startFakeOpenAI() : null;
  let selected: EvalCase[] = cases.filter((c) => !opts.only?.length || opts.only.includes(c.id));
  if (fake) {
    selected = selected.filter((c) => scripted[c.id]);
    fake.respond((call) => {
      // Plan calls carry the prompt; code and repair calls carry the spec (pretty-printed).
      const c = selected.find((x) => call.lastUser.includes(x.prompt.slice(0, 60)) || call.lastUser.includes(`"name": ${JSON.stringify((scripted[x.id]!.spec as { name: string }).name)}`));
      if (!c) return undefined;
      return call.system.includes("[cantrip:plan]") ? { json: scripted[c.id]!.spec } : { content: "```ts\n" + scripted[c.id]!.code + "\n```" };
    });
  }
  const s = await startServer({
    OPENAI_BASE_URL: fake?.url ?? opts.baseUrl ?? "",
    OPENAI_API_KEY: opts.apiKey ?? "",
    CANTRIP_MODEL: opts.model ?? "fake",
    CANTRIP_MODEL_TIMEOUT_MS: "300000",
    CANTRIP_JOB_CONCURRENCY: "1",
  });
  const results: CaseResult[] = [];
  try {
    for (const c of selected) {
      const started = performance.now();
      const gen = await s.json("/v1/generate", { method: "POST", json: { name: `eval ${c.id}`, prompt: c.prompt, autoDeploy: true } });
      const job = await s.app.internals.queue.waitFor(gen.body.data.job.id, 30 * 60_000);
      const events = s.app.internals.queue.events(job.id);
      const calls = events.filter((e) => e.type === "log" && /^model call/.test(e.message ?? "")).map((e) => e.data as { tokensIn?: number; tokensOut?: number; latencyMs?: number });
      const r: CaseResult = {
        id: c.id,
        status: job.status,
        checksPassed: 0,
        checksTotal: c.checks.length + (c.declares ? 1 : 0),
        repairs: (job.result as { validation?: { repairs?: number } } | null)?.validation?.repairs ?? 0,
        tokens: calls.reduce((n, x) => n + (x.tokensIn ?? 0) + (x.tokensOut ?? 0), 0),
        modelMs: calls.reduce((n, x) => n + (x.latencyMs ?? 0), 0),
        pipelineMs: Math.round(performance.now() - started),
        failures: [],
      };
      if (job.status === "completed") {
        const agent = gen.body.data.agent;
        const key = (await s.json(`/v1/agents/${agent.id}/api-keys`, { method: "POST", json: { name: "eval" } })).body.data.key;
        for (const ch of c.checks) {
          const res = await fetch(`${s.url}/apps/${agent.slug}${ch.path}`, {
            method: ch.method,
            headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
            body: ch.body === undefined ? undefined : JSON.stringify(ch.body),
          });
          const text = await res.text();
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {}
          const errs = [res.status !== ch.status ? `status ${res.status} != ${ch.status}` : null, ...(ch.expect ?? []).map((e) => checkExpectation(body, e))].filter(Boolean);
          if (errs.length) r.failures.push(`${ch.name}: ${errs.join("; ")}`);
          else r.checksPassed++;
        }
        if (c.declares) {
          const v = (await s.json(`/v1/agents/${agent.id}/versions/${job.result ? (job.result as any).artifact.version : 1}`)).body.data;
          const hosts: string[] = v.spec?.externalHosts ?? [];
          const secrets: string[] = (v.spec?.secrets ?? []).map((x: { name: string }) => x.name);
          const ok = (c.declares.hosts ?? []).every((h) => hosts.includes(h)) && (c.declares.secrets ?? []).every((x) => secrets.includes(x));
          if (ok) r.checksPassed++;
          else r.failures.push(`declares: hosts ${JSON.stringify(hosts)}, secrets ${JSON.stringify(secrets)}`);
        }
      } else {
        r.failures.push(`generation ${job.status}: ${(job.failure as { message?: string } | null)?.message ?? ""}`);
      }
      results.push(r);
      log(`${c.id.padEnd(20)} d${c.difficulty}  ${job.status.padEnd(9)} checks ${r.checksPassed}/${r.checksTotal}  repairs ${r.repairs}  tokens ${r.tokens}  model ${(r.modelMs / 1000).toFixed(1)}s  pipeline ${(r.pipelineMs / 1000).toFixed(1)}s${r.failures.length ? "\n    " + r.failures.join("\n    ") : ""}`);
    }
  } finally {
    await s.stop();
    await fake?.stop();
  }
  const passed = results.reduce((n, r) => n + r.checksPassed, 0);
  const total = results.reduce((n, r) => n + r.checksTotal, 0);
  const full = results.filter((r) => r.checksPassed === r.checksTotal).length;
  log(
    `TOTAL: ${full}/${results.length} prompts fully passing, checks ${passed}/${total} (${total ? ((100 * passed) / total).toFixed(0) : 0}%), repairs ${results.reduce((n, r) => n + r.repairs, 0)}, tokens ${results.reduce((n, r) => n + r.tokens, 0)}, model ${(results.reduce((n, r) => n + r.modelMs, 0) / 1000).toFixed(1)}s, pipeline ${(results.reduce((n, r) => n + r.pipelineMs, 0) / 1000).toFixed(1)}s`,
  );
  return results;
}

if (import.meta.main) {
  const a = process.argv.slice(2);
  const val = (n: string) => (a.includes(`--${n}`) ? a[a.indexOf(`--${n}`) + 1] : undefined);
  const fake = a.includes("--fake");
  if (!fake && !val("base-url")) {
    console.error("usage: bun bench/evals/run.ts --base-url URL --model NAME [--api-key KEY] [--only id,id]  |  --fake");
    process.exit(2);
  }
  const results = await runEvals({ fake, baseUrl: val("base-url"), model: val("model"), apiKey: val("api-key"), only: val("only")?.split(",") });
  process.exit(results.every((r) => r.status === "completed") ? 0 : 1);
}
