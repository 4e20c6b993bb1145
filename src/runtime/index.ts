/**
 * The sandbox runtime's only entry point: create a runtime, a SQLite-backed KvStore, run
 * the self-test; plus the contract types and the engine interface for a second engine.
 */
export { createRuntime, type RuntimeOptions } from "./runtime";
export { createSqliteKv, purgeKvBatch } from "./kv-sqlite";
export { runSelftest } from "./selftest";
export { quickjsEngine } from "./quickjs/engine";
export { engineRouter, serverEngines } from "./engine-router";
export { v8Engine, probeV8 } from "./v8";
export type { Engine, EngineFactory, EngineFactoryOptions, EngineInstance, EngineLoadOptions, CallBridge } from "./engine";
export type { EgressOptions } from "./egress";
export { SECRET_PATTERN } from "./egress";
export { createCheckedOutbound, type Outbound, type OutboundRequest } from "./egress-connect";
export { hostMatches, parseHostPattern, formatHostPattern, secretMayGo, type HostPattern } from "./host-patterns";
export { classifyAddress, type AddressVerdict } from "./ip-policy";
export * from "./types";
