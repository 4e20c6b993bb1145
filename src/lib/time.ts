/** Timestamps are stored as epoch milliseconds and shown as ISO-8601 strings. */
export function iso(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString();
}
