export { openDatabase, migrate, isMigrated, type Db, type Tx, type DbOrTx, type OpenedDatabase } from "./client";
export * as schema from "./schema";
export * from "./schema";
