/**
 * Notifications around a command that drives runs (`apply`, `resume`, `rollback`): what an earlier
 * command left pending goes out while this one works, this command's runs are recorded in the
 * outbox and sent as they happen, and once it is over at most EXIT_BUDGET_MS (5 s) go to
 * delivering what is left; the rest waits for the next such command.
 */
import { createRequire } from "node:module";
import {
  type Cluster,
  EXIT_BUDGET_MS,
  faultAt,
  forTerminal,
  Notifier,
  type NotifySummary,
  RunEvents,
  type StateStore,
  whoStarted,
} from "../index.js";

const VERSION: string = createRequire(import.meta.url)("../../package.json").version;

export async function withNotifications<T>(
  cluster: Cluster,
  store: StateStore,
  body: (events: RunEvents) => Promise<T>,
): Promise<T> {
  const events = new RunEvents();
  // While a run is shown, a problem is one of its notes (the live tree owns the terminal); else a line.
  let runId: string | undefined;
  let over = false;
  events.on((e) => {
    if (e.type === "start") runId = e.runId;
  });
  const warn = (message: string) => {
    if (runId !== undefined && !over) events.emit({ type: "note", runId, message: `notify: ${message}` });
    else process.stderr.write(`ferry: notify: ${forTerminal(message)}\n`);
  };
  const notifier = new Notifier({
    store,
    cluster: cluster.name,
    receivers: cluster.notify,
    who: whoStarted(),
    // FERRY_FAULT is read at the CLI's edge only (src/run/faults.ts), as runWithSignals reads it.
    faults: faultAt(process.env.FERRY_FAULT),
    warn,
    userAgent: `ferry/${VERSION}`,
  });
  await notifier.catchUp().catch((err: unknown) => warn(`cannot catch up with the journal: ${String(err)}`));
  const stop = notifier.listen(events);
  try {
    return await body(events);
  } finally {
    over = true;
    stop();
    const summary = await notifier
      .close(EXIT_BUDGET_MS)
      .catch((err: unknown) => warn(`cannot read the outbox: ${String(err)}`));
    if (summary) report(summary);
  }
}

function report(summary: NotifySummary): void {
  for (const { webhook, count, error } of summary.left) {
    const why = error ? ` (${error})` : "";
    process.stderr.write(
      `ferry: notify: ${count} event${count === 1 ? "" : "s"} for ${forTerminal(webhook)} not delivered${forTerminal(why)}; the next apply, resume or rollback sends ${count === 1 ? "it" : "them"}\n`,
    );
  }
}
