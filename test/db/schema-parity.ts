/**
 * How test/db/schema-parity.test.ts compares the SQLite schema (src/db/schema.sqlite.ts, the source
 * of the row types) with its PostgreSQL twin (src/db/schema.pg.ts): at compile time, the
 * inferred select and insert types of each table must be mutually assignable; at run time,
 * `tableDifferences` lists every difference in name, columns (JS key, SQL name, type mapping,
 * nullability, default, primary key), composite primary keys, indexes and foreign keys.
 */
import { is, SQL, type InferInsertModel, type InferSelectModel, type Table } from "drizzle-orm";
import { getTableConfig as pgConfig, PgDialect, type PgTable } from "drizzle-orm/pg-core";
import { getTableConfig as liteConfig, SQLiteSyncDialect, type SQLiteTable } from "drizzle-orm/sqlite-core";

/** true when A and B are assignable to each other (the tuple stops union distribution). */
export type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

/** The exports of a schema module that are tables. */
export type TablesOf<S> = { [K in keyof S as S[K] extends Table ? K : never]: S[K] };

/**
 * For each SQLite table: `true` when the twin has the same select and insert row types, else
 * a message naming what differs (so the compile error points at the table).
 */
export type Parity<L, P> = {
  [K in keyof TablesOf<L>]: K extends keyof TablesOf<P>
    ? TablesOf<L>[K] extends Table
      ? TablesOf<P>[K] extends Table
        ? Same<InferSelectModel<TablesOf<L>[K]>, InferSelectModel<TablesOf<P>[K]>> extends true
          ? Same<InferInsertModel<TablesOf<L>[K]>, InferInsertModel<TablesOf<P>[K]>> extends true
            ? true
            : `insert type of ${K & string} differs`
          : `select type of ${K & string} differs`
        : never
      : never
    : `${K & string} is missing from the PostgreSQL schema`;
};

/**
 * `true` when every table of L has a twin in P with the same row types; otherwise the union
 * of the messages in Parity, which `true` is not assignable to (so `tsc` fails naming them).
 */
export type ParityCheck<L, P> = [Mismatches<Parity<L, P>>] extends [never] ? true : Mismatches<Parity<L, P>>;
type Mismatches<T> = { [K in keyof T]: T[K] extends true ? never : T[K] }[keyof T];

/** SQLite column class → the PostgreSQL column class its twin must have. */
function expectedPgType(col: { columnType: string; name: string; primary: boolean; autoIncrement?: boolean }): string[] {
  switch (col.columnType) {
    case "SQLiteText":
      return ["PgText"];
    case "SQLiteTextJson":
      return ["PgCustomColumn:text"];
    case "SQLiteBoolean":
      return ["PgBoolean"];
    case "SQLiteInteger":
      if (col.primary && col.autoIncrement) return ["PgBigSerial53"];
      // Epoch milliseconds overflow a 4-byte integer; they are the *_at / *_until columns.
      if (/(^|_)(at|until)$/.test(col.name)) return ["PgBigInt53"];
      return ["PgInteger"];
    default:
      return [`(no PostgreSQL mapping for ${col.columnType})`];
  }
}

const liteDialect = new SQLiteSyncDialect();
const pgDialect = new PgDialect();

/** A default as comparable text: literals as JSON, SQL defaults as SQL, the `now` expressions as "now". */
function defaultText(value: unknown, dialect: "sqlite" | "pg"): string {
  if (value === undefined) return "(none)";
  if (!is(value, SQL)) return JSON.stringify(value);
  const text = (dialect === "sqlite" ? liteDialect : pgDialect).sqlToQuery(value).sql;
  if (dialect === "sqlite" && /unixepoch\('subsec'\)/.test(text)) return "now";
  if (dialect === "pg" && /statement_timestamp\(\)/.test(text)) return "now";
  return text;
}

