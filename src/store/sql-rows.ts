/**
 * The rows both SQL stores read, and how they become records. The two databases hand back the
 * same columns in slightly different types: PostgreSQL gives BIGINT as a string and json as
 * values, SQLite gives numbers and json as text. The mapping takes either.
 */
import type {
  LockHolder,
  RunNote,
  RunRecord,
  RunStatus,
  RunSummary,
  StepRecord,
  StepState,
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
  plan?: Json<unknown> | null;
  files?: Json<Record<string, string>> | null;
}

export interface StepRow {
  id: string;
  seq: number;
  state: string;
  started_at: Int8 | null;
  ended_at: Int8 | null;
  exit_code: number | null;
  output: string | null;
  error: string | null;
  attempts: number;
}

export interface NoteRow {
  at: Int8;
  done_by: string;
  kind: string;
  message: string;
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
    exitCode: row.exit_code,
    output: row.output,
    error: row.error,
    attempts: row.attempts,
  };
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

export function toNote(row: NoteRow): RunNote {
  return { at: Number(row.at), by: row.done_by, kind: row.kind, text: row.message };
}
