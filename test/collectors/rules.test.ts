import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { RecordMapper } from '../../src/collectors/mapper.js';
import { applyRules, atPrecision, type FieldRules } from '../../src/collectors/rules.js';
import { compareValue, hashFields } from '../../src/core/canonical.js';

describe('compareValue: numbers compared as decimals', () => {
  it('takes float noise out and reads decimal text by value', () => {
    expect(compareValue(0.1 + 0.2)).toBe('0.3');
    expect(compareValue('10.50')).toBe('10.5');
    expect(compareValue(10.5)).toBe('10.5');
    expect(compareValue('-0.0')).toBe('0');
    expect(compareValue('1.0')).toBe('1');
    expect(compareValue(12)).toBe('12');
  });

  it('keeps text that is not a plain decimal as text', () => {
    expect(compareValue('007')).toBe('007');
    expect(compareValue('1e3')).toBe('1e3');
    expect(compareValue(' 1.5')).toBe(' 1.5');
    expect(compareValue('1,5')).toBe('1,5');
    expect(compareValue(null)).toBeNull();
  });

  it('so a PostgreSQL numeric and a JSON number hash alike', () => {
    expect(hashFields({ price: '10.50' }, ['price'])).toBe(hashFields({ price: 10.5 }, ['price']));
    expect(hashFields({ sku: '007' }, ['sku'])).not.toBe(hashFields({ sku: 7 }, ['sku']));
  });
});

describe('field rules', () => {
  const rules = (r: Partial<FieldRules>): FieldRules => ({ emptyIsNull: false, precision: {}, validate: {}, ...r });

  it('emptyIsNull makes empty text null, for all fields or the ones named', () => {
    const all = { a: '', b: '  ', c: 'x' };
    expect(applyRules(all, rules({ emptyIsNull: true }))).toBeNull();
    expect(all).toEqual({ a: null, b: null, c: 'x' });
    const some = { a: '', b: '' };
    applyRules(some, rules({ emptyIsNull: ['b'] }));
    expect(some).toEqual({ a: '', b: null });
  });

  it('precision cuts dates; a date-only value keeps its calendar date', () => {
    expect(atPrecision('2026-03-04T23:59:59+02:00', 'day')).toBe('2026-03-04');
    expect(atPrecision('2026-03-04', 'day')).toBe('2026-03-04');
    expect(atPrecision('2026-03-04 10:11:12.345', 'minute')).toBe('2026-03-04T10:11');
    expect(atPrecision(new Date(Date.UTC(2026, 2, 4, 10, 11, 12, 345)), 'second')).toBe('2026-03-04T10:11:12');
    expect(atPrecision(null, 'day')).toBeNull();
    expect(() => atPrecision('soon', 'day')).toThrow('"soon" is not a date');
  });

  it('validate: required, pattern, min, max, oneOf, each with its reason', () => {
    const r = rules({ validate: { sku: { required: true, pattern: '^SKU-' }, price: { min: 0, max: 1000 }, status: { oneOf: ['active', 'blocked'] } } });
    expect(applyRules({ sku: 'SKU-1', price: '5.00', status: 'active' }, r)).toBeNull();
    expect(applyRules({ sku: null, price: 1, status: 'active' }, r)).toBe('field sku is required');
    expect(applyRules({ sku: 'X-1', price: 1, status: 'active' }, r)).toBe('field sku: "X-1" does not match ^SKU-');
    expect(applyRules({ sku: 'SKU-1', price: '-0.01', status: 'active' }, r)).toBe('field price: -0.01 is below the minimum 0');
    expect(applyRules({ sku: 'SKU-1', price: 1000.5, status: 'active' }, r)).toBe('field price: 1000.5 is above the maximum 1000');
    expect(applyRules({ sku: 'SKU-1', price: 'abc', status: 'active' }, r)).toBe('field price: "abc" is not a number');
    expect(applyRules({ sku: 'SKU-1', price: 1, status: 'gone' }, r)).toBe('field status: "gone" is not one of active, blocked');
    expect(applyRules({ sku: 'SKU-1', price: null, status: null }, r)).toBeNull();
  });

  it('a record that breaks a rule is invalid with the reason, before its key is read', () => {
    const mapper = new RecordMapper({
      keyChains: [['sku']],
      compareFields: ['price'],
      mappings: [
        { name: 'sku', from: 'sku', transforms: [] },
        { name: 'price', from: 'price', transforms: [] },
      ],
      rules: rules({ validate: { price: { min: 0 } } }),
    });
    expect(mapper.map({ sku: 'A', price: -1 }, 'row 3')).toEqual({ invalid: { ref: 'row 3 (key A)', reason: 'field price: -1 is below the minimum 0' } });
    expect(mapper.map({ sku: 'B', price: 2 }, 'row 4').record?.key).toBe('B');
  });
});

describe('records the mapper makes', () => {
  it('are never allocated in the old generation because some of them waited: V8 takes no tenuring decision for them', () => {
    // A side that reads ahead: each record waits for 5,000 others before it is dropped, so
    // most of them outlive a young collection. Had the records been object literals, V8 would
    // have decided to allocate every record in the old generation from then on.
    const script = `
      const { RecordMapper } = await import(${JSON.stringify(path.join(inject('agentBuild'), 'collectors/mapper.js'))});
      const mapper = new RecordMapper({ keyChains: [['sku']], compareFields: ['name', 'price'] });
      const waiting = new Array(5000);
      for (let i = 0; i < 200000; i++) waiting[i % 5000] = mapper.map({ sku: 'SKU-' + i, name: 'product ' + i, price: i / 100 }, 'row').record;
      console.log(waiting.filter(Boolean).length);
    `;
    const out = execFileSync(process.execPath, ['--trace-pretenuring-statistics', '--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(out).toMatch(/^5000$/m);
    // "maybe tenure" after a young collection, "tenure" once a full one confirms it.
    expect(out.split('\n').filter((l) => /=> (maybe )?tenure/.test(l))).toEqual([]);
  });
});
