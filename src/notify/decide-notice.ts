/**
 * Which notification a change of a run's condition sends, and what it says: pure, no I/O. The
 * notifier hands the result to the state store's appendNotice, which calls it with the run's last
 * recorded condition inside the write, so two ferry processes never record one change twice.
 *
 * The run's condition is its status (later also what it waits for: approval, a window). Every change
 * is recorded, also those that send nothing (a resume's `running`), so that the next one is compared
 * with what the run really did: a second pause after a resume is a change, and sends again.
 */
import { randomUUID } from "node:crypto";
import type { NotifyEvent, NotifyReceiver } from "../cluster/cluster.js";
import type { NewNotice, RunStatus } from "../store/state-store.js";

export interface RunCondition {
  readonly runId: string;
  readonly cluster: string;
  /** The whole run's start and target. */
  readonly from: string;
  readonly to: string;
  readonly status: RunStatus;
  /** What the run said of it: why it stopped, how it ended; null when it said nothing. */
  readonly message: string | null;
  /** Who made the change: who asked for a pause, who ran the command; null when not known. */
  readonly who: string | null;
  readonly startedBy: string;
  /** The hop the run is in (its first with a step not done; the last when all are). */
  readonly hop: { readonly from: string; readonly to: string } | null;
  /** A step of the run that is left failed, and its host. */
  readonly failed: { readonly step: string; readonly host: string | null } | null;
  /**
   * Found by a later command rather than seen as it happened (the process that made the change
   * died before recording it).
   */
  readonly recovered: boolean;
  /** The approval the run waits for (its step and what is asked); null when it waits for none. */
  readonly awaiting?: { readonly step: string; readonly detail: string } | null;
}

export interface NoticeRule {
  readonly event: NotifyEvent;
  /** `first`: the run has no condition recorded yet. */
  readonly when: (c: RunCondition, first: boolean) => boolean;
}

/** Stopped and resumable: a pause, an interrupt past the point of no return, onFailure: pause. */
const halted = (s: RunStatus) => s === "paused" || s === "stopped";

/**
 * The first rule that matches names the event; none, and the change sends nothing. An event of a
 * later gate (`awaiting-approval`, waiting for a window) is one more line here, its `when` reading
 * what the run waits for.
 */
export const NOTICE_RULES: readonly NoticeRule[] = [
  { event: "started", when: (c, first) => first && c.status === "running" && !c.awaiting },
  { event: "awaiting-approval", when: (c) => c.status === "running" && Boolean(c.awaiting) },
  { event: "failed", when: (c) => c.status === "failed" || (halted(c.status) && c.failed !== null) },
  { event: "paused", when: (c) => halted(c.status) },
  { event: "rolled-back", when: (c) => c.status === "rolled-back" },
  { event: "done", when: (c) => c.status === "done" },
];

/** The key a condition is recorded under, compared with the run's last. */
export function conditionOf(c: RunCondition): string {
  return c.awaiting ? `${c.status}/awaiting-approval:${c.awaiting.step}` : c.status;
}

/** What a run says longer than this is cut (a failure's message may quote a command's output). */
const MESSAGE_KEEP = 2000;

/**
 * The decision appendNotice asks for: given the run's last recorded condition, the notice to
 * append (with a delivery, and its own Idempotency-Key, for each receiver that takes its event),
 * or null when the condition is recorded already.
 */
export function decideNotice(
  c: RunCondition,
  receivers: readonly NotifyReceiver[],
  now: number,
): (last: string | null) => NewNotice | null {
  return (last) => {
    const condition = conditionOf(c);
    if (condition === last) return null;
    const first = last === null;
    // Found later with nothing recorded before: the run began before `notify` was set up (a crash
    // cannot leave a run so, since a change is recorded with the journal write after it). A run
    // already over is left alone; an open one is recorded from here on, sending nothing yet.
    if (first && c.recovered && c.status !== "running") {
      return c.status === "done" || c.status === "rolled-back"
        ? null
        : { condition, event: null, body: null, createdAt: now, deliveries: [] };
    }
    const event = NOTICE_RULES.find((r) => r.when(c, first))?.event ?? null;
    if (event === null) return { condition, event, body: null, createdAt: now, deliveries: [] };
    return {
      condition,
      event,
      body: noticeBody(event, c, now),
      createdAt: now,
      deliveries: receivers
        .filter((r) => r.events.includes(event))
        .map((r) => ({
          key: `ferry-${randomUUID()}`,
          receiver: { webhook: r.webhook, headers: r.headers },
        })),
    };
  };
}

/** The JSON body of a notification: the fields DESIGN.md names, and a Slack-compatible `text`. */
export function noticeBody(event: NotifyEvent, c: RunCondition, now: number): Record<string, unknown> {
  const message = cut(c.message ?? defaultMessage(event, c));
  const step =
    event === "failed"
      ? (c.failed?.step ?? null)
      : event === "awaiting-approval"
        ? (c.awaiting?.step ?? null)
        : null;
  const host = event === "failed" ? (c.failed?.host ?? null) : null;
  const who = event === "started" ? c.startedBy : c.who;
  return {
    event,
    run: c.runId,
    cluster: c.cluster,
    hop: c.hop ? `${c.hop.from} → ${c.hop.to}` : null,
    step,
    host,
    who,
    message,
    text: slackText(event, c, { step, host, who, message }),
    from: c.from,
    to: c.to,
    time: new Date(now).toISOString(),
  };
}

function defaultMessage(event: NotifyEvent, c: RunCondition): string {
  switch (event) {
    case "started":
      return `${c.startedBy} started the upgrade of ${c.cluster} from ${c.from} to ${c.to}`;
    case "done":
      return `${c.cluster} runs ${c.to}`;
    case "awaiting-approval":
      return c.awaiting?.detail ?? `run ${c.runId} waits for approval`;
    default:
      return `run ${c.runId} is ${c.status}`;
  }
}

const VERB: Record<NotifyEvent, string> = {
  started: "started",
  "awaiting-approval": "waits for approval",
  paused: "paused",
  failed: "failed",
  "rolled-back": "rolled back",
  done: "done",
};

/**
 * One line for a chat: `ferry: *demo* 1.0.0 → 1.0.1 failed at 1.0.1/roll/api/h2/start on h2: …
 * (run 20261121T…)`. Slack reads `*bold*` and wants `&`, `<` and `>` escaped.
 */
function slackText(
  event: NotifyEvent,
  c: RunCondition,
  said: { step: string | null; host: string | null; who: string | null; message: string },
): string {
  const where = said.step ? ` at ${said.step}${said.host ? ` on ${said.host}` : ""}` : "";
  const by = event === "started" && said.who ? ` by ${said.who}` : "";
  const why = event === "started" ? "" : `: ${said.message}`;
  const line = `ferry: *${c.cluster}* ${c.from} → ${c.to} ${VERB[event]}${where}${by}${why} (run ${c.runId})`;
  return line.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function cut(text: string): string {
  return text.length > MESSAGE_KEEP ? `${text.slice(0, MESSAGE_KEEP - 1)}…` : text;
}
