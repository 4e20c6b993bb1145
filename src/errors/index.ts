export { catalogue, statusOf, type ErrorCode } from "./catalogue";
export { AppError, isAppError, invalidRequest, fieldIssues, type FieldIssue } from "./app-error";
