/**
 * zod as ferry's file schemas use it (catalog, cluster, fleet): zod/mini rather than zod's full
 * API, whose load every command that reads a cluster file would pay (about 17 ms of each start);
 * English messages, set here, before any schema can be used; and `.describe()` of the full API.
 */
import * as z from "zod/mini";
import en from "zod/v4/locales/en.js";

// The one locale, not z.locales.en(): that namespace would bring every language along.
z.config(en());

export { z };

/**
 * `.describe(text)` of zod's full API: a copy of the schema that carries the description JSON
 * Schema shows. A copy, so that a schema used in several places (a command, a duration) keeps
 * each place's own text.
 */
export function describe<T extends z.ZodMiniType>(schema: T, description: string): T {
  const copy = schema.clone() as T;
  z.globalRegistry.add(copy, { description });
  return copy;
}
