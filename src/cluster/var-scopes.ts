/**
 * The sets of var names a component's templates may use, one per distinct set its hosts give: a
 * template's var must be in each. Hosts that define the same var names share one set, so a cluster
 * of ten thousand alike hosts is checked against one set, not ten thousand.
 */
export function varScopes(
  shared: readonly string[],
  perHost: Iterable<readonly string[] | undefined>,
): ReadonlySet<string>[] {
  const scopes = new Map<string, ReadonlySet<string>>();
  for (const names of perHost) {
    const own = names ?? [];
    const key = JSON.stringify(own);
    if (!scopes.has(key)) scopes.set(key, new Set([...shared, ...own]));
  }
  return [...scopes.values()];
}
