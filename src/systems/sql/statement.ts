// Checks the SQL a config gives a side (`where:`, `query:`) before it is ever sent: one
// statement, no ";" outside literals and comments, every quote and comment closed. The
// database's read-only transaction is what stops writes; this stops a second statement,
// which would run outside the parentheses parity wraps the text in.
import type { SqlDialect } from '../../core/sql.js';

export type StatementCheck = { sql: string; problem?: undefined } | { problem: string; sql?: undefined };

/** Where the text's one statement ends: a ";" outside literals, or the end. */
function scan(text: string, dialect: SqlDialect): { end: number; semicolon: boolean } | string {
  const n = text.length;
  let i = 0;
  const closeQuote = (quote: string, backslash: boolean): boolean => {
    i++;
    while (i < n) {
      const c = text[i]!;
      if (backslash && c === '\\') {
        i += 2;
        continue;
      }
      if (c === quote) {
        if (text[i + 1] === quote) {
          i += 2;
          continue;
        }
        i++;
        return true;
      }
      i++;
    }
    return false;
  };
  while (i < n) {
    const c = text[i]!;
    const next = text[i + 1];
    if (c === ';') return { end: i, semicolon: true };
    if (c === "'" || c === '"') {
      // MySQL reads backslash escapes in both quotes; PostgreSQL only in E'…'.
      const escapes = dialect === 'mysql' || (dialect === 'postgres' && c === "'" && /[eE]/.test(text[i - 1] ?? '') && !/\w/.test(text[i - 2] ?? ''));
      if (!closeQuote(c, escapes)) return `a ${c === "'" ? 'quote' : 'double quote'} is never closed`;
      continue;
    }
    if (c === '`') {
      if (!closeQuote('`', false)) return 'a backquote is never closed';
      continue;
    }
    if (c === '[' && dialect === 'sqlite') {
      const close = text.indexOf(']', i + 1);
      if (close < 0) return 'a "[" is never closed';
      i = close + 1;
      continue;
    }
    if ((c === '-' && next === '-') || (c === '#' && dialect === 'mysql')) {
      const eol = text.indexOf('\n', i);
      i = eol < 0 ? n : eol + 1;
      continue;
    }
    if (c === '/' && next === '*') {
      // PostgreSQL nests block comments; the others end at the first "*/".
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (text[i] === '*' && text[i + 1] === '/') {
          depth--;
          i += 2;
        } else if (dialect === 'postgres' && text[i] === '/' && text[i + 1] === '*') {
          depth++;
          i += 2;
        } else i++;
      }
      if (depth > 0) return 'a /* comment is never closed';
      continue;
    }
    if (c === '$' && dialect === 'postgres' && !/\w/.test(text[i - 1] ?? '')) {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(text.slice(i));
      if (tag) {
        const close = text.indexOf(tag[0], i + tag[0].length);
        if (close < 0) return `a dollar quote ${tag[0]} is never closed`;
        i = close + tag[0].length;
        continue;
      }
    }
    i++;
  }
  return { end: n, semicolon: false };
}

/**
 * One statement, as it may be wrapped: `(${sql}\n)`. A trailing ";" (with only blanks and
 * comments after it) is dropped; any other ";" outside literals and comments is refused.
 */
export function singleStatement(text: string, dialect: SqlDialect): StatementCheck {
  const first = scan(text, dialect);
  if (typeof first === 'string') return { problem: first };
  if (first.semicolon) {
    const rest = scan(text.slice(first.end + 1), dialect);
    const restIsBlank = typeof rest !== 'string' && !rest.semicolon && stripComments(text.slice(first.end + 1), dialect).trim() === '';
    if (!restIsBlank) return { problem: 'must be one statement: a ";" outside quotes and comments would start another' };
    return { sql: text.slice(0, first.end) };
  }
  return { sql: text };
}

/** The text with its comments removed (only used to see whether anything else is left). */
function stripComments(text: string, dialect: SqlDialect): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(dialect === 'mysql' ? /(--|#)[^\n]*/g : /--[^\n]*/g, ' ');
}

/** What a read-only query must look like: one statement that starts with SELECT or WITH. */
export function checkQuery(query: string, dialect: SqlDialect): StatementCheck {
  const one = singleStatement(query, dialect);
  if (one.problem !== undefined) return one;
  const bare = stripComments(one.sql, dialect).replace(/'(?:[^']|'')*'/g, "''");
  if (!/^(select|with)\b/i.test(bare.trim())) return { problem: 'must start with SELECT or WITH (a read-only query)' };
  // A clear early word for the obvious cases; the database's read-only transaction stops the rest.
  const verb = /\b(insert|update|delete|merge|drop|alter|create|truncate|grant|revoke)\b/i.exec(bare)?.[1];
  if (verb) return { problem: `must only read (it contains ${verb.toUpperCase()})` };
  return one;
}
