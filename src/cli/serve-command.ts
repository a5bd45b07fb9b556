/**
 * `ferry serve [-c cluster.yaml | -f fleet.yaml] [--port 7070] [--host 127.0.0.1] [--allowed-host NAME]…`: the HTTP
 * API and live dashboard.
 */
import {
  allowedHostProblem,
  ExitCode,
  forTerminal,
  generateToken,
  loadFleet,
  startFleetServer,
  startServer,
  tokenProblem,
  UserError,
} from "../index.js";
import { loadClusterAndCatalog, withStore } from "./context.js";
import type { SetExit } from "./program.js";

interface Flags {
  config: string;
  /** `-c` was given, not defaulted: with `-f`, which one was meant is unclear. */
  configGiven?: boolean;
  file?: string;
  port: string;
  host: string;
  allowedHost?: string[];
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

export async function serveCommand(flags: Flags, setExit: SetExit): Promise<void> {
  const port = Number(flags.port);
  if (!/^\d+$/.test(flags.port) || port > 65535) {
    throw new UserError(`--port: "${flags.port}" is not a TCP port (0 to 65535)`);
  }
  const allowedHosts = flags.allowedHost ?? [];
  for (const name of allowedHosts) {
    const problem = allowedHostProblem(name);
    if (problem) throw new UserError(`--allowed-host: ${problem}`);
  }
  if (flags.file !== undefined) {
    if (flags.configGiven) {
      throw new UserError(
        `ferry serve: give -c ${flags.config} (one cluster) or -f ${flags.file} (a fleet), not both`,
      );
    }
    setExit(await serveFleet(flags.file, flags.host, port, allowedHosts));
    return;
  }
  const given = process.env.FERRY_TOKEN;
  const problem = given === undefined ? undefined : tokenProblem(given);
  if (problem) {
    throw new UserError(
      `FERRY_TOKEN ${problem}; set it to one word of letters, digits and punctuation, or unset it to have one generated`,
    );
  }
  const { cluster, catalog } = loadClusterAndCatalog(flags);
  const token = given ?? generateToken();
  const code = await withStore(cluster, async (store) => {
    const server = await startServer({
      cluster,
      catalog,
      store,
      token,
      host: flags.host,
      allowedHosts,
      port,
      report: (message) => process.stderr.write(`ferry serve: ${forTerminal(message)}\n`),
    });
    const out = [`ferry serve: ${cluster.name} on ${server.url} (Ctrl-C stops it)`];
    // The only time the token is shown: a generated one exists nowhere else.
    if (given === undefined) out.push(`API token (FERRY_TOKEN sets your own): ${token}`);
    if (!LOOPBACK.test(flags.host)) {
      out.push(
        `warning: listening on ${flags.host}: anyone who reaches it can read the cluster's state and logs`,
      );
      if (allowedHosts.length === 0) {
        out.push(
          `note: requests are answered only when their Host is ${flags.host} or localhost: name the others clients use with --allowed-host`,
        );
      }
    }
    process.stdout.write(`${out.join("\n")}\n`);
    const signal = await untilSignal();
    const running = server.running();
    process.stderr.write(
      `ferry serve: ${signal}: stopping${running ? `; ${running} run(s) started here stop once the steps in flight finish (rolled back before the point of no return, resumable after it)` : ""}\n`,
    );
    await server.close();
    return running > 0 ? ExitCode.interrupted : ExitCode.ok;
  });
  setExit(code);
}

/** The fleet's view until interrupted: nothing is started from it, so no token is needed. */
async function serveFleet(
  file: string,
  host: string,
  port: number,
  allowedHosts: readonly string[],
): Promise<ExitCode> {
  const fleet = loadFleet(file);
  const server = await startFleetServer({ fleet, host, port, allowedHosts });
  const out = [`ferry serve: fleet ${fleet.name} on ${server.url} (Ctrl-C stops it)`];
  if (!LOOPBACK.test(host))
    out.push(`warning: listening on ${host}: anyone who reaches it can read the fleet's runs and logs`);
  process.stdout.write(`${out.join("\n")}\n`);
  const signal = await untilSignal();
  process.stderr.write(`ferry serve: ${signal}: stopping\n`);
  await server.close();
  return ExitCode.ok;
}

function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals) => {
      process.off("SIGINT", on);
      process.off("SIGTERM", on);
      resolve(signal);
    };
    process.on("SIGINT", on);
    process.on("SIGTERM", on);
  });
}
