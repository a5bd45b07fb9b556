/**
 * The one place that hides passwords in connection URLs (`state:`, `database:`, `--database`), for
 * every message, log line and journal copy that shows such a URL.
 *
 * A URL is read with the WHATWG parser, as pg and mysql2 read it: a password may hold `@`, `:` or
 * percent-encoded characters, and may be a query parameter (`?password=`, `?sslpassword=`). A string
 * that is not a URL (a SQLite path, `memory:`) comes back as it is. A string that looks like a URL
 * but does not parse as one is masked from `://` to its last `@`, since where its password ends
 * cannot be told.
 */

const MASK = "***";
/** Query parameters whose value is a secret: password, sslpassword, passwd, pwd, secret, token. */
const SECRET_PARAM = /pass|pwd|secret|token/i;
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

/**
 * `location` with every password in it masked; unchanged when it holds none.
 *
 * @example maskPassword("postgres://ferry:p@ss@db/ops?sslpassword=x") // "postgres://ferry:***@db/ops?sslpassword=***"
 * @example maskPassword(".ferry/state.db") // ".ferry/state.db"
 */
export function maskPassword(location: string): string {
  const url = parsed(location);
  if (url === undefined) return location;
  if (url === null) return maskUnparsed(location);
  // Masked already (a second pass over the same text) is nothing to mask.
  const params = [...url.searchParams].filter(([k, v]) => SECRET_PARAM.test(k) && v !== MASK).map(([k]) => k);
  const password = url.password !== "" && decoded(url.password) !== MASK;
  if (!password && params.length === 0) return location;
  if (password) url.password = MASK;
  for (const key of params) url.searchParams.set(key, MASK);
  return url.toString();
}

/**
 * The secrets `location` holds, in every form a message may quote them (as written, percent-encoded,
 * decoded), longest first; none for a string that is not a URL.
 */
export function secretsIn(location: string): string[] {
  const found = new Set<string>();
  const add = (s: string | undefined | null) => {
    if (!s) return;
    found.add(s);
    found.add(decoded(s));
    found.add(encodeURIComponent(decoded(s)));
  };
  const url = parsed(location);
  if (url) {
    add(url.password);
    for (const [k, v] of url.searchParams) if (SECRET_PARAM.test(k)) add(v);
  }
  if (url !== undefined) {
    // As written, whatever the parser made of it: the raw userinfo password and parameter values.
    const rest = location.replace(SCHEME, "");
    const at = rest.lastIndexOf("@", firstOf(rest, "?"));
    if (at > 0) add(rest.slice(0, at).split(":").slice(1).join(":"));
    for (const m of location.matchAll(/[?&]([^=&#]*)=([^&#]*)/g))
      if (SECRET_PARAM.test(m[1] ?? "")) add(m[2]);
  }
  return [...found].filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
}

/** `text` with every one of `secrets` replaced by ***. */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) out = out.replaceAll(secret, MASK);
  return out;
}

/**
 * Free text (an error message, a command) with the password of every URL in it masked; a text that
 * is one URL is masked as a whole, quotes in its password and all.
 */
export function maskPasswordsIn(text: string): string {
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\/\S+$/.test(text)) return maskPassword(text);
  return text.replace(/[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s"'<>`]+/g, (url) => maskPassword(url));
}

/**
 * The URL, null when it looks like one but cannot be trusted to be read as pg reads it, undefined
 * when it is no URL at all.
 */
function parsed(location: string): URL | null | undefined {
  if (!SCHEME.test(location)) return undefined;
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    return null;
  }
  // `u:123#@h` parses with host "u:123" and no user: an `@` before the query that the parser did not
  // take as the end of a user name means the password held a character that ended the authority.
  const rest = location.replace(SCHEME, "");
  if (!url.username && !url.password && /^[^?]*@/.test(rest)) return null;
  return url;
}

function maskUnparsed(location: string): string {
  const scheme = SCHEME.exec(location)?.[0] ?? "";
  const rest = location.slice(scheme.length);
  const at = rest.lastIndexOf("@");
  let out = location;
  if (at >= 0) {
    const userinfo = rest.slice(0, at);
    const colon = userinfo.indexOf(":");
    const user = colon >= 0 && !/[/?#]/.test(userinfo.slice(0, colon)) ? userinfo.slice(0, colon + 1) : "";
    out = `${scheme}${user}${MASK}${rest.slice(at)}`;
  }
  return out.replace(/([?&][^=&#]*=)([^&#]*)/g, (all, key: string) =>
    SECRET_PARAM.test(key) ? `${key}${MASK}` : all,
  );
}

function firstOf(text: string, char: string): number {
  const i = text.indexOf(char);
  return i < 0 ? text.length : i;
}

function decoded(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
