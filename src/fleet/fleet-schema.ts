/**
 * The schema of `fleet.yaml`, a fleet of clusters upgraded together (DESIGN.md "A fleet of
 * clusters"). The loader validates with it and `ferry schema fleet` prints it as JSON Schema.
 * What needs the whole file or the disk (every group used and declared, every glob matching a
 * file, cluster names unique) lives in fleet-file.ts.
 *
 * Written with zod/mini, as cluster-schema.ts is, which it builds on (zod-mini.ts says why).
 */

import { DurationOrZeroSchema, name } from "../cluster/cluster-schema.js";
import { describe, z } from "../zod-mini.js";

/** "5%" of the fleet's clusters, or a count. */
export const PERCENT = /^(\d+(?:\.\d+)?)%$/;

export const FleetClusterSchema = z.strictObject({
  path: describe(
    z.string().check(z.minLength(1, "a path must not be empty")),
    'A cluster file, or a glob of them ("sites/**/*.yaml"), relative to this file. A file matched by two entries belongs to the first.',
  ),
  group: describe(name("group"), "The group its clusters upgrade with: one of strategy.groups."),
});

export const StrategySchema = describe(
  z.strictObject({
    groups: describe(
      z.array(name("group")).check(z.minLength(1, "name at least one group")),
      "The groups in the order they upgrade: a group starts once the one before it is done.",
    ),
    maxParallel: describe(
      z._default(z.number().check(z.int(), z.gte(1)), 20),
      "At most this many cluster runs at once, fleet-wide, whatever the number of workers (StarlingX's max-parallel-subclouds).",
    ),
    soak: describe(
      z._default(DurationOrZeroSchema, 0),
      "After a group is done, wait this long before the next one starts; 0: no wait.",
    ),
    maxFailures: describe(
      z._default(
        z.union([
          z.number().check(z.int(), z.gte(1)),
          z.string().check(
            z.regex(PERCENT, 'a percentage is like "5%"'),
            z.refine((p) => {
              const n = Number(PERCENT.exec(p)?.[1]);
              return n > 0 && n <= 100;
            }, "a percentage is more than 0% and at most 100%"),
          ),
        ]),
        1,
      ),
      'Once this many clusters have failed, no new cluster starts: a count, or a percentage of the fleet\'s clusters ("5%", rounded up, at least 1). Default 1: stop on the first failure.',
    ),
  }),
  "How the fleet upgrades: its groups in order, how many clusters at once, when to stop.",
);

export const FleetSchema = describe(
  z.strictObject({
    name: describe(
      name("fleet"),
      "The fleet's name, as fleet status, the dashboard and the metrics show it.",
    ),
    state: describe(
      z.string().check(z.minLength(1, "the state store must not be empty")),
      "Where the fleet run and its cluster runs are recorded, shared by every worker: a postgres:// URL, or a SQLite file relative to this file (only when one worker runs).",
    ),
    clusters: describe(
      z.array(FleetClusterSchema).check(z.minLength(1, "list at least one cluster file")),
      "The cluster files of the fleet, each entry with the group its clusters upgrade with.",
    ),
    strategy: StrategySchema,
  }),
  "ferry fleet file (fleet.yaml): the clusters of a fleet, their groups and how they upgrade.",
);

export type FleetData = z.output<typeof FleetSchema>;
export type StrategyData = z.output<typeof StrategySchema>;
