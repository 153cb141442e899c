// A CSV side read as keys, hashes and places (ReadOptions.placesOnly): a record with a key
// becomes three entries in three arrays, with no object of fields, no row object, no record
// object. Its fields are read again from its place if a report or a push needs them. A row
// that is not so simple (a blank or white-space key, quoted text read by csv-parse) is read
// as readTable reads it.
import { hashCells } from '../../core/canonical.js';
import { ParityError } from '../../core/errors.js';
import { MappedRecord, type InvalidRecord, type NormalizedRecord, type Page, type PageColumns } from '../../core/record.js';
import { fileError, headerColumns, NOT_BLANK, rowRecord, TABLE_PAGE, type ReadTableOptions, type TableColumns } from '../../collectors/file.js';
import { placedRecord } from '../../reconcile/stripped.js';
import type { CsvBatch } from './records.js';

/** A page as keys, hashes and places: keys and hashes each run together in one text (see
 *  PageColumns), which a worker sends as one string instead of two per record; record i's place
 *  at spans[2i] (its first byte) and spans[2i + 1] (its length); -1: it has none, and `whole`
 *  holds its fields, by index. */
export interface KeyedPage {
  keyText: string;
  keyEnds: Uint32Array;
  hashText: string;
  hashEnds: Uint32Array;
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

interface PageBuilder {
  keys: string[];
  hashes: string[];
  spans: number[];
  whole: [number, Record<string, unknown>][];
  invalid: InvalidRecord[];
}

const emptyPage = (): PageBuilder => ({ keys: [], hashes: [], spans: [], whole: [], invalid: [] });

/** Each text's end in the texts run together. */
function endsOf(texts: readonly string[]): Uint32Array {
  const ends = new Uint32Array(texts.length);
  let end = 0;
  for (let i = 0; i < texts.length; i++) ends[i] = end += texts[i]!.length;
  return ends;
}

function sealed(p: PageBuilder): KeyedPage {
  return { keyText: p.keys.join(''), keyEnds: endsOf(p.keys), hashText: p.hashes.join(''), hashEnds: endsOf(p.hashes), spans: p.spans, whole: p.whole, invalid: p.invalid };
}

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
        page.keys.push(text);
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
        yield sealed(page);
        page = emptyPage();
      }
    }
  }
  mapper.countPlaced(placed);
  if (!columns) throw fileError(o.table.file, 'has no header row');
  if (page.keys.length || page.invalid.length) yield sealed(page);
}

/** A keyed page as a Page: its columns, and its records made only when they are asked for
 *  (the join takes most records of a packed join from the columns alone). */
class KeyedRecords implements Page {
  readonly invalid: InvalidRecord[];
  readonly spans: number[];
  readonly columns: PageColumns;
  expected?: number;
  private made: NormalizedRecord[] | null = null;

  constructor(private readonly page: KeyedPage) {
    this.invalid = page.invalid;
    this.spans = page.spans;
    this.columns = { keyText: page.keyText, keyEnds: page.keyEnds, hashText: page.hashText, hashEnds: page.hashEnds, whole: page.whole.map(([i]) => i) };
  }

  get records(): NormalizedRecord[] {
    return (this.made ??= this.make());
  }

  private make(): NormalizedRecord[] {
    const p = this.page;
    const n = p.keyEnds.length;
    const records: NormalizedRecord[] = new Array(n);
    let w = 0;
    for (let i = 0; i < n; i++) {
      const key = p.keyText.slice(i ? p.keyEnds[i - 1]! : 0, p.keyEnds[i]!);
      const hash = p.hashText.slice(i ? p.hashEnds[i - 1]! : 0, p.hashEnds[i]!);
      const whole = p.whole[w];
      if (whole !== undefined && whole[0] === i) {
        records[i] = new MappedRecord(key, hash, whole[1]);
        w++;
      } else records[i] = placedRecord(key, hash, p.spans[2 * i]!, p.spans[2 * i + 1]!);
    }
    return records;
  }
}

/** The records of a keyed page: placed records, and the ones that kept their fields. */
export function pageOf(p: KeyedPage): Page {
  return new KeyedRecords(p);
}
