/** The state store: ferry's journal and run lock, in SQLite, PostgreSQL or memory. */

export { maskPassword } from "../mask-password.js";
export { DamagedStoreError } from "./damaged-store-error.js";
export { LockLostError } from "./lock-lost-error.js";
export { MemoryStore } from "./memory-store.js";
export { MEMORY_LOCATION, openStateStore, StateStoreOpenError } from "./open-store.js";
export { PostgresStore, type PostgresStoreOptions } from "./postgres-store.js";
export { SqliteStore, type SqliteStoreOptions } from "./sqlite-store.js";
export {
  type Delivery,
  type DeliveryPatch,
  type DeliveryRecord,
  type DeliveryState,
  FINISHED_STATUSES,
  type LockClaim,
  type LockHolder,
  type LockResult,
  type Measurement,
  type NewNotice,
  type NewRun,
  type NoticeRecord,
  type RunNote,
  type RunPatch,
  type RunRecord,
  type RunStatus,
  type RunSummary,
  type StateStore,
  type StepPatch,
  type StepRecord,
  type StepState,
  type WarningAcceptance,
} from "./state-store.js";
