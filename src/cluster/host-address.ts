/**
 * What a host's `address` may be: a host name (RFC 1123) or an IPv4 or IPv6 literal, nothing else.
 * The address reaches shell commands ({{address}}, FERRY_ADDRESS) and SSH as it is written, so a
 * character that means something to a shell (`;`, `$`, a space) must never get through.
 */
import { isIPv4, isIPv6 } from "node:net";

export const HOST_ADDRESS_RULE =
  "an address is a host name (dot-separated labels of letters, digits, inner hyphens and _) or an IPv4 or IPv6 address";

/**
 * RFC 1123 labels: 1 to 63 letters, digits and hyphens, neither first nor last a hyphen; and `_`,
 * which RFC 1123 leaves out but /etc/hosts and container DNS names (`app_db_1`) use, and which no
 * shell gives a meaning.
 */
const LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

/**
 * @example isHostAddress("db-1.example.com") // true
 * @example isHostAddress("fe80::1%eth0")     // true
 * @example isHostAddress("127.0.0.1;touch /tmp/x") // false
 */
export function isHostAddress(address: string): boolean {
  if (isIPv4(address)) return true;
  if (address.includes(":")) {
    // Node accepts a zone (`%eth0`); keep it to the characters an interface name has.
    const zone = address.split("%")[1];
    return isIPv6(address) && (zone === undefined || /^[A-Za-z0-9_.-]+$/.test(zone));
  }
  const name = address.endsWith(".") ? address.slice(0, -1) : address;
  if (name.length === 0 || name.length > 253) return false;
  const labels = name.split(".");
  // An all-numeric last label is no host name: 999.1.1.1 is a broken IPv4 address.
  if (/^\d+$/.test(labels.at(-1) ?? "")) return false;
  return labels.every((l) => LABEL.test(l));
}
