/**
 * The sample cluster `ferry demo` upgrades: the notes product (examples/notes) on this machine,
 * as three API hosts and two worker hosts behind one gateway (or an HAProxy the caller runs),
 * each a folder with its releases side by side and a `current` symlink (Ganeti's layout), over
 * one database: a SQLite file of its own, or an empty PostgreSQL database the caller names. Its
 * cluster.yaml is an ordinary one: every step ferry takes runs the commands written here.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { UserError } from "../errors.js";
import { maskPassword, scrubSecrets, secretsIn } from "../mask-password.js";

export const NOTES = fileURLToPath(new URL("../../examples/notes/", import.meta.url));
const NODE_MODULES = fileURLToPath(new URL("../../node_modules/", import.meta.url));
export const FIRST = "1.0.0";

export interface SampleCluster {
  readonly root: string;
  readonly clusterFile: string;
  readonly gateway: { readonly port: number; readonly adminPort: number };
  readonly apiHosts: readonly string[];
  /** Each API host's port. */
  readonly apiPorts: Readonly<Record<string, number>>;
  readonly workerHosts: readonly string[];
  /** The product's NOTES_DB: a SQLite file or a postgres:// URL. */
  readonly db: string;
}

/** The product's own database layer (examples/notes/app/db.mjs), to lay down and clear its schema. */
interface NotesDb {
  exec(sql: string): Promise<void>;
  columns(table: string): Promise<string[]>;
  close(): Promise<void>;
}
interface NotesDbModule {
  isPostgres(target: string): boolean;
  openDb(target: string): Promise<NotesDb>;
}
const notesDb = () =>
  import(new URL("../../examples/notes/app/db.mjs", import.meta.url).href) as Promise<NotesDbModule>;

/** The tables the demo makes in the product's database: the product's and ferry's ledger. */
const TABLES = ["notes", "jobs", "ferry_migrations", "ferry_migration_state"];

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface SampleOptions {
  /**
   * The API servers sit behind this HAProxy (its admin socket, and the backend that lists them
   * by host name: h1, h2, h3) instead of the notes gateway: ferry drains them there.
   */
  readonly haproxy?: { readonly socket: string; readonly backend: string };
}

/**
 * Writes the cluster file into `root`, and the first release's schema into `database` (an empty
 * PostgreSQL database's URL) or, by default, into a new SQLite file in `root`.
 */
