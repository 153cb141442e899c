// The four ways a REST list pages: page numbers, offsets, a cursor in the body, or a
// Link: rel="next" header (RFC 8288). Each pager says what to ask for next, or stops.
import { ParityError } from '../../core/errors.js';
import { readPath } from '../../core/paths.js';
import type { PaginationConfig } from './schema.js';

export interface PageRequest {
  /** Query parameters for this page. */
  params: Record<string, string | number>;
  /** An absolute URL to GET instead of the side's path (the Link: next URL). */
  url?: string;
}

export interface PageAnswer {
  body: unknown;
  headers: Record<string, string>;
  items: unknown[];
  url: string;
}

export interface Pager {
  first(): PageRequest;
  /** The next request, or null when the list is done. */
  next(answer: PageAnswer): PageRequest | null;
}

export const DEFAULT_PAGINATION: PaginationConfig = { type: 'page', pageParam: 'page', sizeParam: 'per_page', size: 100, startPage: 1 };

function stuck(url: string, what: string): never {
  throw new ParityError('PARITY_HTTP_BAD_RESPONSE', `GET ${url}: ${what}`);
}

/** Parses an RFC 8288 Link header and returns the target of rel="next", if any. */
export function nextLink(header: string | undefined, base: string): string | null {
  if (!header) return null;
  for (const part of header.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>(.*)$/s.exec(part);
    if (!m) continue;
    const rels = /;\s*rel\s*=\s*"?([^";]+)"?/i.exec(m[2]!)?.[1]?.toLowerCase().split(/\s+/) ?? [];
    if (rels.includes('next')) return new URL(m[1]!, base).toString();
  }
  return null;
}

export function createPager(p: PaginationConfig): Pager {
  switch (p.type) {
    case 'page': {
      let page = p.startPage;
      let previousFirst: string | undefined;
      return {
        first: () => ({ params: { [p.pageParam]: page, [p.sizeParam]: p.size } }),
        next: ({ body, items, url }) => {
          if (items.length === 0) return null;
          const first = JSON.stringify(items[0]);
          if (first === previousFirst) stuck(url, `page ${page} repeats the previous page (check pagination.pageParam "${p.pageParam}")`);
          previousFirst = first;
          const more = p.hasMore ? Boolean(readPath(body, p.hasMore)) : items.length >= p.size;
          if (!more) return null;
          page++;
          return { params: { [p.pageParam]: page, [p.sizeParam]: p.size } };
        },
      };
    }
    case 'offset': {
      let offset = 0;
      let previousFirst: string | undefined;
      return {
        first: () => ({ params: { [p.offsetParam]: 0, [p.limitParam]: p.size } }),
        next: ({ items, url }) => {
          if (items.length < p.size) return null;
          const first = JSON.stringify(items[0]);
          if (first === previousFirst) stuck(url, `the page at offset ${offset} repeats the previous page (check pagination.offsetParam "${p.offsetParam}")`);
          previousFirst = first;
          offset += items.length;
          return { params: { [p.offsetParam]: offset, [p.limitParam]: p.size } };
        },
      };
    }
    case 'cursor': {
      const size = p.sizeParam ? { [p.sizeParam]: p.size } : {};
      const seen = new Set<string>();
      return {
        first: () => ({ params: { ...size } }),
        next: ({ body, items, url }) => {
          const cursor = readPath(body, p.nextCursor);
          if (cursor === undefined || cursor === null || cursor === '' || cursor === false || items.length === 0) return null;
          const c = String(cursor);
          if (seen.has(c)) stuck(url, `the cursor "${c}" at "${p.nextCursor}" came back a second time`);
          seen.add(c);
          // Some APIs give the next page as a whole URL instead of a token.
          if (/^https?:\/\//i.test(c)) return { params: {}, url: c };
          return { params: { ...size, [p.cursorParam]: c } };
        },
      };
    }
    case 'link': {
      const seen = new Set<string>();
      return {
        first: () => ({ params: p.sizeParam ? { [p.sizeParam]: p.size } : {} }),
        next: ({ headers, url }) => {
          const next = nextLink(headers.link, url);
          if (!next) return null;
          if (seen.has(next)) stuck(url, `the Link: rel="next" URL repeats (${next})`);
          seen.add(next);
          return { params: {}, url: next };
        },
      };
    }
  }
}
