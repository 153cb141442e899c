// The reference receiver: a small target system (Hono + SQLite through Sequelize) that holds
// records per entity by local ID and serves them as a paginated list, so parity can read it.
// The demo and the tests talk to it over real HTTP on a loopback port.
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { bearerAuth } from 'hono/bearer-auth';
import { DataTypes, Op, Sequelize, type Model, type ModelStatic } from 'sequelize';
import type { AddressInfo } from 'node:net';

export interface ReceiverOptions {
  /** SQLite file; in memory when omitted. */
  dbPath?: string;
  /** When set, every route but /healthz needs `Authorization: Bearer <token>`. */
  token?: string;
  /** Largest page a client may ask for. */
  maxPageSize?: number;
}

export interface SeedRecord {
  localId: string;
  data: Record<string, unknown>;
}

export interface Receiver {
  app: Hono;
  /** Stores records as they are (replacing any with the same local ID). */
  seed(entity: string, records: SeedRecord[]): Promise<void>;
  count(entity: string): Promise<number>;
  /** Starts listening on 127.0.0.1 (port 0: an ephemeral port). */
  listen(port?: number): Promise<{ port: number; url: string }>;
  close(): Promise<void>;
}

type StoredRecord = Model<{ entity: string; local_id: string; data: string; updated_at: Date }>;

const CHUNK = 500;

export async function createReceiver(options: ReceiverOptions = {}): Promise<Receiver> {
  const sequelize = new Sequelize({ dialect: 'sqlite', storage: options.dbPath ?? ':memory:', logging: false });
  if (options.dbPath) await sequelize.query('PRAGMA journal_mode = WAL');
  const Records: ModelStatic<StoredRecord> = sequelize.define<StoredRecord>(
    'Record',
    {
      entity: { type: DataTypes.STRING, primaryKey: true },
      local_id: { type: DataTypes.STRING, primaryKey: true },
      data: { type: DataTypes.TEXT, allowNull: false },
      updated_at: { type: DataTypes.DATE, allowNull: false },
    },
    { tableName: 'records', timestamps: false },
  );
  await Records.sync();
  const maxPageSize = options.maxPageSize ?? 1000;

  const app = new Hono();
  app.get('/healthz', (c) => c.json({ ok: true }));
  if (options.token) app.use('/*', bearerAuth({ token: options.token }));

  app.get('/:entity', async (c) => {
    const entity = c.req.param('entity');
    const after = c.req.query('after');
    if (after !== undefined || c.req.query('limit') !== undefined) {
      // Cursor listing: ?after=<localId>&limit=N, answered by key, so every page costs the same.
      const limit = Number(c.req.query('limit') ?? '100');
      if (!Number.isInteger(limit) || limit < 1 || limit > maxPageSize) return c.json({ error: `limit must be from 1 to ${maxPageSize}` }, 400);
      const rows = (await Records.findAll({
        where: after ? { entity, local_id: { [Op.gt]: after } } : { entity },
        order: [['local_id', 'ASC']],
        limit: limit + 1,
        attributes: ['local_id', 'data'],
        raw: true,
      })) as unknown as { local_id: string; data: string }[];
      const shown = rows.slice(0, limit);
      const items = shown.map((r) => JSON.parse(r.data) as Record<string, unknown>);
      return c.json({ items, next_cursor: rows.length > limit ? shown.at(-1)!.local_id : null });
    }
    const page = Number(c.req.query('page') ?? '1');
    const perPage = Number(c.req.query('per_page') ?? '100');
    if (!Number.isInteger(page) || page < 1 || !Number.isInteger(perPage) || perPage < 1 || perPage > maxPageSize) {
      return c.json({ error: `page must be >= 1 and per_page from 1 to ${maxPageSize}` }, 400);
    }
    // Keyed by local ID; one extra row tells whether another page follows.
    const rows = (await Records.findAll({
      where: { entity },
      order: [['local_id', 'ASC']],
      limit: perPage + 1,
      offset: (page - 1) * perPage,
      raw: true,
    })) as unknown as { data: string }[];
    const items = rows.slice(0, perPage).map((r) => JSON.parse(r.data) as Record<string, unknown>);
    return c.json({ items, page, per_page: perPage, has_more: rows.length > perPage });
  });

  let server: ServerType | undefined;

  return {
    app,
    async seed(entity, records) {
      const now = new Date();
      for (let i = 0; i < records.length; i += CHUNK) {
        const rows = records.slice(i, i + CHUNK).map((r) => ({ entity, local_id: r.localId, data: JSON.stringify(r.data), updated_at: now }));
        await Records.bulkCreate(rows, { updateOnDuplicate: ['data', 'updated_at'] });
      }
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
    },
  };
}
