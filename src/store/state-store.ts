/**
 * The state store contract: where ferry keeps its journal (runs and every step's state) and the
 * run lock. SQLite by default, PostgreSQL for a team, in-memory for tests. The core depends only
 * on this interface; each implementation passes test/contract/state-store.contract.ts.
 *
 * Durability: every write's promise resolves only once the write is durable (committed, synced),
 * because the executor relies on "the journal records a step before it starts". Implementations
 * may group writes that arrive together into one commit, as long as each promise waits for it.
 *
 * Locks: one per cluster name, so that clusters sharing one store (a fleet's, in PostgreSQL) each
 * have their own, as each has its own runs.
 *
 * Fencing: the executor's writes carry the token of the lock it holds (`fence`). The store checks,
 * in the same transaction as the write, that the token still holds the lock of the cluster the
 * written run belongs to, and otherwise refuses the write with a LockLostError: a ferry that lost
 * its lock (frozen past its lease, cut off from the store) and comes back writes nothing into a run
 * another ferry has taken over, and a ferry holding one cluster's lock writes nothing into another's.
 */

/** pending → running → done | failed; during a rollback done → undoing → undone (or failed). */
export type StepState = "pending" | "running" | "done" | "failed" | "undoing" | "undone";

/**
 * running: the executor works on it. rolling-back: undoing completed steps.
 * paused / stopped: resumable (stopped: past the point of no return, by a signal or a failure).
 * failed: a rollback could not finish; resumable after a fix.
 * done, rolled-back: finished.
 */
export type RunStatus = "running" | "rolling-back" | "paused" | "stopped" | "failed" | "done" | "rolled-back";

export const FINISHED_STATUSES: readonly RunStatus[] = ["done", "rolled-back"];

/** What a waiting run waits for (DESIGN.md "Gates"). */
export type WaitingFor = "approval" | "window" | "soak" | "alarm" | "gate";

/**
 * A run waiting at a gate: a state of the run, journaled with it, so that `status`, the API and
 * the dashboard show it from any process, and a resume after `kill -9` waits again from `since`.
 */
export interface Waiting {
  readonly for: WaitingFor;
  /** Epoch milliseconds: when the run started waiting for this, at this step. */
  readonly since: number;
  /** What it waits for, in words: the alert's name, the window, the approval asked for. */
  readonly detail: string;
  /** The id of the step that waits; null when the run waits between steps (a window). */
  readonly step: string | null;
}

export interface StepRecord {
  /** The step's path id, `1.0.1/roll/api/h2/activate`; unique within a run. */
  readonly id: string;
  /** Position in the plan, 0-based; steps() returns them in this order. */
  readonly seq: number;
  readonly state: StepState;
  /** Epoch milliseconds. */
  readonly startedAt: number | null;
  readonly endedAt: number | null;
  /**
   * When a rollback (or `ferry host undo`) finished undoing it, or failed to; `endedAt` stays the
   * end of its run, so both spans can be told apart. Epoch milliseconds.
   */
  readonly undoneAt: number | null;
  readonly exitCode: number | null;
  /** The tail of the command's output (at most a few KiB). */
  readonly output: string | null;
  /** Why it failed, in words. */
  readonly error: string | null;
  /** How many times it was started (a resume re-runs a step found running). */
  readonly attempts: number;
  /**
   * What the step saw that later steps follow, kept so that a resume follows it too: a roles step's
   * `{ active: HOST }`, by which its component's roll is ordered.
   */
  readonly observed: Readonly<Record<string, string>> | null;
}

export type StepPatch = Partial<Omit<StepRecord, "id" | "seq">>;

export interface RunSummary {
  readonly id: string;
  readonly cluster: string;
  readonly from: string;
  readonly to: string;
  readonly path: readonly string[];
  readonly status: RunStatus;
  readonly startedAt: number;
  readonly endedAt: number | null;
  /** `user@host`. */
  readonly startedBy: string;
  readonly error: string | null;
  /** The release warnings accepted to start the run, so that resuming it does not ask again; null: none had to be. */
  readonly acceptedWarnings: WarningAcceptance | null;
  /** What the run waits for now; null when it does not wait. */
  readonly waiting: Waiting | null;
}

/** Release warnings that had to be accepted (`acknowledge: true`), who accepted them, when and how. */
export interface WarningAcceptance {
  /** `user@host`, or FERRY_USER: who started the run. */
  readonly by: string;
  /** ISO 8601. */
  readonly at: string;
  /** At the terminal's prompt, or with a flag (`--accept-warnings`, the API's `acceptWarnings`). */
  readonly how: "prompt" | "flag";
  readonly warnings: readonly {
    /** The hop it was shown for: `1.8.0 → 1.9.0`. */
    readonly hop: string;
    readonly release: string;
    readonly from?: string;
    readonly text: string;
  }[];
}

