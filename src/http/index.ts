export { createApp, type App } from "./app";
export { createHandler, type HandlerOptions } from "./server";
export { createLogger, silentLogger, type Logger } from "./logger";
export type { HttpDeps, ReadyCheck } from "./deps";
