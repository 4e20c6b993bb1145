export { HealthCounters, type HealthSnapshot } from "./counters";
export { startLoop, reportLoopFailure, type Loop, type LoopLogger } from "./loop";
export { installLastResort } from "./last-resort";
