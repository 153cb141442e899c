// The attachment cache: what each attachment URL held when it was last hashed, so that a
// later run sends a conditional request and a 304 costs no download.
import type { CachedAttachment } from '../../attachments/fetch.js';
import { marks, upsert, type StateDb } from './db.js';

const CHUNK = 500;

export async function cachedAttachments(db: StateDb, urlHashes: readonly string[]): Promise<Map<string, CachedAttachment>> {
  const out = new Map<string, CachedAttachment>();
  for (let i = 0; i < urlHashes.length; i += CHUNK) {
    const chunk = urlHashes.slice(i, i + CHUNK);
    const rows = await db.all<Record<string, unknown>>(`SELECT "url_hash", "etag", "last_modified", "digest", "bytes" FROM "parity_attachments" WHERE "url_hash" IN (${marks(chunk.length)})`, chunk);
    for (const r of rows) {
      out.set(r.url_hash as string, { urlHash: r.url_hash as string, etag: (r.etag as string | null) ?? null, lastModified: (r.last_modified as string | null) ?? null, digest: r.digest as string, bytes: Number(r.bytes) });
    }
  }
  return out;
}

export async function cacheAttachments(db: StateDb, rows: readonly CachedAttachment[]): Promise<void> {
  const now = new Date();
  for (let i = 0; i < rows.length; i += CHUNK) {
    await upsert(
      db,
      'parity_attachments',
      ['url_hash', 'etag', 'last_modified', 'digest', 'bytes', 'checked_at'],
      ['url_hash'],
      ['etag', 'last_modified', 'digest', 'bytes', 'checked_at'],
      rows.slice(i, i + CHUNK).map((r) => [r.urlHash, r.etag?.slice(0, 512) ?? null, r.lastModified?.slice(0, 64) ?? null, r.digest, r.bytes, now]),
    );
  }
}
