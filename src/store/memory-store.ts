/**
 * The in-memory state store: the twin of the SQLite and PostgreSQL stores for tests and dry runs.
 * Nothing survives the process. Records are copied through JSON on the way in and out, so callers
 * cannot change stored state behind its back and a plan that would not survive a real store's JSON
 * column (a Date, a Map, undefined) does not survive here either.
 */
import { LockLostError } from "./lock-lost-error.js";
import {
  FINISHED_STATUSES,
  type LockClaim,
  type LockHolder,
  type LockResult,
  type NewRun,
  type RunNote,
  type RunPatch,
  type RunRecord,
  type RunSummary,
  type StateStore,
  type StepPatch,
  type StepRecord,
} from "./state-store.js";

interface StoredRun {
  record: RunRecord;
  /** Insertion order: breaks ties between runs started in the same millisecond. */
  order: number;
  steps: Map<string, StepRecord>;
  pauseRequestedBy: string | null;
  notes: RunNote[];
}

export class MemoryStore implements StateStore {
  private readonly runs = new Map<string, StoredRun>();
  private lock: LockHolder | undefined;
  private nextOrder = 0;
  private closed = false;

  async init(): Promise<void> {
    this.assertOpen();
  }

  async createRun(run: NewRun, stepIds: readonly string[]): Promise<void> {
    this.assertOpen();
    if (this.runs.has(run.id)) throw new Error(`run ${run.id} already exists`);
    const steps = new Map<string, StepRecord>();
    stepIds.forEach((id, seq) => {
      if (steps.has(id)) throw new Error(`run ${run.id}: step ${id} appears twice`);
      steps.set(id, pendingStep(id, seq));
    });
    const summary = summaryOf({ ...run, endedAt: null, error: null });
    const record: RunRecord = jsonCopy({ ...summary, plan: run.plan ?? null, files: run.files });
    this.runs.set(run.id, { record, order: this.nextOrder++, steps, pauseRequestedBy: null, notes: [] });
  }

  async getRun(id: string): Promise<RunRecord | undefined> {
    this.assertOpen();
    const run = this.runs.get(id);
    return run && jsonCopy(run.record);
  }

  async unfinishedRun(cluster: string): Promise<RunRecord | undefined> {
    this.assertOpen();
    const run = this.newestFirst(cluster).find((r) => !FINISHED_STATUSES.includes(r.record.status));
    return run && jsonCopy(run.record);
  }

  async listRuns(cluster: string): Promise<RunSummary[]> {
    this.assertOpen();
    return this.newestFirst(cluster).map((r) => jsonCopy(summaryOf(r.record)));
  }

  async updateRun(id: string, patch: RunPatch, fence?: string): Promise<void> {
    this.assertOpen();
    this.assertHeld(fence);
    const run = this.runs.get(id);
    if (!run) throw new Error(`no run ${id}`);
    run.record = { ...run.record, ...jsonCopy(definedFields(patch, ["status", "endedAt", "error"])) };
  }

  async requestPause(runId: string, by: string): Promise<boolean> {
    this.assertOpen();
    const run = this.runs.get(runId);
    if (run?.record.status !== "running") return false;
    run.pauseRequestedBy = by;
    return true;
  }

  async pauseRequest(runId: string): Promise<string | null> {
    this.assertOpen();
    return this.runs.get(runId)?.pauseRequestedBy ?? null;
  }

  async clearPause(runId: string): Promise<void> {
    this.assertOpen();
    const run = this.runs.get(runId);
    if (!run) throw new Error(`no run ${runId}`);
    run.pauseRequestedBy = null;
  }

  async updateStep(runId: string, stepId: string, patch: StepPatch, fence?: string): Promise<void> {
    this.assertOpen();
    this.assertHeld(fence);
    const step = this.runs.get(runId)?.steps.get(stepId);
    if (!step) throw new Error(`no step ${stepId} in run ${runId}`);
    const fields = definedFields(patch, [
      "state",
      "startedAt",
      "endedAt",
      "exitCode",
      "output",
      "error",
      "attempts",
    ]);
    // A step's fields are all primitives, so a shallow copy is a full one.
    this.runs.get(runId)?.steps.set(stepId, { ...step, ...fields });
  }

  async steps(runId: string): Promise<StepRecord[]> {
    this.assertOpen();
    const steps = this.runs.get(runId)?.steps;
    // Map keeps insertion order, which is seq order.
    return steps ? [...steps.values()].map((s) => ({ ...s })) : [];
  }

  async addNote(runId: string, note: RunNote, fence?: string): Promise<void> {
    this.assertOpen();
    this.assertHeld(fence);
    const run = this.runs.get(runId);
    if (!run) throw new Error(`no run ${runId}`);
    run.notes.push(jsonCopy(note));
  }

  async notes(runId: string): Promise<RunNote[]> {
    this.assertOpen();
    return jsonCopy(this.runs.get(runId)?.notes ?? []);
  }

  async tryLock(claim: LockClaim, takeOverToken?: string): Promise<LockResult> {
    this.assertOpen();
    const now = Date.now();
    const holder = this.lock;
    const reentry = holder?.token === claim.token;
    if (holder && !reentry && holder.leaseUntil > now && holder.token !== takeOverToken) {
      return { acquired: false, holder: { ...holder } };
    }
    this.lock = {
      host: claim.host,
      pid: claim.pid,
      token: claim.token,
      runId: claim.runId,
      acquiredAt: reentry && holder ? holder.acquiredAt : now,
      leaseUntil: now + claim.leaseMs,
    };
    return { acquired: true, tookOverFrom: reentry || !holder ? null : { ...holder } };
  }

  async renewLock(claim: LockClaim): Promise<boolean> {
    this.assertOpen();
    if (this.lock?.token !== claim.token) return false;
    this.lock = { ...this.lock, runId: claim.runId, leaseUntil: Date.now() + claim.leaseMs };
    return true;
  }

  async releaseLock(token: string): Promise<void> {
    this.assertOpen();
    if (this.lock?.token === token) this.lock = undefined;
  }

  async lockHolder(): Promise<LockHolder | undefined> {
    this.assertOpen();
    return this.lock && { ...this.lock };
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private newestFirst(cluster: string): StoredRun[] {
    return [...this.runs.values()]
      .filter((r) => r.record.cluster === cluster)
      .sort((a, b) => b.record.startedAt - a.record.startedAt || b.order - a.order);
  }

  private assertOpen(): void {
    if (this.closed) throw new Error("the memory state store is closed");
  }

  /** A fenced write goes ahead only while its token holds the lock. */
  private assertHeld(fence: string | undefined): void {
    if (fence !== undefined && this.lock?.token !== fence) throw new LockLostError(fence);
  }
}

function pendingStep(id: string, seq: number): StepRecord {
  return {
    id,
    seq,
    state: "pending",
    startedAt: null,
    endedAt: null,
    exitCode: null,
    output: null,
    error: null,
    attempts: 0,
  };
}

function summaryOf(run: RunSummary): RunSummary {
  const { id, cluster, from, to, path, status, startedAt, endedAt, startedBy, error } = run;
  return { id, cluster, from, to, path, status, startedAt, endedAt, startedBy, error };
}

/** The listed fields the patch sets; a field given as undefined counts as not given, as in SQL stores. */
function definedFields<T extends object>(patch: T, keys: readonly (keyof T)[]): Partial<T> {
  const out: Partial<T> = {};
  for (const key of keys) if (patch[key] !== undefined) out[key] = patch[key];
  return out;
}

function jsonCopy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
