// A CSV side read as keys, hashes and places (ReadOptions.placesOnly): a record with a key
// becomes three entries in three arrays, with no object of fields, no row object, no record
// object. Its fields are read again from its place if a report or a push needs them. A row
// that is not so simple (a blank or white-space key, quoted text read by csv-parse) is read
// as readTable reads it.
import { hashCells } from '../../core/canonical.js';
import { ParityError } from '../../core/errors.js';
import { MappedRecord, type InvalidRecord, type NormalizedRecord, type Page } from '../../core/record.js';
import { fileError, headerColumns, NOT_BLANK, rowRecord, TABLE_PAGE, type ReadTableOptions, type TableColumns } from '../../collectors/file.js';
import { placedRecord } from '../../reconcile/stripped.js';
import type { CsvBatch } from './records.js';

/** A page as keys, hashes and places: record i's place at spans[2i] (its first byte) and
 *  spans[2i + 1] (its length); -1: it has none, and `whole` holds its fields, by index. */
export interface KeyedPage {
  keys: string[];
  hashes: string[];
  spans: number[];
  whole: [number, Record<string, unknown>][];
  invalid: InvalidRecord[];
}

export interface PlacedReadOptions {
  table: Pick<ReadTableOptions, 'file' | 'unit' | 'valueOf' | 'mappings' | 'mapper' | 'tracker'>;
  /** The file's records; the first is the header row, on line `headerLine`. */
  batches: AsyncIterable<CsvBatch>;
  headerLine: number;
  /** Told the line each record ends on, as it is read (for the errors of a broken file). */
  atLine: (line: number) => void;
  signal?: AbortSignal | undefined;
}

/** Whether a text cell has something other than white space in it (a printable ASCII
 *  character first tells at once). */
function notBlank(text: string): boolean {
  const c = text.charCodeAt(0);
  return (c > 32 && c < 127) || (text !== '' && NOT_BLANK.test(text));
}

const emptyPage = (): KeyedPage => ({ keys: [], hashes: [], spans: [], whole: [], invalid: [] });

/** The file's records as keyed pages. The mapper must only read cells (RecordMapper.portable
 *  is not null). */
export async function* placedPages(o: PlacedReadOptions): AsyncGenerator<KeyedPage> {
  const { mapper } = o.table;
  let columns: TableColumns | null = null;
  /** The cells (0-based) of the key and of each compared field; -1: none. */
  let key = -1;
  let compared: number[] = [];
  let line = o.headerLine - 1;
  let page = emptyPage();
  let placed = 0;
  for await (const batch of o.batches) {
    if (o.signal?.aborted) throw new ParityError('PARITY_ABORTED', 'read aborted');
    const { records, spans } = batch;
    for (let k = 0; k < records.length; k++) {
      const cells = records[k]!;
      // A record ends on the line after the last one, plus the line breaks quoted in its cells.
      line++;
      if (!batch.plain) for (const cell of cells) for (let at = cell.indexOf('\n'); at >= 0; at = cell.indexOf('\n', at + 1)) line++;
      o.atLine(line);
      if (cells.length === 1 && cells[0] === '') continue;
      if (!columns) {
        columns = headerColumns(o.table, { number: line, cells: [undefined, ...cells] });
        const plan = mapper.placedPlan(columns.names);
        if (!plan) throw new Error('placedPages needs a mapper that only reads cells');
        const cellOf = (i: number) => (i < 0 ? -1 : columns!.indices[i]! - 1);
        key = cellOf(plan.key);
        compared = plan.compared.map(cellOf);
        continue;
      }
      const text = key < 0 || !spans ? undefined : cells[key];
      if (text !== undefined && notBlank(text)) {
        // A key cut from the read chunk would keep the chunk alive while its record waits.
        page.keys.push(text.length >= 13 ? ` ${text}`.slice(1) : text);
        page.hashes.push(hashCells(cells, compared));
        page.spans.push(spans![2 * k]!, spans![2 * k + 1]!);
        placed++;
      } else {
        const result = rowRecord(o.table, columns, { number: line, cells: [undefined, ...cells] });
        if (result === null) continue;
        if (result.invalid) page.invalid.push(result.invalid);
        else {
          page.whole.push([page.keys.length, result.record.fields]);
          page.keys.push(result.record.key);
          page.hashes.push(result.record.hash);
          page.spans.push(spans ? spans[2 * k]! : -1, spans ? spans[2 * k + 1]! : 0);
        }
      }
      if (page.keys.length + page.invalid.length >= TABLE_PAGE) {
        mapper.countPlaced(placed);
        placed = 0;
        yield page;
        page = emptyPage();
      }
    }
  }
  mapper.countPlaced(placed);
  if (!columns) throw fileError(o.table.file, 'has no header row');
  if (page.keys.length || page.invalid.length) yield page;
}

/** The records of a keyed page: placed records, and the ones that kept their fields. */
export function pageOf(p: KeyedPage): Page {
  const records: NormalizedRecord[] = new Array(p.keys.length);
  let w = 0;
  for (let i = 0; i < p.keys.length; i++) {
    const whole = p.whole[w];
    if (whole !== undefined && whole[0] === i) {
      records[i] = new MappedRecord(p.keys[i]!, p.hashes[i]!, whole[1]);
      w++;
    } else records[i] = placedRecord(p.keys[i]!, p.hashes[i]!, p.spans[2 * i]!, p.spans[2 * i + 1]!);
  }
  return { records, invalid: p.invalid, spans: p.spans };
}
