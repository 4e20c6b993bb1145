export { HealthCounters, type HealthSnapshot } from "./counters";
export { startLoop, reportLoopFailure, type Loop, type LoopLogger, type LoopTrigger } from "./loop";
export { installLastResort } from "./last-resort";