export async function writeSampleCluster(
  root: string,
  database?: string,
  options: SampleOptions = {},
): Promise<SampleCluster> {
  mkdirSync(root, { recursive: true });
  const apiHosts = ["h1", "h2", "h3"];
  const workerHosts = ["h4", "h5"];
  const ports = Object.fromEntries(
    await Promise.all(apiHosts.map(async (h) => [h, await freePort()] as const)),
  );
  const gateway = { port: await freePort(), adminPort: await freePort() };
  const { isPostgres } = await notesDb();
  if (database !== undefined && !isPostgres(database)) {
    throw new UserError(`--database: ${maskPassword(database)} is not a postgres:// URL`);
  }
  // The URL goes into the cluster file and the product's commands, so into the journal and the
  // hosts' process lists: a password must come another way, which pg reads by itself.
  if (database !== undefined && secretsIn(database).length > 0) {
    throw new UserError(
      `--database: ${maskPassword(database)} holds a password; give it in PGPASSWORD instead, so that it stays out of the cluster file, the journal and the process list`,
    );
  }
  const db = database ?? join(root, "notes.db");
  await createSchema(db);

  const home = "{{vars.root}}/{{host}}/{{component}}";
  // A process started here must outlive the shell that starts it, and hold none of its pipes.
  const daemon = (env: string, program: string) =>
    `cd ${home} && ${env} NODE_PATH=${NODE_MODULES} setsid node current/${program} >> ${home}.log 2>&1 < /dev/null & echo $! > ${home}.pid`;
  const commands = (program: string, env: string) => ({
    version: `cat ${home}/current/VERSION`,
    install: `mkdir -p ${home}/versions/{{version}} && cp -R {{vars.notes}}/app/. {{vars.notes}}/releases/{{version}}/. ${home}/versions/{{version}}/`,
    activate: `ln -sfn versions/{{version}} ${home}/current`,
    start: daemon(env, program),
  });
  const api = commands(
    "api.mjs",
    `NOTES_PORT={{vars.port}} NOTES_DB='{{vars.db}}' NOTES_PIN_FILE={{vars.pin}}`,
  );
  const worker = commands("worker.mjs", "NOTES_DB='{{vars.db}}' NOTES_WORKER_ID={{host}}");
  const yaml = {
    name: "notes-demo",
    catalog: join(NOTES, "releases.yaml"),
    state: join(root, "ferry.db"),
    database: database ?? `sqlite:${db}`,
    vars: { root, notes: NOTES.replace(/\/$/, ""), db, pin: join(root, "pin"), gwadmin: gateway.adminPort },
    hosts: [...apiHosts, ...workerHosts].map((h) => ({
      name: h,
      address: "127.0.0.1",
      ...(ports[h] ? { vars: { port: ports[h] } } : {}),
    })),
    components: [
      {
        name: "api",
        hosts: apiHosts,
        order: 1,
        maxUnavailable: 1,
        timeout: "30s",
        commands: api,
        // ferry stops each process itself: SIGTERM, up to 15 s to finish what it has in hand, then SIGKILL.
        pidFile: `${home}.pid`,
        stopGrace: "15s",
        health: {
          http: "http://127.0.0.1:{{vars.port}}/health",
          // A loaded machine (the demo's own load on two shared cores) may take a second to answer.
          timeout: "3s",
          healthyFor: "500ms",
          deadline: "20s",
          interval: "100ms",
        },
        drain: options.haproxy
          ? { haproxy: { ...options.haproxy, server: "{{host}}", timeout: "15s" } }
          : {
              http: {
                url: "http://127.0.0.1:{{vars.gwadmin}}/backends/127.0.0.1:{{vars.port}}/drain",
                undrainUrl: "http://127.0.0.1:{{vars.gwadmin}}/backends/127.0.0.1:{{vars.port}}/ready",
                timeout: "15s",
              },
            },
      },
      {
        name: "worker",
        hosts: workerHosts,
        order: 2,
        maxUnavailable: 1,
        timeout: "30s",
        commands: worker,
        pidFile: `${home}.pid`,
        stopGrace: "15s",
        health: {
          // Running, and not a zombie: `kill -0` alone would pass a worker that has died but is not reaped yet.
          exec: `case "$(ps -o stat= -p "$(cat ${home}.pid)")" in ""|Z*) echo "not running"; exit 1 ;; esac`,
          healthyFor: "300ms",
          deadline: "10s",
          interval: "100ms",
        },
      },
    ],
    // Compatibility mode: while versions are mixed every API server writes the jobs of the older release.
    pin: "echo {{from}} > {{vars.pin}}",
    unpin: "rm -f {{vars.pin}}",
  };
  const clusterFile = join(root, "cluster.yaml");
  // JSON is YAML: the file is an ordinary cluster file, written without a YAML emitter.
  writeFileSync(clusterFile, `${JSON.stringify(yaml, null, 2)}\n`);
  return { root, clusterFile, gateway, apiHosts, apiPorts: ports, workerHosts, db };
}

/** The first release's schema, into a database that must not hold the product already. */
async function createSchema(target: string): Promise<void> {
  const { isPostgres, openDb } = await notesDb();
  const postgres = isPostgres(target);
  if (!postgres) writeFileSync(target, ""); // an empty file is an empty SQLite database
  const db = await openDb(target).catch((err: Error) => {
    // The product's message names its NOTES_DB in its own way: ferry's masking has the last word.
    throw new UserError(`--database: ${scrubSecrets(err.message, secretsIn(target))}`);
  });
  try {
    const taken = [];
    for (const table of TABLES) if ((await db.columns(table)).length > 0) taken.push(table);
    if (taken.length > 0) {
      throw new UserError(
        `--database: ${maskPassword(target)} already has table ${taken.join(", ")}; the demo needs an empty database and changed nothing`,
      );
    }
    await db.exec(readFileSync(join(NOTES, "schema", `${FIRST}${postgres ? ".postgres" : ""}.sql`), "utf8"));
  } finally {
    await db.close();
  }
}

/** Drops what the demo made in a database it was lent; a SQLite file goes with the demo's folder. */
export async function dropSchema(target: string): Promise<void> {
  const { isPostgres, openDb } = await notesDb();
  if (!isPostgres(target)) return;
  const db = await openDb(target);
  try {
    await db.exec(`DROP TABLE IF EXISTS ${TABLES.join(", ")}`);
  } finally {
    await db.close();
  }
}
