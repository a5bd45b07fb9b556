/**
 * The steps on the product's database, through the executor's `MigrationRunner` (src/migrate
 * implements it): the ledger's preflight, one migration file, whether it ran to its end, the
 * schema mark for online data migrations, and a backup and its restore. Each says what it did.
 */
import { type ActionOf, failed, passed, type StepKind } from "./step-kind.js";

export const migrationsReady: StepKind<ActionOf<"migrations-ready">> = {
  async run(action, { database }) {
    await (await database()).ready(action.release);
    return passed();
  },
};

export const migrate: StepKind<ActionOf<"migrate">> = {
  async run(action, { database }) {
    return passed(`${await (await database()).run(action.file)}\n`);
  },
};

export const migrated: StepKind<ActionOf<"migrated">> = {
  async run(action, { database }) {
    return (await (await database()).isDone(action.file))
      ? passed()
      : failed(`${action.file} has not run to its end`);
  },
};

export const schemaMark: StepKind<ActionOf<"schema-mark">> = {
  async run(action, { database }) {
    await (await database()).markSchema(action.release);
    return passed();
  },
};

export const dbBackup: StepKind<ActionOf<"db-backup">> = {
  async run(action, { database }) {
    return passed(`${await (await database()).backup(action.name)}\n`);
  },
};

export const dbRestore: StepKind<ActionOf<"db-restore">> = {
  async run(action, { database }) {
    return passed(`${await (await database()).restore(action.name)}\n`);
  },
};
