import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileStamp, findReport, pruneReports } from '../../src/agent/reports.js';
import { tempDir } from '../helpers/tmp.js';

describe('report retention', () => {
  it('removes only report files older than the limit, never latest.* or other files', () => {
    const dir = tempDir();
    const now = new Date('2026-11-22T03:00:00Z');
    const old = fileStamp('2026-10-22T02:59:59.000Z');
    const edge = fileStamp('2026-10-23T03:00:00.000Z');
    const names = [
      `${old}-run-a.json`, `${old}-run-a.md`, `${old}-run-a.html`,
      `${edge}-run-b.json`,
      `${fileStamp(now.toISOString())}-run-c.json`,
      'latest.json', 'latest.md', 'latest.html', 'README.md', 'notes.txt',
    ];
    for (const n of names) writeFileSync(path.join(dir, n), n);
    expect(pruneReports(dir, 30, now).sort()).toEqual([`${old}-run-a.html`, `${old}-run-a.json`, `${old}-run-a.md`]);
    expect(readdirSync(dir).sort()).toEqual(names.slice(3).sort());
    expect(pruneReports(dir, 0, now)).toEqual([]);
  });

  it("finds a run's report by id, and nothing outside the folder", () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, `${fileStamp('2026-11-22T03:00:00.000Z')}-abc-123.md`), 'x');
    expect(findReport(dir, 'abc-123', 'md')).toBe(path.join(dir, '20261122T030000Z-abc-123.md'));
    expect(findReport(dir, '../abc-123', 'md')).toBeNull();
    expect(findReport(dir, 'abc-123', 'json')).toBeNull();
    expect(findReport(dir, 'latest', 'md')).toBeNull();
  });
});