export interface RunRecord extends RunSummary {
  /** The plan as JSON-serialisable data; the executor resumes from it, never from a new plan. */
  readonly plan: unknown;
  /** Copies of the files the run was started with, by role (`cluster`, `catalog`): their text. */
  readonly files: Readonly<Record<string, string>>;
}

export type NewRun = Omit<RunRecord, "endedAt" | "error" | "acceptedWarnings" | "waiting"> & {
  readonly acceptedWarnings?: WarningAcceptance | null;
};

export interface RunPatch {
  readonly status?: RunStatus;
  readonly endedAt?: number | null;
  readonly error?: string | null;
  readonly waiting?: Waiting | null;
}

/**
 * Something done to a run besides walking its steps, kept with it for its history: who did it,
 * when, and what (`ferry host undo h2` took h2 back to the release it ran).
 */
export interface RunNote {
  /** Epoch milliseconds. */
  readonly at: number;
  /** `user@host`, or FERRY_USER when set. */
  readonly by: string;
  /** A stable name of the kind of thing done: `host-undo`. */
  readonly kind: string;
  /** What was done, in words. */
  readonly text: string;
  /** The step it was about, when it was about one: the approval step an `approved` note answers. */
  readonly step?: string;
}

/**
 * One measurement of a metric gate (DESIGN.md "Gates"): what the query gave and what that meant.
 * Kept with the run so that `status`, the API and the dashboard show why a batch went on or not.
 */
export interface Measurement {
  /** The gate's step id: `1.0.1/roll/api/batch-1/gate/error-rate`. */
  readonly step: string;
  readonly gate: string;
  /** The step's attempt it belongs to (a gate paused for want of data starts over on resume). */
  readonly attempt: number;
  /** Epoch milliseconds. */
  readonly at: number;
  /** The query's value; null when it gave none (no data) or NaN. */
  readonly value: number | null;
  readonly verdict: "pass" | "fail" | "inconclusive";
  /** Why, in words: `0.2 is not below 0.01`, `no data`. */
  readonly detail: string;
}

export interface LockHolder {
  /** Hostname of the machine the owner runs on. */
  readonly host: string;
  readonly pid: number;
  /** Random, unique per owner process; how an owner recognises its own lock. */
  readonly token: string;
  readonly runId: string | null;
  readonly acquiredAt: number;
  /** Epoch ms after which the lock may be taken over by anyone. */
  readonly leaseUntil: number;
}

export interface LockClaim {
  readonly host: string;
  readonly pid: number;
  readonly token: string;
  readonly runId: string | null;
  readonly leaseMs: number;
}

export type LockResult =
  | { readonly acquired: true; readonly tookOverFrom: LockHolder | null }
  | { readonly acquired: false; readonly holder: LockHolder };

/**
 * One change of a run's condition, in the notification outbox (DESIGN.md "Gates": notifications
 * go out from an outbox in the journal). Every change is kept, so the next one can be compared
 * with it; those that send something carry an event, a body and one delivery per receiver.
 */
export interface NewNotice {
  /** What the run's condition became: its status (later, with what it waits for). */
  readonly condition: string;
  /** The event it sends (`done`, `failed`, …), or null for a change that sends nothing. */
  readonly event: string | null;
  /** The JSON body every receiver gets; null when it sends nothing. */
  readonly body: unknown;
  /** Epoch milliseconds. */
  readonly createdAt: number;
  /**
   * One per receiver that takes the event. `key` is its Idempotency-Key, unique in the store and
   * kept for every retry; `receiver` is how to reach it (JSON data, no secret in it).
   */
  readonly deliveries: readonly { readonly key: string; readonly receiver: unknown }[];
}

export type DeliveryState = "pending" | "delivered" | "expired";

export interface DeliveryRecord {
  readonly key: string;
  readonly runId: string;
  /** The notice's place in its run's, 1-based. */
  readonly seq: number;
  readonly receiver: unknown;
  readonly state: DeliveryState;
  readonly attempts: number;
  /** Epoch ms before which it is not tried again (backoff). */
  readonly nextAt: number;
  readonly lastError: string | null;
  readonly deliveredAt: number | null;
}

/** A delivery with what it sends. */
export interface Delivery extends DeliveryRecord {
  readonly event: string;
  readonly body: unknown;
  readonly createdAt: number;
}

