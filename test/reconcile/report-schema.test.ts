import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { failedEntityReport, REPORT_SCHEMA_VERSION, type RunReport } from '../../src/reconcile/report.js';
import { ROOT } from '../helpers/cli.js';

const ajv = new Ajv2020.default({ allErrors: true, strict: true });
addFormats.default(ajv);
const validate = ajv.compile(JSON.parse(readFileSync(path.join(ROOT, 'reports/schema.json'), 'utf8')));

function report(): RunReport {
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    runId: 'r-1',
    mode: 'full',
    dryRun: false,
    trigger: 'cli',
    startedAt: '2026-11-22T03:00:00.000Z',
    finishedAt: '2026-11-22T03:00:01.000Z',
    durationMs: 1000,
    health: { score: 0, status: 'critical', overallMatch: 100 },
    entities: [failedEntityReport({ name: 'items', sourceSystem: 'erp', targetSystem: 'shop' }, 'failed', 'boom')],
  };
}

describe('reports/schema.json', () => {
  it('accepts a report the code builds', () => {
    expect(validate(report())).toBe(true);
  });

  it('rejects a missing field, a wrong band, an unknown field and a bad timestamp', () => {
    const missing = report() as Partial<RunReport>;
    delete missing.health;
    expect(validate(missing)).toBe(false);
    const band = report();
    (band.health as { status: string }).status = 'fine';
    expect(validate(band)).toBe(false);
    const extra = { ...report(), surprise: 1 };
    expect(validate(extra)).toBe(false);
    const time = { ...report(), startedAt: 'yesterday' };
    expect(validate(time)).toBe(false);
    expect(validate.errors?.[0]?.instancePath).toBe('/startedAt');
  });
});
