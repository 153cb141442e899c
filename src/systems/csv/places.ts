// Where the records of a CSV file are, in bytes, and reading them again from there alone: a
// record that a report or a push needs after a join that kept only its place (see
// CsvBatch.spans) costs one read near it, not a second read of the whole file.
import { closeSync, openSync, readSync } from 'node:fs';
import { piecesOf } from '../../core/file-pieces.js';
import type { Span } from '../../core/record.js';

/** Whether the file begins with a UTF-8 byte order mark, which the decoder drops. */
export function startsWithBom(file: string): boolean {
  const head = Buffer.alloc(3);
  try {
    const fd = openSync(file, 'r');
    try {
      return readSync(fd, head, 0, 3, 0) === 3 && head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf;
    } finally {
      closeSync(fd);
    }
  } catch {
    // The read that follows reports why the file cannot be read.
    return false;
  }
}

const LF = 10;
const CR = 13;

/** The records at these places of a UTF-8 file, split as csvRecords() split them there, in
 *  batches; `spans` sorted by position. Reads in large pieces, only where records are. A place
 *  that is no longer one whole line (the file changed since) gives nothing. */
export function* recordsAt(file: string, delimiter: string, spans: readonly Span[]): Generator<string[][]> {
  const first = startsWithBom(file) ? 3 : 0;
  const fd = openSync(file, 'r');
  try {
    let batch: string[][] = [];
    // The byte before each record and the one after it too: each must end a line.
    for (const { chunk, start, end, at, bytes } of piecesOf(fd, spans, 1)) {
      const before = at === first || chunk[at - 1 - start] === LF || chunk[at - 1 - start] === CR;
      const after = at + bytes === end || (at + bytes < end && (chunk[at + bytes - start] === LF || chunk[at + bytes - start] === CR));
      if (!before || !after) continue;
      if (batch.push(chunk.toString('utf8', at - start, at + bytes - start).split(delimiter)) === 1000) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length) yield batch;
  } finally {
    closeSync(fd);
  }
}
