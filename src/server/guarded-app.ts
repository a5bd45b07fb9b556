/**
 * The Hono app both of ferry's servers start from (`ferry serve -c` and `-f`): errors answered as
 * JSON with their status, unknown endpoints 404, and first of all, before a token is looked at or
 * a host asked anything, the Host guard: a page on another site, its name pointed at this server,
 * gets nothing from it (DNS rebinding).
 */
import { Hono } from "hono";
import { hostAllowed, hostName } from "./allowed-hosts.js";
import { errorAnswer } from "./http-errors.js";

export function guardedApp(allowedHosts: ReadonlySet<string>): Hono {
  const app = new Hono();
  app.onError((err, c) => {
    const { status, body } = errorAnswer(err);
    return c.json(body, status);
  });
  app.notFound((c) => c.json({ error: `no such endpoint: ${c.req.method} ${c.req.path}` }, 404));
  app.use("*", async (c, next) => {
    const host = c.req.header("host");
    if (hostAllowed(allowedHosts, host)) return next();
    const error =
      host === undefined
        ? "the request has no Host header: send the name you reach this server by"
        : `this server does not answer to the name in Host: ${host} (a guard against DNS rebinding); if that is how clients reach it, start ferry serve with --allowed-host ${hostName(host) ?? host}`;
    return c.json({ error }, 403);
  });
  return app;
}