export type DeliveryPatch = Partial<
  Pick<DeliveryRecord, "state" | "attempts" | "nextAt" | "lastError" | "deliveredAt">
>;

export interface NoticeRecord {
  readonly seq: number;
  readonly condition: string;
  readonly event: string | null;
  readonly body: unknown;
  readonly createdAt: number;
  readonly deliveries: readonly DeliveryRecord[];
}

export interface StateStore {
  /** Creates the tables if they are missing; idempotent. */
  init(): Promise<void>;

  /** Records a new run and all its steps as `pending`, in order, in one transaction. */
  createRun(run: NewRun, stepIds: readonly string[]): Promise<void>;
  getRun(id: string): Promise<RunRecord | undefined>;
  /** The newest run whose status is not finished, for this cluster name. */
  unfinishedRun(cluster: string): Promise<RunRecord | undefined>;
  /** Newest first, without plan and files. */
  listRuns(cluster: string): Promise<RunSummary[]>;
  /**
   * With `fence`: only while that token holds the lock of the run's cluster, else a LockLostError
   * and nothing written.
   */
  updateRun(id: string, patch: RunPatch, fence?: string): Promise<void>;

  /**
   * Marks the run for a pause and records who asked (`user@host`), atomically and only while its
   * status is `running`: the executor that drives it, in this process or another, stops after the
   * steps in flight. Returns whether the run is marked now; false for a run that is not running.
   */
  requestPause(runId: string, by: string): Promise<boolean>;
  /** Who asked to pause the run, while the mark is set; null when it is not. */
  pauseRequest(runId: string): Promise<string | null>;
  /** Clears the mark (once the run has paused, and before it resumes); an unknown run is an error. */
  clearPause(runId: string): Promise<void>;

  /** With `fence`: as for updateRun, the lock of the run's cluster. */
  updateStep(runId: string, stepId: string, patch: StepPatch, fence?: string): Promise<void>;
  /** In plan order. */
  steps(runId: string): Promise<StepRecord[]>;

  /**
   * Adds a note to the run's history, after the writes issued before it. With `fence`: only while
   * that token holds the lock of the run's cluster, else a LockLostError and nothing written. An
   * unknown run is an error.
   */
  addNote(runId: string, note: RunNote, fence?: string): Promise<void>;
  /** The run's notes, oldest first; none for a run that has none (or does not exist). */
  notes(runId: string): Promise<RunNote[]>;
  /**
   * Adds a gate's measurement to the run, after the writes issued before it. With `fence`: only
   * while that token holds the lock of the run's cluster, else a LockLostError and nothing written.
   * An unknown run is an error.
   */
  addMeasurement(runId: string, m: Measurement, fence?: string): Promise<void>;
  /** The run's measurements, oldest first. */
  measurements(runId: string): Promise<Measurement[]>;

  /**
   * Takes the cluster's lock, atomically, when nobody holds it, when the holder's lease has
   * expired, when the holder has the claim's own token (re-entry), or when the holder's token is
   * `takeOverToken` (the caller has established that this holder is dead). Other clusters' locks
   * are neither looked at nor changed.
   */
  tryLock(cluster: string, claim: LockClaim, takeOverToken?: string): Promise<LockResult>;
  /** Extends the lease; false when the claim's token no longer holds the cluster's lock. */
  renewLock(cluster: string, claim: LockClaim): Promise<boolean>;
  /** Releases the cluster's lock if the token holds it; otherwise does nothing. */
  releaseLock(cluster: string, token: string): Promise<void>;
  /** Who holds the cluster's lock (its lease may have run out); undefined when nobody does. */
  lockHolder(cluster: string): Promise<LockHolder | undefined>;

  /**
   * Appends a notice after the run's last one, atomically: `decide` gets the condition of the
   * run's last notice (null when it has none) and returns the notice to append, or null for none.
   * Ordered and durable like updateStep and updateRun: a notice asked for right after a run update
   * commits with the writes issued after it, or before them. Resolves to its seq, or null.
   */
  appendNotice(runId: string, decide: (last: string | null) => NewNotice | null): Promise<number | null>;
  /** The run's notices in order, each with its deliveries. */
  notices(runId: string): Promise<NoticeRecord[]>;
  /** The cluster's deliveries still pending, in the order their notices were appended. */
  pendingDeliveries(cluster: string): Promise<Delivery[]>;
  /** Records an attempt's outcome; an unknown key is an error. */
  updateDelivery(key: string, patch: DeliveryPatch): Promise<void>;

  close(): Promise<void>;
}
