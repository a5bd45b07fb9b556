/** The migration contract suite on PostgreSQL, MariaDB and SQLite, against the real servers here. */
import { describeMigrations } from "./contract/migrations.contract.js";
import { forEachDialect, makeDatabase } from "./support/databases.js";

await forEachDialect(["postgres", "mysql", "sqlite"], (dialect) =>
  describeMigrations({ dialect, make: () => makeDatabase(dialect) }),
);
