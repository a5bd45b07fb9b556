/**
 * Splits an SQL file into its statements, so that each can be run, retried and reported on its
 * own (MySQL commits every DDL statement by itself, so a failure mid-file must say which one).
 * Semicolons inside quotes, identifiers, comments and PostgreSQL dollar-quoted bodies do not split.
 */

export function splitStatements(sql: string): string[] {
  const out: string[] = [];
  let start = 0;
  let i = 0;
  let meaningful = false; // has the current statement anything but blanks and comments?
  const push = (end: number) => {
    const text = sql.slice(start, end).trim();
    if (meaningful && text) out.push(text);
    meaningful = false;
  };
  while (i < sql.length) {
    const c = sql[i] as string;
    const next = sql[i + 1];
    if (c === "-" && next === "-") {
      i = lineEnd(sql, i);
    } else if (c === "#" && !meaningful && sql.slice(start, i).trim() === "") {
      i = lineEnd(sql, i); // MySQL's # comment, only where a statement could start
    } else if (c === "/" && next === "*") {
      const end = sql.indexOf("*/", i + 2);
      i = end < 0 ? sql.length : end + 2;
    } else if (c === "'" || c === '"' || c === "`") {
      meaningful = true;
      i = quoteEnd(sql, i, c);
    } else if (c === "$") {
      const tag = /^\$[A-Za-z_]*\$/.exec(sql.slice(i))?.[0];
      if (tag) {
        meaningful = true;
        const end = sql.indexOf(tag, i + tag.length);
        i = end < 0 ? sql.length : end + tag.length;
      } else {
        meaningful = true;
        i++;
      }
    } else if (c === ";") {
      push(i);
      start = i + 1;
      i++;
    } else {
      if (!/\s/.test(c)) meaningful = true;
      i++;
    }
  }
  push(sql.length);
  return out;
}

function lineEnd(sql: string, i: number): number {
  const end = sql.indexOf("\n", i);
  return end < 0 ? sql.length : end + 1;
}

/** Past the closing quote; a doubled quote ('it''s') and a backslash escape stay inside. */
function quoteEnd(sql: string, i: number, quote: string): number {
  let j = i + 1;
  while (j < sql.length) {
    if (sql[j] === "\\" && quote !== "`") {
      j += 2;
    } else if (sql[j] === quote) {
      if (sql[j + 1] === quote) j += 2;
      else return j + 1;
    } else {
      j++;
    }
  }
  return sql.length;
}
