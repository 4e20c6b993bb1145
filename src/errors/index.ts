export { catalogue, statusOf, type ErrorCode } from "./catalogue";
export { AppError, isAppError, invalidRequest, type FieldIssue } from "./app-error";
