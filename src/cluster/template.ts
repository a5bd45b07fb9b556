/**
 * Templates in the cluster file's commands: `{{version}}`, `{{from}}`, `{{kind}}`, `{{direction}}`,
 * `{{host}}`, `{{address}}`, `{{component}}`, `{{vars.NAME}}`. Values are substituted as they are,
 * like any template language for shell snippets: quote them in the command where a value may hold
 * spaces.
 */

export interface TemplateValues {
  readonly version?: string;
  readonly from?: string;
  /** The hop's kind: patch | series | major | downgrade. */
  readonly kind?: string;
  /** Which way the command moves the cluster: upgrade | downgrade (flipped on the way back). */
  readonly direction?: string;
  readonly host?: string;
  readonly address?: string;
  readonly component?: string;
  readonly vars: Readonly<Record<string, string>>;
}

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}/g;
export const VALUE_NAMES = ["version", "from", "kind", "direction", "host", "address", "component"] as const;
/** The values that belong to a hop, not to a member: probes, which describe a member whatever the hop, cannot use them. */
export const HOP_NAMES = ["version", "from", "kind", "direction"] as const;

/** The placeholder names a template uses, in order, e.g. ["version", "vars.root"]. */
export function placeholders(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1] as string);
}

/** A template split once into its literal text and placeholder names: [text, name, text, name, …, text]. */
const compiled = new Map<string, readonly string[]>();

function compile(template: string): readonly string[] {
  let parts = compiled.get(template);
  if (!parts) {
    parts = template.split(PLACEHOLDER);
    compiled.set(template, parts);
  }
  return parts;
}

/** Whether a template names a value of one host's own: `{{host}}`, `{{address}}` or a var (which a host may set). */
export function namesHost(template: string): boolean {
  const parts = compile(template);
  for (let i = 1; i < parts.length; i += 2) {
    const name = parts[i] as string;
    if (name === "host" || name === "address" || name.startsWith("vars.")) return true;
  }
  return false;
}

/**
 * Renders a template whose placeholders were validated when the file was loaded. A big plan
 * renders the same few templates hundreds of thousands of times, so each is parsed only once.
 */
export function render(template: string, values: TemplateValues): string {
  const parts = compile(template);
  let out = parts[0] ?? "";
  for (let i = 1; i < parts.length; i += 2) {
    const name = parts[i] as string;
    const value = name.startsWith("vars.")
      ? values.vars[name.slice(5)]
      : values[name as (typeof VALUE_NAMES)[number]];
    if (value === undefined)
      throw new Error(`template ${JSON.stringify(template)}: no value for {{${name}}}`);
    out += value + (parts[i + 1] ?? "");
  }
  return out;
}

/**
 * The FERRY_* environment a command gets: the same values as its template. Var names are
 * upper-cased: `vars.root` is FERRY_VAR_ROOT.
 */
export function templateEnv(values: TemplateValues): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of VALUE_NAMES) {
    const value = values[name];
    if (value !== undefined) env[`FERRY_${name.toUpperCase()}`] = value;
  }
  for (const [k, v] of Object.entries(values.vars)) env[`FERRY_VAR_${k.toUpperCase()}`] = v;
  return env;
}
