/**
 * A guest's local time is the host's, for every date a Date can hold: QuickJS asks the C
 * library for a time's zone offset, and emscripten 3.1.6 (the project's QuickJS build,
 * scripts/build-quickjs.sh) has a 32-bit time_t, so QuickJS clamped every time after
 * 2038-01-19 (or before 1901-12-13) and gave such dates the offset of that edge instead
 * (sandbox/quickjs/cantrip.c asks the JS Date for the full time's offset). Needs a zone
 * with summer time: the process's TZ is set for the test (and restored: other test files in
 * the same process keep theirs).
 */
import { expect, test } from "bun:test";
import { wasmPath } from "../../src/runtime/quickjs/wasm-build";
import { createVm, setWasmModule } from "../../src/runtime/quickjs/vm-factory";

setWasmModule(new WebAssembly.Module(await Bun.file(wasmPath).arrayBuffer()));

test("getTimezoneOffset and local fields agree with the host's for dates before 1901, around 2038 and long after", async () => {
  // [year, month (0-based)]: summer and winter on both sides of the 32-bit edges (from 1883 on:
  // before it the zone is local mean time, whose seconds QuickJS's whole-minute offsets cannot hold).
  const dates: [number, number][] = [[1890, 6], [1901, 0], [1950, 6], [2020, 0], [2020, 6], [2037, 6], [2038, 6], [2040, 0], [2040, 6], [2100, 6], [9999, 6], [275000, 6]];
  const probe = (d: [number, number][]) => d.map(([y, m]) => {
    const t = new Date(0);
    t.setFullYear(y, m, 1);
    t.setHours(12, 0, 0, 0);
    const u = new Date(Date.UTC(y, m, 1, 12));
    if (y >= 0 && y < 100) u.setUTCFullYear(y);
    return [y, m, t.getTimezoneOffset(), t.getTime(), u.getHours()];
  });
  const before = process.env.TZ;
  process.env.TZ = "America/New_York";
  try {
    expect(probe([[2040, 6]])[0]![2]).toBe(240); // the host is on summer time then
    const v = await createVm(64 * 1024 * 1024);
    const h = v.vm.unwrapResult(v.vm.evalCode(`(${probe.toString()})(${JSON.stringify(dates)})`, "tz.js", { type: "global" }));
    const guest = v.vm.dump(h);
    h.dispose();
    expect(guest).toEqual(probe(dates));
  } finally {
    if (before === undefined) delete process.env.TZ;
    else process.env.TZ = before;
  }
});
