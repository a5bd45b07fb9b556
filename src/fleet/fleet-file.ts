/**
 * The fleet as ferry works with it: `fleet.yaml` validated, its globs expanded into cluster files,
 * each cluster file loaded with the ordinary cluster loader, and the strategy's durations in
 * milliseconds (DESIGN.md "A fleet of clusters").
 *
 * A cluster file that does not validate does not stop the fleet: it is kept as a refusal, with its
 * own file:line:field problems, and the other clusters go on. What is wrong with the fleet file
 * itself (a glob that matches nothing, a group used but not declared, two clusters of one name)
 * is a UserError, exit 2, since no plan of the fleet could be trusted then.
 */
import { statSync } from "node:fs";
import { dirname, isAbsolute, relative, resolve } from "node:path";
import { globSync, isDynamicPattern } from "tinyglobby";
import { type Cluster, loadCluster } from "../cluster/cluster.js";
import { type SourceProblem, UserError } from "../errors.js";
import { parseDuration } from "../probes/health-probe.js";
import { type FieldPath, problemAt, readYamlFile, validateWith, type YamlFile } from "../yaml-file.js";
import { type FleetData, FleetSchema, PERCENT } from "./fleet-schema.js";

/** A cluster of the fleet: its file validated and loaded. */
export interface FleetMember {
  /** The cluster file's `name:`, unique in the fleet: it keys the cluster's journal and lock. */
  readonly name: string;
  /** Absolute path of the cluster file. */
  readonly file: string;
  readonly group: string;
  readonly cluster: Cluster;
}

/** A cluster file matched by the fleet that does not validate: listed, never run. */
export interface FleetRefusal {
  /** Absolute path of the cluster file. */
  readonly file: string;
  readonly group: string;
  /** Its `name:` when the file says one, for display. */
  readonly name?: string;
  /** The loader's message: every problem as file:line: field: message. */
  readonly reason: string;
  readonly problems: readonly SourceProblem[];
}

/** A count, or a percentage of the fleet's clusters. */
export type MaxFailures = { readonly count: number } | { readonly percent: number };

export interface FleetStrategy {
  /** The groups in the order they upgrade. */
  readonly groups: readonly string[];
  readonly maxParallel: number;
  /** Wait after a group is done, before the next starts; 0: none. */
  readonly soakMs: number;
  readonly maxFailures: MaxFailures;
}

export interface Fleet {
  readonly name: string;
  /** The fleet file as given, and its text. */
  readonly file: string;
  readonly text: string;
  /** The folder of the fleet file: relative paths in it start from there. */
  readonly dir: string;
  /** As written: a postgres:// URL, or a SQLite path relative to `dir` (open with openStateStore(state, dir)). */
  readonly state: string;
  readonly strategy: FleetStrategy;
  /** In the order of the fleet file's entries, each glob's files in path order. */
  readonly members: readonly FleetMember[];
  readonly refused: readonly FleetRefusal[];
}

/** One group of the fleet, in strategy order. */
export interface FleetGroup {
  readonly name: string;
  readonly members: readonly FleetMember[];
  readonly refused: readonly FleetRefusal[];
}

/** Reads and validates `fleet.yaml` and every cluster file it names. */
export function loadFleet(file: string): Fleet {
  return fleetFrom(readYamlFile(file, " (name another with -f)"));
}

function fleetFrom(yaml: YamlFile): Fleet {
  const data = validateWith(yaml, FleetSchema, yaml.data());
  const problems: SourceProblem[] = [];
  const at = (path: FieldPath, message: string) => problems.push(problemAt(yaml, path, message));
  groupProblems(data, at);
  const dir = dirname(resolve(yaml.file));
  const own = resolve(yaml.file);

  // Each file belongs to the first entry that matches it.
  const taken = new Set<string>([own]);
  const matched: { file: string; group: string }[] = [];
  for (const [i, entry] of data.clusters.entries()) {
    const files = matchFiles(entry.path, dir);
    if (files.length === 0) {
      at(["clusters", i, "path"], noMatch(entry.path, dir));
      continue;
    }
    for (const f of files) {
      if (taken.has(f)) continue;
      taken.add(f);
      matched.push({ file: f, group: entry.group });
    }
  }
  if (problems.length > 0) throw UserError.fromProblems(problems);

  const members: FleetMember[] = [];
  const refused: FleetRefusal[] = [];
  for (const { file, group } of matched) {
    try {
      const cluster = loadCluster(shown(file));
      members.push({ name: cluster.name, file, group, cluster });
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      const name = rawName(file);
      refused.push({ file, group, ...(name ? { name } : {}), reason: err.message, problems: err.problems });
    }
  }
  checkNamesUnique(members);

  const s = data.strategy;
  return {
    name: data.name,
    file: yaml.file,
    text: yaml.text,
    dir,
    state: data.state,
    strategy: {
      groups: s.groups,
      maxParallel: s.maxParallel,
      soakMs: parseDuration(s.soak),
      maxFailures:
        typeof s.maxFailures === "number"
          ? { count: s.maxFailures }
          : { percent: Number(PERCENT.exec(s.maxFailures)?.[1]) },
    },
    members,
    refused,
  };
}

