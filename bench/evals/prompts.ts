/**
 * The eval set: requirement prompts of growing difficulty, each with hidden behavioral
 * checks (requests against the deployed backend's app URL, and expected properties).
 * Prompts name their routes and shapes, as good requirements do, so checks can be exact.
 */
import type { Expectation } from "../../src/generate/spec";

export interface Check {
  name: string;
  method: string;
  path: string;
  body?: unknown;
  status: number;
  expect?: Expectation[];
}

export interface EvalCase {
  id: string;
  difficulty: 1 | 2 | 3 | 4;
  prompt: string;
  checks: Check[];
  /** What the spec must declare (external hosts, secrets). */
  declares?: { hosts?: string[]; secrets?: string[] };
}

export const cases: EvalCase[] = [
  {
    id: "lead-qualification",
    difficulty: 1,
    prompt:
      "Create an API that accepts a lead profile, scores fit, lists missing fields, and returns next actions. POST / takes {name (required), email?, company?, title?, employees? (integer >= 0), budget? (number >= 0)} and returns {score: integer 0-100, fit: 'high'|'medium'|'low', missingFields: string[] (which of email, company, title, employees, budget are absent), nextActions: string[]}. A lead with every field, a VP/Head/Chief/Director/Founder title, >= 100 employees and budget >= 10000 is 'high'; a lead with only a name is 'low'. Missing name → 400.",
    checks: [
      { name: "full lead is high", method: "POST", path: "/", body: { name: "Ada", email: "a@b.io", company: "X", title: "VP Sales", employees: 500, budget: 20000 }, status: 200, expect: [{ path: "fit", equals: "high" }, { path: "missingFields", equals: [] }] },
      { name: "sparse lead is low", method: "POST", path: "/", body: { name: "Bob" }, status: 200, expect: [{ path: "fit", equals: "low" }, { path: "missingFields", contains: "budget" }, { path: "nextActions", type: "array" }] },
      { name: "missing name rejected", method: "POST", path: "/", body: { email: "x@y.z" }, status: 400 },
    ],
  },
  {
    id: "email-validator",
    difficulty: 1,
    prompt:
      "An email address checker. POST / with {email: string} returns {valid: boolean, reason: string|null, domain: string|null}. valid is true when the address has exactly one @, a non-empty local part, and a domain with at least one dot and no spaces; then reason is null and domain is the lowercased part after @. Otherwise valid is false, domain is null and reason says why. A body without email, or with a non-string email → 400.",
    checks: [
      { name: "valid address", method: "POST", path: "/", body: { email: "Ada@Example.COM" }, status: 200, expect: [{ path: "valid", equals: true }, { path: "domain", equals: "example.com" }] },
      { name: "no at sign", method: "POST", path: "/", body: { email: "nope" }, status: 200, expect: [{ path: "valid", equals: false }, { path: "reason", type: "string" }] },
      { name: "two at signs", method: "POST", path: "/", body: { email: "a@b@c.io" }, status: 200, expect: [{ path: "valid", equals: false }] },
      { name: "wrong type", method: "POST", path: "/", body: { email: 42 }, status: 400 },
    ],
  },
  {
    id: "slugify",
    difficulty: 1,
    prompt: "POST / takes {text: string (1-500 chars)} and returns {slug} where slug is the text lowercased, every run of characters other than a-z and 0-9 replaced by a single '-', with no leading or trailing '-'. Empty text → 400.",
    checks: [
      { name: "basic", method: "POST", path: "/", body: { text: "Hello, World!  2024" }, status: 200, expect: [{ path: "slug", equals: "hello-world-2024" }] },
      { name: "empty rejected", method: "POST", path: "/", body: { text: "" }, status: 400 },
    ],
  },
  {
    id: "order-total",
    difficulty: 2,
    prompt:
      "Order pricing. POST / takes {items: [{sku: string, price: number >= 0, qty: integer >= 1}] (1-100 items), coupon?: string}. Return {subtotal, discount, total} as numbers rounded to 2 decimals. Coupon 'SAVE10' takes 10% off the subtotal; 'FLAT5' takes 5 off (never below 0); any other coupon → 422 with {error: {code: 'unknown_coupon'}}. Empty items or a qty of 0 → 400.",
    checks: [
      { name: "no coupon", method: "POST", path: "/", body: { items: [{ sku: "a", price: 10, qty: 2 }, { sku: "b", price: 2.5, qty: 1 }] }, status: 200, expect: [{ path: "subtotal", equals: 22.5 }, { path: "total", equals: 22.5 }] },
      { name: "SAVE10", method: "POST", path: "/", body: { items: [{ sku: "a", price: 100, qty: 1 }], coupon: "SAVE10" }, status: 200, expect: [{ path: "discount", equals: 10 }, { path: "total", equals: 90 }] },
      { name: "unknown coupon", method: "POST", path: "/", body: { items: [{ sku: "a", price: 1, qty: 1 }], coupon: "BOGUS" }, status: 422 },
      { name: "qty 0 rejected", method: "POST", path: "/", body: { items: [{ sku: "a", price: 1, qty: 0 }] }, status: 400 },
    ],
  },
  {
    id: "counter",
    difficulty: 2,
    prompt:
      "Named counters that persist. POST /counters/:name/increment with optional {by: integer 1-1000, default 1} adds to the counter and returns {name, value}. GET /counters/:name returns {name, value} (0 for a counter never incremented). DELETE /counters/:name resets it and returns {name, value: 0}. Store counters in the key-value store.",
    checks: [
      { name: "starts at zero", method: "GET", path: "/counters/visits", status: 200, expect: [{ path: "value", equals: 0 }] },
      { name: "increment", method: "POST", path: "/counters/visits/increment", body: {}, status: 200, expect: [{ path: "value", equals: 1 }] },
      { name: "increment by 5", method: "POST", path: "/counters/visits/increment", body: { by: 5 }, status: 200, expect: [{ path: "value", equals: 6 }] },
      { name: "persisted", method: "GET", path: "/counters/visits", status: 200, expect: [{ path: "value", equals: 6 }, { path: "name", equals: "visits" }] },
      { name: "by out of range", method: "POST", path: "/counters/visits/increment", body: { by: 0 }, status: 400 },
    ],
  },
  {
    id: "password-strength",
    difficulty: 2,
    prompt:
      "POST / takes {password: string} and returns {score: integer 0-4, issues: string[]}. One point each for: length >= 12, has upper and lower case, has a digit, has a symbol (not a letter or digit). issues lists each missing rule as one of 'too_short', 'needs_mixed_case', 'needs_digit', 'needs_symbol'. Missing password → 400.",
    checks: [
      { name: "strong", method: "POST", path: "/", body: { password: "Correct-Horse-9-Battery" }, status: 200, expect: [{ path: "score", equals: 4 }, { path: "issues", equals: [] }] },
      { name: "weak", method: "POST", path: "/", body: { password: "abc" }, status: 200, expect: [{ path: "score", equals: 0 }, { path: "issues", contains: "too_short" }] },
    ],
  },
  {
    id: "currency-convert",
    difficulty: 2,
    prompt:
      "Currency conversion with a fixed table (no external calls). Rates to USD: USD 1, EUR 1.1, GBP 1.25, JPY 0.0067. POST / takes {amount: number > 0, from: string, to: string} (currency codes) and returns {amount, from, to, result} where result = amount * rate(from) / rate(to), rounded to 2 decimals. Unknown currency → 400 with {error: {code: 'unknown_currency'}}.",
    checks: [
      { name: "EUR to USD", method: "POST", path: "/", body: { amount: 100, from: "EUR", to: "USD" }, status: 200, expect: [{ path: "result", equals: 110 }] },
      { name: "unknown", method: "POST", path: "/", body: { amount: 1, from: "XXX", to: "USD" }, status: 400 },
    ],
  },
  {
    id: "todo-crud",
    difficulty: 3,
    prompt:
      "A todo list API stored in the key-value store. POST /todos {title: string 1-200} → 201 {id, title, done: false}. GET /todos → {todos: [...]} in creation order. GET /todos/:id → the todo or 404. PATCH /todos/:id {done: boolean} → the updated todo or 404. DELETE /todos/:id → {deleted: true} or 404.",
    checks: [
      { name: "empty list", method: "GET", path: "/todos", status: 200, expect: [{ path: "todos", equals: [] }] },
      { name: "create", method: "POST", path: "/todos", body: { title: "write evals" }, status: 201, expect: [{ path: "done", equals: false }, { path: "id", type: "string" }] },
      { name: "list has it", method: "GET", path: "/todos", status: 200, expect: [{ path: "todos.0.title", equals: "write evals" }] },
      { name: "missing is 404", method: "GET", path: "/todos/nope", status: 404 },
      { name: "empty title rejected", method: "POST", path: "/todos", body: { title: "" }, status: 400 },
    ],
  },
  {
    id: "feature-flags",
    difficulty: 3,
    prompt:
      "Feature flags in the key-value store. PUT /flags/:key {enabled: boolean, rollout?: integer 0-100 (default 100)} → {key, enabled, rollout}. GET /flags/:key → the flag or 404. GET /flags/:key/check?user=ID → {key, on: boolean} where on is enabled && (hash(user) mod 100) < rollout, for any stable hash. GET /flags → {flags: [...]} sorted by key.",
    checks: [
      { name: "unknown flag", method: "GET", path: "/flags/beta", status: 404 },
      { name: "set", method: "PUT", path: "/flags/beta", body: { enabled: true }, status: 200, expect: [{ path: "rollout", equals: 100 }] },
      { name: "check on", method: "GET", path: "/flags/beta/check?user=42", status: 200, expect: [{ path: "on", equals: true }] },
      { name: "list", method: "GET", path: "/flags", status: 200, expect: [{ path: "flags.0.key", equals: "beta" }] },
    ],
  },
  {
    id: "rate-limiter",
    difficulty: 3,
    prompt:
      "A fixed-window rate limiter service using the key-value store. POST /hit/:client returns {allowed: boolean, remaining: integer} with a limit of 3 hits per client per 60-second window (window = floor(now / 60000)). The 4th hit in a window is {allowed: false, remaining: 0} with HTTP status 429.",
    checks: [
      { name: "first", method: "POST", path: "/hit/c1", body: {}, status: 200, expect: [{ path: "remaining", equals: 2 }] },
      { name: "second", method: "POST", path: "/hit/c1", body: {}, status: 200 },
      { name: "third", method: "POST", path: "/hit/c1", body: {}, status: 200, expect: [{ path: "remaining", equals: 0 }] },
      { name: "fourth refused", method: "POST", path: "/hit/c1", body: {}, status: 429, expect: [{ path: "allowed", equals: false }] },
    ],
  },
  {
    id: "weather-proxy",
    difficulty: 4,
    prompt:
      "GET /weather?city=NAME calls the external API https://api.weather.example/v1/current?city=NAME with the header 'X-Api-Key' set from the secret WEATHER_KEY, and returns {city, tempC, summary} from its JSON fields temp_c and summary. A missing city → 400. If the upstream fails or is unreachable → 502 with {error: {code: 'upstream_failed'}}.",
    declares: { hosts: ["api.weather.example"], secrets: ["WEATHER_KEY"] },
    checks: [
      { name: "missing city", method: "GET", path: "/weather", status: 400 },
      { name: "upstream unreachable is 502", method: "GET", path: "/weather?city=Paris", status: 502 },
    ],
  },
  {
    id: "invoice-lines",
    difficulty: 4,
    prompt:
      "Invoice line parser. POST / takes {lines: string[] (1-200)} where each line looks like '<qty> x <item> @ <unit price>' (e.g. '3 x Widget @ 2.50'). Return {items: [{qty, item, unitPrice, amount}], total, errors: [{line: index, message}]} — lines that do not match go to errors instead of items. Amounts and total rounded to 2 decimals.",
    checks: [
      { name: "parses", method: "POST", path: "/", body: { lines: ["3 x Widget @ 2.50", "1 x Big Gadget @ 10"] }, status: 200, expect: [{ path: "total", equals: 17.5 }, { path: "items.1.item", equals: "Big Gadget" }] },
      { name: "bad line", method: "POST", path: "/", body: { lines: ["nonsense"] }, status: 200, expect: [{ path: "errors.0.line", equals: 0 }, { path: "items", equals: [] }] },
      { name: "empty rejected", method: "POST", path: "/", body: { lines: [] }, status: 400 },
    ],
  },
];
