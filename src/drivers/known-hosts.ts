/**
 * known_hosts, as OpenSSH writes it: which host keys a host may present. Pure: the SSH driver reads
 * the file and hands its text here, so every rule is testable without a network.
 *
 * Understood: plain names and comma lists (`h1,10.0.0.1`), the `[host]:port` form for ports other
 * than 22, hashed names (`|1|salt|hash`, HMAC-SHA1 of the name, as `HashKnownHosts yes` writes),
 * `*` and `?` wildcards, negated patterns (`!name`), and the `@revoked` marker, whose key is refused
 * outright. `@cert-authority` lines are skipped: ferry does not check host certificates.
 */
import { createHash, createHmac } from "node:crypto";

export interface KnownHostEntry {
  /** 1-based line in the file. */
  readonly line: number;
  readonly marker: "revoked" | "cert-authority" | null;
  readonly patterns: string;
  readonly keyType: string;
  /** The key blob, base64, as in the file. */
  readonly key: string;
}

export type HostKeyVerdict =
  /** A line lists this key for this host. */
  | { readonly status: "known"; readonly line: number }
  /** The host is listed, with other keys: someone may be in the middle. */
  | {
      readonly status: "changed";
      readonly line: number;
      /** The fingerprint of the key that line lists. */
      readonly expected: string;
    }
  /** The host is not listed at all. */
  | { readonly status: "unknown" }
  /** The key is marked @revoked. */
  | { readonly status: "revoked"; readonly line: number };

/** Every key line of a known_hosts file; comments, blank and malformed lines are skipped. */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split("\n").forEach((raw, i) => {
    const fields = raw.trim().split(/\s+/);
    if (fields[0] === "" || fields[0]?.startsWith("#")) return;
    let marker: KnownHostEntry["marker"] = null;
    if (fields[0] === "@revoked" || fields[0] === "@cert-authority") {
      marker = fields[0] === "@revoked" ? "revoked" : "cert-authority";
      fields.shift();
    }
    const [patterns, keyType, key] = fields;
    if (!patterns || !keyType || !key) return;
    entries.push({ line: i + 1, marker, patterns, keyType, key });
  });
  return entries;
}

/** How a host is named in known_hosts: `10.0.0.1` on port 22, `[10.0.0.1]:2222` on any other. */
export function knownHostName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** Whether one entry's host field (a comma list of patterns, or one hashed name) names `name`. */
export function entryNames(patterns: string, name: string): boolean {
  if (patterns.startsWith("|1|")) return hashedNameMatches(patterns, name);
  let matched = false;
  for (const pattern of patterns.split(",")) {
    if (pattern.startsWith("!")) {
      // A negated pattern that matches wins over every other: the line is not about this host.
      if (wildcard(pattern.slice(1), name)) return false;
    } else if (wildcard(pattern, name)) {
      matched = true;
    }
  }
  return matched;
}

function hashedNameMatches(field: string, name: string): boolean {
  const [, , salt, hash] = field.split("|");
  if (!salt || !hash) return false;
  const digest = createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest("base64");
  return digest === hash;
}

/** OpenSSH's `*` (any run of characters) and `?` (one character); names compare case-insensitively. */
function wildcard(pattern: string, name: string): boolean {
  const re = pattern
    .toLowerCase()
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${re}$`).test(name.toLowerCase());
}

/**
 * The host key algorithms to ask for first when connecting to `host`:`port`: those of the keys
 * known_hosts lists for it, as OpenSSH does. Without this, a host listed only with its RSA key
 * would present its Ed25519 one and look changed.
 */
export function preferredHostKeyAlgorithms(
  entries: readonly KnownHostEntry[],
  host: string,
  port: number,
): string[] {
  const name = knownHostName(host, port);
  const types = entries
    .filter((e) => e.marker === null && entryNames(e.patterns, name))
    .map((e) => e.keyType);
  // An RSA key signs with SHA-2 where both sides can.
  const algorithms = types.flatMap((t) =>
    t === "ssh-rsa" ? ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] : [t],
  );
  return [...new Set(algorithms)];
}

/**
 * What known_hosts says of `key` (the raw blob the host presented) for the host at
 * `host`:`port`. A host listed only with other keys is `changed`: the connection asked for the
 * listed key types first (preferredHostKeyAlgorithms), so a host that has one presents it.
 */
export function verifyHostKey(
  entries: readonly KnownHostEntry[],
  host: string,
  port: number,
  key: Buffer,
): HostKeyVerdict {
  const name = knownHostName(host, port);
  const presented = key.toString("base64");
  let other: KnownHostEntry | undefined;
  for (const e of entries) {
    if (e.marker === "revoked" && e.key === presented) return { status: "revoked", line: e.line };
  }
  for (const e of entries) {
    if (e.marker !== null || !entryNames(e.patterns, name)) continue;
    if (e.key === presented) return { status: "known", line: e.line };
    other ??= e;
  }
  if (other) return { status: "changed", line: other.line, expected: fingerprintOfBase64(other.key) };
  return { status: "unknown" };
}

/** The line accept-new appends for a key seen on first contact. */
export function knownHostsLine(host: string, port: number, key: Buffer): string {
  return `${knownHostName(host, port)} ${keyTypeOf(key)} ${key.toString("base64")}\n`;
}

/** `SHA256:…`, as `ssh-keygen -lf` prints it: base64 of the key blob's SHA-256, without padding. */
export function fingerprint(key: Buffer): string {
  return `SHA256:${createHash("sha256").update(key).digest("base64").replace(/=+$/, "")}`;
}

function fingerprintOfBase64(key: string): string {
  return fingerprint(Buffer.from(key, "base64"));
}

/** A key blob starts with its type as an SSH string: a 4-byte length, then the name. */
export function keyTypeOf(key: Buffer): string {
  if (key.length < 4) return "unknown";
  const length = key.readUInt32BE(0);
  return length > 0 && length < 64 && key.length >= 4 + length
    ? key.subarray(4, 4 + length).toString("latin1")
    : "unknown";
}
