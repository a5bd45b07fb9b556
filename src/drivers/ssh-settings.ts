/**
 * How ferry reaches a host over SSH, resolved from the cluster file: what the SSH driver needs and
 * what a run's plan keeps, so a resumed run reaches its hosts the same way. Nothing secret is here:
 * a passphrase is named by the environment variable that holds it, never held.
 */
export interface SshSettings {
  readonly user: string;
  readonly port: number;
  /** Absolute path; absent: ~/.ssh/id_ed25519, then ~/.ssh/id_rsa, and the agent. */
  readonly identityFile?: string;
  /** The environment variable holding the key's passphrase. */
  readonly identityPassphraseEnv?: string;
  /** Absolute path. */
  readonly knownHostsFile: string;
  readonly hostKeyPolicy: "strict" | "accept-new";
  readonly connectTimeoutMs: number;
  readonly keepaliveIntervalMs: number;
  readonly keepaliveCountMax: number;
}

/** A host as the driver pool sees it: its name, its address and how commands reach it. */
export interface HostRef {
  readonly name: string;
  readonly address: string;
  readonly driver: "local" | "ssh";
  /** Present when `driver` is `ssh`. */
  readonly ssh?: SshSettings;
}

export const SSH_DEFAULTS = {
  port: 22,
  hostKeyPolicy: "strict",
  connectTimeoutMs: 10_000,
  keepaliveIntervalMs: 5_000,
  keepaliveCountMax: 3,
} as const;
