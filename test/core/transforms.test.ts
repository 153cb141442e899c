import Big from 'big.js';
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

  it('decimal(n) and int give what big.js gives for every shape of number and text', () => {
    // The common shapes skip big.js; every shape must come out as big.js makes it.
    let seed = 7;
    const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
    const digits = (n: number) => Array.from({ length: n }, () => Math.floor(rnd() * 10)).join('');
    const texts = ['0', '-0', '-0.00', '0.0', '00', '007', '1.', '.5', '-.5', '+1.5', '1e3', '1E-2', '-', '', '1.2.3', '12a', ' 5 ', '9007199254740993', '-9007199254740993', '123456789012345', '1234567890123456'];
    for (let i = 0; i < 3000; i++) {
      const int = pick(['0', '', digits(1), digits(3), digits(8), digits(16)]);
      const frac = pick(['', '.', `.${digits(1)}`, `.${digits(2)}`, `.${digits(3)}`, `.${digits(7)}`, '.50', '.00']);
      texts.push(`${pick(['', '', '-', '+', ' '])}${int}${frac}${pick(['', '', '', ' ', 'e2'])}`);
    }
    const values: unknown[] = [...texts, 0, -0, 1.005, 2.5, -2.5, 0.1 + 0.2, 1e21, -1e-7, 123.456, 5e-324, 2 ** 53, 2 ** 53 + 2, -17, 1 / 3];
    for (let i = 0; i < 2000; i++) values.push(Math.round((rnd() - 0.5) * 10 ** Math.floor(rnd() * 10)) / 10 ** Math.floor(rnd() * 5));
    // Numbers with a few decimals take a path of their own: also near its limits (15 digits),
    // past them, and with float noise.
    for (let i = 0; i < 2000; i++) {
      const sign = rnd() < 0.3 ? -1 : 1;
      const k = Math.floor(rnd() * 10 ** Math.floor(rnd() * 17));
      values.push(sign * (k / 10 ** Math.floor(rnd() * 4)), sign * rnd() * 10 ** Math.floor(rnd() * 16), sign * (k / 100 + 0.1 + 0.2));
    }
    const big = (v: unknown) => new Big(typeof v === 'string' ? v.trim().replace(/^\+/, '') : String(Object.is(v, -0) ? 0 : v));
    const outcome = (f: () => unknown) => {
      try {
        return f();
      } catch (err) {
        return err instanceof TransformError ? 'error' : err;
      }
    };
    let checked = 0;
    for (const v of values) {
      if (typeof v === 'string' && v.trim() === '') continue;
      for (const places of [0, 2, 3]) {
        const expected = outcome(() => { try { return big(v).toFixed(places, Big.roundHalfUp); } catch { return 'error'; } });
        expect([v, places, outcome(() => run(`decimal(${places})`, v))]).toEqual([v, places, expected]);
        checked++;
      }
      const whole = outcome(() => { try { const b = big(v); return b.eq(b.round(0, Big.roundDown)) ? Number(b.toFixed(0)) : 'error'; } catch { return 'error'; } });
      expect([v, outcome(() => run('int', v))]).toEqual([v, whole]);
    }
    expect(checked).toBeGreaterThan(10_000);
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
