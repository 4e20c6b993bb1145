export { Gateway, type AppCall, type GatewayOptions } from "./gateway";
export { LiveCache, type LiveEntry } from "./live-cache";
export { RateLimiter } from "./rate-limit";
export { InvocationLog } from "./invocation-log";
export { APP_SANDBOX_CSP, appResponseHeaders, isTenantResponse, type AppOrigin } from "./app-headers";
