import { describe, expect, it } from 'vitest';
import { band, entityMatch, healthScore, metricMatch, percent, trippedThresholds } from '../../src/reconcile/score.js';

const counts = (c: Partial<Record<'matched' | 'missing' | 'extra' | 'changed', number>>) => ({
  matched: 0, missing: 0, extra: 0, changed: 0, duplicates: 0, invalid: 0, ...c,
});

describe('score', () => {
  it('entity match is matched over everything compared, 100 when both sides are empty', () => {
    expect(entityMatch(counts({ matched: 1237, missing: 10, changed: 3 }))).toBeCloseTo((100 * 1237) / 1250, 10);
    expect(entityMatch(counts({}))).toBe(100);
    expect(entityMatch(counts({ extra: 4 }))).toBe(0);
  });

  it('metric match follows DESIGN', () => {
    expect(metricMatch(1200, 1190)).toBeCloseTo(100 * (1 - 10 / 1200), 10);
    expect(metricMatch(0, 0)).toBe(100);
    expect(metricMatch(-5, 5)).toBe(-100);
    expect(metricMatch(50, 100)).toBe(50);
  });

  it('health is the weighted mean, a failed entity counts 0', () => {
    expect(healthScore([{ match: 100, weight: 1 }, { match: 90, weight: 3 }])).toBe(92.5);
    expect(healthScore([{ match: 100, weight: 1 }, { match: null, weight: 1 }])).toBe(50);
    expect(healthScore([])).toBe(100);
  });

  it('bands use >= at each boundary, with configurable bands', () => {
    expect(band(99)).toBe('perfect');
    expect(band(98.99)).toBe('good');
    expect(band(95)).toBe('good');
    expect(band(90)).toBe('warning');
    expect(band(89.99)).toBe('critical');
    expect(band(97, { perfect: 100, good: 98, warning: 96 })).toBe('warning');
  });

  it('thresholds trip in words; without thresholds any drift trips', () => {
    expect(trippedThresholds(counts({ matched: 10 }), 100)).toEqual([]);
    expect(trippedThresholds(counts({ missing: 1, extra: 2 }), 50)).toEqual(['missing 1 > 0', 'extra 2 > 0']);
    expect(trippedThresholds(counts({ missing: 12, changed: 5 }), 97.5, { missing: 5, changed: 5, matchBelow: 98 })).toEqual([
      'missing 12 > 5',
      'match 97.5 < 98',
    ]);
    expect(trippedThresholds(counts({ missing: 5 }), 99, { missing: 5, matchBelow: 98 })).toEqual([]);
  });

  it('percent never rounds up to 100', () => {
    expect(percent(99.999)).toBe(99.99);
    expect(percent(100)).toBe(100);
    expect(percent(96.3254)).toBe(96.32);
  });
});
