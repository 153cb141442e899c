import { describe, expect, it } from 'vitest';
import { canonicalValue, compareValue, encodeKey, hashCells, hashFields, sortedFields } from '../../src/core/canonical.js';

describe('canonicalValue', () => {
  it('gives one form to numbers however they were written', () => {
    expect(canonicalValue(1.5)).toBe('1.5');
    expect(canonicalValue(1.50)).toBe(canonicalValue(1.5));
    expect(canonicalValue(-0)).toBe('0');
    expect(canonicalValue(10n)).toBe('10');
  });

  it('keeps strings exactly, so leading zeros stay', () => {
    expect(canonicalValue('007')).toBe('007');
    expect(canonicalValue('007')).not.toBe(canonicalValue(7));
  });

  it('maps null and undefined to null, and keeps empty strings apart', () => {
    expect(canonicalValue(null)).toBeNull();
    expect(canonicalValue(undefined)).toBeNull();
    expect(canonicalValue('')).toBe('');
  });

  it('writes dates in UTC and objects with sorted keys', () => {
    expect(canonicalValue(new Date(Date.UTC(2026, 0, 2, 3, 4, 5)))).toBe('2026-01-02T03:04:05.000Z');
    expect(canonicalValue({ b: 1, a: [2, { d: 1, c: 2 }] })).toBe(canonicalValue({ a: [2, { c: 2, d: 1 }], b: 1 }));
    expect(canonicalValue(true)).toBe('true');
  });
});

describe('encodeKey', () => {
  it('never lets composite keys collide through a separator', () => {
    expect(encodeKey(['a|b', 'c'])).not.toBe(encodeKey(['a', 'b|c']));
    expect(encodeKey(['a', 'b'])).toBe('["a","b"]');
  });

  it('uses the bare value for a single key and treats numbers and their strings alike', () => {
    expect(encodeKey(['SKU-1'])).toBe('SKU-1');
    expect(encodeKey([1001])).toBe(encodeKey(['1001']));
  });

  it('refuses a key with an empty or missing part', () => {
    expect(encodeKey([null])).toBeNull();
    expect(encodeKey(['a', ''])).toBeNull();
    expect(encodeKey([undefined, 'b'])).toBeNull();
  });
});

describe('hashFields', () => {
  it('does not depend on the order fields were read in', () => {
    const compare = sortedFields(['price', 'name']);
    expect(hashFields({ name: 'x', price: '1.50' }, compare)).toBe(hashFields({ price: '1.50', name: 'x' }, compare));
  });

  it('changes when a compared field changes and ignores fields not compared', () => {
    const compare = ['name'];
    const base = hashFields({ name: 'x', note: 'a' }, compare);
    expect(hashFields({ name: 'y', note: 'a' }, compare)).not.toBe(base);
    expect(hashFields({ name: 'x', note: 'b' }, compare)).toBe(base);
  });

  it('tells null from the string "null" and from an empty string', () => {
    const compare = ['v'];
    const hashes = new Set([hashFields({ v: null }, compare), hashFields({ v: 'null' }, compare), hashFields({ v: '' }, compare)]);
    expect(hashes.size).toBe(3);
  });
});

describe('compareValue of text', () => {
  // The definition the character-by-character reading must agree with.
  const DECIMAL = /^-?(0|[1-9]\d*)(\.\d+)?$/;
  const normal = (t: string) => {
    if (!DECIMAL.test(t)) return t;
    const v = t.includes('.') ? t.replace(/0+$/, '').replace(/\.$/, '') : t;
    return v === '-0' ? '0' : v;
  };

  it('reads a text as a decimal exactly when the pattern does, on every short text of digits, signs and dots', () => {
    const alphabet = ['0', '1', '7', '-', '.', 'e', ' '];
    let texts = [''];
    const all: string[] = [];
    for (let len = 1; len <= 5; len++) {
      texts = texts.flatMap((t) => alphabet.map((c) => t + c));
      all.push(...texts);
    }
    expect(all.length).toBeGreaterThan(19_000);
    const wrong = all.filter((t) => compareValue(t) !== normal(t));
    expect(wrong).toEqual([]);
    expect(compareValue('10.50')).toBe('10.5');
    expect(compareValue('007')).toBe('007');
    expect(compareValue('-0.00')).toBe('0');
  });
});

describe('hashCells', () => {
  it('gives the hash hashFields gives the same values, empty and absent cells as null', () => {
    const compare = sortedFields(['price', 'name', 'stock', 'note']);
    const cells = [undefined, 'A-1', 'widget', '10.50', '', 'x'];
    // name at 2, note absent (-1), price at 3, stock at 4 (empty).
    const at = compare.map((f) => ({ name: 2, note: -1, price: 3, stock: 4 })[f]!);
    expect(hashCells(cells, at)).toBe(hashFields({ name: 'widget', price: '10.5', stock: null }, compare));
    expect(hashCells(cells, at)).toBe(hashFields({ name: 'widget', price: 10.5, stock: null, note: undefined }, compare));
    expect(hashCells(['', 'A', 'widget2', '10.5', ''], at)).not.toBe(hashCells(cells, at));
  });
});
