// An append-only temporary file for the keys and fields of records waiting in a hash join:
// written through a 1 MB buffer, read back by position only for the few records whose fields
// are wanted (a changed record, or what is left at the end). It keeps the join's memory to
// fingerprints, hashes and positions however far apart the two sides' orders are. Removed when the join is done, and
// at exit if it was not.
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { piecesOf } from '../core/file-pieces.js';

const BUFFER = 1 << 20;
const open = new Set<PayloadSpill>();
let exitHook = false;

export class PayloadSpill {
  private readonly dir: string;
  readonly file: string;
  private fd: number;
  private readonly buffer = Buffer.allocUnsafe(BUFFER);
  private used = 0;
  /** Bytes written to the file. */
  private flushed = 0;

  constructor() {
    this.dir = mkdtempSync(path.join(tmpdir(), 'parity-waiting-'));
    this.file = path.join(this.dir, 'fields');
    this.fd = openSync(this.file, 'w+');
    open.add(this);
    if (!exitHook) {
      exitHook = true;
      process.once('exit', () => {
        for (const s of open) s.close();
      });
    }
  }

  /** Bytes of the text the last append() wrote. */
  appended = 0;

  /** Appends text[start, end) (all of it by default); returns where it starts (its length in
   *  bytes is then in `appended`). */
  append(text: string, start = 0, end = text.length): number {
    const length = end - start;
    // Short ASCII text (a key) is copied here: cheaper than a call into the encoder.
    if (length <= 64 && this.used + 64 <= BUFFER) {
      const buffer = this.buffer;
      const to = this.used - start;
      let i = start;
      for (; i < end; i++) {
        const c = text.charCodeAt(i);
        if (c > 127) break;
        buffer[to + i] = c;
      }
      if (i === end) {
        this.used += length;
        this.appended = length;
        return this.flushed + to + start;
      }
    }
    if (start !== 0 || end !== text.length) text = text.slice(start, end);
    const bytes = Buffer.byteLength(text);
    if (this.used + bytes > BUFFER) this.flush();
    const at = this.flushed + this.used;
    if (bytes > BUFFER) {
      writeSync(this.fd, text, this.flushed, 'utf8');
      this.flushed += bytes;
    } else {
      this.used += this.buffer.write(text, this.used, 'utf8');
    }
    this.appended = bytes;
    return at;
  }

  read(at: number, bytes: number): string {
    if (at >= this.flushed) return this.buffer.toString('utf8', at - this.flushed, at - this.flushed + bytes);
    if (at + bytes > this.flushed) this.flush();
    const out = Buffer.allocUnsafe(bytes);
    readSync(this.fd, out, 0, bytes, at);
    return out.toString('utf8');
  }

  /** Reads the ranges in file order with large reads: `ranges` must be sorted by position. */
  *readSorted(ranges: readonly { at: number; bytes: number }[]): Generator<string> {
    this.flush();
    for (const { chunk, start, at, bytes } of piecesOf(this.fd, ranges)) yield chunk.toString('utf8', at - start, at - start + bytes);
  }

  private flush(): void {
    if (this.used === 0) return;
    writeSync(this.fd, this.buffer, 0, this.used, this.flushed);
    this.flushed += this.used;
    this.used = 0;
  }

  close(): void {
    if (this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
    rmSync(this.dir, { recursive: true, force: true });
    open.delete(this);
  }
}
