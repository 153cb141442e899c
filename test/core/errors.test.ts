import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeError, ERROR_CODES, ParityError } from '../../src/core/errors.js';
import { clearSecrets, redact, registerSecret } from '../../src/core/redact.js';
import { ROOT } from '../helpers/cli.js';

describe('error codes', () => {
  it('every code is documented in docs/errors.md with its kind and action', () => {
    const doc = readFileSync(path.join(ROOT, 'docs/errors.md'), 'utf8');
    for (const [code, { kind, action }] of Object.entries(ERROR_CODES)) {
      expect(doc, code).toMatch(new RegExp(`\\| \`${code}\` \\| ${kind} \\| ${action} \\|`));
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

  it('masks a secret URL-encoded, form-encoded, JSON-escaped and in base64, alone or inside a longer text', () => {
    registerSecret('Ab+cd/ef "KEY"==');
    const encoded = encodeURIComponent('Ab+cd/ef "KEY"==');
    expect(redact(`GET /x?api_key=${encoded}&page=1`)).toBe('GET /x?api_key=***&page=1');
    expect(redact(`api_key=${encoded.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase())}`)).toBe('api_key=***');
    expect(redact(`form: ${new URLSearchParams({ k: 'Ab+cd/ef "KEY"==' })}`)).toBe('form: k=***');
    expect(redact(JSON.stringify({ token: 'Ab+cd/ef "KEY"==' }))).toBe('{"token":"***"}');
    expect(redact(Buffer.from('Ab+cd/ef "KEY"==').toString('base64'))).toBe('***');
    // A Basic auth pair: the secret sits at some offset inside what was encoded.
    for (const user of ['u', 'us', 'use']) {
      const basic = Buffer.from(`${user}:Ab+cd/ef "KEY"==`).toString('base64');
      expect(redact(`Authorization: Basic ${basic}`), user).toMatch(/\*\*\*/);
      // What stays visible is at most the two 4-character groups at each edge (the user, and
      // the secret's first and last bytes that share a group with something else).
      expect(redact(basic).replace(/\*\*\*/, '').length, user).toBeLessThanOrEqual(16);
    }
    clearSecrets();
  });

  it('masks URL credentials whatever the URL looks like', () => {
    expect(redact('postgres://u:p@ss@db:5432/x')).toBe('postgres://u:***@db:5432/x');
    expect(redact('postgres:/u:pw-one@db/x and mysql:u:pw-none@db/y')).toBe('postgres:/u:***@db/x and mysql:u:***@db/y');
    expect(redact('redis://:only-password@cache:6379')).toBe('redis://:***@cache:6379');
  });

  it('describes system errors with their code on one line', () => {
    const e = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    expect(describeError(e)).toBe('connect ECONNREFUSED 127.0.0.1:1');
    const t = Object.assign(new Error('timeout of 200ms exceeded'), { code: 'ECONNABORTED' });
    expect(describeError(t)).toBe('ECONNABORTED: timeout of 200ms exceeded');
    expect(describeError('plain')).toBe('plain');
  });
});
