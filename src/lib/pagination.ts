/**
 * Cursor pagination over time-sortable ids: `limit` 1-100 (default 20), `cursor` is the
 * last id of the previous page. Parsed here so errors name the exact query field.
 */
import { invalidRequest } from "../errors";

export interface Page {
  limit: number;
  cursor: string | null;
}

export function parsePage(query: Record<string, string | undefined>, max = 100, def = 20): Page {
  let limit = def;
  if (query.limit !== undefined && query.limit !== "") {
    const n = Number(query.limit);
    if (!/^\d+$/.test(query.limit) || n < 1 || n > max)
      throw invalidRequest([{ field: "query.limit", rule: "Range", message: `limit must be a whole number from 1 to ${max}` }]);
    limit = n;
  }
  const cursor = query.cursor ? query.cursor : null;
  if (cursor !== null && !/^[A-Za-z0-9_]{1,80}$/.test(cursor))
    throw invalidRequest([{ field: "query.cursor", rule: "Format", message: "cursor is not a valid cursor" }]);
  return { limit, cursor };
}

/** Given limit+1 rows, returns the page and the next cursor. */
export function pageOf<T>(rows: T[], limit: number, idOf: (row: T) => string): { data: T[]; nextCursor: string | null } {
  const more = rows.length > limit;
  const data = more ? rows.slice(0, limit) : rows;
  return { data, nextCursor: more && data.length ? idOf(data[data.length - 1]!) : null };
}
