export { Builders, type BuilderInput } from "./builders";
export { Credentials, credentialView } from "./credentials";
export { Conversations, ALLOWED, type ConversationRow } from "./conversations";
export { Turns, type TurnDeps } from "./turns";
export { Scheduler, runScheduled } from "./scheduler";
