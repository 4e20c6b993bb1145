/**
 * Runs the eval set against any OpenAI-compatible endpoint and prints, per prompt and in
 * total: pass rate of the hidden checks, repair attempts used (for every outcome, counted
 * from the job's "repair attempt" events), each step's prompt size as cantrip measures it
 * (estimateTokens: characters / 4, largest request per step), the tokens the server
 * reports (labelled as such; some servers report none), and model time against pipeline
 * time — so an operator can score their own model. The hidden checks are only ever sent to
 * the deployed backend, never to the model: every model request passes through a local
 * recorder, and the run fails if a plan request carries a check's request body.
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
  /** Repair attempts the pipeline started, whatever the outcome. */
  repairs: number;
  /** Tokens in + out as the model server reported them (0 when it reports none). */
  tokens: number;
  /** cantrip's own estimate of each step's largest prompt, in tokens (chars / 4). */
  promptTokens: Record<string, number>;
  /** Time spent waiting for the model, and the whole generation (job start to checks). */
  modelMs: number;
  pipelineMs: number;
  failures: string[];
}

type CallEvent = { step?: string; tokensIn?: number; tokensOut?: number; latencyMs?: number; promptTokens?: number };

function promptSizes(calls: CallEvent[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of calls) if (c.step && c.promptTokens) out[c.step] = Math.max(out[c.step] ?? 0, c.promptTokens);
  return out;
}

const fmtSizes = (p: Record<string, number>) => ["plan", "code", "repair"].filter((k) => p[k]).map((k) => `${k} ${p[k]}`).join(" / ") || "-";

/** `breakCode` (fake only) answers every code and repair request with a module that does not compile. */
export async function runEvals(opts: { baseUrl?: string; model?: string; apiKey?: string; only?: string[]; fake?: boolean; breakCode?: boolean; log?: (s: string) => void }) {
  const log = opts.log ?? ((s: string) => console.log(s));
  const fake = opts.fake ? startFakeOpenAI() : null;
  let selected: EvalCase[] = cases.filter((c) => !opts.only?.length || opts.only.includes(c.id));
  if (fake) {
    selected = selected.filter((c) => scripted[c.id]);
    fake.respond((call) => {
      // Plan calls carry the prompt; code and repair calls carry the spec (pretty-printed).
      const c = selected.find((x) => call.lastUser.includes(x.prompt.slice(0, 60)) || call.lastUser.includes(`"name": ${JSON.stringify((scripted[x.id]!.spec as { name: string }).name)}`));
      if (!c) return undefined;
      if (call.system.includes("[cantrip:plan]")) return { json: scripted[c.id]!.spec };
      return { content: "```ts\n" + (opts.breakCode ? "export default {" : scripted[c.id]!.code) + "\n```" };
    });
  }
  // Every model request passes through this recorder, so the run can show that no hidden
  // check reached the model (with any server, not only the fake).
  const target = (fake?.url ?? opts.baseUrl ?? "").replace(/\/$/, "");
  const sent: string[] = [];
  const recorder = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    async fetch(req) {
      const u = new URL(req.url);
      const body = req.method === "GET" || req.method === "HEAD" ? undefined : await req.text();
      if (body) sent.push(body);
      const headers = new Headers(req.headers);
      headers.delete("host");
      return fetch(target + u.pathname.replace(/^\/v1/, "") + u.search, { method: req.method, headers, body });
    },
  });
  const s = await startServer({
    OPENAI_BASE_URL: `http://127.0.0.1:${recorder.port}/v1`,
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
      const events = await s.app.internals.queue.events(job.id);
      const calls = events.filter((e) => e.type === "log" && /^model call/.test(e.message ?? "")).map((e) => e.data as CallEvent);
      const r: CaseResult = {
        id: c.id,
        status: job.status,
        checksPassed: 0,
        checksTotal: c.checks.length + (c.declares ? 1 : 0),
        repairs: events.filter((e) => e.type === "log" && /^repair attempt \d+/.test(e.message ?? "")).length,
        tokens: calls.reduce((n, x) => n + (x.tokensIn ?? 0) + (x.tokensOut ?? 0), 0),
        promptTokens: promptSizes(calls),
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
      log(
        `${c.id.padEnd(20)} d${c.difficulty}  ${job.status.padEnd(9)} checks ${r.checksPassed}/${r.checksTotal}  repairs ${r.repairs}  prompt ~tokens ${fmtSizes(r.promptTokens)}  server-reported tokens ${r.tokens}  model ${(r.modelMs / 1000).toFixed(1)}s of pipeline ${(r.pipelineMs / 1000).toFixed(1)}s${r.failures.length ? "\n    " + r.failures.join("\n    ") : ""}`,
      );
    }
  } finally {
    await s.stop();
    await recorder.stop(true);
    await fake?.stop();
  }
  const leaked = leakedChecks(selected, sent);
  if (leaked.length) throw new Error(`hidden checks reached the model: ${leaked.join(", ")}`);
  const passed = results.reduce((n, r) => n + r.checksPassed, 0);
  const total = results.reduce((n, r) => n + r.checksTotal, 0);
  const full = results.filter((r) => r.checksPassed === r.checksTotal).length;
  const largest: Record<string, number> = {};
  for (const r of results) for (const [k, v] of Object.entries(r.promptTokens)) largest[k] = Math.max(largest[k] ?? 0, v);
  log(
    `TOTAL: ${full}/${results.length} prompts fully passing, checks ${passed}/${total} (${total ? ((100 * passed) / total).toFixed(0) : 0}%), repairs ${results.reduce((n, r) => n + r.repairs, 0)}, largest prompt ~tokens ${fmtSizes(largest)} (cantrip's estimate, chars/4), server-reported tokens ${results.reduce((n, r) => n + r.tokens, 0)}, model ${(results.reduce((n, r) => n + r.modelMs, 0) / 1000).toFixed(1)}s of pipeline ${(results.reduce((n, r) => n + r.pipelineMs, 0) / 1000).toFixed(1)}s`,
  );
  return results;
}

/**
 * Hidden checks that reached the model: the plan request is built from the prompt alone,
 * so a check's request body in a plan request (when the prompt itself does not spell that
 * body out) means the checks leaked. Later requests carry the model's own spec and code,
 * so they prove nothing either way; bodies under 8 characters (`{}`) are too common to tell.
 * `sent` are the raw request bodies sent to the model.
 */
export function leakedChecks(selected: EvalCase[], sent: string[]): string[] {
  const plans = sent.filter((b) => b.includes("[cantrip:plan]"));
  const escaped = (v: unknown) => JSON.stringify(JSON.stringify(v)).slice(1, -1);
  return selected.flatMap((c) =>
    c.checks.filter((ch) => ch.body !== undefined && JSON.stringify(ch.body).length >= 8 && !c.prompt.includes(JSON.stringify(ch.body)) && plans.some((b) => b.includes(escaped(ch.body)))).map((ch) => `${c.id}: ${ch.name}`),
  );
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
