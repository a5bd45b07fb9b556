/**
 * `${env:NAME}` in the cluster file's notification settings: a secret (a webhook's token, a header's
 * bearer token) is named there and read from ferry's environment only when a notification is sent,
 * so the file, and the journal's copy of it, never hold it.
 */

const REFERENCE = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** The variable names `text` refers to, in order. */
export function envReferences(text: string): string[] {
  return [...text.matchAll(REFERENCE)].map((m) => m[1] as string);
}

/** Why `text` is not a well-formed template of `${env:NAME}` references, or undefined when it is. */
export function envReferenceProblem(text: string): string | undefined {
  const rest = text.replace(REFERENCE, "");
  const bad = /\$\{[^}]*\}?/.exec(rest);
  if (!bad) return undefined;
  return `${bad[0]} is not a reference ferry knows: write \${env:NAME}, NAME an environment variable (letters, digits and _)`;
}

/**
 * `text` with every reference replaced by its variable's value; the names of the variables that
 * are not set when some are missing (then nothing is expanded).
 *
 * @example expandEnv("Bearer ${env:TOKEN}", { TOKEN: "s3cret" }) // { value: "Bearer s3cret" }
 */
export function expandEnv(
  text: string,
  env: NodeJS.ProcessEnv,
): { readonly value: string } | { readonly missing: readonly string[] } {
  const missing = envReferences(text).filter((name) => env[name] === undefined);
  if (missing.length > 0) return { missing: [...new Set(missing)] };
  return { value: text.replace(REFERENCE, (_, name: string) => env[name] as string) };
}
