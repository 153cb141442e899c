// `parity run --export-diff DIR`: an entity's difference as the files a person opens first:
// <entity>.missing.csv and <entity>.extra.csv (the records, under the entity's field names),
// <entity>.changed.csv (one row per differing field: the key, the field, both values), and
// <entity>.xlsx with a sheet for each. Values are canonical, as parity compares them.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { canonicalValue } from '../core/canonical.js';
import type { NormalizedRecord } from '../core/record.js';
import { isStripped } from '../reconcile/diff.js';
import type { DiffResult } from '../reconcile/types.js';
import type { ResolvedEntity } from './config/load.js';
import { rowWriter } from './row-writer.js';

type Row = (string | null)[];

const value = (v: unknown): string | null => (v === null || v === undefined ? null : canonicalValue(v));

export async function writeDiffFiles(dir: string, entity: ResolvedEntity, diff: DiffResult, compareFields: readonly string[]): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const keys = entity.keyFields;
  const fields = [...keys, ...compareFields.filter((f) => !keys.includes(f))];
  // A record whose fields could not be read again (it changed meanwhile) keeps its key only.
  const recordRow = (r: NormalizedRecord): Row => (isStripped(r) ? [r.key, ...fields.slice(1).map(() => null)] : fields.map((f) => value(r.fields[f])));
  const changedRows: Row[] = [];
  for (const c of diff.changed) {
    const keyValues = keys.map((k) => value(c.source.fields[k] ?? c.target.fields[k]) ?? (keys.length === 1 ? c.key : null));
    for (const f of compareFields) {
      const s = value(c.source.fields[f]);
      const t = value(c.target.fields[f]);
      if (s !== t) changedRows.push([...keyValues, f, s, t]);
    }
  }
  const sheets: { kind: string; header: string[]; rows: Iterable<Row> }[] = [
    { kind: 'missing', header: fields, rows: diff.missing.map(recordRow) },
    { kind: 'extra', header: fields, rows: diff.extra.map(recordRow) },
    { kind: 'changed', header: [...keys, 'field', 'source', 'target'], rows: changedRows },
  ];
  const written: string[] = [];
  for (const sheet of sheets) {
    const writer = await rowWriter(path.join(dir, `${entity.name}.${sheet.kind}.csv`), sheet.header);
    for (const row of sheet.rows) await writer.write(row);
    await writer.close();
    written.push(writer.file);
  }
  // The workbook: one sheet a kind, written one after the other by the streaming writer.
  const { default: ExcelJS } = await import('exceljs');
  const file = path.join(dir, `${entity.name}.xlsx`);
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: file, useStyles: false, useSharedStrings: false });
  for (const sheet of sheets) {
    const ws = workbook.addWorksheet(sheet.kind);
    ws.addRow(sheet.header).commit();
    for (const row of sheet.rows) ws.addRow(row).commit();
    ws.commit();
  }
  await workbook.commit();
  written.push(file);
  return written;
}
