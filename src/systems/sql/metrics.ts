// Pushes entity metrics down to SQL: one aggregate query per grouping, instead of
// streaming every row. A metric is pushed down only when every field it uses maps to a
// column with no transform, so the database computes exactly what streaming would.
import type { SqlDialect } from '../../core/sql.js';
import { fieldsOf, type Expr, type MetricDef } from '../../collectors/metrics.js';

export interface SqlAggregate {
  metric: MetricDef;
  sql: string;
  params: unknown[];
}

export interface SqlContext {
  dialect: SqlDialect;
  quote: (identifier: string) => string;
  /** The column of an entity field when it has no transform, else null. */
  column: (field: string) => string | null;
}

const TEXT: Record<SqlDialect, string> = { sqlite: 'TEXT', postgres: 'TEXT', mysql: 'CHAR' };

function numeric(ctx: SqlContext, column: string): string {
  // Streaming sums in floating point; the database does the same, and integer division never truncates.
  return ctx.dialect === 'mysql' ? `(${column} + 0.0)` : `CAST(${column} AS ${ctx.dialect === 'postgres' ? 'DOUBLE PRECISION' : 'REAL'})`;
}

function exprSql(e: Expr, ctx: SqlContext, col: (f: string) => string): string {
  if (e.kind === 'number') return String(e.value);
  if (e.kind === 'field') return numeric(ctx, col(e.name));
  const l = exprSql(e.left, ctx, col);
  const r = exprSql(e.right, ctx, col);
  return e.op === '/' ? `(${l} / NULLIF(${r}, 0))` : `(${l} ${e.op} ${r})`;
}

/** The aggregate expression of a metric, or null when it cannot be pushed down. */
export function aggregateSql(metric: MetricDef, ctx: SqlContext): { sql: string; params: unknown[] } | null {
  const columns = new Map<string, string>();
  for (const f of fieldsOf(metric)) {
    const c = ctx.column(f);
    if (c === null) return null;
    columns.set(f, ctx.quote(c));
  }
  const col = (f: string) => columns.get(f)!;
  const a = metric.arg;
  switch (metric.fn) {
    case 'count':
      if (a.kind === 'all') return { sql: 'COUNT(*)', params: [] };
      if (a.kind === 'present') return { sql: `COUNT(CASE WHEN ${col(a.field)} IS NOT NULL AND TRIM(CAST(${col(a.field)} AS ${TEXT[ctx.dialect]})) <> '' THEN 1 END)`, params: [] };
      if (a.kind === 'equals') return { sql: `COUNT(CASE WHEN ${col(a.field)} ${a.negate ? '<>' : '='} ? THEN 1 END)`, params: [a.value] };
      return null;
    case 'distinct':
      return a.kind === 'present' ? { sql: `COUNT(DISTINCT ${col(a.field)})`, params: [] } : null;
    default:
      return a.kind === 'expr' ? { sql: `${metric.fn.toUpperCase()}(${exprSql(a.expr, ctx, col)})`, params: [] } : null;
  }
}
