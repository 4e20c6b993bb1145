/**
 * A failed generation is a domain outcome of a background job, not an HTTP 400 (issue 17):
 * GenerationFailed is no AppError, and it names the job failure code its stage maps to.
 * The e2e tests check the codes clients see (test/e2e/generate.test.ts `validation_failed`,
 * test/e2e/builder.test.ts `build_failed` on a conversation).
 */
import { expect, test } from "bun:test";
import { AppError } from "../../src/errors";
import { GenerationFailed } from "../../src/generate/pipeline";
import { NonRetriableError } from "../../src/jobs";

test("GenerationFailed is not an AppError and maps its stage to build_failed / validation_failed", () => {
  const bundle = new GenerationFailed("did not compile", "bundle");
  const validate = new GenerationFailed("failed validation", "validate", { ok: false, passed: 1, failed: 2, checks: [] } as never);
  for (const e of [bundle, validate]) {
    expect(e).toBeInstanceOf(Error);
    expect(e).not.toBeInstanceOf(AppError);
    expect((e as unknown as { status?: number }).status).toBeUndefined();
    expect(e.name).toBe("GenerationFailed");
  }
  expect(bundle.code).toBe("build_failed");
  expect(validate.code).toBe("validation_failed");
  expect(validate.report?.failed).toBe(2);
  // The job failure carries the code.
  const nr = new NonRetriableError(validate.code, validate.message, validate.stage);
  expect(nr).toMatchObject({ code: "validation_failed", stage: "validate" });
});
