/**
 * `ferry approve` and `ferry reject` (and the API's POST /api/runs/:id/approve|reject): the answer
 * to the approval a run waits for, journaled as a note of the run about the waiting step, with
 * who gave it and when. The ferry driving the run reads it from the journal (src/run/steps/
 * approval-gate.ts), so the answer may come from any process, or while no ferry runs (after
 * `kill -9`: `ferry resume` then goes on, or rolls back, by it).
 */
import type { Cluster } from "../cluster/cluster.js";
import { RefusedError } from "../errors.js";
import { POINT_OF_NO_RETURN } from "../plan/plan.js";
import { answerOf } from "../run/steps/approval-gate.js";
import type { RunRecord, StateStore } from "../store/state-store.js";

export type Verdict = "approved" | "rejected";

export interface AnswerOptions {
  readonly cluster: Cluster;
  readonly store: StateStore;
  readonly verdict: Verdict;
  /** Who answers, for the journal: `--by NAME`, else `user@host` (or FERRY_USER). */
  readonly by: string;
  /** The run meant; refused unless it is the cluster's unfinished run. Default: that run. */
  readonly runId?: string;
  /** Epoch ms; injectable for tests. */
  readonly now?: number;
}

export interface ApprovalAnswer {
  readonly runId: string;
  /** The approval step answered. */
  readonly step: string;
  readonly verdict: Verdict;
  readonly by: string;
  /** ISO 8601. */
  readonly at: string;
  readonly message: string;
}

/**
 * Journals the answer to the approval the cluster's run waits for. Refused (exit 3) when it waits
 * for none, when the approval has its answer already, and for a rejection once the hop is past
 * its point of no return, where ferry never goes back.
 */
export async function answerApproval(o: AnswerOptions): Promise<ApprovalAnswer> {
  const { store, cluster, verdict, by } = o;
  const verb = verdict === "approved" ? "approve" : "reject";
  const run = await store.unfinishedRun(cluster.name);
  if (!run || (o.runId !== undefined && run.id !== o.runId)) {
    throw new RefusedError(
      o.runId
        ? `run ${o.runId} is not ${cluster.name}'s unfinished run`
        : `${cluster.name} has no run to ${verb}`,
      "not-waiting",
      "look at `ferry status` and `ferry history`",
    );
  }
  const waiting = run.waiting;
  if (waiting?.for !== "approval" || waiting.step === null) {
    const doing = waiting ? `waits for ${waiting.for} (${waiting.detail})` : `is ${run.status}`;
    throw new RefusedError(
      `run ${run.id} (${run.from} → ${run.to}) waits for no approval: it ${doing}`,
      "not-waiting",
      "`ferry status` shows what it waits for",
    );
  }
  const step = waiting.step;
  const given = answerOf(await store.notes(run.id), step);
  if (given) {
    throw new RefusedError(
      `${step} of run ${run.id} is ${given.kind} already, by ${given.by} at ${new Date(given.at).toISOString()}`,
      "answered",
      "the run goes on by that answer (`ferry resume` if no ferry is running it)",
    );
  }
  const hop = step.slice(0, step.indexOf("/"));
  if (verdict === "rejected" && (await pastPointOfNoReturn(store, run, hop))) {
    throw new RefusedError(
      `${step} of run ${run.id} cannot be rejected: hop ${hopName(run, hop)} is past its point of no return, and ferry never goes back from there`,
      "point-of-no-return",
      "`ferry approve` lets it go on; `ferry pause` stops it where it is",
    );
  }
  const at = o.now ?? Date.now();
  await store.addNote(run.id, { at, by, kind: verdict, step, text: `${verdict} ${step}` });
  const holder = await store.lockHolder(run.cluster);
  const driven = holder !== undefined && holder.runId === run.id && holder.leaseUntil > Date.now();
  const next =
    verdict === "approved"
      ? driven
        ? "the run goes on"
        : "no ferry is running it: `ferry resume` goes on"
      : driven
        ? `the run rolls hop ${hopName(run, hop)} back`
        : `no ferry is running it: \`ferry resume\` (or \`ferry rollback\`) rolls hop ${hopName(run, hop)} back`;
  return {
    runId: run.id,
    step,
    verdict,
    by,
    at: new Date(at).toISOString(),
    message: `${verdict} ${step} of run ${run.id} as ${by}: ${next}`,
  };
}

async function pastPointOfNoReturn(store: StateStore, run: RunRecord, hop: string): Promise<boolean> {
  const steps = await store.steps(run.id);
  return steps.some((s) => s.id === `${hop}/${POINT_OF_NO_RETURN}` && s.state === "done");
}

function hopName(run: RunRecord, hop: string): string {
  const from = run.path[run.path.indexOf(hop) - 1] ?? run.from;
  return `${from} → ${hop}`;
}
