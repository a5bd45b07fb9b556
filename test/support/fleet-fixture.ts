/**
 * A fleet of fake products (fake-product.ts) on this machine: each cluster a few host folders with
 * trivial shell commands, its own cluster file under `sites/<group>/`, all sharing one catalog and
 * one PostgreSQL schema for the fleet store (or, with `sqlite`, the file `fleet.db` beside the fleet
 * file, and a journal file per cluster). `ownSchemas` gives each cluster's journal a schema of its
 * own instead of the fleet's.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { openStateStore, type StateStore } from "../../src/index.js";
import type { RunSummary } from "../../src/store/state-store.js";
import { type FakeProduct, type FakeProductOptions, makeFakeProduct } from "./fake-product.js";

export const PG = "postgres://postgres@127.0.0.1:5432/test";

export interface FleetFixture {
  readonly dir: string;
  readonly fleetFile: string;
  /** The fleet's store: `postgres://…?schema=…`, or with `sqlite` the absolute path of `fleet.db`. */
  readonly state: string;
  readonly schema: string;
  readonly clusters: readonly {
    readonly name: string;
    readonly group: string;
    readonly file: string;
    readonly state: string;
    readonly product: FakeProduct;
  }[];
  /** Each cluster's journal runs, newest first. */
  runsOf(name: string): Promise<RunSummary[]>;
  /** The cluster's own state store, open (close it). */
  storeOf(name: string): Promise<StateStore>;
  cleanup(): Promise<void>;
}

export interface FleetOptions {
  /** Clusters per group, in the strategy's order. */
  readonly groups: readonly { readonly name: string; readonly clusters: number }[];
  readonly strategy: string;
  /** Each cluster's journal in its own schema (true), or all in the fleet's store. */
  readonly ownSchemas?: boolean;
  /** The fleet's store is `fleet.db` beside the fleet file (as written: relative), and each journal a file. */
  readonly sqlite?: boolean;
  /** Per cluster (by index): fake-product options (commands, hosts); `dir` is the fleet's folder. */
  readonly product?: (i: number, dir: string) => FakeProductOptions;
}

export async function makeFleet(options: FleetOptions): Promise<FleetFixture> {
  const dir = mkdtempSync(join(tmpdir(), "ferry-fleet-"));
  const schema = `fleet_${Math.random().toString(36).slice(2, 10)}`;
  const state = options.sqlite ? join(dir, "fleet.db") : `${PG}?schema=${schema}`;
  const clusters: FleetFixture["clusters"][number][] = [];
  let i = 0;
  for (const group of options.groups) {
    mkdirSync(join(dir, "sites", group.name), { recursive: true });
    for (let k = 0; k < group.clusters; k++, i++) {
      const name = `c${String(i).padStart(2, "0")}`;
      const own = options.sqlite
        ? join(dir, `${name}.db`)
        : options.ownSchemas
          ? `${PG}?schema=${schema}_${name}`
          : state;
      const product = makeFakeProduct({ hosts: 2, ...options.product?.(i, dir), state: own });
      const text = readFileSync(product.clusterFile, "utf8")
        .replace(/^name: fake$/m, `name: ${name}`)
        .replace(/^catalog: releases.yaml$/m, `catalog: ${join(product.dir, "releases.yaml")}`);
      const file = join(dir, "sites", group.name, `${name}.yaml`);
      writeFileSync(file, text);
      clusters.push({ name, group: group.name, file, state: own, product });
    }
  }
  const fleetFile = join(dir, "fleet.yaml");
  writeFileSync(
    fleetFile,
    [
      "name: edge",
      `state: "${options.sqlite ? "fleet.db" : state}"`,
      "clusters:",
      ...options.groups.map((g) => `  - { path: "sites/${g.name}/*.yaml", group: ${g.name} }`),
      `strategy: ${options.strategy}`,
      "",
    ].join("\n"),
  );
  const byName = new Map(clusters.map((c) => [c.name, c]));
  const storeOf = async (name: string) => {
    const c = byName.get(name);
    if (!c) throw new Error(`no cluster ${name}`);
    return openStateStore(c.state, dir);
  };
  return {
    dir,
    fleetFile,
    state,
    schema,
    clusters,
    storeOf,
    async runsOf(name) {
      const store = await storeOf(name);
      try {
        return await store.listRuns(name);
      } finally {
        await store.close();
      }
    },
    async cleanup() {
      for (const c of clusters) c.product.cleanup();
      rmSync(dir, { recursive: true, force: true });
      const admin = new pg.Client({ connectionString: PG });
      await admin.connect();
      try {
        const { rows } = await admin.query<{ nspname: string }>(
          "SELECT nspname FROM pg_namespace WHERE nspname = $1 OR nspname LIKE $2",
          [schema, `${schema}\\_%`],
        );
        for (const r of rows) await admin.query(`DROP SCHEMA IF EXISTS "${r.nspname}" CASCADE`);
      } finally {
        await admin.end();
      }
    },
  };
}

/** The most intervals open at once; an interval is [start, end). */
export function maxOverlap(intervals: readonly { start: number; end: number }[]): number {
  const points = intervals.flatMap((iv) => [
    { t: iv.start, d: 1 },
    { t: iv.end, d: -1 },
  ]);
  // At one instant, an end before a start: touching intervals do not overlap.
  points.sort((a, b) => a.t - b.t || a.d - b.d);
  let open = 0;
  let most = 0;
  for (const p of points) {
    open += p.d;
    most = Math.max(most, open);
  }
  return most;
}
