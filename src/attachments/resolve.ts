// Turns the attachment fields of the records read from a side into the hash of their content,
// so that the diff compares files, not URLs: a record whose image URL differs but whose image
// is the same matches. The value read (the URL, or a blob's base64) is kept beside the field
// on source records, for the push to copy. Counts each side's coverage as it goes.
import { hashFields } from '../core/canonical.js';
import type { NormalizedRecord, Page } from '../core/record.js';
import { AttachmentFetcher, digestOf, type Fetched } from './fetch.js';

export type Side = 'source' | 'target';

/** Field values of an attachment that is there but was not hashed. */
export const TOO_LARGE = 'too-large';
export const UNREADABLE = 'unreadable';

/** Where a source record keeps the value read for an attachment field (a URL or base64). */
export function sourceValueField(field: string): string {
  return `${field}\u0000read`;
}

export function isDigest(v: unknown): v is string {
  return typeof v === 'string' && v.startsWith('sha256:');
}

export interface SideCoverage {
  /** Records with a file that was hashed. */
  with: number;
  /** Records without one (null or empty). */
  without: number;
  /** Files over maxAttachmentBytes: reported, never copied. */
  tooLarge: number;
  /** Files that could not be fetched (404, a refused origin, not a URL). */
  unreadable: number;
}

export interface SideInfo {
  /** The side's system, for relative URLs and credentials (an HTTP system's name). */
  system: string;
  /** A SQL side: a value that is not an http(s) URL is a blob (its base64). */
  blobs: boolean;
}

const emptyCoverage = (): SideCoverage => ({ with: 0, without: 0, tooLarge: 0, unreadable: 0 });
const MEMO_LIMIT = 10_000;

export class AttachmentResolver {
  readonly coverage: Record<Side, Record<string, SideCoverage>>;
  /** The first reasons files could not be read, per side, for the log. */
  readonly problems: string[] = [];
  private readonly memo = new Map<string, Fetched>();

  constructor(
    readonly fields: readonly string[],
    private readonly compareFields: readonly string[],
    readonly fetcher: AttachmentFetcher,
    private readonly sides: Record<Side, SideInfo>,
  ) {
    this.coverage = { source: {}, target: {} };
    for (const side of ['source', 'target'] as const) for (const f of fields) this.coverage[side][f] = emptyCoverage();
  }

  /** A side's pages with their attachments resolved. `count`: add them to the coverage (the first read). */
  /** `keep`: records it refuses (outside a window or a filter, or not wanted by a second read)
   *  are left as read, their files not fetched. */
  async *pages(side: Side, pages: AsyncIterable<Page>, count: boolean, signal?: AbortSignal, keep?: (record: NormalizedRecord) => boolean): AsyncGenerator<Page> {
    for await (const page of pages) {
      await this.resolve(side, keep ? page.records.filter(keep) : page.records, count, signal);
      yield page;
    }
  }

  /** Whether a side's values that are no URL are blobs. */
  blobs(side: Side): boolean {
    return this.sides[side].blobs;
  }

  /** A resolver like this one that fetches anew what this one already saw (to read back after a push). */
  fresh(): AttachmentResolver {
    return new AttachmentResolver(this.fields, this.compareFields, this.fetcher, this.sides);
  }

  async resolve(side: Side, records: readonly NormalizedRecord[], count: boolean, signal?: AbortSignal): Promise<void> {
    const info = this.sides[side];
    const urls = new Set<string>();
    const wanted = new Map<NormalizedRecord, Map<string, string | Buffer | null>>();
    for (const r of records) {
      const values = new Map<string, string | Buffer | null>();
      for (const f of this.fields) {
        const v = r.fields[f];
        if (v === null || v === undefined || v === '') {
          values.set(f, null);
          continue;
        }
        if (side === 'source') r.fields[sourceValueField(f)] = v;
        const text = String(v);
        if (info.blobs && !/^https?:\/\//i.test(text)) {
          values.set(f, Buffer.from(text, 'base64'));
          continue;
        }
        const url = this.fetcher.absolute(text, info.system);
        values.set(f, url ?? '');
        if (url && !this.memo.has(url)) urls.add(url);
      }
      wanted.set(r, values);
    }
    if (urls.size) {
      if (this.memo.size > MEMO_LIMIT) this.memo.clear();
      for (const [url, got] of await this.fetcher.digests([...urls], signal)) this.memo.set(url, got);
    }
    for (const [r, values] of wanted) {
      for (const [f, v] of values) {
        const cov = this.coverage[side][f]!;
        let value: string | null;
        if (v === null) value = null;
        else if (Buffer.isBuffer(v)) value = v.length > this.fetcher.maxBytes ? TOO_LARGE : digestOf(v);
        else {
          const got: Fetched = v === '' ? { status: 'unreadable', error: `${f}: not an http(s) URL` } : this.memo.get(v)!;
          value = got.status === 'ok' ? got.digest : got.status === 'too-large' ? TOO_LARGE : UNREADABLE;
          if (got.status === 'unreadable' && this.problems.length < 5) this.problems.push(`${side} ${r.key}: ${got.error}`);
        }
        r.fields[f] = value;
        if (!count) continue;
        if (value === null) cov.without++;
        else if (value === TOO_LARGE) cov.tooLarge++;
        else if (value === UNREADABLE) cov.unreadable++;
        else cov.with++;
      }
      r.hash = hashFields(r.fields, this.compareFields);
    }
  }
}
