export { AgentService, insertVersion, type BundlerLike, type NewAgentInput, type SourceInput, type BuiltSource } from "./service";
export { listAgents, getAgent, getAgentBySlug, findAgentBySlug } from "./queries";
export { agentView, endpointUrl, type AgentRow } from "./view";
export { slugify, uniqueSlug } from "./slug";
export { Schedules, scheduleView, type ScheduleInput, type ScheduleRow } from "./schedules";
export { validateSchedule, shortestInterval, parseSchedule, isTimeZone, DEFAULT_TIMEZONE } from "./schedule-policy";
