// Entity statistics from the `metrics` config: count(), count(field), count(field = v),
// sum/avg/min/max(expr), distinct(field), each optionally grouped `by` a field. Parsed once
// (jsep, no eval); computed while streaming here, or pushed down to SQL by the SQL collector.
import jsep from 'jsep';
import { canonicalValue } from '../core/canonical.js';

export type Aggregate = 'count' | 'sum' | 'avg' | 'min' | 'max' | 'distinct';

export type Expr =
  | { kind: 'field'; name: string }
  | { kind: 'number'; value: number }
  | { kind: 'op'; op: '+' | '-' | '*' | '/'; left: Expr; right: Expr };

export type MetricArg =
  | { kind: 'all' }
  | { kind: 'present'; field: string }
  | { kind: 'equals'; field: string; value: string | number | boolean | null; negate: boolean }
  | { kind: 'expr'; expr: Expr };

export interface MetricDef {
  name: string;
  text: string;
  fn: Aggregate;
  arg: MetricArg;
  by?: string | undefined;
}

/** A metric's value: one number, or one per group. */
export type MetricValue = number | Map<string, number>;

export class MetricSpecError extends Error {}

const AGGREGATES: Aggregate[] = ['count', 'sum', 'avg', 'min', 'max', 'distinct'];

function toExpr(node: jsep.Expression, text: string): Expr {
  if (node.type === 'Identifier') return { kind: 'field', name: (node as jsep.Identifier).name };
  if (node.type === 'Literal' && typeof (node as jsep.Literal).value === 'number') return { kind: 'number', value: (node as jsep.Literal).value as number };
  if (node.type === 'BinaryExpression') {
    const b = node as jsep.BinaryExpression;
    if (['+', '-', '*', '/'].includes(b.operator)) return { kind: 'op', op: b.operator as '+', left: toExpr(b.left, text), right: toExpr(b.right, text) };
  }
  if (node.type === 'UnaryExpression' && (node as jsep.UnaryExpression).operator === '-') {
    return { kind: 'op', op: '-', left: { kind: 'number', value: 0 }, right: toExpr((node as jsep.UnaryExpression).argument, text) };
  }
  throw new MetricSpecError(`"${text}": use fields, numbers and + - * / inside the aggregate`);
}

/** Parses "sum(price * stock)" or { expr, by }. Throws MetricSpecError with what to write. */
export function parseMetric(name: string, spec: string | { expr: string; by?: string | undefined }): MetricDef {
  const text = typeof spec === 'string' ? spec : spec.expr;
  const by = typeof spec === 'string' ? undefined : spec.by;
  // count(*) is count(); a single "=" is equality, as in SQL.
  const source = text.replace(/\(\s*\*\s*\)/, '()').replace(/([^=!<>])=(?!=)/g, '$1==');
  let ast: jsep.Expression;
  try {
    ast = jsep(source);
  } catch (err) {
    throw new MetricSpecError(`"${text}": ${(err as Error).message}`);
  }
  const call = ast as jsep.CallExpression;
  const fn = call.type === 'CallExpression' && call.callee.type === 'Identifier' ? ((call.callee as jsep.Identifier).name as Aggregate) : undefined;
  if (!fn || !AGGREGATES.includes(fn)) throw new MetricSpecError(`"${text}": use one of ${AGGREGATES.map((a) => `${a}(…)`).join(', ')}`);
  const args = call.arguments;
  if (args.length > 1) throw new MetricSpecError(`"${text}": ${fn} takes one argument`);
  const [arg] = args;
  let parsed: MetricArg;
  if (!arg) {
    if (fn !== 'count') throw new MetricSpecError(`"${text}": ${fn} needs an argument`);
    parsed = { kind: 'all' };
  } else if (fn === 'count' || fn === 'distinct') {
    if (arg.type === 'Identifier') parsed = { kind: 'present', field: (arg as jsep.Identifier).name };
    else if (fn === 'count' && arg.type === 'BinaryExpression' && ['==', '!='].includes((arg as jsep.BinaryExpression).operator)) {
      const b = arg as jsep.BinaryExpression;
      const [field, literal] = b.left.type === 'Identifier' ? [b.left, b.right] : [b.right, b.left];
      if (field.type !== 'Identifier' || literal.type !== 'Literal') throw new MetricSpecError(`"${text}": compare a field with a value, as in count(status = 'active')`);
      parsed = { kind: 'equals', field: (field as jsep.Identifier).name, value: (literal as jsep.Literal).value as string, negate: b.operator === '!=' };
    } else throw new MetricSpecError(`"${text}": ${fn} takes a field${fn === 'count' ? ' or field = value' : ''}`);
  } else {
    parsed = { kind: 'expr', expr: toExpr(arg, text) };
  }
  return { name, text, fn, arg: parsed, by };
}

