// Pushes entity metrics down to SQL: one aggregate query per grouping, instead of
// streaming every row. A metric is pushed down only when every field it uses maps to a
// column with no transform, so the database computes exactly what streaming would.
import type { SqlDialect } from '../../core/sql.js';
import { fieldsOf, type Expr, type MetricDef, type MetricValue } from '../../collectors/metrics.js';
import { canonicalValue } from '../../core/canonical.js';

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

/** Computes the metrics it can in the database (one query per `by` grouping); the rest are
 *  left out of the answer for the caller to compute while streaming. */
export async function computeMetrics(
  defs: readonly MetricDef[],
  ctx: SqlContext,
  read: { from: string; where: string; query: <T>(sql: string, params: unknown[]) => Promise<T[]> },
): Promise<Map<string, MetricValue>> {
  const results = new Map<string, MetricValue>();
  const byGrouping = new Map<string, SqlAggregate[]>();
  for (const metric of defs) {
    const agg = aggregateSql(metric, ctx);
    if (!agg) continue;
    const list = byGrouping.get(metric.by ?? '') ?? [];
    list.push({ metric, ...agg });
    byGrouping.set(metric.by ?? '', list);
  }
  const { from, where } = read;
  for (const [by, aggregates] of byGrouping) {
    const select = aggregates.map((a, i) => `${a.sql} AS m${i}`).join(', ');
    const params = aggregates.flatMap((a) => a.params);
    if (!by) {
      const [row] = await read.query<Record<string, unknown>>(`SELECT ${select} FROM ${from} WHERE ${where}`, params);
      aggregates.forEach((a, i) => results.set(a.metric.name, Number(row?.[`m${i}`] ?? 0)));
      continue;
    }
    const group = ctx.quote(ctx.column(by)!);
    const rows = await read.query<Record<string, unknown>>(`SELECT ${group} AS g, ${select} FROM ${from} WHERE ${where} GROUP BY ${group}`, params);
    aggregates.forEach((a, i) => {
      const values = new Map<string, number>();
      for (const row of rows) values.set(canonicalValue(row.g) ?? '(null)', Number(row[`m${i}`] ?? 0));
      results.set(a.metric.name, values);
    });
  }
  return results;
}
