// The canonical text of a row for segment checksums, written once per dialect: PostgreSQL and
// MySQL/MariaDB build it in SQL (and hash it there); a SQLite side's rows are read and turned
// into the same text here. Each value is a type tag and its text: ended by ';' where the text
// cannot hold one (numbers, timestamps), else after its length in UTF-8 bytes; NULL is "-".
// So the text of a row is never ambiguous.
//
// The rule that keeps bisection exact: two rows whose texts are equal are equal for the
// streaming diff too (same key, same compared values). So a text is never coarser than
// parity's comparison: where the dialects or their drivers may disagree, the tag differs and
// the rows are merely read and diffed, not taken as matched. The common types agree across
// dialects so that equal tables match without reading: integers and decimals (trailing
// zeros dropped, as compareValue does), text and dates, timestamps as UTC to the microsecond.
import { createHash } from 'node:crypto';
import { canonicalValue, compareValue } from '../../core/canonical.js';
import type { SqlDialect } from '../../core/sql.js';

export type TypeClass = 'int' | 'decimal' | 'float' | 'text' | 'date' | 'bool' | 'timestamp' | 'naive-timestamp' | 'bytes' | 'other';

/** A column's class from the type name the database describes it with. */
export function typeClass(dialect: SqlDialect, type: string): TypeClass {
  const t = type.toUpperCase().trim();
  if (dialect === 'postgres') {
    if (/^(SMALLINT|INTEGER|BIGINT|INT[248]?)\b/.test(t)) return 'int';
    if (/^(NUMERIC|DECIMAL)\b/.test(t)) return 'decimal';
    if (/^(DOUBLE PRECISION|REAL|FLOAT[48]?)\b/.test(t)) return 'float';
    // CHARACTER(n) is returned padded by the driver and unpadded by ::text: its own tag.
    if (/^(TEXT|CHARACTER VARYING|VARCHAR)\b/.test(t)) return 'text';
    if (t === 'DATE') return 'date';
    if (t === 'BOOLEAN') return 'bool';
    if (/^TIMESTAMP(\(\d\))? WITH TIME ZONE/.test(t)) return 'timestamp';
    if (/^TIMESTAMP(\(\d\))?( WITHOUT TIME ZONE)?$/.test(t)) return 'naive-timestamp';
    if (t === 'BYTEA') return 'bytes';
    return 'other';
  }
  if (dialect === 'mysql') {
    if (/^(TINYINT|SMALLINT|MEDIUMINT|INT|INTEGER|BIGINT)\b/.test(t)) return 'int';
    if (/^(DECIMAL|NUMERIC)\b/.test(t)) return 'decimal';
    if (/^(DOUBLE|FLOAT|REAL)\b/.test(t)) return 'float';
    if (/^(VARCHAR|CHAR|TEXT|TINYTEXT|MEDIUMTEXT|LONGTEXT)\b/.test(t)) return 'text';
    if (t === 'DATE') return 'date';
    // The session's time zone is UTC (+00:00): DATETIME and TIMESTAMP read as UTC instants.
    if (/^(DATETIME|TIMESTAMP)\b/.test(t)) return 'timestamp';
    if (/^(BLOB|TINYBLOB|MEDIUMBLOB|LONGBLOB|BINARY|VARBINARY)\b/.test(t)) return 'bytes';
    return 'other';
  }
  return 'other';
}

/** Whether this process reads a PostgreSQL timestamp without time zone as UTC (the driver
 *  reads it in the process's zone): only then does it share the timestamps' tag. */
function processIsUtc(): boolean {
  return [0, 6].every((month) => new Date(Date.UTC(2024, month, 1)).getTimezoneOffset() === 0);
}

interface Piece {
  tag: string;
  text: string;
}

/** The scale a DECIMAL(p, s) / NUMERIC(p, s) type declares (0 for DECIMAL(p)), or null. */
function declaredScale(type: string): number | null {
  const m = /\(\s*\d+\s*(?:,\s*(\d+)\s*)?\)/.exec(type);
  return m ? Number(m[1] ?? 0) : null;
}

/** Tags whose text never holds ';' (numbers, booleans, hex, timestamps): the text ends at a
 *  ';'. Text of any other tag may hold anything and is written after its length instead. */
const DELIMITED = /^[nfbxtT]$/;

