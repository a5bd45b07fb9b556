/**
 * `ferry init [--dir D] [--product P] [--scheme semver|calver] [--releases 1.0.0,…] [--hosts h1,h2=10.0.0.2]
 * [--component api …] [--force]`: writes a commented starter cluster.yaml and releases.yaml. On a
 * terminal it asks for what the flags did not give (defaults in brackets); elsewhere it takes the
 * flags and the defaults. It refuses to overwrite either file without --force (exit 2).
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline/promises";
import { STARTER_DEFAULTS, type StarterAnswers, starterFiles, UserError } from "../index.js";
import { printLines } from "./output.js";
import { commaList as list } from "./program.js";

export interface InitFlags {
  dir: string;
  product?: string;
  cluster?: string;
  scheme?: string;
  releases?: string;
  hosts?: string;
  component?: string[];
  force?: boolean;
}

export async function initCommand(flags: InitFlags): Promise<void> {
  const files = { cluster: join(flags.dir, "cluster.yaml"), releases: join(flags.dir, "releases.yaml") };
  const refuseExisting = () => {
    const there = Object.values(files).filter((f) => existsSync(f));
    if (there.length > 0 && !flags.force)
      throw new UserError(
        `${there.join(" and ")} already exist${there.length === 1 ? "s" : ""}: pass --force to overwrite`,
      );
  };
  refuseExisting();
  const interactive = process.stdin.isTTY === true && process.stdout.isTTY === true;
  const answers = interactive ? await ask(flags) : fromFlags(flags);
  const text = starterFiles(answers);
  refuseExisting();
  mkdirSync(flags.dir, { recursive: true });
  const flag = flags.force ? "w" : "wx";
  writeFileSync(files.releases, text.releases, { flag });
  writeFileSync(files.cluster, text.cluster, { flag });
  printLines([
    `wrote ${files.cluster} and ${files.releases}`,
    "next: put your product's commands in cluster.yaml, its releases in releases.yaml, then",
    `  ferry check -c ${files.cluster}`,
  ]);
}

function fromFlags(flags: InitFlags): StarterAnswers {
  const scheme = (flags.scheme ?? STARTER_DEFAULTS.scheme) as StarterAnswers["scheme"];
  return {
    product: flags.product ?? STARTER_DEFAULTS.product,
    ...(flags.cluster ? { cluster: flags.cluster } : {}),
    scheme,
    releases: flags.releases ? list(flags.releases) : [...(STARTER_DEFAULTS.releases[scheme] ?? ["1.0.0"])],
    hosts: flags.hosts ? list(flags.hosts) : [...STARTER_DEFAULTS.hosts],
    components: flags.component?.length ? flags.component : [...STARTER_DEFAULTS.components],
  };
}

/** Asks on the terminal for every answer the flags did not give; Enter takes the default. */
async function ask(flags: InitFlags): Promise<StarterAnswers> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  // Ctrl-C at a prompt ends init with nothing written.
  const interrupted = new Promise<never>((_, reject) =>
    rl.once("SIGINT", () => reject(new UserError("interrupted; nothing was written"))),
  );
  const question = async (label: string, given: string | undefined, fallback: string) =>
    given ??
    ((await Promise.race([rl.question(`${label} [${fallback}]: `), interrupted])).trim() || fallback);
  try {
    const product = await question("Product name", flags.product, STARTER_DEFAULTS.product);
    const scheme = await question("Version scheme, semver or calver", flags.scheme, STARTER_DEFAULTS.scheme);
    const defaults = STARTER_DEFAULTS.releases[scheme as StarterAnswers["scheme"]] ?? ["1.0.0"];
    const releases = await question(
      "Releases, oldest first (the first runs now)",
      flags.releases,
      defaults.join(","),
    );
    const hosts = await question(
      "Hosts (name or name=address)",
      flags.hosts,
      STARTER_DEFAULTS.hosts.join(","),
    );
    const components = await question(
      "Components",
      flags.component?.join(","),
      STARTER_DEFAULTS.components.join(","),
    );
    return {
      product,
      ...(flags.cluster ? { cluster: flags.cluster } : {}),
      scheme: scheme as StarterAnswers["scheme"],
      releases: list(releases),
      hosts: list(hosts),
      components: list(components),
    };
  } finally {
    rl.close();
  }
}
