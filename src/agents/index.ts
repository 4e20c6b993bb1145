export { AgentService, insertVersion, type BundlerLike, type NewAgentInput, type SourceInput, type BuiltSource } from "./service";
export { listAgents, getAgent, getAgentBySlug, findAgentBySlug } from "./queries";
export { agentView, endpointUrl, type AgentRow } from "./view";
export { slugify, uniqueSlug } from "./slug";
