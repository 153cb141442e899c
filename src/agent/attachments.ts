// An entity's attachments in a run: the resolver its sides are read through (files hashed with
// the origin rules of the configured systems, cached in the state store), or null without any.
import type { AttachmentCache, KnownSystem } from '../attachments/fetch.js';
import type { AttachmentResolver } from '../attachments/resolve.js';
import { systemType } from '../systems/registry.js';
import type { LoadedConfig, ResolvedEntity } from './config/load.js';
import type { SystemRuntimes } from './runtimes.js';

export async function attachmentResolver(loaded: LoadedConfig, entity: ResolvedEntity, compareFields: readonly string[], runtimes: SystemRuntimes, cache: AttachmentCache | null): Promise<AttachmentResolver | null> {
  if (!entity.attachments.length) return null;
  // Loaded only for an entity that has attachments (the fetcher brings the HTTP client).
  const [{ AttachmentFetcher }, { AttachmentResolver }] = await Promise.all([import('../attachments/fetch.js'), import('../attachments/resolve.js')]);
  const origins: KnownSystem[] = [];
  for (const [name, system] of Object.entries(loaded.config.systems)) {
    const origin = systemType(system).fileOrigin?.(name, system, runtimes.get(name));
    if (origin) origins.push(origin);
  }
  const fetcher = new AttachmentFetcher(origins, entity.config.maxAttachmentBytes, cache);
  const info = (side: 'source' | 'target') => ({ system: entity[side].systemName, blobs: systemType(entity[side].system).capabilities.binaryValues === true });
  return new AttachmentResolver(entity.attachments, compareFields, fetcher, { source: info('source'), target: info('target') });
}
