/**
 * The rows both SQL stores read, and how they become records. The two databases hand back the
 * same columns in slightly different types: PostgreSQL gives BIGINT as a string and json as
 * values, SQLite gives numbers and json as text. The mapping takes either.
 */
import type {
  Delivery,
  DeliveryRecord,
  DeliveryState,
  LockHolder,
  Measurement,
  NoticeRecord,
  RunNote,
  RunPatch,
  RunRecord,
  RunStatus,
  RunSummary,
  StepPatch,
  StepRecord,
  StepState,
  Waiting,
  WarningAcceptance,
} from "./state-store.js";

/** A BIGINT: a number from SQLite, a string from PostgreSQL. */
type Int8 = number | string;
/** A json column: text from SQLite, the value itself from PostgreSQL. */
type Json<T> = string | T;

export interface RunRow {
  id: string;
  cluster: string;
  from_version: string;
  to_version: string;
  path: Json<string[]>;
  status: string;
  started_at: Int8;
  ended_at: Int8 | null;
  started_by: string;
  error: string | null;
  /** Absent in a row read before the column existed. */
  accepted_warnings?: Json<WarningAcceptance> | null;
  /** JSON text; absent in a row read before the column existed. */
  waiting?: string | null;
  plan?: Json<unknown> | null;
  files?: Json<Record<string, string>> | null;
}

export interface StepRow {
  id: string;
  seq: number;
  state: string;
  started_at: Int8 | null;
  ended_at: Int8 | null;
  /** Absent in a row read before the column existed. */
  undone_at?: Int8 | null;
  exit_code: number | null;
  output: string | null;
  error: string | null;
  attempts: number;
  /** JSON text (a text column in both databases, so it comes back exactly as written). */
  observed: string | null;
}

/** The columns of a step row, as both stores select them. */
export const STEP_ROW_COLUMNS =
  "id, seq, state, started_at, ended_at, undone_at, exit_code, output, error, attempts, observed";

export interface NoteRow {
  at: Int8;
  done_by: string;
  kind: string;
  message: string;
  step_id?: string | null;
}

export interface LockRow {
  host: string | null;
  pid: number | null;
  token: string | null;
  run_id: string | null;
  acquired_at: Int8 | null;
  lease_until: Int8 | null;
}

function json<T>(value: Json<T> | null | undefined, fallback: T): T {
  if (value === null || value === undefined) return fallback;
  return typeof value === "string" ? (JSON.parse(value) as T) : value;
}

const int = (v: Int8 | null): number | null => (v === null ? null : Number(v));

export function toSummary(row: RunRow): RunSummary {
  return {
    id: row.id,
    cluster: row.cluster,
    from: row.from_version,
    to: row.to_version,
    path: json<string[]>(row.path, []),
    status: row.status as RunStatus,
    startedAt: Number(row.started_at),
    endedAt: int(row.ended_at),
    startedBy: row.started_by,
    error: row.error,
    acceptedWarnings: json<WarningAcceptance | null>(row.accepted_warnings, null),
    waiting: json<Waiting | null>(row.waiting, null),
  };
}

export function toRecord(row: RunRow): RunRecord {
  return {
    ...toSummary(row),
    plan: json<unknown>(row.plan, null),
    files: json<Record<string, string>>(row.files, {}),
  };
}

export function toStep(row: StepRow): StepRecord {
  return {
    id: row.id,
    seq: row.seq,
    state: row.state as StepState,
    startedAt: int(row.started_at),
    endedAt: int(row.ended_at),
    undoneAt: int(row.undone_at ?? null),
    exitCode: row.exit_code,
    output: row.output,
    error: row.error,
    attempts: row.attempts,
    observed: json<Record<string, string> | null>(row.observed, null),
  };
}

/** A step patch's values as the columns hold them: the observation as JSON text. */
export function stepColumnValue<K extends keyof StepPatch>(field: K, value: StepPatch[K]): unknown {
  return field === "observed" && value !== null && value !== undefined ? JSON.stringify(value) : value;
}

/** A run patch's values as the columns hold them: what the run waits for as JSON text. */
export function runColumnValue<K extends keyof RunPatch>(field: K, value: RunPatch[K]): unknown {
  return field === "waiting" && value !== null && value !== undefined ? JSON.stringify(value) : value;
}

export function toHolder(row: LockRow | undefined): LockHolder | undefined {
  if (!row || row.token === null) return undefined;
  return {
    host: row.host ?? "",
    pid: row.pid ?? 0,
    token: row.token,
    runId: row.run_id,
    acquiredAt: int(row.acquired_at) ?? 0,
    leaseUntil: int(row.lease_until) ?? 0,
  };
}

export interface NoticeRow {
  seq: number;
  condition: string;
  event: string | null;
  body: Json<unknown> | null;
  created_at: Int8;
}

export interface DeliveryRow {
  key: string;
  run_id: string;
  seq: number;
  receiver: Json<unknown>;
  state: string;
  attempts: number;
  next_at: Int8;
  last_error: string | null;
  delivered_at: Int8 | null;
}

/** A delivery with its notice's event, body and time, as the pending query joins them. */
export type PendingRow = DeliveryRow & Pick<NoticeRow, "event" | "body" | "created_at">;

export function toDeliveryRecord(row: DeliveryRow): DeliveryRecord {
  return {
    key: row.key,
    runId: row.run_id,
    seq: row.seq,
    receiver: json<unknown>(row.receiver, null),
    state: row.state as DeliveryState,
    attempts: row.attempts,
    nextAt: Number(row.next_at),
    lastError: row.last_error,
    deliveredAt: int(row.delivered_at),
  };
}

export function toDelivery(row: PendingRow): Delivery {
  return {
    ...toDeliveryRecord(row),
    event: row.event ?? "",
    body: json<unknown>(row.body, null),
    createdAt: Number(row.created_at),
  };
}

/** Notices in seq order with their deliveries (rows of any order), as records. */
export function toNotices(notices: readonly NoticeRow[], deliveries: readonly DeliveryRow[]): NoticeRecord[] {
  const bySeq = new Map<number, DeliveryRecord[]>();
  for (const row of deliveries) {
    const list = bySeq.get(row.seq) ?? [];
    list.push(toDeliveryRecord(row));
    bySeq.set(row.seq, list);
  }
  return notices.map((n) => ({
    seq: n.seq,
    condition: n.condition,
    event: n.event,
    body: json<unknown>(n.body, null),
    createdAt: Number(n.created_at),
    deliveries: bySeq.get(n.seq) ?? [],
  }));
}

export function toNote(row: NoteRow): RunNote {
  return {
    at: Number(row.at),
    by: row.done_by,
    kind: row.kind,
    text: row.message,
    ...(row.step_id ? { step: row.step_id } : {}),
  };
}

export interface MeasurementRow {
  step_id: string;
  gate: string;
  attempt: Int8;
  at: Int8;
  value: number | null;
  verdict: string;
  detail: string;
}

export function toMeasurement(row: MeasurementRow): Measurement {
  return {
    step: row.step_id,
    gate: row.gate,
    attempt: Number(row.attempt),
    at: Number(row.at),
    value: row.value === null ? null : Number(row.value),
    verdict: row.verdict as Measurement["verdict"],
    detail: row.detail,
  };
}
