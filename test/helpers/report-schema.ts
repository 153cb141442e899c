// Validates report JSON against reports/schema.json (ajv, JSON Schema 2020-12).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { expect } from 'vitest';
import { ROOT } from './cli.js';

const ajv = new Ajv2020.default({ allErrors: true, strict: true });
addFormats.default(ajv);
const validate = ajv.compile(JSON.parse(readFileSync(path.join(ROOT, 'reports/schema.json'), 'utf8')));

/** Fails the test, naming each violation, when the report does not fit the schema. */
export function expectValidReport(report: unknown): void {
  const ok = validate(report);
  expect(ok ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`)).toEqual([]);
}

/** Parses a report and checks it against the schema. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function parseReport(text: string): any {
  const report: unknown = JSON.parse(text);
  expectValidReport(report);
  return report;
}
