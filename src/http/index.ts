export { createApp, createAppsApp, type App } from "./app";
export { appSlugOfHost, hostRouter } from "./apps-host";
export { RequestAuth } from "./auth";
export { createHandler, type HandlerOptions } from "./server";
export { preRouter, type FrontDeps, type PreRouterOptions } from "./pre-router";
export { createLogger, silentLogger, type Logger } from "./logger";
export type { HttpDeps, ReadyCheck } from "./deps";
