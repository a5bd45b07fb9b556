/** Serves a Hono app on host:port (0: any free port), resolving once it listens, for both of ferry's servers. */
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import type { Hono } from "hono";
import { OperationError } from "../errors.js";

export async function listen(app: Hono, host: string, port: number) {
  const server = serve({ fetch: app.fetch, port, hostname: host });
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", (err: NodeJS.ErrnoException) =>
      reject(
        new OperationError(
          `cannot listen on ${host}:${port}: ${err.code === "EADDRINUSE" ? "the port is in use" : err.message}`,
          { cause: err },
        ),
      ),
    );
  });
  return { server, port: (server.address() as AddressInfo).port };
}
