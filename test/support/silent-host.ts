/**
 * A host that takes the TCP connection and never says a word, as a hung sshd does, with what an
 * SSH client needs to dial it: a fresh key and an empty known_hosts file in a folder of its own.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { type AddressInfo, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ssh2 from "ssh2";

export interface SilentHost {
  readonly port: number;
  /** A folder of the test's own, removed afterwards. */
  readonly dir: string;
  readonly identityFile: string;
  readonly knownHostsFile: string;
  /** The connections it took. */
  readonly sockets: readonly Socket[];
}

export async function withSilentHost(body: (host: SilentHost) => Promise<void>): Promise<void> {
  const sockets: Socket[] = [];
  const server = createServer((s) => sockets.push(s));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const dir = mkdtempSync(join(tmpdir(), "ferry-silent-host-"));
  try {
    const identityFile = join(dir, "id");
    const knownHostsFile = join(dir, "known_hosts");
    writeFileSync(identityFile, ssh2.utils.generateKeyPairSync("ed25519").private, { mode: 0o600 });
    writeFileSync(knownHostsFile, "");
    await body({ port: (server.address() as AddressInfo).port, dir, identityFile, knownHostsFile, sockets });
  } finally {
    for (const s of sockets) s.destroy();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
