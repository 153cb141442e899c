// The one failure classifier: each HTTP status, network error and SQL error gets the code,
// kind and action that drive the retries, the breaker, the outbox and the messages.
import { AxiosError, AxiosHeaders } from 'axios';
import { readFileSync } from 'node:fs';
import * as sequelize from 'sequelize';
import { describe, expect, it } from 'vitest';
import { classifyHttp, classifySql, countsAgainstSystem } from '../../src/core/failure.js';

function answered(status: number, headers: Record<string, string> = {}): AxiosError {
  const config = { headers: new AxiosHeaders() };
  return new AxiosError(`HTTP ${status}`, undefined, config, undefined, { status, statusText: '', headers, config, data: '' });
}
function failed(code: string): AxiosError {
  return new AxiosError('no answer', code);
}

describe('classifyHttp', () => {
  it('maps statuses and network errors to code, kind and action, for reads and for pushes', () => {
    const cases: [AxiosError, 'read' | 'write', string, string, string][] = [
      [answered(401), 'write', 'PARITY_HTTP_AUTH', 'config', 'refuse'],
      [answered(403), 'read', 'PARITY_HTTP_AUTH', 'config', 'refuse'],
      [answered(400), 'write', 'PARITY_HTTP_REFUSED', 'data', 'refuse'],
      [answered(422), 'write', 'PARITY_HTTP_REFUSED', 'data', 'refuse'],
      [answered(404), 'write', 'PARITY_HTTP_ENDPOINT', 'config', 'fail'],
      [answered(405), 'read', 'PARITY_HTTP_ENDPOINT', 'config', 'fail'],
      [answered(409), 'write', 'PARITY_HTTP_STATUS', 'system', 'retry'],
      [answered(409), 'read', 'PARITY_HTTP_ENDPOINT', 'config', 'fail'],
      [answered(429, { 'retry-after': '2' }), 'read', 'PARITY_HTTP_STATUS', 'system', 'retry'],
      [answered(429, { 'retry-after': '3600' }), 'write', 'PARITY_HTTP_STATUS', 'system', 'retry-later'],
      [answered(503), 'write', 'PARITY_HTTP_STATUS', 'system', 'retry'],
      [answered(307), 'write', 'PARITY_ORIGIN_REFUSED', 'system', 'retry-later'],
      [answered(200), 'read', 'PARITY_HTTP_BAD_RESPONSE', 'data', 'fail'],
      [failed('ECONNRESET'), 'write', 'PARITY_SYSTEM_UNREACHABLE', 'system', 'retry'],
      [failed('ERR_NETWORK'), 'read', 'PARITY_SYSTEM_UNREACHABLE', 'system', 'retry'],
      [failed('ERR_BAD_OPTION'), 'read', 'PARITY_SYSTEM_UNREACHABLE', 'system', 'fail'],
      [failed('ERR_CANCELED'), 'read', 'PARITY_ABORTED', 'transient', 'retry-later'],
      [failed('EOPENBREAKER'), 'write', 'PARITY_BREAKER_OPEN', 'system', 'retry-later'],
    ];
    for (const [error, op, code, kind, action] of cases) {
      expect(classifyHttp(error, op), `${error.response?.status ?? error.code} ${op}`).toEqual({ code, kind, action });
    }
  });

  it('counts only the system being unwell towards the breaker, not the request’s own fault', () => {
    expect(countsAgainstSystem(classifyHttp(answered(503), 'write'))).toBe(true);
    expect(countsAgainstSystem(classifyHttp(answered(429), 'write'))).toBe(true);
    expect(countsAgainstSystem(classifyHttp(failed('ECONNREFUSED'), 'write'))).toBe(true);
    for (const status of [400, 401, 403, 404, 422]) expect(countsAgainstSystem(classifyHttp(answered(status), 'write')), String(status)).toBe(false);
  });
});

describe('classifySql', () => {
  it('a lost connection keeps the rows for later; a refused statement refuses them', () => {
    expect(classifySql(new sequelize.ConnectionRefusedError(new Error('connect ECONNREFUSED 127.0.0.1:5432')))).toEqual({ code: 'PARITY_SQL_CONNECTION_LOST', kind: 'system', action: 'retry-later' });
    expect(classifySql(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }))).toMatchObject({ action: 'retry-later' });
    expect(classifySql(new sequelize.UniqueConstraintError({ message: 'duplicate key' }))).toEqual({ code: 'PARITY_SQL_ERROR', kind: 'system', action: 'refuse' });
  });

  it("knows every connection error Sequelize exports, and its timeout, without loading Sequelize", () => {
    // Every export that is a ConnectionError, found in Sequelize itself: a new one is caught here.
    type ErrorClass = new (parent: Error) => Error;
    const connectionErrors = (Object.values(sequelize) as unknown[]).filter((v): v is ErrorClass => typeof v === 'function' && (v === sequelize.ConnectionError || (v as ErrorClass).prototype instanceof sequelize.ConnectionError));
    expect(connectionErrors.length).toBeGreaterThanOrEqual(8);
    for (const E of [...connectionErrors, sequelize.TimeoutError as unknown as ErrorClass]) {
      const error = new E(new Error('gone'));
      expect(classifySql(error), error.name).toMatchObject({ code: 'PARITY_SQL_CONNECTION_LOST' });
      // Wrapped, as a loader's error carries it.
      expect(classifySql(Object.assign(new Error('write failed'), { parent: error })), error.name).toMatchObject({ code: 'PARITY_SQL_CONNECTION_LOST' });
    }
    expect(readFileSync(new URL('../../src/core/failure.ts', import.meta.url), 'utf8')).not.toMatch(/from 'sequelize'/);
  });
});
