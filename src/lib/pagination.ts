/**
 * Keyset pagination: `limit` 1-100 (default 20); `cursor` is opaque to clients and encodes
 * the sort key of the last row of the previous page, so every list pages by exactly the
 * key it is ordered by (rows inserted between pages are neither skipped nor repeated).
 * Lists ordered by a time-sortable id use the id itself; lists ordered by something else
 * (conversations by creation time, with the id as tie-breaker) use `compositeCursor`.
 * Parsed here so errors name the exact query field.
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
  if (cursor !== null && !/^[A-Za-z0-9_-]{1,160}$/.test(cursor))
    throw invalidRequest([{ field: "query.cursor", rule: "Format", message: "cursor is not a valid cursor" }]);
  return { limit, cursor };
}

/** Given limit+1 rows, returns the page and the next cursor. */
export function pageOf<T>(rows: T[], limit: number, idOf: (row: T) => string): { data: T[]; nextCursor: string | null } {
  const more = rows.length > limit;
  const data = more ? rows.slice(0, limit) : rows;
  return { data, nextCursor: more && data.length ? idOf(data[data.length - 1]!) : null };
}

/** A cursor for an order of (integer, id), e.g. (createdAt ms, uuid): `<base36 integer>_<id>`. */
export function compositeCursor(n: number, id: string): string {
  return `${n.toString(36)}_${id}`;
}

/** Reads a compositeCursor; a cursor of another shape is a 400 on `query.cursor`. */
export function parseCompositeCursor(cursor: string): { n: number; id: string } {
  const m = /^([0-9a-z]{1,11})_([A-Za-z0-9_-]{1,140})$/.exec(cursor);
  const n = m ? parseInt(m[1]!, 36) : NaN;
  if (!m || !Number.isSafeInteger(n))
    throw invalidRequest([{ field: "query.cursor", rule: "Format", message: "cursor is not a valid cursor" }]);
  return { n, id: m[2]! };
}
