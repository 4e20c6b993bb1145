/** withBaseline: a shared template with the baseline headers, copied (never shared) by each response. */
import { expect, test } from "bun:test";
import { applyBaseline, withBaseline } from "./security-headers";

test("a response built from withBaseline's template has exactly the headers applyBaseline gives, and changing it leaves the template alone", () => {
  const template = withBaseline({ "content-type": "application/json" });
  const fromTemplate = new Response("{}", { headers: template });
  const completed = new Response("{}", { headers: { "content-type": "application/json" } });
  applyBaseline(completed);
  expect([...fromTemplate.headers]).toEqual([...completed.headers]);
  applyBaseline(fromTemplate); // the outer wrapper still runs: nothing changes
  expect([...fromTemplate.headers]).toEqual([...completed.headers]);
  fromTemplate.headers.set("x-request-id", "req_1");
  fromTemplate.headers.set("x-frame-options", "SAMEORIGIN");
  expect(template.get("x-request-id")).toBeNull();
  expect(template.get("x-frame-options")).toBe("DENY");
  expect(new Response("{}", { headers: template }).headers.get("x-request-id")).toBeNull();
});
