// Many small ranges of a file, read in position order through few large reads: the join's
// spill file read back, the lines of a CSV file read again at their places.
import { readSync } from 'node:fs';

/** Bytes [start, end) of a file in `chunk` (end is short of what was asked where the file
 *  ends), holding the range at `at`, `bytes` long. */
export interface Piece {
  chunk: Buffer;
  start: number;
  end: number;
  at: number;
  bytes: number;
}

/** For each range (sorted by position), a piece of the file that holds it and `margin` bytes
 *  on each side of it, where the file has them. The piece is the same object each time. */
export function* piecesOf(fd: number, ranges: Iterable<{ at: number; bytes: number }>, margin = 0): Generator<Piece> {
  const piece: Piece = { chunk: Buffer.allocUnsafe(1 << 22), start: 0, end: 0, at: 0, bytes: 0 };
  for (const { at, bytes } of ranges) {
    const from = Math.max(0, at - margin);
    if (from < piece.start || at + bytes + margin > piece.end) {
      const size = at + bytes + margin - from;
      if (size > piece.chunk.length) piece.chunk = Buffer.allocUnsafe(size);
      piece.start = from;
      piece.end = from + readSync(fd, piece.chunk, 0, piece.chunk.length, from);
    }
    piece.at = at;
    piece.bytes = bytes;
    yield piece;
  }
}
