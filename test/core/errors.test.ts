import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeError, ERROR_CODES, ParityError } from '../../src/core/errors.js';
import { clearSecrets, redact, registerSecret } from '../../src/core/redact.js';
import { ROOT } from '../helpers/cli.js';

describe('error codes', () => {
  it('every code is documented in docs/errors.md with its kind', () => {
    const doc = readFileSync(path.join(ROOT, 'docs/errors.md'), 'utf8');
    for (const [code, kind] of Object.entries(ERROR_CODES)) {
      expect(doc, code).toMatch(new RegExp(`\\| \`${code}\` \\| ${kind} \\|`));
    }
    const documented = [...doc.matchAll(/\| `(PARITY_[A-Z_]+)` \|/g)].map((m) => m[1]);
    expect(documented.sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });

  it('an error carries its code and kind and a redacted message', () => {
    registerSecret('hunter2-secret');
    const err = new ParityError('PARITY_HTTP_STATUS', 'GET https://u:pw@api.example.com/x?token=hunter2-secret failed');
    expect(err.kind).toBe('system');
    expect(err.message).toBe('GET https://u:***@api.example.com/x?token=*** failed');
    clearSecrets();
  });
});

describe('redact and describeError', () => {
  it('masks registered secrets and URL credentials, and ignores very short values', () => {
    registerSecret('abc');
    registerSecret('s3cr3t-value');
    expect(redact('abc s3cr3t-value postgres://app:pw@db:5432/x')).toBe('abc *** postgres://app:***@db:5432/x');
    clearSecrets();
    expect(redact('s3cr3t-value')).toBe('s3cr3t-value');
  });

  it('describes system errors with their code on one line', () => {
    const e = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    expect(describeError(e)).toBe('connect ECONNREFUSED 127.0.0.1:1');
    const t = Object.assign(new Error('timeout of 200ms exceeded'), { code: 'ECONNABORTED' });
    expect(describeError(t)).toBe('ECONNABORTED: timeout of 200ms exceeded');
    expect(describeError('plain')).toBe('plain');
  });
});
