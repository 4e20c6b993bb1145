/**
 * Operator tools on the data dir: online snapshots (backup), checked restore, and the
 * server's pid file that tells them whether a server is running. Used by the CLI
 * (`cantrip backup`, `cantrip restore`) and the operator-only admin route.
 */
export { snapshotDatabase, SnapshotError, type Snapshot } from "./snapshot";
export { checkDatabaseFile, type DatabaseCheck } from "./check";
export { restoreDatabase, RestoreError, type Restored } from "./restore";
export { claimServer, runningServer, pidFile } from "./server-lock";
