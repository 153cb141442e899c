// The reference receiver's attachments: PUT /files/:entity/:localId/:field stores a file (the
// body, with its content type), GET serves it with an ETag and answers 304 to If-None-Match.
// The record lists show each stored file's URL in its field, as a shop shows an image URL.
import { createHash } from 'node:crypto';
import type { Context, Hono } from 'hono';
import { DataTypes, type Model, type ModelStatic, type Sequelize } from 'sequelize';

type StoredFile = Model<{ entity: string; local_id: string; field: string; body: Buffer; content_type: string; etag: string; puts: number }>;

export interface ReceiverFiles {
  /** The rows' records as a JSON array, each item's file fields set to the URLs of the files
   *  stored for it; the stored text as it is when the entity holds no file. */
  list(entity: string, rows: readonly { local_id: string; data: string }[]): Promise<string>;
  /** Stores a file as an upload would (without counting it). */
  seed(entity: string, localId: string, field: string, body: Buffer, contentType?: string): Promise<void>;
  /** How many uploads each file of an entity received, by "localId|field". */
  uploads(entity: string): Promise<Map<string, number>>;
  /** The stored files of an entity by "localId|field". */
  files(entity: string): Promise<Map<string, Buffer>>;
}

const etagOf = (body: Buffer) => `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"`;

export async function receiverFiles(app: Hono, sequelize: Sequelize, oneAtATime: <T>(fn: () => Promise<T>) => Promise<T>, maxBytes = 50 * 1024 * 1024): Promise<ReceiverFiles> {
  const Files: ModelStatic<StoredFile> = sequelize.define<StoredFile>(
    'File',
    {
      entity: { type: DataTypes.STRING, primaryKey: true },
      local_id: { type: DataTypes.STRING, primaryKey: true },
      field: { type: DataTypes.STRING, primaryKey: true },
      body: { type: DataTypes.BLOB, allowNull: false },
      content_type: { type: DataTypes.STRING, allowNull: false },
      etag: { type: DataTypes.STRING, allowNull: false },
      puts: { type: DataTypes.INTEGER, allowNull: false },
    },
    { tableName: 'files', timestamps: false },
  );
  await Files.sync();
  // Entities holding any file: a list of any other entity is served as stored, unparsed.
  const holding = new Set(((await Files.findAll({ attributes: ['entity'], group: ['entity'], raw: true })) as unknown as { entity: string }[]).map((r) => r.entity));
  const store = async (entity: string, localId: string, field: string, body: Buffer, contentType: string, counted: boolean) =>
    oneAtATime(async () => {
      const held = await Files.findOne({ where: { entity, local_id: localId, field }, attributes: ['puts'], raw: true });
      const puts = ((held as { puts: number } | null)?.puts ?? 0) + (counted ? 1 : 0);
      await Files.upsert({ entity, local_id: localId, field, body, content_type: contentType, etag: etagOf(body), puts });
      holding.add(entity);
    });

  const upload = async (c: Context) => {
    const body = Buffer.from(await c.req.arrayBuffer());
    if (body.length > maxBytes) return c.json({ error: `a file may have ${maxBytes} bytes at most` }, 413);
    await store(c.req.param('entity') ?? '', c.req.param('localId') ?? '', c.req.param('field') ?? '', body, c.req.header('content-type') ?? 'application/octet-stream', true);
    return c.json({ stored: body.length }, 200);
  };
  app.put('/files/:entity/:localId/:field', upload);
  app.post('/files/:entity/:localId/:field', upload);
  app.get('/files/:entity/:localId/:field', async (c) => {
    const row = (await Files.findOne({ where: { entity: c.req.param('entity'), local_id: c.req.param('localId'), field: c.req.param('field') }, raw: true })) as { body: Buffer; content_type: string; etag: string } | null;
    if (!row) return c.json({ error: 'no such file' }, 404);
    if (c.req.header('if-none-match') === row.etag) return c.body(null, 304, { ETag: row.etag });
    return c.body(new Uint8Array(row.body), 200, { 'Content-Type': row.content_type, ETag: row.etag });
  });

  return {
    async list(entity, rows) {
      if (!holding.has(entity)) return `[${rows.map((r) => r.data).join(',')}]`;
      const items = rows.map((r) => JSON.parse(r.data) as Record<string, unknown>);
      const held = (await Files.findAll({ where: { entity, local_id: rows.map((r) => r.local_id) }, attributes: ['local_id', 'field'], raw: true })) as unknown as { local_id: string; field: string }[];
      const byId = new Map(rows.map((r, i) => [r.local_id, items[i]!]));
      for (const f of held) {
        const item = byId.get(f.local_id);
        if (item) item[f.field] = `/files/${encodeURIComponent(entity)}/${encodeURIComponent(f.local_id)}/${encodeURIComponent(f.field)}`;
      }
      return JSON.stringify(items);
    },
    seed: (entity, localId, field, body, contentType = 'application/octet-stream') => store(entity, localId, field, body, contentType, false),
    async uploads(entity) {
      const rows = (await Files.findAll({ where: { entity }, attributes: ['local_id', 'field', 'puts'], raw: true })) as unknown as { local_id: string; field: string; puts: number }[];
      return new Map(rows.map((r) => [`${r.local_id}|${r.field}`, r.puts]));
    },
    async files(entity) {
      const rows = (await Files.findAll({ where: { entity }, attributes: ['local_id', 'field', 'body'], raw: true })) as unknown as { local_id: string; field: string; body: Buffer }[];
      return new Map(rows.map((r) => [`${r.local_id}|${r.field}`, r.body]));
    },
  };
}
