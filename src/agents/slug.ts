/**
 * Slugs: lowercased name, non-alphanumerics to "-", trimmed; unique per instance by
 * suffixing -2, -3, ... (the contract's rule).
 */
import { like, or, eq } from "drizzle-orm";
import type { DbOrTx } from "../db";
import { agents } from "../db/schema";

export function slugify(name: string): string {
  const s = name
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 60)
    .replace(/-+$/g, "");
  return s || "agent";
}

export async function uniqueSlug(db: DbOrTx, name: string): Promise<string> {
  const base = slugify(name);
  const rows = await db
    .select({ slug: agents.slug })
    .from(agents)
    .where(or(eq(agents.slug, base), like(agents.slug, `${base}-%`)));
  const taken = new Set(rows.map((r) => r.slug));
  if (!taken.has(base)) return base;
  for (let i = 2; ; i++) if (!taken.has(`${base}-${i}`)) return `${base}-${i}`;
}
