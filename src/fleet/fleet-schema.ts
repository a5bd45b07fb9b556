/**
 * The schema of `fleet.yaml`, a fleet of clusters upgraded together (DESIGN.md "A fleet of
 * clusters"). The loader validates with it and `ferry schema fleet` prints it as JSON Schema.
 * What needs the whole file or the disk (every group used and declared, every glob matching a
 * file, cluster names unique) lives in fleet-file.ts.
 */
import { z } from "zod";
import { DurationOrZeroSchema } from "../cluster/cluster-schema.js";

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const name = (what: string) =>
  z
    .string()
    .regex(NAME, `a ${what} name is letters, digits, "_", "." and "-", starting with a letter or digit`);

/** "5%" of the fleet's clusters, or a count. */
export const PERCENT = /^(\d+(?:\.\d+)?)%$/;

export const FleetClusterSchema = z.strictObject({
  path: z
    .string()
    .min(1, "a path must not be empty")
    .describe(
      'A cluster file, or a glob of them ("sites/**/*.yaml"), relative to this file. A file matched by two entries belongs to the first.',
    ),
  group: name("group").describe("The group its clusters upgrade with: one of strategy.groups."),
});

export const StrategySchema = z
  .strictObject({
    groups: z
      .array(name("group"))
      .min(1, "name at least one group")
      .describe("The groups in the order they upgrade: a group starts once the one before it is done."),
    maxParallel: z
      .number()
      .int()
      .min(1)
      .default(20)
      .describe(
        "At most this many cluster runs at once, fleet-wide, whatever the number of workers (StarlingX's max-parallel-subclouds).",
      ),
    soak: DurationOrZeroSchema.default(0).describe(
      "After a group is done, wait this long before the next one starts; 0: no wait.",
    ),
    maxFailures: z
      .union([
        z.number().int().min(1),
        z
          .string()
          .regex(PERCENT, 'a percentage is like "5%"')
          .refine((p) => {
            const n = Number(PERCENT.exec(p)?.[1]);
            return n > 0 && n <= 100;
          }, "a percentage is more than 0% and at most 100%"),
      ])
      .default(1)
      .describe(
        'Once this many clusters have failed, no new cluster starts: a count, or a percentage of the fleet\'s clusters ("5%", rounded up, at least 1). Default 1: stop on the first failure.',
      ),
  })
  .describe("How the fleet upgrades: its groups in order, how many clusters at once, when to stop.");

export const FleetSchema = z
  .strictObject({
    name: name("fleet").describe("The fleet's name, as fleet status, the dashboard and the metrics show it."),
    state: z
      .string()
      .min(1, "the state store must not be empty")
      .describe(
        "Where the fleet run and its cluster runs are recorded, shared by every worker: a postgres:// URL, or a SQLite file relative to this file (only when one worker runs).",
      ),
    clusters: z
      .array(FleetClusterSchema)
      .min(1, "list at least one cluster file")
      .describe("The cluster files of the fleet, each entry with the group its clusters upgrade with."),
    strategy: StrategySchema,
  })
  .describe("ferry fleet file (fleet.yaml): the clusters of a fleet, their groups and how they upgrade.");

export type FleetData = z.output<typeof FleetSchema>;
export type StrategyData = z.output<typeof StrategySchema>;
