/**
 * ferry's public library API. The CLI imports only from here.
 */
export {
  type Catalog,
  type CatalogInput,
  defineCatalog,
  formatRefusal,
  type Hop,
  type HopKind,
  type HopMode,
  type HopNote,
  type HopWarning,
  loadCatalog,
  type PathHop,
  type PathOptions,
  PathRefusedError,
  type Policy,
  type PolicyRule,
  parseCatalog,
  planPath,
  type Refusal,
  type Release,
  type ReleaseNotes,
  type ReleaseWarning,
  releaseIndex,
  type SchemeName,
  type VersionPath,
  warningsToAccept,
} from "./catalog/index.js";
export {
  type ActionSpec,
  type Cluster,
  type ClusterAction,
  type Component,
  checkVersionInCatalog,
  type Host,
  type HostAction,
  loadCluster,
  type NotifyEvent,
  type NotifyReceiver,
  onlineHosts,
  parseCluster,
  stateFolder,
} from "./cluster/cluster.js";
export { STARTER_DEFAULTS, type StarterAnswers, starterFiles } from "./cluster/starter-files.js";
export { type DemoReport, type LiveLoad, runDemo } from "./demo/run-demo.js";
export { DriverPool } from "./drivers/driver-pool.js";
export {
  type Driver,
  describeExit,
  type ExecOptions,
  type ExecResult,
  HostKeyError,
  type HostRef,
  LocalDriver,
  type MarkedEnd,
  MemoryDriver,
  type MemoryHandler,
  SshConnectError,
  SshDriver,
  type SshSettings,
} from "./drivers/index.js";
export {
  ExitCode,
  exitCodeOf,
  FerryError,
  formatProblem,
  OperationError,
  RefusedError,
  type SourceProblem,
  UserError,
} from "./errors.js";
export {
  type ClaimBatch,
  type ClaimDecision,
  decideClaim,
  decideClaims,
  doneMaySettle,
  type GroupCounts,
  settleFleet,
} from "./fleet/claim-rules.js";
export {
  type Fleet,
  type FleetGroup,
  type FleetMember,
  type FleetRefusal,
  type FleetStrategy,
  failureLimit,
  fleetGroups,
  loadFleet,
  type MaxFailures,
} from "./fleet/fleet-file.js";
export {
  type AskCluster,
  CLUSTERS_AT_ONCE,
  type ClusterRefusal,
  type FleetPlan,
  type FleetPlanCluster,
  planFleet,
  plannedClusters,
  type RefusalKind,
} from "./fleet/fleet-plan.js";
export {
  type ClaimedClusterRun,
  type ClaimKey,
  type ClusterRunOutcome,
  type ClusterRunState,
  type ClusterRunSummary,
  FAILED_STATES,
  FINAL_STATES,
  type FleetRunRecord,
  type FleetStatus,
  type FleetStore,
  LIVE_STATES,
  type NewClusterRun,
  type RunStrategy,
} from "./fleet/fleet-store.js";
export {
  CLUSTER_STATES,
  type FleetClusterView,
  type FleetRunView,
  fleetRunView,
  type StateCounts,
} from "./fleet/fleet-view.js";
export { isPostgres, openFleetStore } from "./fleet/open-fleet-store.js";
export { PostgresFleetStore } from "./fleet/postgres-fleet-store.js";
export {
  type ClusterRunnerOptions,
  clusterRunner,
  StoreCache,
  storePerRun,
  withStateCredentials,
} from "./fleet/run-cluster-run.js";
export { SqliteFleetStore } from "./fleet/sqlite-fleet-store.js";
export {
  CLAIM_LEASE_MS,
  type ClusterRunContext,
  newWorkerId,
  type RunCluster,
  runWorker,
  type WorkerOptions,
  type WorkerSummary,
} from "./fleet/worker.js";
export { type AnswerOptions, type ApprovalAnswer, answerApproval, type Verdict } from "./gates/approval.js";
export { queryPrometheus, type Reading } from "./gates/index.js";
export { describeWindow, type Window, type WindowDay, type WindowState, windowAt } from "./gates/window.js";
export { jsonSchemaOf, SCHEMA_NAMES, type SchemaName } from "./json-schema.js";
export { maskPassword, maskPasswordsIn } from "./mask-password.js";
export { backupOf, type DbContext, withMigrator } from "./migrate/db-operations.js";
export { checkIdentifier } from "./migrate/migration-target.js";
export type { DbStatus, OnlineResult, PurgeResult } from "./migrate/migrator.js";
export { migrationsFor } from "./migrate/plan-migrations.js";
export {
  EXIT_BUDGET_MS,
  Notifier,
  type NotifierOptions,
  type NotifySummary,
} from "./notify/index.js";
export { splitBatches } from "./plan/batches.js";
export { buildPlan, clusterMembers, type PlanMigrations } from "./plan/build-plan.js";
export {
  type Action,
  hopOutlines,
  type Lane,
  type Member,
  type Phase,
  type Plan,
  type PlannedHop,
  type PlanStep,
  POINT_OF_NO_RETURN,
  planSteps,
  type Stage,
} from "./plan/plan.js";
export { renderReport } from "./report/report-html.js";
export { type RunReport, runReport } from "./report/run-report.js";
export { buildTimeline, THIS_MACHINE, type Timeline, type TimelineBar } from "./report/timeline.js";
export { type RunEvent, RunEvents, type RunListener, stepsDone } from "./run/events.js";
export { Executor, type FailedStep, type RunOutcome } from "./run/executor.js";
export { type Faults, faultAt } from "./run/faults.js";
export { type HostUndoOptions, hostUndo } from "./run/host-undo.js";
export {
  type DriverFor,
  type Observation,
  observe,
  observeActives,
  requireOneVersion,
} from "./run/observe.js";
export { type PauseOptions, type PauseRequest, pause, waitUntilStopped } from "./run/pause.js";
export { checkPreflight, type PreflightResult } from "./run/preflight-check.js";
export {
  acceptReleaseWarnings,
  type PendingWarning,
  UnacceptedWarningsError,
  type WarningOptions,
} from "./run/release-warnings.js";
export { newRunId } from "./run/run-id.js";
export { attachRunLog, type RunLog, runLogFile } from "./run/run-log.js";
export {
  type ClusterStatus,
  clusterStatus,
  type HistoryEntry,
  type MeasurementEntry,
  type NoteEntry,
  type RunProgress,
  runHistory,
} from "./run/status.js";
export {
  apply,
  type OperationOptions,
  type OperationResult,
  resume,
  rollback,
  targetOf,
  whoStarted,
} from "./run/upgrade.js";
export {
  type HoldResult,
  type HoldSpec,
  type HoldVerdict,
  hold,
  WAITING_FOR,
  type Waiting,
  type WaitingFor,
  type WaitingSlot,
  waitEndedLine,
  waitingJson,
  waitingLine,
} from "./run/waiting.js";
export {
  allowedHostProblem,
  generateToken,
  type RunningServer,
  type ServerOptions,
  startFleetServer,
  startServer,
  tokenProblem,
} from "./server/index.js";
export { DamagedStoreError } from "./store/damaged-store-error.js";
export { openStateStore, StateStoreOpenError } from "./store/open-store.js";
export type { RunNote, RunStatus, StateStore, StepState, WarningAcceptance } from "./store/state-store.js";
export { forTerminal, jsonForTerminal } from "./terminal-text.js";
export { yamlWithoutPasswords } from "./yaml-file.js";
