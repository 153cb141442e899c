// The attachment cache: what each attachment URL held when it was last hashed, so that a
// later run sends a conditional request and a 304 costs no download.
import { Op } from 'sequelize';
import type { CachedAttachment } from '../../attachments/fetch.js';
import type { StoreModels } from './models.js';

const CHUNK = 500;

export async function cachedAttachments(m: StoreModels, urlHashes: readonly string[]): Promise<Map<string, CachedAttachment>> {
  const out = new Map<string, CachedAttachment>();
  for (let i = 0; i < urlHashes.length; i += CHUNK) {
    const rows = await m.attachments.findAll({ where: { url_hash: { [Op.in]: urlHashes.slice(i, i + CHUNK) } }, raw: true });
    for (const r of rows as unknown as Record<string, unknown>[]) {
      out.set(r.url_hash as string, { urlHash: r.url_hash as string, etag: (r.etag as string | null) ?? null, lastModified: (r.last_modified as string | null) ?? null, digest: r.digest as string, bytes: Number(r.bytes) });
    }
  }
  return out;
}

export async function cacheAttachments(m: StoreModels, rows: readonly CachedAttachment[]): Promise<void> {
  const now = new Date();
  for (let i = 0; i < rows.length; i += CHUNK) {
    await m.attachments.bulkCreate(
      rows.slice(i, i + CHUNK).map((r) => ({ url_hash: r.urlHash, etag: r.etag?.slice(0, 512) ?? null, last_modified: r.lastModified?.slice(0, 64) ?? null, digest: r.digest, bytes: r.bytes, checked_at: now })),
      { updateOnDuplicate: ['etag', 'last_modified', 'digest', 'bytes', 'checked_at'] },
    );
  }
}
