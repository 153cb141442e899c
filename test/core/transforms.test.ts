import { describe, expect, it } from 'vitest';
import { applyTransforms, parseTransforms, TransformError, TransformSpecError } from '../../src/core/transforms.js';

const run = (spec: string, value: unknown) => applyTransforms(parseTransforms(spec), value);

describe('transforms', () => {
  it('decimal(n) gives one fixed-point form, exactly, rounding half up', () => {
    expect(run('decimal(2)', 1.5)).toBe('1.50');
    expect(run('decimal(2)', '1.50')).toBe('1.50');
    expect(run('decimal(2)', ' 1.5 ')).toBe('1.50');
    expect(run('decimal(2)', 1.005)).toBe('1.01');
    expect(run('decimal(2)', 0.1 + 0.2)).toBe('0.30');
    expect(run('decimal(0)', '2.5')).toBe('3');
    expect(run('decimal(2)', '')).toBeNull();
    expect(() => run('decimal(2)', 'abc')).toThrow(TransformError);
  });

  it('trim, lower and upper change strings only', () => {
    expect(run('trim | lower', '  AbC ')).toBe('abc');
    expect(run('upper', 'abc')).toBe('ABC');
    expect(run('trim', 12)).toBe(12);
  });

  it('int accepts whole numbers in any form and refuses fractions', () => {
    expect(run('int', '12')).toBe(12);
    expect(run('int', '12.0')).toBe(12);
    expect(run('int', 7)).toBe(7);
    expect(run('int', null)).toBeNull();
    expect(() => run('int', '12.5')).toThrow(/not a whole number/);
    expect(() => run('int', 'x')).toThrow(/not a number/);
  });

  it('bool reads the usual spellings', () => {
    expect(run('bool', 'Yes')).toBe(true);
    expect(run('bool', 0)).toBe(false);
    expect(run('bool', 'off')).toBe(false);
    expect(() => run('bool', 'maybe')).toThrow(TransformError);
  });

  it('date and datetime are UTC, whatever the machine zone', () => {
    expect(run('date', '2026-03-04')).toBe('2026-03-04');
    expect(run('date', new Date(Date.UTC(2026, 2, 4, 23, 30)))).toBe('2026-03-04');
    expect(run('date', '2026-03-04T23:30:00+02:00')).toBe('2026-03-04');
    expect(run('datetime', '2026-03-04 10:00:00')).toBe('2026-03-04T10:00:00.000Z');
    expect(() => run('date', 'not a date')).toThrow(TransformError);
  });

  it('default, map, eq, split and join', () => {
    expect(run('default(0)', '')).toBe(0);
    expect(run('default(n/a)', null)).toBe('n/a');
    expect(run('default(0)', 5)).toBe(5);
    expect(run('map({A: active, I: inactive})', 'I')).toBe('inactive');
    expect(run('map({A: active})', 'Z')).toBe('Z');
    expect(run('map({1: yes})', 1)).toBe('yes');
    expect(run('eq(Y)', 'Y')).toBe(true);
    expect(run('eq(Y)', 'N')).toBe(false);
    expect(run('split(";") | join(",")', 'a; b;c')).toBe('a,b,c');
  });

  it('chains split at top-level pipes only', () => {
    expect(run('map({"a|b": x}) | upper', 'a|b')).toBe('X');
  });

  it('names the step that failed', () => {
    expect(() => run('trim | decimal(2)', 'x')).toThrow('decimal(2): "x" is not a number');
  });

  it('refuses unknown transforms and bad arguments at parse time', () => {
    expect(() => parseTransforms('trim | shout')).toThrow(TransformSpecError);
    expect(() => parseTransforms('trim | shout')).toThrow(/unknown transform "shout"/);
    expect(() => parseTransforms('decimal(x)')).toThrow(/decimal\(n\) needs a whole number/);
    expect(() => parseTransforms('trim(3)')).toThrow(/takes no argument/);
    expect(() => parseTransforms('map(5)')).toThrow(/map needs a mapping/);
  });
});