export function fieldsOf(metric: MetricDef): string[] {
  const out = new Set<string>();
  const walk = (e: Expr) => {
    if (e.kind === 'field') out.add(e.name);
    if (e.kind === 'op') {
      walk(e.left);
      walk(e.right);
    }
  };
  const a = metric.arg;
  if (a.kind === 'present' || a.kind === 'equals') out.add(a.field);
  if (a.kind === 'expr') walk(a.expr);
  if (metric.by) out.add(metric.by);
  return [...out];
}

const isEmpty = (v: unknown) => v === null || v === undefined || (typeof v === 'string' && v.trim() === '');

/** A number from a field value, or null (SQL's NULL: skipped by the aggregates). */
function evaluate(e: Expr, fields: Record<string, unknown>): number | null {
  if (e.kind === 'number') return e.value;
  if (e.kind === 'field') {
    const v = fields[e.name];
    if (isEmpty(v)) return null;
    const n = typeof v === 'boolean' ? Number(v) : Number(v instanceof Date ? v.getTime() : v);
    return Number.isFinite(n) ? n : null;
  }
  const l = evaluate(e.left, fields);
  const r = evaluate(e.right, fields);
  if (l === null || r === null) return null;
  switch (e.op) {
    case '+':
      return l + r;
    case '-':
      return l - r;
    case '*':
      return l * r;
    case '/':
      return r === 0 ? null : l / r;
  }
}

interface Cell {
  n: number;
  sum: number;
  min: number;
  max: number;
  distinct?: Set<string>;
}

/** Computes metrics over a stream of records' fields. */
export class MetricAccumulator {
  private readonly cells = new Map<string, Map<string, Cell>>();

  constructor(private readonly metrics: readonly MetricDef[]) {
    for (const m of metrics) this.cells.set(m.name, new Map());
  }

  add(fields: Record<string, unknown>): void {
    for (const m of this.metrics) {
      const group = m.by ? (canonicalValue(fields[m.by]) ?? '(null)') : '';
      const groups = this.cells.get(m.name)!;
      let cell = groups.get(group);
      if (!cell) {
        cell = { n: 0, sum: 0, min: Number.POSITIVE_INFINITY, max: Number.NEGATIVE_INFINITY };
        groups.set(group, cell);
      }
      const a = m.arg;
      if (m.fn === 'count') {
        if (a.kind === 'all') cell.n++;
        else if (a.kind === 'present' && !isEmpty(fields[a.field])) cell.n++;
        else if (a.kind === 'equals') {
          const v = fields[a.field];
          if (v === null || v === undefined) continue; // SQL: NULL = x and NULL <> x are both unknown
          if ((canonicalValue(v) === canonicalValue(a.value)) !== a.negate) cell.n++;
        }
      } else if (m.fn === 'distinct' && a.kind === 'present') {
        const v = canonicalValue(fields[a.field]);
        if (v !== null) (cell.distinct ??= new Set()).add(v);
      } else if (a.kind === 'expr') {
        const v = evaluate(a.expr, fields);
        if (v === null) continue;
        cell.n++;
        cell.sum += v;
        if (v < cell.min) cell.min = v;
        if (v > cell.max) cell.max = v;
      }
    }
  }

  values(): Map<string, MetricValue> {
    const out = new Map<string, MetricValue>();
    for (const m of this.metrics) {
      const groups = new Map<string, number>();
      for (const [group, cell] of this.cells.get(m.name)!) groups.set(group, finalValue(m.fn, cell));
      out.set(m.name, m.by ? groups : (groups.get('') ?? emptyValue(m.fn)));
    }
    return out;
  }
}

function finalValue(fn: Aggregate, c: Cell): number {
  switch (fn) {
    case 'count':
      return c.n;
    case 'distinct':
      return c.distinct?.size ?? 0;
    case 'sum':
      return c.sum;
    case 'avg':
      return c.n ? c.sum / c.n : 0;
    case 'min':
      return c.n ? c.min : 0;
    case 'max':
      return c.n ? c.max : 0;
  }
}

/** What an aggregate over no rows reports (SQL gives NULL for sum/avg/min/max; parity shows 0). */
function emptyValue(_fn: Aggregate): number {
  return 0;
}