/** Every difference between a SQLite table and its PostgreSQL twin; empty when they match. */
export function tableDifferences(lite: SQLiteTable, pg: PgTable): string[] {
  const l = liteConfig(lite);
  const p = pgConfig(pg);
  const out: string[] = [];
  const where = (s: string) => out.push(`${l.name}: ${s}`);
  if (l.name !== p.name) where(`table name ${l.name} vs ${p.name}`);
  const lCols = new Map(Object.entries(lite).filter(([, c]) => l.columns.includes(c)));
  const pCols = new Map(Object.entries(pg).filter(([, c]) => p.columns.includes(c)));
  for (const key of new Set([...lCols.keys(), ...pCols.keys()])) {
    const lc = lCols.get(key) as (typeof l.columns)[number] | undefined;
    const pc = pCols.get(key) as (typeof p.columns)[number] | undefined;
    if (!lc || !pc) {
      where(`column ${key} only in ${lc ? "SQLite" : "PostgreSQL"}`);
      continue;
    }
    if (lc.name !== pc.name) where(`${key}: SQL name ${lc.name} vs ${pc.name}`);
    const pgType = pc.columnType === "PgCustomColumn" ? `PgCustomColumn:${pc.getSQLType()}` : pc.columnType;
    const expected = expectedPgType({ columnType: lc.columnType, name: lc.name, primary: lc.primary, autoIncrement: (lc as { autoIncrement?: boolean }).autoIncrement });
    if (!expected.includes(pgType)) where(`${key}: ${lc.columnType} maps to ${expected.join("|")}, got ${pgType}`);
    if (lc.notNull !== pc.notNull) where(`${key}: not null ${lc.notNull} vs ${pc.notNull}`);
    if (lc.primary !== pc.primary) where(`${key}: primary key ${lc.primary} vs ${pc.primary}`);
    if (lc.isUnique !== pc.isUnique) where(`${key}: unique ${lc.isUnique} vs ${pc.isUnique}`);
    // A bigserial's sequence is its default; SQLite's autoincrement id has none.
    const pcHasDefault = pc.hasDefault || pgType === "PgBigSerial53";
    const lcHasDefault = lc.hasDefault || expected[0] === "PgBigSerial53";
    if (lcHasDefault !== pcHasDefault) where(`${key}: has default ${lcHasDefault} vs ${pcHasDefault}`);
    const [ld, pd] = [defaultText(lc.default, "sqlite"), defaultText(pc.default, "pg")];
    if (ld !== pd) where(`${key}: default ${ld} vs ${pd}`);
  }
  const pkText = (cols: { name: string }[]) => cols.map((c) => c.name).join(",");
  const lPks = l.primaryKeys.map((k) => pkText(k.columns)).sort();
  const pPks = p.primaryKeys.map((k) => pkText(k.columns)).sort();
  if (JSON.stringify(lPks) !== JSON.stringify(pPks)) where(`composite primary keys ${lPks} vs ${pPks}`);
  const indexText = (i: { config: { name?: string; unique: boolean; columns: unknown[] } }) =>
    `${i.config.unique ? "unique " : ""}${i.config.name}(${i.config.columns.map((c) => (c as { name: string }).name).join(",")})`;
  const lIdx = l.indexes.map(indexText).sort();
  const pIdx = p.indexes.map(indexText).sort();
  if (JSON.stringify(lIdx) !== JSON.stringify(pIdx)) where(`indexes ${lIdx.join("; ")} vs ${pIdx.join("; ")}`);
  const fkText = (f: { reference(): { columns: { name: string }[]; foreignTable: Table; foreignColumns: { name: string }[] }; onDelete?: string; onUpdate?: string }, cfg: (t: any) => { name: string }) => {
    const r = f.reference();
    return `(${pkText(r.columns)}) → ${cfg(r.foreignTable).name}(${pkText(r.foreignColumns)}) on delete ${f.onDelete ?? "no action"} on update ${f.onUpdate ?? "no action"}`;
  };
  const lFk = l.foreignKeys.map((f) => fkText(f, liteConfig)).sort();
  const pFk = p.foreignKeys.map((f) => fkText(f, pgConfig)).sort();
  if (JSON.stringify(lFk) !== JSON.stringify(pFk)) where(`foreign keys ${lFk.join("; ")} vs ${pFk.join("; ")}`);
  if (l.uniqueConstraints.length || p.uniqueConstraints.length)
    if (JSON.stringify(l.uniqueConstraints.map((u) => u.getName())) !== JSON.stringify(p.uniqueConstraints.map((u) => u.getName())))
      where("unique constraints differ");
  return out;
}
