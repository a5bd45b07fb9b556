/**
 * The in-memory state store: the twin of the SQLite and PostgreSQL stores for tests and dry runs.
 * Nothing survives the process. Records are copied through JSON on the way in and out, so callers
 * cannot change stored state behind its back and a plan that would not survive a real store's JSON
 * column (a Date, a Map, undefined) does not survive here either.
 */
import { LockLostError } from "./lock-lost-error.js";
import {
  type Delivery,
  type DeliveryPatch,
  type DeliveryRecord,
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
  notices: NoticeRecord[];
  notes: RunNote[];
  measurements: Measurement[];
}

export class MemoryStore implements StateStore {
  private readonly runs = new Map<string, StoredRun>();
  /** Every delivery by its key, in the order appended (Map keeps it). */
  private readonly deliveryIndex = new Map<string, { run: StoredRun; seq: number }>();
  /** By cluster name; a released lock has no entry. */
  private readonly locks = new Map<string, LockHolder>();
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
    const summary = summaryOf({
      ...run,
      endedAt: null,
      error: null,
      acceptedWarnings: run.acceptedWarnings ?? null,
      waiting: null,
    });
    const record: RunRecord = jsonCopy({ ...summary, plan: run.plan ?? null, files: run.files });
    this.runs.set(run.id, {
      record,
      order: this.nextOrder++,
      steps,
      pauseRequestedBy: null,
      notices: [],
      notes: [],
      measurements: [],
    });
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
    const run = this.runs.get(id);
    if (!run) throw new Error(`no run ${id}`);
    this.assertHeld(run, fence);
    run.record = {
      ...run.record,
      ...jsonCopy(definedFields(patch, ["status", "endedAt", "error", "waiting"])),
    };
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
    const run = this.runs.get(runId);
    if (run) this.assertHeld(run, fence);
    const step = run?.steps.get(stepId);
    if (!step) throw new Error(`no step ${stepId} in run ${runId}`);
    const fields = definedFields(patch, [
      "state",
      "startedAt",
      "endedAt",
      "undoneAt",
      "exitCode",
      "output",
      "error",
      "attempts",
      "observed",
    ]);
    // A step's fields are primitives, but for its observation, whose own fields are.
    this.runs.get(runId)?.steps.set(stepId, copyStep({ ...step, ...fields }));
  }

  async steps(runId: string): Promise<StepRecord[]> {
    this.assertOpen();
    const steps = this.runs.get(runId)?.steps;
    // Map keeps insertion order, which is seq order.
    return steps ? [...steps.values()].map(copyStep) : [];
  }

  async addNote(runId: string, note: RunNote, fence?: string): Promise<void> {
    this.assertOpen();
    const run = this.runs.get(runId);
    if (!run) throw new Error(`no run ${runId}`);
    this.assertHeld(run, fence);
    run.notes.push(jsonCopy(note));
  }

  async notes(runId: string): Promise<RunNote[]> {
    this.assertOpen();
    return jsonCopy(this.runs.get(runId)?.notes ?? []);
  }

  async addMeasurement(runId: string, m: Measurement, fence?: string): Promise<void> {
    this.assertOpen();
    const run = this.runs.get(runId);
    if (!run) throw new Error(`no run ${runId}`);
    this.assertHeld(run, fence);
    run.measurements.push(jsonCopy(m));
  }

  async measurements(runId: string): Promise<Measurement[]> {
    this.assertOpen();
    return jsonCopy(this.runs.get(runId)?.measurements ?? []);
  }

  async tryLock(cluster: string, claim: LockClaim, takeOverToken?: string): Promise<LockResult> {
    this.assertOpen();
    const now = Date.now();
    const holder = this.locks.get(cluster);
    const reentry = holder?.token === claim.token;
    if (holder && !reentry && holder.leaseUntil > now && holder.token !== takeOverToken) {
      return { acquired: false, holder: { ...holder } };
    }
    this.locks.set(cluster, {
      host: claim.host,
      pid: claim.pid,
      token: claim.token,
      runId: claim.runId,
      acquiredAt: reentry && holder ? holder.acquiredAt : now,
      leaseUntil: now + claim.leaseMs,
    });
    return { acquired: true, tookOverFrom: reentry || !holder ? null : { ...holder } };
  }

  async renewLock(cluster: string, claim: LockClaim): Promise<boolean> {
    this.assertOpen();
    const holder = this.locks.get(cluster);
    if (holder?.token !== claim.token) return false;
    this.locks.set(cluster, { ...holder, runId: claim.runId, leaseUntil: Date.now() + claim.leaseMs });
    return true;
  }

  async releaseLock(cluster: string, token: string): Promise<void> {
    this.assertOpen();
    if (this.locks.get(cluster)?.token === token) this.locks.delete(cluster);
  }

  async lockHolder(cluster: string): Promise<LockHolder | undefined> {
    this.assertOpen();
    const holder = this.locks.get(cluster);
    return holder && { ...holder };
  }

  async appendNotice(
    runId: string,
    decide: (last: string | null) => NewNotice | null,
  ): Promise<number | null> {
    this.assertOpen();
    const run = this.runs.get(runId);
    if (!run) throw new Error(`no run ${runId}`);
    const last = run.notices.at(-1);
    const notice = decide(last?.condition ?? null);
    if (!notice) return null;
    const seq = (last?.seq ?? 0) + 1;
    for (const d of notice.deliveries) {
      if (this.deliveryIndex.has(d.key)) throw new Error(`delivery ${d.key} already exists`);
    }
    const copy = jsonCopy(notice);
    run.notices.push({
      seq,
      condition: copy.condition,
      event: copy.event,
      body: copy.body ?? null,
      createdAt: copy.createdAt,
      deliveries: copy.deliveries.map(
        (d): DeliveryRecord => ({
          key: d.key,
          runId,
          seq,
          receiver: d.receiver,
          state: "pending",
          attempts: 0,
          nextAt: copy.createdAt,
          lastError: null,
          deliveredAt: null,
        }),
      ),
    });
    for (const d of copy.deliveries) this.deliveryIndex.set(d.key, { run, seq });
    return seq;
  }

  async notices(runId: string): Promise<NoticeRecord[]> {
    this.assertOpen();
    return jsonCopy(this.runs.get(runId)?.notices ?? []);
  }

  async pendingDeliveries(cluster: string): Promise<Delivery[]> {
    this.assertOpen();
    const out: Delivery[] = [];
    for (const [key, { run, seq }] of this.deliveryIndex) {
      if (run.record.cluster !== cluster) continue;
      const notice = run.notices[seq - 1] as NoticeRecord;
      const d = notice.deliveries.find((x) => x.key === key);
      if (d?.state !== "pending") continue;
      out.push(jsonCopy({ ...d, event: notice.event ?? "", body: notice.body, createdAt: notice.createdAt }));
    }
    return out;
  }

  async updateDelivery(key: string, patch: DeliveryPatch): Promise<void> {
    this.assertOpen();
    const at = this.deliveryIndex.get(key);
    if (!at) throw new Error(`no delivery ${key}`);
    const notice = at.run.notices[at.seq - 1] as NoticeRecord;
    const fields = definedFields(patch, ["state", "attempts", "nextAt", "lastError", "deliveredAt"]);
    at.run.notices[at.seq - 1] = {
      ...notice,
      deliveries: notice.deliveries.map((d) => (d.key === key ? { ...d, ...fields } : d)),
    };
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

  /** A fenced write goes ahead only while its token holds the lock of the run's cluster. */
  private assertHeld(run: StoredRun, fence: string | undefined): void {
    if (fence !== undefined && this.locks.get(run.record.cluster)?.token !== fence) {
      throw new LockLostError(fence);
    }
  }
}

function pendingStep(id: string, seq: number): StepRecord {
  return {
    id,
    seq,
    state: "pending",
    startedAt: null,
    endedAt: null,
    undoneAt: null,
    exitCode: null,
    output: null,
    error: null,
    attempts: 0,
    observed: null,
  };
}

function copyStep(step: StepRecord): StepRecord {
  return {
    ...step,
    observed: step.observed && { ...step.observed },
  };
}

function summaryOf(run: RunSummary): RunSummary {
  const {
    id,
    cluster,
    from,
    to,
    path,
    status,
    startedAt,
    endedAt,
    startedBy,
    error,
    acceptedWarnings,
    waiting,
  } = run;
  return {
    id,
    cluster,
    from,
    to,
    path,
    status,
    startedAt,
    endedAt,
    startedBy,
    error,
    acceptedWarnings,
    waiting,
  };
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