/** Every group an entry uses is declared in strategy.groups, once, and every declared one is used. */
function groupProblems(data: FleetData, at: (path: FieldPath, message: string) => void): void {
  const declared = data.strategy.groups;
  const seen = new Set<string>();
  declared.forEach((g, k) => {
    if (seen.has(g)) at(["strategy", "groups", k], `group ${g} is listed twice`);
    seen.add(g);
  });
  const used = new Set<string>();
  data.clusters.forEach((c, i) => {
    used.add(c.group);
    if (!seen.has(c.group))
      at(
        ["clusters", i, "group"],
        `no group ${c.group} in strategy.groups (${declared.join(", ")}): add it there, in the order it upgrades`,
      );
  });
  declared.forEach((g, k) => {
    if (!used.has(g) && declared.indexOf(g) === k)
      at(["strategy", "groups", k], `no entry of clusters is in group ${g}: give it one, or take it out`);
  });
}

/** The files `pattern` names, absolute and in path order; a plain path names at most itself. */
function matchFiles(pattern: string, dir: string): string[] {
  const files = globSync([pattern], {
    cwd: dir,
    absolute: true,
    onlyFiles: true,
    expandDirectories: false,
    followSymbolicLinks: true,
  });
  return files.map((f) => resolve(f)).sort();
}

function noMatch(pattern: string, dir: string): string {
  const where = resolve(dir, pattern);
  if (!isDynamicPattern(pattern)) {
    let folder = false;
    try {
      folder = statSync(where).isDirectory();
    } catch {}
    return folder
      ? `${pattern} is a folder; name its files, e.g. ${pattern.replace(/\/+$/, "")}/*.yaml`
      : `no such file: ${where}`;
  }
  return `matches no file (looked in ${dir})`;
}

/** Two clusters of one name would share a journal and a lock: said on the second file's name line. */
function checkNamesUnique(members: readonly FleetMember[]): void {
  const first = new Map<string, FleetMember>();
  const problems: SourceProblem[] = [];
  for (const m of members) {
    const earlier = first.get(m.name);
    if (!earlier) {
      first.set(m.name, m);
      continue;
    }
    const yaml = readYamlFile(shown(m.file));
    problems.push(
      problemAt(
        yaml,
        ["name"],
        `cluster ${m.name} is also the name of ${shown(earlier.file)}: each cluster of a fleet needs its own name, which keys its journal and its lock`,
      ),
    );
  }
  if (problems.length > 0) throw UserError.fromProblems(problems);
}

/** A cluster file's `name:` when it reads as one, though the file does not validate. */
function rawName(file: string): string | undefined {
  try {
    const data = readYamlFile(file).data() as { name?: unknown } | null;
    return typeof data?.name === "string" ? data.name : undefined;
  } catch {
    return undefined;
  }
}

/** A path as messages show it: relative to the working folder when it is inside it. */
function shown(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel : file;
}

/**
 * The fleet's groups in strategy order, each with its members and refusals in file order: the
 * order clusters start in. Pure.
 *
 * @example fleetGroups(fleet).map((g) => [g.name, g.members.map((m) => m.name)])
 *   // [["canary", ["edge-01"]], ["rest", ["edge-02", "edge-03"]]]
 */
export function fleetGroups(fleet: Pick<Fleet, "strategy" | "members" | "refused">): FleetGroup[] {
  return fleet.strategy.groups.map((name) => ({
    name,
    members: fleet.members.filter((m) => m.group === name),
    refused: fleet.refused.filter((r) => r.group === name),
  }));
}

/**
 * How many failed clusters stop the fleet: the count, or the percentage of `clusters` rounded up
 * and at least 1. Pure.
 *
 * @example failureLimit({ percent: 5 }, 40) // 2
 */
export function failureLimit(max: MaxFailures, clusters: number): number {
  if ("count" in max) return max.count;
  // The epsilon keeps 7% of 100 at 7, not the 8 that 7.000000000000001 would round up to.
  return Math.max(1, Math.ceil((max.percent * clusters) / 100 - 1e-9));
}
