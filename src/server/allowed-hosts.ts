/**
 * Which names `ferry serve` answers to. A page on any web site can make a browser send requests
 * to a server on loopback by pointing its own name at 127.0.0.1 (DNS rebinding); the browser then
 * treats the answers as that site's own and lets its script read them, and post with a token
 * pasted into a page. Such a request carries the site's name in `Host`, so a server that answers
 * only to the names it is really reached by is out of reach. The port does not matter: the name is
 * what an attacker controls.
 */

import { UserError } from "../errors.js";

/** Names always answered to: this machine's loopback, which no web site can claim as its own. */
const LOOPBACK = ["localhost", "127.0.0.1", "[::1]"];

/**
 * The set of names a server bound to `bound` answers to: loopback, the bound address itself and
 * the `extra` names (`--allowed-host`; one that allowedHostProblem refuses is a UserError).
 */
export function allowedHosts(bound: string, extra: readonly string[] = []): ReadonlySet<string> {
  const names = new Set(LOOPBACK);
  const own = hostName(bound.includes(":") && !bound.startsWith("[") ? `[${bound}]` : bound);
  if (own) names.add(own);
  for (const name of extra) {
    const problem = allowedHostProblem(name);
    if (problem) throw new UserError(`allowed host: ${problem}`);
    names.add(hostName(name) as string);
  }
  return names;
}

/**
 * A `Host` header's name, normalised (lower case, no trailing dot, no port, an IPv6 address in
 * brackets and compressed), or undefined when it is not a plain `name[:port]`.
 *
 * @example hostName("Ferry.Example.COM.:8443") // "ferry.example.com"
 */
export function hostName(header: string): string | undefined {
  // Only what a Host header may hold: no user info, path, spaces or percent escapes to confuse a parser.
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+)(?::(\d{1,5}))?$/.exec(header);
  if (!m?.[1]) return undefined;
  const name = m[1].toLowerCase().replace(/\.$/, "");
  if (name === "" || name.startsWith(".")) return undefined;
  try {
    // The WHATWG parser compresses IPv6 and spells IPv4 out (127.1 → 127.0.0.1), as a browser does.
    return new URL(`http://${name}/`).hostname;
  } catch {
    return undefined;
  }
}

/** Whether a request with this `Host` header (undefined: none) is to be answered. */
export function hostAllowed(allowed: ReadonlySet<string>, header: string | undefined): boolean {
  const name = header === undefined ? undefined : hostName(header);
  return name !== undefined && allowed.has(name);
}

/**
 * What is wrong with a value given to `--allowed-host`, or undefined: a name or an address, the
 * way it appears in a URL, without scheme, port or path.
 */
export function allowedHostProblem(value: string): string | undefined {
  const plain = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+)$/.test(value) && hostName(value) !== undefined;
  if (plain) return undefined;
  const bareIpv6 = /^[0-9a-fA-F:]+$/.test(value) && value.includes(":") && hostName(`[${value}]`);
  if (bareIpv6) return `"${value}" is an IPv6 address: write it as in a URL, [${value}]`;
  return `"${value}" is not a host name: give the name (or address) alone, without scheme, port or path; the port does not matter`;
}
