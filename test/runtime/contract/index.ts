/**
 * The sandbox contract suite, parameterized by engine: every guest capability and every
 * limit, against the real engine. Each engine's test file calls runContract(name, factory);
 * `dispatch: "full"` runs it with the guest always called through the full path (the
 * Request built first) instead of the lean calling convention (issue 15).
 */
import { afterAll, beforeAll, describe } from "bun:test";
import type { EngineFactory } from "../../../src/runtime";
import { makeHarness, type Harness } from "../harness";
import { capabilityTests } from "./capabilities";
import { limitTests, type EngineTraits } from "./limits";
import { egressOptions, egressTests } from "./egress";
import { egressAbuseTests } from "./egress-abuse";
import { escapeTests } from "./escape";
import { hostileTests } from "./hostile";
import { interleavingTests } from "./interleaving";
import { memoryBudgetTests } from "./memory-budget";
import { bodyTests } from "./bodies";
import { sdkCallTests } from "./sdk-calls";
import { streamingTests } from "./streaming";

export function runContract(name: string, engine: EngineFactory, traits: EngineTraits = {}, opts: { dispatch?: "full" } = {}): void {
  describe(`sandbox contract: ${name}${opts.dispatch ? ` (dispatch: ${opts.dispatch})` : ""}`, () => {
    let H: Harness;
    beforeAll(() => {
      H = makeHarness(engine, egressOptions, { dispatch: opts.dispatch });
    });
    afterAll(() => H.close());
    const h = () => H;
    capabilityTests(h);
    bodyTests(h);
    sdkCallTests(h);
    streamingTests(h);
    egressTests(h);
    egressAbuseTests(h);
    escapeTests(h);
    limitTests(h, traits);
    interleavingTests(h);
    memoryBudgetTests(engine);
    hostileTests(h);
  });
}