function pieceOf(dialect: 'postgres' | 'mysql', column: string, cls: TypeClass, type: string, key: boolean): Piece {
  const pg = dialect === 'postgres';
  const asText = pg ? `${column}::text` : `CAST(${column} AS CHAR)`;
  switch (cls) {
    case 'int':
      return { tag: 'n', text: asText };
    case 'decimal':
      // A key keeps its scale (the key is the value's own text); a compared value drops
      // trailing zeros, as the streaming diff compares decimals by value.
      // A declared scale says whether the text has a point: no test per row then.
      if (key || declaredScale(type) === 0) return { tag: 'n', text: asText };
      {
        const trimmed = pg ? `rtrim(rtrim(${asText}, '0'), '.')` : `TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM ${asText}))`;
        if (declaredScale(type) !== null) return { tag: 'n', text: trimmed };
        return { tag: 'n', text: pg ? `(CASE WHEN strpos(${asText}, '.') > 0 THEN ${trimmed} ELSE ${asText} END)` : `(CASE WHEN LOCATE('.', ${asText}) > 0 THEN ${trimmed} ELSE ${asText} END)` };
      }
    case 'float':
      return { tag: 'f', text: asText };
    case 'text':
      return { tag: 's', text: pg ? asText : column };
    case 'date':
      // Both drivers hand a date over as its "YYYY-MM-DD" text: a string like any other.
      return { tag: 's', text: pg ? `to_char(${column}, 'YYYY-MM-DD')` : `DATE_FORMAT(${column}, '%Y-%m-%d')` };
    case 'bool':
      return { tag: 'b', text: `(CASE WHEN ${column} THEN 'true' ELSE 'false' END)` };
    case 'timestamp':
      return pg ? { tag: 't', text: `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')` } : { tag: 't', text: `DATE_FORMAT(${column}, '%Y-%m-%d %H:%i:%s.%f')` };
    case 'naive-timestamp':
      return { tag: processIsUtc() ? 't' : 'T', text: `to_char(${column}, 'YYYY-MM-DD HH24:MI:SS.US')` };
    case 'bytes':
      return { tag: 'x', text: pg ? `encode(${column}, 'hex')` : `LOWER(HEX(${column}))` };
    default:
      return { tag: `o:${dialect}:${type.toUpperCase().replace(/'/g, '')}:`, text: asText };
  }
}

/** One column (or NULL for a field the side lacks) of the SQL row text. */
export interface TextColumn {
  /** The quoted column, or null: the field is not on this side (always NULL). */
  column: string | null;
  type: string;
  key: boolean;
  /** The field's mapping trims it (`transform: trim`, JavaScript's String.prototype.trim). */
  trim?: boolean;
}

/** Every character JavaScript's trim() drops at either end (WhiteSpace and LineTerminator). */
export const TRIMMED_CHARS = [0x9, 0xa, 0xb, 0xc, 0xd, 0x20, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff]
  .map((c) => String.fromCharCode(c))
  .join('');

/** A text column trimmed exactly as the `trim` transform does: a side that trims in SQL and
 *  one that does not then give equal text only where the streaming diff sees equal values. */
function trimSql(dialect: 'postgres' | 'mysql', column: string): string {
  return dialect === 'postgres' ? `btrim(${column}, '${TRIMMED_CHARS}')` : `REGEXP_REPLACE(${column}, '^[${TRIMMED_CHARS}]+|[${TRIMMED_CHARS}]+$', '')`;
}

/** The SQL expression of a row's canonical text (PostgreSQL or MySQL/MariaDB). */
export function rowTextSql(dialect: 'postgres' | 'mysql', columns: readonly TextColumn[]): string {
  const pg = dialect === 'postgres';
  // Both concatenations are NULL when a part is NULL (PostgreSQL's CONCAT() is not: hence ||).
  const cat = (...parts: string[]) => (pg ? `(${parts.join(' || ')})` : `CONCAT(${parts.join(', ')})`);
  const parts = columns.map((c) => {
    if (c.column === null) return `'-'`;
    const cls = typeClass(dialect, c.type);
    const column = c.trim && cls === 'text' ? trimSql(dialect, c.column) : c.column;
    const { tag, text } = pieceOf(dialect, column, cls, c.type, c.key);
    const piece = DELIMITED.test(tag) ? cat(`'${tag}'`, text, `';'`) : cat(`'${tag}'`, pg ? `octet_length(${text})::text` : `LENGTH(${text})`, `':'`, text);
    return `COALESCE(${piece}, '-')`;
  });
  return pg ? `(${parts.join(' || ')})` : `CONCAT(${parts.join(', ')})`;
}

/** The SQL expression of a row's 60-bit hash: the first 15 hex digits of the text's MD5. */
export function rowHashSql(dialect: 'postgres' | 'mysql', text: string): string {
  return dialect === 'postgres' ? `('x' || substr(md5(${text}), 1, 15))::bit(60)::bigint` : `CAST(CONV(SUBSTRING(MD5(${text}), 1, 15), 16, 10) AS UNSIGNED)`;
}

/** A value as read from SQLite (its driver gives numbers, text, Buffers, null), as the piece
 *  the SQL of the other dialects makes of an equal value. `peer` is the class of the other
 *  side's column: a number beside a float column takes the float's exact text. */
export function valuePiece(value: unknown, key: boolean, peer?: TypeClass): string {
  if (value === null || value === undefined) return '-';
  let tag: string;
  let text: string;
  if (typeof value === 'number' && peer === 'float') {
    tag = 'f';
    text = String(value);
  } else if (typeof value === 'number' || typeof value === 'bigint') {
    tag = 'n';
    // A key is its canonical text; a compared number its decimal form (what compareValue gives).
    text = key ? canonicalValue(value)! : compareValue(value)!;
  } else if (typeof value === 'string') {
    tag = 's';
    text = value;
  } else if (Buffer.isBuffer(value)) {
    tag = 'x';
    text = value.toString('hex');
  } else {
    tag = 'o:js:';
    text = canonicalValue(value) ?? '';
  }
  return DELIMITED.test(tag) ? `${tag}${text};` : `${tag}${Buffer.byteLength(text)}:${text}`;
}

/** The 60-bit hash of a row text, as the SQL of rowHashSql computes it. */
export function rowHash(text: string): bigint {
  return BigInt(`0x${createHash('md5').update(text).digest('hex').slice(0, 15)}`);
}
