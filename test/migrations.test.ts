/** The migration contract suite on PostgreSQL, MariaDB and SQLite, against the real servers here. */
import { it } from "node:test";
import type { Dialect } from "../src/migrate/migration-files.js";
import { describeMigrations } from "./contract/migrations.contract.js";
import { makeDatabase, unavailable } from "./support/databases.js";

const DIALECTS = ["postgres", "mysql", "sqlite"] as const satisfies readonly Dialect[];
// Every await before the first test is declared: node's runner starts once a file's top level ends.
const reasons = await Promise.all(DIALECTS.map(unavailable));

for (const [i, dialect] of DIALECTS.entries()) {
  const why = reasons[i];
  if (why && process.env.CI !== "true") {
    it.skip(`migrations on ${dialect}: ${why}`);
    continue;
  }
  if (why) {
    it(`migrations on ${dialect}`, () => {
      throw new Error(`${why}; CI must start it (.ci/run does)`);
    });
    continue;
  }
  describeMigrations({ dialect, make: () => makeDatabase(dialect) });
}
