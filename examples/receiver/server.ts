// The reference receiver: a small target system (Hono + SQLite through Sequelize) that holds
// records per entity by local ID, serves them as a paginated list so parity can read it, and
// takes pushes in parity's wire format (POST /sync/:entity with an Idempotency-Key): a
// replayed key gets the stored answer, a key still in flight 409, a key with another
// payload 422, a record whose hash it already holds `unchanged`. It counts how often it
// applied each (localId, hash), so tests can prove nothing was applied twice. The demo and
// the tests talk to it over real HTTP on a loopback port.
import { serve, type ServerType } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import { bearerAuth } from 'hono/bearer-auth';
import { DataTypes, Op, QueryTypes, Sequelize, type Model, type ModelStatic } from 'sequelize';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { receiverFiles, type ReceiverFiles } from './files.js';

export interface ReceiverOptions {
  /** SQLite file; a temporary one (removed on close) when omitted. */
  dbPath?: string;
  /** When set, every route but /healthz needs `Authorization: Bearer <token>`. */
  token?: string;
  /** Largest page a client may ask for. */
  maxPageSize?: number;
  /** Called after a push's key is claimed and before it is applied: tests hold a batch in
   *  flight with it, or make the receiver fail at that point. */
  beforeApply?: (entity: string, key: string) => Promise<void>;
}

export interface SeedRecord {
  localId: string;
  data: Record<string, unknown>;
}

export interface PushRecord {
  localId?: unknown;
  op?: unknown;
  hash?: unknown;
  data?: unknown;
}

export interface PushResult {
  localId: string;
  status: 'created' | 'updated' | 'unchanged' | 'deleted' | 'rejected';
  remoteId?: string;
  error?: string;
}

export interface Receiver {
  app: Hono;
  /** Attachments: files stored per record and field (PUT /files/:entity/:localId/:field). */
  files: ReceiverFiles;
  /** How many times each (localId, hash) of an entity was applied: 1 each, when all is well. */
  applications(entity: string): Promise<Map<string, number>>;
  /** The records the receiver holds for an entity, by local ID. */
  records(entity: string): Promise<Map<string, Record<string, unknown>>>;
  /** Stores records as they are (replacing any with the same local ID). */
  seed(entity: string, records: SeedRecord[]): Promise<void>;
  count(entity: string): Promise<number>;
  /** Starts listening on 127.0.0.1 (port 0: an ephemeral port). */
  listen(port?: number): Promise<{ port: number; url: string }>;
  close(): Promise<void>;
}

type StoredRecord = Model<{ entity: string; local_id: string; data: string; hash: string | null; remote_id: string | null; updated_at: Date }>;
type StoredKey = Model<{ key: string; request_hash: string; state: string; response: string | null; created_at: Date }>;
type Application = Model<{ entity: string; local_id: string; hash: string; count: number }>;

const CHUNK = 500;

