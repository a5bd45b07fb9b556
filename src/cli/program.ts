/**
 * The command line's surface: every command with its arguments, flags and help text, and the
 * module that runs it. A command's module is imported only when that command runs, so that
 * `ferry path` or `ferry --version` never load what `apply` or `serve` need (ssh2, the database
 * clients, the HTTP server): an operator types them dozens of times a night. Keep this file free
 * of imports that carry code (types only), or every command pays for them at start.
 */
import type { Command } from "commander";
import type { ExitCode } from "../errors.js";
// Straight from its leaf, not through index.ts: the names without the schemas behind them.
import { SCHEMA_NAMES } from "../schema-names.js";
import type { ApplyFlags } from "./apply-command.js";
import type { CheckFlags } from "./check-command.js";
import type { DbFlags } from "./db-command.js";
import type { DemoFlags } from "./demo-command.js";
import type { FleetPlanFlags } from "./fleet-plan-command.js";
import type { FleetAction, FleetApplyFlags, FleetFileFlags } from "./fleet-run-commands.js";
import type { InitFlags } from "./init-command.js";
import type { PathFlags } from "./path-command.js";
import type { PlanFlags } from "./plan-command.js";
import type { WorkerFlags } from "./worker-command.js";

export type SetExit = (code: ExitCode) => void;

interface ClusterFlags {
  config: string;
  json?: boolean;
}

const CONFIG = ["-c, --config <file>", "the cluster file", "cluster.yaml"] as const;

