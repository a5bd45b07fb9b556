/** Catalogs for tests, built from a compact description of series and their patch counts. */
import { type Catalog, type CatalogInput, defineCatalog, loadCatalog } from "../../src/index.js";

export const EXAMPLES = new URL("../../examples/catalogs/", import.meta.url).pathname;

/** Backend.AI's rules and releases as DESIGN.md states them: 23.03.0–11, 23.09.0–10, 24.03.0–5. */
export function backendAi(): Catalog {
  return loadCatalog(`${EXAMPLES}backend-ai.yaml`);
}

/** Ganeti's rules: 2.8–2.12, a 2.13 with pre-releases, and 3.0.0. */
export function ganeti(): Catalog {
  return loadCatalog(`${EXAMPLES}ganeti.yaml`);
}

/** `{ "23.03": 11 }` is the releases 23.03.0 … 23.03.11. */
export function seriesReleases(series: Record<string, number>): string[] {
  return Object.entries(series).flatMap(([s, last]) =>
    Array.from({ length: last + 1 }, (_, p) => `${s}.${p}`),
  );
}

export function catalogOf(input: Partial<CatalogInput> & Pick<CatalogInput, "releases">): Catalog {
  return defineCatalog({ product: "test", scheme: "calver", ...input });
}
