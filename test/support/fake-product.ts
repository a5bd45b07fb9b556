/**
 * A tiny real product for executor tests on this machine: each host is a folder, each release is
 * installed side by side and activated by a symlink (Ganeti's layout), and "running" is a file
 * that start writes and stop removes. Its commands are plain shell, run by the local driver.
 */
import assert from "node:assert/strict";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export interface FakeProductOptions {
  /** The cluster's `name`; default `fake`. */
  readonly name?: string;
  readonly hosts?: number;
  /** Components and their order; every component runs on every host. */
  readonly components?: readonly {
    readonly name: string;
    readonly order?: number;
    readonly maxUnavailable?: number;
  }[];
  readonly releases?: readonly string[];
  /** The release every host starts on. */
  readonly start?: string;
  /** Extra top-level YAML for cluster.yaml (hooks, onFailure, …). */
  readonly extra?: string;
  /** Extra YAML lines inside each component (after its commands). */
  readonly componentExtra?: string;
  /** A releases.yaml of its own (its text), with a folder of migrations to copy beside it. */
  readonly catalog?: { readonly text: string; readonly migrations?: string };
  /** Replaces or adds one command of every component: { start: "…" }, { check: "…" }. */
  readonly commands?: Partial<
    Record<"version" | "install" | "stop" | "activate" | "start" | "check", string>
  >;
  /** Hosts marked `offline: true`. */
  readonly offline?: readonly string[];
  /** The cluster file's `state:` (a postgres:// URL); default a SQLite file, state/ferry.db. */
  readonly state?: string;
}

export interface FakeProduct {
  readonly dir: string;
  readonly clusterFile: string;
  readonly hosts: readonly string[];
  /** host → component → { active version, running version or null }. */
  state(): Record<string, Record<string, { active: string | null; running: string | null }>>;
  /** Every command line the product logged, in order. */
  log(): string[];
  cleanup(): void;
}

export const RELEASES = ["1.0.0", "1.0.1", "1.0.2", "1.1.0"];

export function makeFakeProduct(options: FakeProductOptions = {}): FakeProduct {
  const dir = mkdtempSync(join(tmpdir(), "ferry-product-"));
  const hosts = Array.from({ length: options.hosts ?? 2 }, (_, i) => `h${i + 1}`);
  const components = options.components ?? [{ name: "api" }];
  const releases = options.releases ?? RELEASES;
  const start = options.start ?? releases[0] ?? "1.0.0";
  const root = join(dir, "hosts");

  for (const h of hosts) {
    for (const c of components) {
      const home = join(root, h, c.name);
      mkdirSync(join(home, "versions", start), { recursive: true });
      writeFileSync(join(home, "versions", start, "VERSION"), `${start}\n`);
      symlinkSync(join("versions", start), join(home, "current"));
      writeFileSync(join(home, "running"), `${start}\n`);
    }
  }

  if (options.catalog?.migrations) cpSync(options.catalog.migrations, dir, { recursive: true });
  writeFileSync(
    join(dir, "releases.yaml"),
    options.catalog?.text ??
      `product: fake\nscheme: semver\nreleases:\n${releases.map((r) => `  - "${r}"`).join("\n")}\n`,
  );
  const home = "{{vars.root}}/{{host}}/{{component}}";
  const log = `echo "{{host}} {{component}} $0" >> {{vars.root}}/log;`;
  const commands = {
    version: `cat ${home}/current/VERSION`,
    install: `mkdir -p ${home}/versions/{{version}} && echo {{version}} > ${home}/versions/{{version}}/VERSION`,
    stop: `rm -f ${home}/running`,
    activate: `ln -sfn versions/{{version}} ${home}/current`,
    start: `cat ${home}/current/VERSION > ${home}/running`,
    ...options.commands,
  };
  const yaml = [
    `name: ${options.name ?? "fake"}`,
    "catalog: releases.yaml",
    `state: ${options.state ?? "state/ferry.db"}`,
    `vars: { root: "${root}" }`,
    "hosts:",
    ...hosts.map(
      (h, i) =>
        `  - { name: ${h}, address: 127.0.0.${i + 1}${options.offline?.includes(h) ? ", offline: true" : ""} }`,
    ),
    "components:",
    ...components.flatMap((c) => [
      `  - name: ${c.name}`,
      `    hosts: [${hosts.join(", ")}]`,
      `    order: ${c.order ?? 1}`,
      `    maxUnavailable: ${c.maxUnavailable ?? 1}`,
      "    timeout: 20s",
      "    commands:",
      ...Object.entries(commands).map(
        ([k, v]) => `      ${k}: ${JSON.stringify(k === "version" ? v : `${log} ${v}`.replace("$0", k))}`,
      ),
      `    health: { exec: "test -f ${home}/running", healthyFor: 0s, deadline: 5s, interval: 50ms }`,
      ...(options.componentExtra ? [options.componentExtra] : []),
    ]),
    ...(options.extra ? [options.extra] : []),
  ].join("\n");
  const clusterFile = join(dir, "cluster.yaml");
  writeFileSync(clusterFile, `${yaml}\n`);

  return {
    dir,
    clusterFile,
    hosts,
    state() {
      const out: ReturnType<FakeProduct["state"]> = {};
      for (const h of hosts) {
        out[h] = {};
        for (const c of components) {
          const home = join(root, h, c.name);
          const active = existsSync(join(home, "current"))
            ? readlinkSync(join(home, "current")).replace("versions/", "")
            : null;
          const running = existsSync(join(home, "running"))
            ? readFileSync(join(home, "running"), "utf8").trim()
            : null;
          (out[h] as Record<string, unknown>)[c.name] = { active, running };
        }
      }
      return out;
    },
    log() {
      const file = join(root, "log");
      return existsSync(file) ? readFileSync(file, "utf8").trim().split("\n") : [];
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A fake product for the length of `body`, given it and the `-c cluster.yaml` arguments; removed after. */
export async function withProduct(
  options: FakeProductOptions,
  body: (p: FakeProduct, c: string[]) => Promise<void>,
): Promise<void> {
  const p = makeFakeProduct(options);
  try {
    await body(p, ["-c", p.clusterFile]);
  } finally {
    p.cleanup();
  }
}

/** Waits for a file a command creates: the named point where a test acts. */
export async function until(file: string, ms = 10_000): Promise<void> {
  for (const start = Date.now(); !existsSync(file); await sleep(20)) {
    if (Date.now() - start > ms) assert.fail(`${file} never appeared`);
  }
}

/**
 * A shell snippet that holds a command at a named point until the test lets it go: it creates
 * `hosts/<name>` on arrival (see reached()), then waits, 30 s at most, for release(). A test that
 * must act while the command is in flight acts between the two, instead of racing a `sleep`.
 */
export function gate(name: string): string {
  const at = `{{vars.root}}/${name}`;
  return `touch ${at}; i=0; while [ ! -f ${at}.go ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done`;
}

/** Resolves once a command has arrived at gate(name). */
export function reached(p: FakeProduct, name: string): Promise<void> {
  return until(join(p.dir, "hosts", name));
}

/** Lets the command held at gate(name) go on. */
export function release(p: FakeProduct, name: string): void {
  writeFileSync(join(p.dir, "hosts", `${name}.go`), "");
}

/** Whether every member of the product is active and running on `version`. */
export function allAt(p: FakeProduct, version: string): boolean {
  return Object.values(p.state()).every((cs) =>
    Object.values(cs).every((s) => s.active === version && s.running === version),
  );
}
