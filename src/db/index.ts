export { openDatabase, isMigrated, isBusyError, databaseFiles, type Db, type Tx, type DbOrTx, type Reader, type OpenedDatabase } from "./client";
export { queryRows, queryRow, execute, preparedWrite, positionalWrite, positionalRead } from "./raw";
export type { BusSubscriber, Topic, Topics, Unsubscribe } from "./bus";
export * as schema from "./schema";
export * from "./schema";
export { openStore, type Store, type StoreOptions } from "./open";
