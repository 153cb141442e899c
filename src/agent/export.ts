// `parity export ENTITY --side source|target --out FILE`: streams one side of an entity to a
// CSV file (csv-stringify) or an .xlsx workbook (exceljs' streaming writer), picked by the
// extension, with the entity's field names and the canonical values parity compares. Pages
// are written as they are read, so a large side stays in bounded memory.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { canonicalValue } from '../core/canonical.js';
import { ParityError } from '../core/errors.js';
import { createCollector } from '../systems/registry.js';
import type { LoadedConfig } from './config/load.js';
import { resolveCompareFields } from './entity.js';
import { mapperFor } from './mappers.js';
import { rowWriter, type RowWriter } from './row-writer.js';
import { SystemRuntimes } from './runtimes.js';

export async function exportSide(loaded: LoadedConfig, entityName: string, side: 'source' | 'target', file: string, signal?: AbortSignal): Promise<{ rows: number; invalid: number; fields: string[] }> {
  const entity = loaded.entities.find((e) => e.name === entityName);
  if (!entity) throw new ParityError('PARITY_USAGE', `no entity "${entityName}" in ${path.basename(loaded.file)} (parity list shows them)`);
  const runtimes = await SystemRuntimes.create(loaded.config.systems);
  const resolved = entity[side];
  const collector = createCollector(resolved, { keyChains: entity.keyChains, baseDir: loaded.baseDir, lastRunAt: null, runtime: runtimes.get(resolved.systemName) });
  let writer: RowWriter | null = null;
  try {
    const compareFields = await resolveCompareFields(entity, collector, collector);
    const fields = [...entity.keyFields, ...compareFields.filter((f) => !entity.keyFields.includes(f))];
    writer = await rowWriter(file, fields, entity.name);
    let rows = 0;
    let invalid = 0;
    for await (const page of collector.read({ mapper: mapperFor(resolved, entity, compareFields), signal })) {
      invalid += page.invalid.length;
      for (const record of page.records) {
        await writer.write(fields.map((f) => (record.fields[f] === null || record.fields[f] === undefined ? null : canonicalValue(record.fields[f]))));
        rows++;
      }
    }
    await writer.close();
    writer = null;
    return { rows, invalid, fields };
  } finally {
    if (writer) await rm(`${file}.partial`, { force: true }).catch(() => undefined);
    await collector.close().catch(() => undefined);
    runtimes.close();
  }
}
