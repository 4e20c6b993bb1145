/**
 * The error-code catalogue: every code a client can see, with its one HTTP status and a
 * default message. Domain code throws AppError with a code from here; src/http renders it
 * in the envelope of the API family the request came through.
 */
export const catalogue = {
  invalid_request: { status: 400, message: "The request failed validation." },
  invalid_json: { status: 400, message: "The request body is not valid JSON." },
  build_failed: { status: 400, message: "The source could not be bundled." },
  unauthorized: { status: 401, message: "A valid platform token is required." },
  missing_agent_api_key: { status: 401, message: "The request did not include an agent API key." },
  malformed_agent_api_key: { status: 401, message: "The Authorization header is not a bearer agent key (Bearer ctp_ak_...)." },
  invalid_agent_api_key: { status: 401, message: "The agent API key was not recognized." },
  agent_api_key_revoked: { status: 401, message: "The agent API key was revoked." },
  invalid_stream_token: { status: 401, message: "The stream or download token is invalid or expired." },
  csrf_failed: { status: 403, message: "A dashboard session cookie is accepted only with its X-CSRF-Token header, from the dashboard's own origin." },
  agent_api_key_scope_mismatch: { status: 403, message: "The agent API key belongs to a different agent." },
  forbidden: { status: 403, message: "This call needs the operator's platform token." },
  not_found: { status: 404, message: "No route matches this method and path." },
  agent_not_found: { status: 404, message: "Agent not found." },
  job_not_found: { status: 404, message: "Job not found." },
  key_not_found: { status: 404, message: "API key not found." },
  conversation_not_found: { status: 404, message: "Conversation not found." },
  version_not_found: { status: 404, message: "Version not found." },
  credential_not_found: { status: 404, message: "Credential not found." },
  file_not_found: { status: 404, message: "File not found." },
  endpoint_not_available: { status: 404, message: "The agent has no endpoint before its first deployment." },
  method_not_allowed: { status: 405, message: "Method not allowed." },
  agent_not_ready: { status: 409, message: "The agent is not ready to deploy." },
  deploy_in_progress: { status: 409, message: "A deployment is already running for this agent." },
  not_deployed: { status: 409, message: "The agent does not have a live endpoint." },
  invalid_state: { status: 409, message: "This call is not allowed in the conversation's current state." },
  conflict: { status: 409, message: "The resource already exists." },
  agent_limit_reached: { status: 409, message: "The workspace has as many agents as one workspace may have (CANTRIP_WORKSPACE_MAX_AGENTS); delete one first." },
  key_limit_reached: { status: 409, message: "The agent has as many active API keys as one agent may have (CANTRIP_AGENT_MAX_KEYS); revoke one first." },
  job_not_cancellable: { status: 409, message: "The job has already finished." },
  payload_too_large: { status: 413, message: "The request body is larger than the configured limit." },
  unsupported_media_type: { status: 415, message: "The request body must be application/json." },
  rate_limited: { status: 429, message: "Too many requests." },
  quota_exceeded: { status: 429, message: "Quota exceeded." },
  internal_error: { status: 500, message: "Internal error." },
  endpoint_unreachable: { status: 502, message: "The backend could not be reached." },
  bad_response: { status: 502, message: "The backend returned something that is not a valid HTTP response." },
  model_output_invalid: { status: 502, message: "The model answered, but its reply could not be used (it did not match what was asked for)." },
  model_output_truncated: { status: 502, message: "The model's reply was cut off before it was complete (finish_reason \"length\")." },
  model_output_filtered: { status: 502, message: "The model provider withheld the reply (finish_reason \"content_filter\")." },
  model_not_configured: { status: 503, message: "No model provider is configured. Set OPENAI_BASE_URL (and OPENAI_API_KEY, CANTRIP_MODEL)." },
  model_unavailable: { status: 503, message: "The model provider did not answer." },
  sandbox_busy: { status: 503, message: "The sandbox has no free capacity for this call right now; retry after the Retry-After delay." },
  sandbox_memory_exhausted: { status: 503, message: "The sandbox's memory budget is in use by other calls; retry shortly." },
  backup_not_supported: { status: 501, message: "This server keeps its data in PostgreSQL (CANTRIP_DATABASE_URL): back it up with pg_dump and restore with pg_restore; /v1/admin/backup and `cantrip backup` snapshot only the SQLite file." },
  endpoint_timeout: { status: 504, message: "The backend exceeded its time limit." },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof catalogue;

export function statusOf(code: ErrorCode): number {
  return catalogue[code].status;
}