export async function createReceiver(options: ReceiverOptions = {}): Promise<Receiver> {
  // A file, never ':memory:': Sequelize gives each transaction its own connection to a file,
  // while an in-memory database has one connection that concurrent requests would share.
  const tempDir = options.dbPath ? null : mkdtempSync(path.join(tmpdir(), 'parity-receiver-'));
  const storage = options.dbPath ?? path.join(tempDir!, 'receiver.db');
  const sequelize = new Sequelize({ dialect: 'sqlite', storage, logging: false });
  await sequelize.query('PRAGMA journal_mode = WAL');
  const Records: ModelStatic<StoredRecord> = sequelize.define<StoredRecord>(
    'Record',
    {
      entity: { type: DataTypes.STRING, primaryKey: true },
      local_id: { type: DataTypes.STRING, primaryKey: true },
      data: { type: DataTypes.TEXT, allowNull: false },
      hash: { type: DataTypes.STRING, allowNull: true },
      remote_id: { type: DataTypes.STRING, allowNull: true },
      updated_at: { type: DataTypes.DATE, allowNull: false },
    },
    { tableName: 'records', timestamps: false },
  );
  const Keys: ModelStatic<StoredKey> = sequelize.define<StoredKey>(
    'IdempotencyKey',
    {
      key: { type: DataTypes.STRING, primaryKey: true },
      request_hash: { type: DataTypes.STRING, allowNull: false },
      state: { type: DataTypes.STRING, allowNull: false },
      response: { type: DataTypes.TEXT, allowNull: true },
      created_at: { type: DataTypes.DATE, allowNull: false },
    },
    { tableName: 'idempotency_keys', timestamps: false },
  );
  const Applications: ModelStatic<Application> = sequelize.define<Application>(
    'Application',
    {
      entity: { type: DataTypes.STRING, primaryKey: true },
      local_id: { type: DataTypes.STRING, primaryKey: true },
      hash: { type: DataTypes.STRING, primaryKey: true },
      count: { type: DataTypes.INTEGER, allowNull: false },
    },
    { tableName: 'applications', timestamps: false },
  );
  await sequelize.sync();
  let nextRemoteId = (await Records.count()) + 1;
  // One batch is applied at a time: SQLite has one writer, and concurrent transactions on
  // one connection would interleave.
  let applying: Promise<unknown> = Promise.resolve();
  const oneAtATime = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = applying.then(fn, fn);
    applying = next.catch(() => undefined);
    return next;
  };
  const maxPageSize = options.maxPageSize ?? 1000;

  const app = new Hono();
  app.get('/healthz', (c) => c.json({ ok: true }));
  if (options.token) app.use('/*', bearerAuth({ token: options.token }));
  const files = await receiverFiles(app, sequelize, oneAtATime);

  // A page of records in local ID order, as one raw query: the list is what clients read most.
  const page = (entity: string, after: string | null, limit: number, offset: number) =>
    sequelize.query<{ local_id: string; data: string }>(
      `SELECT local_id, data FROM records WHERE entity = ?${after === null ? '' : ' AND local_id > ?'} ORDER BY local_id LIMIT ? OFFSET ?`,
      { type: QueryTypes.SELECT, replacements: [entity, ...(after === null ? [] : [after]), limit, offset] },
    );
  const json = (c: Context, text: string) => c.body(text, 200, { 'Content-Type': 'application/json' });

  app.get('/:entity', async (c) => {
    const entity = c.req.param('entity');
    const after = c.req.query('after');
    if (after !== undefined || c.req.query('limit') !== undefined) {
      // Cursor listing: ?after=<localId>&limit=N, answered by key, so every page costs the same.
      const limit = Number(c.req.query('limit') ?? '100');
      if (!Number.isInteger(limit) || limit < 1 || limit > maxPageSize) return c.json({ error: `limit must be from 1 to ${maxPageSize}` }, 400);
      const rows = await page(entity, after || null, limit + 1, 0);
      const shown = rows.slice(0, limit);
      const next = rows.length > limit ? shown.at(-1)!.local_id : null;
      return json(c, `{"items":${await files.list(entity, shown)},"next_cursor":${JSON.stringify(next)}}`);
    }
    const number = Number(c.req.query('page') ?? '1');
    const perPage = Number(c.req.query('per_page') ?? '100');
    if (!Number.isInteger(number) || number < 1 || !Number.isInteger(perPage) || perPage < 1 || perPage > maxPageSize) {
      return c.json({ error: `page must be >= 1 and per_page from 1 to ${maxPageSize}` }, 400);
    }
    // Keyed by local ID; one extra row tells whether another page follows.
    const rows = await page(entity, null, perPage + 1, (number - 1) * perPage);
    const items = await files.list(entity, rows.slice(0, perPage));
    return json(c, `{"items":${items},"page":${number},"per_page":${perPage},"has_more":${rows.length > perPage}}`);
  });

  app.post('/sync/:entity', async (c) => {
    const entity = c.req.param('entity');
    const key = c.req.header('idempotency-key');
    if (!key) return c.json({ error: 'an Idempotency-Key header is required' }, 400);
    const text = await c.req.text();
    let body: { entity?: unknown; records?: unknown };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      return c.json({ error: 'the body is not JSON' }, 400);
    }
    if (!Array.isArray(body.records)) return c.json({ error: 'records must be an array' }, 400);
    const requestHash = createHash('sha256').update(text).digest('hex');

    // Claim the key; a key seen before is answered from what is stored.
    const [row, created] = await oneAtATime(() => Keys.findOrCreate({ where: { key }, defaults: { key, request_hash: requestHash, state: 'in-flight', response: null, created_at: new Date() } }));
    if (!created) {
      if (row.get('request_hash') !== requestHash) return c.json({ error: 'this Idempotency-Key was used with another payload' }, 422);
      if (row.get('state') !== 'done') return c.json({ error: 'a request with this Idempotency-Key is still in flight' }, 409);
      return c.json(JSON.parse(row.get('response') as string), 200);
    }

    let answer: { results: PushResult[] };
    try {
      await options.beforeApply?.(entity, key);
      answer = await oneAtATime(() => sequelize.transaction(async (transaction) => {
        // A batch is applied in bulk: one read of what is held, then one write per kind.
        const records = body.records as PushRecord[];
        const idOf = (r: PushRecord) => (typeof r?.localId === 'string' || typeof r?.localId === 'number' ? String(r.localId) : '');
        const ids = [...new Set(records.map(idOf).filter(Boolean))];
        const held = new Map<string, { hash: string | null; remoteId: string | null } | null>();
        for (let i = 0; i < ids.length; i += CHUNK) {
          const rows = (await Records.findAll({ where: { entity, local_id: ids.slice(i, i + CHUNK) }, attributes: ['local_id', 'hash', 'remote_id'], raw: true, transaction })) as unknown as { local_id: string; hash: string | null; remote_id: string | null }[];
          for (const row of rows) held.set(row.local_id, { hash: row.hash, remoteId: row.remote_id });
        }
        const results: PushResult[] = [];
        const writes = new Map<string, { data: string; hash: string; remoteId: string } | null>();
        const applied = new Map<string, { localId: string; hash: string }>();
        const now = new Date();
        for (const r of records) {
          const localId = idOf(r);
          if (!localId) {
            results.push({ localId: '', status: 'rejected', error: 'a record needs a localId' });
            continue;
          }
          const existing = held.get(localId) ?? null;
          if (r.op === 'delete') {
            held.set(localId, null);
            writes.set(localId, null);
            results.push({ localId, status: 'deleted', ...(existing?.remoteId ? { remoteId: existing.remoteId } : {}) });
            continue;
          }
          if (r.op !== 'upsert' || typeof r.hash !== 'string' || r.data === null || typeof r.data !== 'object') {
            results.push({ localId, status: 'rejected', error: 'a record needs op upsert or delete, a hash and an object of data' });
            continue;
          }
          if (existing && existing.hash === r.hash) {
            results.push({ localId, status: 'unchanged', ...(existing.remoteId ? { remoteId: existing.remoteId } : {}) });
            continue;
          }
          const remoteId = existing?.remoteId ?? `R-${nextRemoteId++}`;
          held.set(localId, { hash: r.hash, remoteId });
          writes.set(localId, { data: JSON.stringify(r.data), hash: r.hash, remoteId });
          applied.set(`${localId}|${r.hash}`, { localId, hash: r.hash });
          results.push({ localId, status: existing ? 'updated' : 'created', remoteId });
        }
        const gone = [...writes].filter(([, w]) => w === null).map(([id]) => id);
        const kept = [...writes].filter((e): e is [string, { data: string; hash: string; remoteId: string }] => e[1] !== null);
        for (let i = 0; i < gone.length; i += CHUNK) await Records.destroy({ where: { entity, local_id: gone.slice(i, i + CHUNK) }, transaction });
        for (let i = 0; i < kept.length; i += CHUNK) {
          const rows = kept.slice(i, i + CHUNK).map(([id, w]) => ({ entity, local_id: id, data: w.data, hash: w.hash, remote_id: w.remoteId, updated_at: now }));
          await Records.bulkCreate(rows, { updateOnDuplicate: ['data', 'hash', 'remote_id', 'updated_at'], transaction });
        }
        const pairs = [...applied.values()];
        for (let i = 0; i < pairs.length; i += CHUNK) {
          const chunk = pairs.slice(i, i + CHUNK);
          const counted = (await Applications.findAll({ where: { entity, local_id: chunk.map((p) => p.localId) }, raw: true, transaction })) as unknown as { local_id: string; hash: string; count: number }[];
          const before = new Map(counted.map((c) => [`${c.local_id}|${c.hash}`, c.count]));
          const rows = chunk.map((p) => ({ entity, local_id: p.localId, hash: p.hash, count: (before.get(`${p.localId}|${p.hash}`) ?? 0) + 1 }));
          await Applications.bulkCreate(rows, { updateOnDuplicate: ['count'], transaction });
        }
        const response = { results };
        await Keys.update({ state: 'done', response: JSON.stringify(response) }, { where: { key }, transaction });
        return response;
      }));
    } catch (err) {
      // Nothing was applied: free the key so the same batch can be sent again.
      await oneAtATime(() => Keys.destroy({ where: { key } }));
      throw err;
    }
    return c.json(answer, 200);
  });

  let server: ServerType | undefined;

  return {
    app,
    files,
    async seed(entity, records) {
      const now = new Date();
      for (let i = 0; i < records.length; i += CHUNK) {
        const rows = records.slice(i, i + CHUNK).map((r) => ({ entity, local_id: r.localId, data: JSON.stringify(r.data), updated_at: now }));
        await Records.bulkCreate(rows, { updateOnDuplicate: ['data', 'updated_at'] });
      }
    },
    async applications(entity) {
      const rows = await Applications.findAll({ where: { entity }, raw: true });
      return new Map((rows as unknown as { local_id: string; hash: string; count: number }[]).map((r) => [`${r.local_id}|${r.hash}`, r.count]));
    },
    async records(entity) {
      const rows = (await Records.findAll({ where: { entity }, raw: true })) as unknown as { local_id: string; data: string }[];
      return new Map(rows.map((r) => [r.local_id, JSON.parse(r.data) as Record<string, unknown>]));
    },
    async count(entity) {
      return Records.count({ where: { entity: { [Op.eq]: entity } } });
    },
    listen(port = 0) {
      return new Promise((resolve, reject) => {
        const s = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, (info: AddressInfo) => {
          resolve({ port: info.port, url: `http://127.0.0.1:${info.port}` });
        });
        s.once('error', reject);
        server = s;
      });
    },
    async close() {
      const s = server;
      server = undefined;
      if (s) {
        await new Promise<void>((resolve) => {
          s.close(() => resolve());
          (s as { closeAllConnections?: () => void }).closeAllConnections?.();
        });
      }
      await sequelize.close();
      if (tempDir) rmSync(tempDir, { recursive: true, force: true });
    },
  };
}
