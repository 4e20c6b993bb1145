/**
 * Intl in the guest gives what Bun gives, for a table of locales and options: on QuickJS
 * through the host's ICU (src/runtime/web-intl.ts), on V8 its own. Each expression runs in
 * the guest and in this Bun process; dates use an explicit time zone or the guest's UTC.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { probeV8, quickjsEngine, v8Engine, type EngineFactory } from "../../src/runtime";
import { bundle, json, makeHarness, req, type Harness } from "./harness";
import { EVAL } from "./contract/fixtures";

const LOCALES = ["en-US", "de-DE", "fr-FR", "ja-JP", "ar-EG", "hi-IN", "pt-BR", "zh-CN"];
const D = "new Date(Date.UTC(2024, 2, 7, 15, 4, 5))";

const EXPRESSIONS = [
  ...LOCALES.flatMap((l) => [
    `(1234.5).toLocaleString(${JSON.stringify(l)}, { style: "currency", currency: "USD" })`,
    `new Intl.NumberFormat(${JSON.stringify(l)}, { maximumFractionDigits: 2 }).format(1234567.891)`,
    `new Intl.NumberFormat(${JSON.stringify(l)}, { style: "percent" }).format(0.256)`,
    `new Intl.NumberFormat(${JSON.stringify(l)}, { notation: "compact" }).format(1234567)`,
    `${D}.toLocaleDateString(${JSON.stringify(l)}, { year: "numeric", month: "long", day: "numeric", timeZone: "UTC" })`,
    `${D}.toLocaleString(${JSON.stringify(l)}, { timeZone: "America/New_York" })`,
    `new Intl.DateTimeFormat(${JSON.stringify(l)}, { dateStyle: "full", timeStyle: "short", timeZone: "Asia/Tokyo" }).format(${D})`,
    `new Intl.RelativeTimeFormat(${JSON.stringify(l)}, { numeric: "auto" }).format(-1, "day")`,
    `new Intl.ListFormat(${JSON.stringify(l)}, { type: "conjunction" }).format(["a", "b", "c"])`,
    `new Intl.PluralRules(${JSON.stringify(l)}).select(1)`,
  ]),
  `["b", "a", "ä", "z"].sort(new Intl.Collator("de").compare).join()`,
  `["b", "a", "ä", "z"].sort(new Intl.Collator("sv").compare).join()`,
  `"a".localeCompare("B", "en", { sensitivity: "base" })`,
  `new Intl.PluralRules("en-US", { type: "ordinal" }).select(2)`,
  `new Intl.NumberFormat("en-US", { style: "unit", unit: "kilometer-per-hour" }).format(50)`,
  `JSON.stringify(new Intl.NumberFormat("de-DE", { style: "currency", currency: "EUR" }).formatToParts(-1234.5))`,
  `new Intl.NumberFormat("en-US").format(12345678901234567890n)`,
  `new Intl.NumberFormat("en-US").format(NaN) + " " + new Intl.NumberFormat("en-US").format(-Infinity)`,
  `new Intl.DateTimeFormat("en-US", { timeZone: "UTC" }).resolvedOptions().timeZone`,
  `Intl.DateTimeFormat.supportedLocalesOf(["de-DE", "xx-YY"]).join()`,
  `(() => { try { new Intl.NumberFormat("en-US", { style: "currency" }); return "accepted"; } catch (e) { return e.name; } })()`,
  `(() => { try { new Intl.NumberFormat("not a locale!"); return "accepted"; } catch (e) { return e.name; } })()`,
];

function intlTests(name: string, engine: EngineFactory) {
  describe(`Intl in the guest: ${name}`, () => {
    let H: Harness;
    beforeAll(() => {
      H = makeHarness(engine);
    });
    afterAll(() => H.close());

    test("formats like Bun for a table of locales and options", async () => {
      const ref = H.ref("intl", await bundle(EVAL), { bundleId: `intl-${name}` });
      const got = json(await H.runtime.fetch(ref, req("POST", "/eval", { code: `return [${EXPRESSIONS.join(",\n")}];` }))).result as unknown[];
      const want = EXPRESSIONS.map((e) => new Function(`return ${e};`)());
      const diffs = EXPRESSIONS.map((e, i) => ({ e, got: got[i], want: want[i] })).filter((d) => d.got !== d.want);
      expect(diffs).toEqual([]);
    });
  });
}

intlTests("quickjs", quickjsEngine);
const probe = probeV8({ node: process.env.CANTRIP_NODE || undefined });
if (probe.ok) intlTests("v8", v8Engine({ node: probe.runtime.node }));
else describe("Intl in the guest: v8", () => test.skip(`skipped: ${probe.error}`, () => {}));