/** `--component a,b --component c` → `["a", "b", "c"]`. */
export function commaList(text: string): string[] {
  return text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

const SCHEMA_KINDS = SCHEMA_NAMES.join(" | ");

/** Adds every command to `program`; `setExit` is how one that ran to its end reports a failure. */
export function registerCommands(program: Command, setExit: SetExit): void {
  program
    .command("init")
    .description("write a commented starter cluster.yaml and releases.yaml (asks on a terminal)")
    .option("--dir <folder>", "where to write them", ".")
    .option("--product <name>", "the product's name (default myapp)")
    .option("--cluster <name>", "the cluster's name (default: the product's)")
    .option("--scheme <scheme>", "semver or calver (default semver)")
    .option("--releases <versions>", "releases, oldest first, comma-separated; the first runs now")
    .option("--hosts <names>", "hosts, comma-separated: name or name=address (default h1,h2,h3)")
    .option(
      "--component <name>",
      "a component on every host; repeat it, or comma-separate (default api, worker)",
      (value: string, previous: string[] = []) => [...previous, ...commaList(value)],
    )
    .option("--force", "overwrite files that exist")
    .action(async (flags: InitFlags) => (await import("./init-command.js")).initCommand(flags));

  program
    .command("path")
    .description("show the allowed version path between two releases, hop by hop")
    .requiredOption("--catalog <file>", "the release catalog (releases.yaml)")
    .requiredOption("--from <version>", "the release the cluster runs now")
    .requiredOption("--to <version>", "the release to reach")
    .option("--direct", "only the single hop from → to; refused if the policy does not allow it")
    .option("--json", "print one JSON document")
    .action(async (flags: PathFlags) => (await import("./path-command.js")).pathCommand(flags));

  program
    .command("plan")
    .description("show every step of every hop of an upgrade; nothing runs")
    .option(...CONFIG)
    .option("--to <version>", "the release to reach (default: the file's `version`)")
    .option("--from <version>", "plan from this release instead of asking the cluster which it runs")
    .option("--json", "print the plan as one JSON document")
    .action(async (flags: PlanFlags) => (await import("./plan-command.js")).planCommand(flags));

  program
    .command("check")
    .description(
      "validate the cluster file and its catalog; with --to, check the way there is allowed and run the first hop's preflight",
    )
    .option(...CONFIG)
    .option("--to <version>", "also plan the upgrade to this release")
    .option("--from <version>", "with --to: plan from this release instead of asking the cluster")
    .option("--json", "print one JSON document")
    .action(async (flags: CheckFlags) => (await import("./check-command.js")).checkCommand(flags, setExit));

  program
    .command("apply")
    .description("upgrade the cluster to a release, hop by hop (without --to: the file's `version`)")
    .option(...CONFIG)
    .option("--to <version>", "the release to reach")
    .option("--yes", "do not ask for confirmation (release warnings are still asked, or refused)")
    .option("--accept-warnings", "accept the release warnings of the path (journaled with the run)")
    .option("--json", "print one JSON event per line (NDJSON), the last one the outcome")
    .action(async (flags: ApplyFlags) => (await import("./apply-command.js")).applyCommand(flags, setExit));

  for (const [name, description] of [
    ["resume", "finish the unfinished run (after a crash, a pause or a stop), with the plan it started with"],
    ["rollback", "undo the unfinished run's current hop, unless it has passed its point of no return"],
  ] as const) {
    program
      .command(name)
      .description(description)
      .option(...CONFIG)
      .option("--yes", "do not ask for confirmation")
      .option("--json", "print one JSON event per line (NDJSON), the last one the outcome")
      .action(async (flags: ClusterFlags & { yes?: boolean }) =>
        (await import("./resume-command.js")).resumeCommand(name, flags, setExit),
      );
  }

  program
    .command("pause")
    .description("let the steps in flight of the running run finish, then stop it resumable (`ferry resume`)")
    .option(...CONFIG)
    .option("--wait", "wait until the run has stopped")
    .option("--json", "print one JSON document")
    .action(async (flags: ClusterFlags & { wait?: boolean }) =>
      (await import("./pause-command.js")).pauseCommand(flags),
    );

  for (const [name, description] of [
    ["approve", "let the run waiting for an approval go on"],
    ["reject", "refuse the approval a run waits for: its hop rolls back (before its point of no return)"],
  ] as const) {
    program
      .command(name)
      .description(description)
      .option(...CONFIG)
      .option("--run <id>", "the run meant (default: the cluster's unfinished run)")
      .option("--by <name>", "who answers, for the journal (default: FERRY_USER, else user@host)")
      .option("--json", "print one JSON document")
      .action(async (flags: ClusterFlags & { run?: string; by?: string }) =>
        (await import("./approve-command.js")).approveCommand(name, flags),
      );
  }

  program
    .command("host")
    .description("repair one host of a stopped run")
    .command("undo")
    .description(
      "take HOST of the paused or stopped run back to the release it ran (its steps of the current hop undone in reverse, ending undrained and healthy); `ferry resume` upgrades it again",
    )
    .argument("<host>", "the host's name in the cluster file")
    .option(...CONFIG)
    .option("--yes", "do not ask for confirmation")
    .action(async (host: string, flags: ClusterFlags & { yes?: boolean }) =>
      (await import("./host-command.js")).hostUndoCommand(host, flags, setExit),
    );

  program
    .command("status")
    .description("observed versions and health, host by component, and the run in progress")
    .option(...CONFIG)
    .option("--json", "print one JSON document")
    .action(async (flags: ClusterFlags) => (await import("./status-command.js")).statusCommand(flags));

  program
    .command("history")
    .description("the runs ferry made on this cluster, newest first")
    .option(...CONFIG)
    .option("--json", "print one JSON document")
    .action(async (flags: ClusterFlags) => (await import("./status-command.js")).historyCommand(flags));

  program
    .command("report")
    .description(
      "write one self-contained HTML page of a run: its facts, a timeline of every step per host, time out of service",
    )
    .option(...CONFIG)
    .option("--run <id>", "the run (default: the latest)")
    .option("--out <file>", "where to write the page", "report.html")
    .action(async (flags: ClusterFlags & { run?: string; out: string }) =>
      (await import("./report-command.js")).reportCommand(flags),
    );

  registerDbCommands(program, setExit);

  program
    .command("serve")
    .description(
      "serve the HTTP API and the live dashboard until interrupted (FERRY_TOKEN: the API token, one word)",
    )
    .option(...CONFIG)
    .option(
      "-f, --file <fleet>",
      "serve a fleet instead (fleet.yaml): its runs, per group and per cluster, each cluster's run; read-only",
    )
    .option("--port <port>", "the TCP port (0: any free one)", "7070")
    .option("--host <address>", "the address to listen on", "127.0.0.1")
    .option(
      "--allowed-host <name>",
      "a name clients reach the server by, besides the --host address and loopback (localhost, 127.0.0.1, [::1]); repeatable. Requests naming any other host in their Host header are refused (403), against DNS rebinding",
      (name: string, names: string[] | undefined) => [...(names ?? []), name],
    )
    .action(
      async (
        flags: ClusterFlags & { file?: string; port: string; host: string; allowedHost?: string[] },
        command: Command,
      ) =>
        (await import("./serve-command.js")).serveCommand(
          { ...flags, configGiven: command.getOptionValueSource("config") === "cli" },
          setExit,
        ),
    );

  program
    .command("demo")
    .description("start the sample cluster here, upgrade it through every release under load, and report")
    .option("--json", "print the report as one JSON document")
    .option(
      "--report <file>",
      "also write the upgrade and its load as one HTML page (as `ferry report`, with the load's charts)",
    )
    .option(
      "--database <url>",
      "run the product on this empty PostgreSQL database (postgres://…; a password goes in PGPASSWORD) instead of SQLite",
    )
    .action(async (flags: DemoFlags) => (await import("./demo-command.js")).demoCommand(flags, setExit));

  registerFleetCommands(program, setExit);

  program
    .command("schema")
    .description(`print the JSON Schema of a file ferry reads (${SCHEMA_KINDS})`)
    .argument("<file-kind>", SCHEMA_KINDS)
    .action(async (kind: string) => (await import("./schema-command.js")).schemaCommand(kind));
}

function registerDbCommands(program: Command, setExit: SetExit): void {
  const db = program.command("db").description("the product's database: status, migrations, purge, restore");
  const common = (c: Command) =>
    c
      .option(...CONFIG)
      .option(
        "--from <version>",
        "the release the database runs, if ferry has not met it before (else the cluster is asked)",
      );
  const run = async () => await import("./db-command.js");

  common(
    db
      .command("status")
      .description("applied, pending and data migrations")
      .option("--json", "print one JSON document"),
  ).action(async (flags: DbFlags) => (await run()).dbStatusCommand(flags));

  common(
    db
      .command("migrate")
      .description("apply the migrations of every release up to --to: expand, the data migrations, contract")
      .requiredOption("--to <version>", "the release whose schema to reach")
      .option("--phase <phase>", "only expand or only contract"),
  ).action(async (flags: DbFlags & { to: string; phase?: string }) => (await run()).dbMigrateCommand(flags));

  common(
    db
      .command("online-migrations")
      .description(
        "run the data migrations in batches (exit 1: more to do, 0: none left, 2: errors and no progress)",
      )
      .option("--max-count <rows>", "migrate at most this many rows in this run"),
  ).action(async (flags: DbFlags & { maxCount?: string }) =>
    (await run()).dbOnlineMigrationsCommand(flags, setExit),
  );

  common(
    db
      .command("purge")
      .description("delete soft-deleted rows older than --older-than days, in batches")
      .requiredOption("--older-than <days>", "age in days")
      .requiredOption("--table <table>", "the table")
      .requiredOption("--column <column>", "its deletion time column"),
  ).action(async (flags: DbFlags & { olderThan: string; table: string; column: string }) =>
    (await run()).dbPurgeCommand(flags),
  );

  common(
    db
      .command("restore")
      .description("restore the backup a run took (before its first hop, or --hop V)")
      .requiredOption("--run <id>", "the run, as `ferry history` names it")
      .option("--hop <version>", "the hop whose backup to restore")
      .option("--yes", "do not ask for confirmation"),
  ).action(async (flags: DbFlags & { run: string; hop?: string; yes?: boolean }) =>
    (await run()).dbRestoreCommand(flags, setExit),
  );
}

/** `ferry fleet …` and `ferry worker` (DESIGN.md "A fleet of clusters"). */
function registerFleetCommands(program: Command, setExit: SetExit): void {
  const fleet = program
    .command("fleet")
    .description("a fleet of clusters: plan its upgrade, run it on any number of workers, watch it");
  const FLEET = ["-f, --file <file>", "the fleet file", "fleet.yaml"] as const;
  fleet
    .command("plan")
    .description(
      "each cluster's release, asked of its hosts, and its path to the target, group by group; nothing runs. Exit 0 when at least one cluster can be upgraded or is there already, 3 when every cluster is refused",
    )
    .option(...FLEET)
    .requiredOption("--to <version>", "the release every cluster is to reach")
    .option("--json", "print the plan as one JSON document")
    .action(async (flags: FleetPlanFlags) =>
      (await import("./fleet-plan-command.js")).fleetPlanCommand(flags, setExit),
    );
  fleet
    .command("apply")
    .description("record a fleet run to a release and work on it with this process (and any `ferry worker`)")
    .option(...FLEET)
    .option("--to <version>", "the release every cluster goes to")
    .option("--yes", "do not ask for confirmation")
    .option("--no-work", "only record the fleet run and wait for the workers to finish it")
    .option("--json", "print one JSON document: the fleet run as `fleet status --json` shows it")
    .action(async (flags: FleetApplyFlags) =>
      (await import("./fleet-run-commands.js")).fleetApplyCommand(flags, setExit),
    );
  fleet
    .command("status")
    .description("the latest fleet run: per group and per cluster, the state, version, worker and failure")
    .option(...FLEET)
    .option("--json", "print one JSON document")
    .action(async (flags: FleetFileFlags) =>
      (await import("./fleet-run-commands.js")).fleetStatusCommand(flags),
    );
  const steering: [FleetAction, string][] = [
    ["pause", "start no new cluster; the cluster runs in flight go on"],
    ["resume", "start clusters again after a pause"],
    [
      "abort",
      "start no new cluster, and roll back the runs in flight that are before their point of no return",
    ],
  ];
  for (const [action, description] of steering) {
    fleet
      .command(action)
      .description(description)
      .option(...FLEET)
      .option("--json", "print one JSON document")
      .action(async (flags: FleetFileFlags) =>
        (await import("./fleet-run-commands.js")).fleetSteerCommand(action, flags),
      );
  }

  program
    .command("worker")
    .description("claim cluster runs of the fleet runs in a shared store and run them, until interrupted")
    .requiredOption(
      "--state <url>",
      "the fleet's state store (postgres://…, or a SQLite file relative to here), as its fleet file's `state:`",
    )
    .option("--concurrency <n>", "cluster runs at once on this worker", "4")
    .option(
      "--logs <dir>",
      "where a cluster's run log goes when the cluster's folder is not on this machine (else its state folder, as for apply)",
      "ferry-logs",
    )
    .action(async (flags: WorkerFlags) =>
      (await import("./worker-command.js")).workerCommand(flags, setExit),
    );
}
