/**
 * A fleet on this machine for tests: one catalog, and per cluster a cluster file whose hosts are
 * local folders, each holding the VERSION its trivial `version` command prints.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

export const FLEET_RELEASES = ["1.0.0", "1.0.1", "1.1.0", "2.0.0"];

export interface FleetSite {
  /** The cluster file, relative to the fleet folder: "sites/canary/a.yaml". */
  readonly file: string;
  /** Its `name:`; default the file's base name. */
  readonly name?: string;
  /** The version each host runs; one entry per host. Default two hosts on 1.0.0. */
  readonly versions?: readonly (string | null)[];
  /** Replaces the version command; {{vars.root}}/{{host}} is the host's folder. */
  readonly versionCommand?: string;
  /** Replaces the whole cluster file's text. */
  readonly text?: string;
}

export interface FleetFolder {
  readonly dir: string;
  readonly fleetFile: string;
  cleanup(): void;
}

/**
 * Writes `releases.yaml`, each site's cluster file and host folders, and `fleet.yaml` (its text
 * given). A host whose version is null has no VERSION file: its version command fails.
 */
export function makeFleet(sites: readonly FleetSite[], fleetYaml: string): FleetFolder {
  const dir = mkdtempSync(join(tmpdir(), "ferry-fleet-"));
  writeFileSync(
    join(dir, "releases.yaml"),
    `product: notes\nscheme: semver\npolicy: { stepwise: true, crossMajor: false }\nreleases: [${FLEET_RELEASES.map((r) => `"${r}"`).join(", ")}]\n`,
  );
  for (const site of sites) {
    const file = join(dir, site.file);
    mkdirSync(dirname(file), { recursive: true });
    const name = site.name ?? site.file.replace(/^.*\//, "").replace(/\.ya?ml$/, "");
    const versions = site.versions ?? ["1.0.0", "1.0.0"];
    const hostsDir = join(dir, "hosts", name);
    versions.forEach((v, i) => {
      mkdirSync(join(hostsDir, `h${i + 1}`), { recursive: true });
      if (v !== null) writeFileSync(join(hostsDir, `h${i + 1}`, "VERSION"), `${v}\n`);
    });
    const hosts = versions.map((_, i) => `h${i + 1}`);
    writeFileSync(
      file,
      site.text ??
        [
          `name: ${name}`,
          `catalog: ${join(dir, "releases.yaml")}`,
          `state: ${join(dir, "state", `${name}.db`)}`,
          `vars: { root: ${hostsDir} }`,
          "hosts:",
          ...hosts.map((h) => `  - { name: ${h}, address: 127.0.0.1 }`),
          "components:",
          "  - name: api",
          `    hosts: [${hosts.join(", ")}]`,
          "    commands:",
          `      version: ${JSON.stringify(site.versionCommand ?? "cat {{vars.root}}/{{host}}/VERSION")}`,
          '      install: "true"',
          '      stop: "true"',
          '      activate: "echo {{version}} > {{vars.root}}/{{host}}/VERSION"',
          '      start: "true"',
          "",
        ].join("\n"),
    );
  }
  const fleetFile = join(dir, "fleet.yaml");
  writeFileSync(fleetFile, fleetYaml);
  return { dir, fleetFile, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
