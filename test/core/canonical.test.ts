import { describe, expect, it } from 'vitest';
import { canonicalValue, encodeKey, hashFields, sortedFields } from '../../src/core/canonical.js';

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
